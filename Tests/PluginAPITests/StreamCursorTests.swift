import PacketKit
import PluginAPI
import XCTest

/// The stream cursor hands a parser every byte of a direction once, in order: the host's
/// reassembled start first, then the packets past its cap.
final class StreamCursorTests: XCTestCase {
    private func bytes(_ count: Int, _ seed: UInt8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) } }

    func testInOrderSegmentsUnderTheCapAreHandedOutOnce() {
        var test = CursorHarness()
        let a = bytes(100, 1), b = bytes(80, 2)
        test.feed(a, at: 0, stream: a)
        test.feed(b, at: 100, stream: a + b)
        test.feed(b, at: 100, stream: a + b)  // a retransmission
        XCTAssertEqual(test.read, a + b)
        XCTAssertEqual(test.gaps, [])
        XCTAssertTrue(test.cursor.isAnchored)
        XCTAssertEqual(test.cursor.consumed, 180)
    }

    func testSegmentsPastTheCapAreReadFromThePackets() {
        var test = CursorHarness()
        let a = bytes(100, 1), b = bytes(100, 2), c = bytes(100, 3)
        let cap = 150
        test.feed(a, at: 0, stream: a)
        // b fills the stream to its cap; its second half only the packet has.
        test.feed(b, at: 100, stream: Array((a + b).prefix(cap)))
        test.feed(c, at: 200, stream: Array((a + b).prefix(cap)))
        test.feed(c, at: 200, stream: Array((a + b).prefix(cap)))  // a retransmission
        let d = bytes(30, 4)
        test.feed(Array(c.suffix(10)) + d, at: 290, stream: Array((a + b).prefix(cap)))  // overlaps its predecessor
        XCTAssertEqual(test.read, a + b + c + d)
        XCTAssertEqual(test.gaps, [])
    }

    func testAHolePastTheCapIsReportedAndSkipped() {
        var test = CursorHarness()
        let a = bytes(100, 1), b = bytes(100, 2), lost = bytes(50, 3), c = bytes(40, 4)
        test.feed(a, at: 0, stream: a)
        test.feed(b, at: 100, stream: a)  // the host is at its cap of 100 bytes
        test.feed(c, at: 250, stream: a)
        XCTAssertEqual(test.read, a + b + c)
        XCTAssertEqual(test.gaps, [200])
        // The lost segment arriving late is behind the cursor now: ignored.
        test.feed(lost, at: 200, stream: a)
        XCTAssertEqual(test.read, a + b + c)
    }

    func testOutOfOrderSegmentsBeforeTheCapWaitForTheHostsReassembly() {
        var test = CursorHarness()
        let a = bytes(60, 1), b = bytes(60, 2), c = bytes(60, 3)
        test.feed(a, at: 0, stream: a)
        test.feed(c, at: 120, stream: a)  // early: the host holds it
        XCTAssertEqual(test.read, a)
        test.feed(b, at: 60, stream: a + b + c)  // fills the hole; the host drains c
        XCTAssertEqual(test.read, a + b + c)
        XCTAssertEqual(test.gaps, [])
    }

    func testAHoleBeforeTheCapThatNeverFillsIsGivenUpAfterTheStallLimit() {
        var test = CursorHarness()
        let a = bytes(60, 1)
        test.feed(a, at: 0, stream: a)
        var offset = 100
        for _ in 0..<12 {
            test.feed(bytes(10, 9), at: offset, stream: a)
            offset += 10
        }
        XCTAssertEqual(test.read, a, "still waiting for the host to fill the hole")
        test.feed(bytes(10, 5), at: offset, stream: a)
        XCTAssertEqual(test.read, a + bytes(10, 5))
        XCTAssertEqual(test.gaps, [60])
    }

    func testAFirstSegmentLargerThanTheCapAnchorsOnItsStart() {
        var test = CursorHarness()
        let a = bytes(300, 1), b = bytes(50, 2)
        test.feed(a, at: 0, stream: Array(a.prefix(128)))
        test.feed(b, at: 300, stream: Array(a.prefix(128)))
        XCTAssertEqual(test.read, a + b)
    }

    func testACursorStartedLateCatchesUpFromTheStream() {
        var test = CursorHarness()
        let a = bytes(100, 1), b = bytes(100, 2)
        // The parser only starts at b: the stream still holds a.
        test.feed(b, at: 100, stream: a + b)
        XCTAssertEqual(test.read, a + b)
    }
}

/// Shows a cursor server segments with a given host stream, and keeps what it hands out.
private struct CursorHarness {
    struct NoHost: HostQueries {
        func learnedPeer(_ endpoint: Endpoint) -> LearnedPeer? { nil }
        func isLocked(_ client: IPAddress) -> Bool { false }
        func isLAN(_ address: IPAddress) -> Bool { false }
        func isGatewayAddress(_ address: IPAddress) -> Bool { false }
    }

    private static let server = Endpoint(IPAddress(198, 51, 100, 20), 8888)
    private static let client = Endpoint(IPAddress(192, 168, 1, 10), 40_000)
    private static let isn: UInt32 = 0xFFFF_FF00  // wraps inside the tests

    var cursor = StreamCursor()
    /// What the cursor handed out, and where a hole was reported.
    var read: [UInt8] = []
    var gaps: [Int] = []

    /// Shows the cursor a server segment carrying `data` at stream offset `offset`, with the host's
    /// reassembled stream being `stream` at that moment.
    mutating func feed(_ data: [UInt8], at offset: Int, stream: [UInt8]) {
        let packet = PacketBuilder.tcp(from: Self.server, to: Self.client, flags: [.ack, .psh],
                                       seq: Self.isn &+ 1 &+ UInt32(offset), ack: 1, payload: data)
        packet.withUnsafeBytes { raw in
            guard case .packet(let view) = PacketView.parse(raw) else { return XCTFail("unparsable test packet") }
            stream.withUnsafeBytes { streamBytes in
                let input = DetectionInput(
                    packet: view,
                    flow: FlowInfo(transport: .tcp, originator: Self.client, responder: Self.server, originatorIsLAN: true,
                                   packetIndex: 3, startTime: .zero),
                    direction: .toClient, time: .zero, stream: streamBytes,
                    reverseStream: UnsafeRawBufferPointer(start: nil, count: 0), host: NoHost())
                var chunks: [([UInt8], Bool)] = []
                cursor.advance(input) { bytes, afterGap in chunks.append((Array(bytes), afterGap)) }
                for (bytes, afterGap) in chunks {
                    if afterGap { gaps.append(read.count) }
                    read += bytes
                }
            }
        }
    }
}
