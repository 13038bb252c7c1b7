import FastTrackPlugin
import Host
import PacketKit
import PluginAPI
import XCTest

/// The plain-text opening of the encrypted session: weak evidence, logged only by default.
final class FastTrackSessionOpeningTests: XCTestCase {
    typealias B = FastTrackBench

    /// Kazaa's opening: 4 random bytes, the cipher seed, the encoded encryption type.
    static let opening: [UInt8] = [0x9C, 0x41, 0xE2, 0x07, 0x5B, 0xC8, 0x13, 0xA0, 0xF1, 0x6E, 0x02, 0xD9]
    static let reply: [UInt8] = [0x3A, 0xB7, 0x90, 0x1C, 0xE5, 0x08, 0x7F, 0xC2]
    static let supernode = Endpoint(IPAddress(193, 204, 34, 214), 2093)

    @discardableResult
    private func open(_ b: FastTrackBench, to server: Endpoint = supernode, request: [UInt8] = opening,
                      reply: [UInt8] = reply, replySplits: [Int] = [], at seconds: Double = 0) -> [PacketDecision] {
        b.exchange(to: server, request: request, response: reply, responseSplits: replySplits, at: seconds)
    }

    func testAnOpeningOnAnUnusualPortIsLoggedAndAccepted() throws {
        let b = try bench()
        let decisions = open(b)
        XCTAssertTrue(decisions.allSatisfy { $0.verdict == .accept })
        XCTAssertEqual(b.alerts.map(\.signature), ["fasttrack.tcp.session-open"])
        XCTAssertEqual(b.alerts.first?.action, .accept)
        XCTAssertTrue(b.locks.isEmpty)
        XCTAssertTrue(b.learns.isEmpty)
        let flow = try XCTUnwrap(b.flows().first)
        XCTAssertEqual(flow.appProto, "fasttrack")
        XCTAssertEqual(flow.verdict, .accept)
        XCTAssertNil(flow.reason)
    }

    func testGiftsConstantOpeningIsRecognisedToo() throws {
        let b = try bench()
        open(b, request: [0xFA, 0x00, 0xB6, 0x2B, 0xFA, 0xCB, 0x12, 0x38, 0x6D, 0x11, 0x84, 0x2E])
        XCTAssertEqual(b.alerts.map(\.signature), ["fasttrack.tcp.session-open"])
    }

    func testAnOpeningOnAStandardServicePortIsIgnored() throws {
        for port: UInt16 in [443, 80, 22, 993] {
            let b = try bench()
            open(b, to: Endpoint(Self.supernode.address, port))
            XCTAssertTrue(b.alerts.isEmpty, "port \(port)")
        }
    }

    func testAnOpeningToALearnedPeerCountsOnAnyPort() throws {
        let b = try bench()
        let peer = Endpoint(Self.supernode.address, 443)
        b.udp(FastTrackBytes.ping(), to: peer, at: 0)
        open(b, to: peer, at: 1)
        XCTAssertEqual(b.alerts.map(\.signature), ["fasttrack.udp.ping", "fasttrack.learned-peer", "fasttrack.tcp.session-open"])
        XCTAssertEqual(b.alerts.last?.facts.first { $0.key == "learned_peer" }?.value, "true")
    }

    func testOtherShapesAreNotAnOpening() throws {
        let shapes: [(String, [UInt8], [UInt8], [Int])] = [
            ("13 bytes from the client", Self.opening + [0x44], Self.reply, []),
            ("11 bytes from the client", Array(Self.opening.dropLast()), Self.reply, []),
            ("9 bytes back", Self.opening, Self.reply + [0x01], []),
            ("the reply in two segments", Self.opening, Self.reply, [4, 4]),
            ("text from the client", Array("hello there\n".utf8), Self.reply, []),
            ("text back", Self.opening, Array("ok ready".utf8), []),
        ]
        for (what, request, reply, splits) in shapes {
            let b = try bench()
            open(b, request: request, reply: reply, replySplits: splits)
            XCTAssertTrue(b.alerts.isEmpty, what)
        }
    }

    func testADropActionMakesTheOpeningBlockLearnAndLock() throws {
        let b = try bench(signatures: { list in list.map { $0.id == "fasttrack.tcp.session-open" ? $0.with(action: .drop) : $0 } })
        let decisions = open(b)
        XCTAssertEqual(decisions.last?.verdict, .drop)
        XCTAssertEqual(b.learns.map(\.address), [Self.supernode.address])
        XCTAssertEqual(b.locks.map(\.reason), ["fasttrack.tcp.session-open"])
    }

    func testStandardPortsComeFromTheFile() throws {
        let b = try bench(parameters: ["session-open-standard-ports": "2093"])
        open(b)
        XCTAssertTrue(b.alerts.isEmpty)
        let c = try bench(parameters: ["session-open-standard-ports": "80"])
        open(c, to: Endpoint(Self.supernode.address, 443))
        XCTAssertEqual(c.alerts.count, 1)
    }
}
