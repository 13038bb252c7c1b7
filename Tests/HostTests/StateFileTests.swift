import Foundation
import Host
import PluginAPI
import XCTest

final class StateFileTests: XCTestCase {
    typealias S = DaemonTestSupport
    var directory = ""

    override func setUp() {
        directory = NSTemporaryDirectory() + "peerwall-state-\(getpid())-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private var sample: EngineState {
        EngineState(learned: [S.learned("198.51.100.7", port: 1214, expires: S.start + Seconds(600)),
                              S.learned("2001:db8::7", expires: S.start + Seconds(30))],
                    locks: [S.lock("10.0.0.5", until: S.start + Seconds(90), armedAt: S.start - Seconds(30))])
    }

    func testSavedStateLoadsBackWithTheSameEntriesWhenNoTimePassed() throws {
        let file = StateFile(directory: directory)
        try file.save(sample, at: S.start)
        XCTAssertEqual(file.load(now: S.start), .loaded(sample, skipped: 0))
        XCTAssertFalse(FileManager.default.fileExists(atPath: file.path + ".tmp"))
    }

    func testDowntimeCountsAgainstTheRemainingTime() throws {
        let file = StateFile(directory: directory)
        try file.save(sample, at: S.start)
        guard case .loaded(let state, let skipped) = file.load(now: S.start + Seconds(60)) else { return XCTFail("not loaded") }
        // The learned entry with 30 s left is gone; the lock has 30 of its 90 s left.
        XCTAssertEqual(skipped, 1)
        XCTAssertEqual(state.learned.map(\.address), [IPAddress("198.51.100.7")!])
        XCTAssertEqual(state.locks.first?.until, S.start + Seconds(90))
        XCTAssertEqual(state.locks.first?.probe?.payload, [0x27, 0, 0, 0])
    }

    func testAClockSetBackwardsNeverLengthensALock() throws {
        let file = StateFile(directory: directory)
        try file.save(sample, at: S.start)
        let earlier = S.start - Seconds(3600)
        guard case .loaded(let state, _) = file.load(now: earlier) else { return XCTFail("not loaded") }
        XCTAssertEqual(state.locks.first?.until, earlier + Seconds(90))
        // The probe stays due half the lock time after the (shifted) last arm.
        XCTAssertEqual(state.locks.first?.armedAt, earlier - Seconds(30))
    }

    func testATornFileIsMovedAsideAndTheDaemonStartsEmpty() throws {
        let file = StateFile(directory: directory)
        try file.save(sample, at: S.start)
        let whole = try Data(contentsOf: URL(fileURLWithPath: file.path))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: file.path))
        guard case .unreadable(_, let movedTo) = file.load(now: S.start) else { return XCTFail("a torn file was accepted") }
        XCTAssertEqual(movedTo, file.path + ".bad")
        XCTAssertEqual(file.load(now: S.start), .missing)
    }

    func testEntriesWithBadAddressesAreSkippedAndTheRestKept() throws {
        let file = StateFile(directory: directory)
        try file.save(sample, at: S.start)
        var text = try String(contentsOfFile: file.path, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"10.0.0.5\"", with: "\"10.0.0.500\"")
        try text.write(toFile: file.path, atomically: true, encoding: .utf8)
        guard case .loaded(let state, let skipped) = file.load(now: S.start) else { return XCTFail("not loaded") }
        XCTAssertEqual(skipped, 1)
        XCTAssertEqual(state.locks.count, 0)
        XCTAssertEqual(state.learned.count, 2)
    }

    func testAnEmptyFileIsUnreadableNotAnEmptyState() throws {
        let file = StateFile(directory: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: file.path, contents: Data()))
        guard case .unreadable = file.load(now: S.start) else { return XCTFail("an empty file was accepted") }
    }

    func testMissingFileIsAFirstStart() {
        XCTAssertEqual(StateFile(directory: directory).load(now: S.start), .missing)
    }
}
