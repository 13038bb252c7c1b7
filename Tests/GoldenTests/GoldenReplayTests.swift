import DetectorCatalog
import Foundation
import Host
import PacketKit
import PluginAPI
import Simulators
import XCTest

/// Replays every golden capture with the shipped signatures and compares the JSON Lines output
/// with the recorded `<capture>.expected.jsonl`. The captures themselves are written from the
/// simulators' scenarios, and must be exactly what the scenarios produce.
///
/// `RECORD_GOLDEN=1 swift test --filter GoldenTests` rewrites captures and expected outputs and
/// then fails, so a recording run never passes silently. Review the diff, then commit it.
final class GoldenReplayTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let captures = root.appendingPathComponent("Captures")
    static let signatures = root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("signatures").path
    private var recording: Bool { ProcessInfo.processInfo.environment["RECORD_GOLDEN"] == "1" }

    private func capturePath(_ scenario: Scenario) -> URL {
        GoldenReplayTests.captures.appendingPathComponent(scenario.group).appendingPathComponent("\(scenario.name).pcap")
    }

    private func writeCapture(_ scenario: Scenario) throws -> [UInt8] {
        var writer = CaptureWriter(format: .pcap, linkType: scenario.linkType)
        for frame in scenario.make() { XCTAssertTrue(writer.append(ipPacket: frame.packet, at: frame.time)) }
        return writer.bytes
    }

    func testCommittedCapturesAreWhatTheScenariosGenerate() throws {
        var recorded: [String] = []
        for scenario in ScenarioCatalog.all where !scenario.isSized {
            let path = capturePath(scenario)
            let generated = try writeCapture(scenario)
            let committed = try? Data(contentsOf: path)
            if recording {
                if committed.map({ [UInt8]($0) }) != generated {
                    try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try Data(generated).write(to: path)
                    recorded.append(path.lastPathComponent)
                }
                continue
            }
            guard let committed else {
                XCTFail("\(path.path) is missing: record it with RECORD_GOLDEN=1 swift test --filter GoldenTests")
                continue
            }
            XCTAssertEqual([UInt8](committed), generated, "\(scenario.name): the committed capture differs from what the scenario generates")
        }
        if recording { XCTFail("recorded captures (review and commit): \(recorded.isEmpty ? "none changed" : recorded.joined(separator: ", "))") }
    }

    func testEveryCaptureReplaysToItsRecordedEvents() throws {
        let files = try goldenCaptures()
        XCTAssertFalse(files.isEmpty, "no golden captures found")
        var recorded: [String] = []
        for file in files {
            let expectedPath = file.deletingPathExtension().appendingPathExtension("expected.jsonl")
            let output = try replay(file)
            if recording {
                let old = try? String(contentsOf: expectedPath, encoding: .utf8)
                if old != output {
                    try output.write(to: expectedPath, atomically: true, encoding: .utf8)
                    recorded.append(expectedPath.lastPathComponent)
                }
                continue
            }
            guard let expected = try? String(contentsOf: expectedPath, encoding: .utf8) else {
                XCTFail("\(expectedPath.path) is missing: record it with RECORD_GOLDEN=1 swift test --filter GoldenTests")
                continue
            }
            let got = output.split(separator: "\n", omittingEmptySubsequences: false)
            let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
            if got != want {
                let firstDifference = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }
                if let firstDifference {
                    XCTFail("""
                        \(file.lastPathComponent): line \(firstDifference.offset + 1) differs
                          expected: \(firstDifference.element.1)
                          got:      \(firstDifference.element.0)
                        """)
                } else {
                    XCTFail("\(file.lastPathComponent): \(got.count) lines, expected \(want.count)")
                }
            }
        }
        if recording { XCTFail("recorded expected outputs (review and commit): \(recorded.isEmpty ? "none changed" : recorded.joined(separator: ", "))") }
    }

    private func goldenCaptures() throws -> [URL] {
        let fm = FileManager.default
        guard let groups = try? fm.contentsOfDirectory(at: GoldenReplayTests.captures, includingPropertiesForKeys: nil) else { return [] }
        var files: [URL] = []
        for group in groups {
            let entries = (try? fm.contentsOfDirectory(at: group, includingPropertiesForKeys: nil)) ?? []
            files += entries.filter { $0.pathExtension == "pcap" || $0.pathExtension == "pcapng" }
        }
        return files.sorted { $0.path < $1.path }
    }

    /// The replay's JSON Lines, exactly as `peerwall replay --format json` writes them.
    private func replay(_ file: URL) throws -> String {
        var configuration = Configuration()
        let configPath = file.deletingPathExtension().appendingPathExtension("config.xml").path
        if FileManager.default.fileExists(atPath: configPath) { try ConfigurationLoader.load(path: configPath, into: &configuration) }
        let detectors = try EngineSetup.detectors(catalog: DetectorCatalog.all, directory: GoldenReplayTests.signatures,
                                                  configuration: configuration)
        let sink = LineCollector()
        let replayer = Replayer(engine: Engine(configuration: configuration, detectors: detectors, sink: sink))
        do {
            try replayer.replay(file: file.path)
        } catch {
            XCTFail("\(file.lastPathComponent): \(error)")
        }
        replayer.finish()
        return sink.lines.joined(separator: "\n") + "\n"
    }
}

private final class LineCollector: EngineEventSink {
    var lines: [String] = []
    func emit(_ event: EngineEvent) { lines.append(event.jsonLine) }
}
