@testable import Host
import XCTest

final class StreamBufferTests: XCTestCase {
    private func add(_ buffer: inout StreamBuffer, _ sequence: UInt32, _ text: String, syn: Bool = false, limit: Int = 4096) {
        Array(text.utf8).withUnsafeBytes { buffer.add(sequence: sequence, isSYN: syn, payload: $0, limit: limit) }
    }

    private func text(_ buffer: StreamBuffer) -> String { String(decoding: buffer.data, as: UTF8.self) }

    func testInOrderSegmentsAfterASYN() {
        var b = StreamBuffer()
        add(&b, 100, "", syn: true)
        add(&b, 101, "GET /.hash=")
        add(&b, 112, "abc HTTP/1.1")
        XCTAssertEqual(text(b), "GET /.hash=abc HTTP/1.1")
    }

    func testOutOfOrderSegmentsAreHeldUntilTheGapFills() {
        var b = StreamBuffer()
        add(&b, 0, "", syn: true)
        add(&b, 6, "world")
        XCTAssertEqual(text(b), "")
        add(&b, 1, "hello")
        XCTAssertEqual(text(b), "helloworld")
    }

    func testRetransmissionsAndOverlapsAreNotAddedTwice() {
        var b = StreamBuffer()
        add(&b, 0, "", syn: true)
        add(&b, 1, "abcdef")
        add(&b, 1, "abcdef")
        add(&b, 4, "defghi")
        XCTAssertEqual(text(b), "abcdefghi")
    }

    func testTheLimitBoundsTheBuffer() {
        var b = StreamBuffer()
        add(&b, 0, "", syn: true, limit: 8)
        add(&b, 1, "0123456789", limit: 8)
        add(&b, 11, "more", limit: 8)
        XCTAssertEqual(text(b), "01234567")
    }

    func testAStreamPickedUpMidwayStartsAtItsFirstSegment() {
        var b = StreamBuffer()
        add(&b, 5000, "GIVE 123\r\n")
        add(&b, 5010, "GET /")
        XCTAssertEqual(text(b), "GIVE 123\r\nGET /")
    }

    func testSequenceNumbersWrapAround() {
        var b = StreamBuffer()
        add(&b, UInt32.max - 2, "", syn: true)
        add(&b, UInt32.max - 1, "ab")
        add(&b, 0, "cd")
        XCTAssertEqual(text(b), "abcd")
    }
}
