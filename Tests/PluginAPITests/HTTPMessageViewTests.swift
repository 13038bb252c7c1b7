import PluginAPI
import XCTest

final class HTTPMessageViewTests: XCTestCase {
    /// Runs `body` with a view over `text`, or nil when the text does not start like HTTP.
    private func withView<R>(_ text: String, _ body: (HTTPMessageView?) -> R) -> R {
        Array(text.utf8).withUnsafeBytes { body(HTTPMessageView($0)) }
    }

    private func string(_ bytes: UnsafeRawBufferPointer?) -> String? {
        bytes.map { String(decoding: $0, as: UTF8.self) }
    }

    private func headers(_ view: HTTPMessageView) -> [String] {
        var out = [String]()
        view.forEachHeader { name, value in
            out.append("\(String(decoding: name, as: UTF8.self))=\(String(decoding: value, as: UTF8.self))")
            return true
        }
        return out
    }

    func testRequestLine() {
        withView("GET /.hash=a1b2c3 HTTP/1.1\r\nHost: 10.0.0.7:1214\r\nUserAgent: KazaaClient\r\n\r\n") { view in
            guard let view else { return XCTFail("a request is HTTP") }
            XCTAssertTrue(view.isRequest)
            XCTAssertFalse(view.isResponse)
            XCTAssertTrue(view.isComplete)
            XCTAssertEqual(string(view.startLine), "GET /.hash=a1b2c3 HTTP/1.1")
            XCTAssertEqual(string(view.method), "GET")
            XCTAssertEqual(string(view.target), "/.hash=a1b2c3")
            XCTAssertEqual(headers(view), ["Host=10.0.0.7:1214", "UserAgent=KazaaClient"])
        }
    }

    func testStatusLine() {
        withView("HTTP/1.1 206 Partial Content\r\nX-Kazaa-Network: KaZaA\r\nContent-Length: 10\r\n\r\n0123456789") { view in
            guard let view else { return XCTFail("a response is HTTP") }
            XCTAssertTrue(view.isResponse)
            XCTAssertEqual(string(view.startLine), "HTTP/1.1 206 Partial Content")
            XCTAssertEqual(view.method.count, 0)
            XCTAssertEqual(view.target.count, 0)
            XCTAssertEqual(string(view.header("content-length")), "10")
            XCTAssertEqual(view.headerEnd, "HTTP/1.1 206 Partial Content\r\nX-Kazaa-Network: KaZaA\r\nContent-Length: 10\r\n\r\n".utf8.count)
        }
    }

    func testNotHTTP() {
        for text in ["get / HTTP/1.1\r\n\r\n", "GET /\r\n\r\n", "GET  HTTP/1.1\r\n", "GET / HTTP/1.1", "HTTP/1.1 200",
                     "HTTP/1.1 200\r\n".replacingOccurrences(of: " ", with: "_"), "\r\n", "", "GIVE 123:abc/file\n",
                     "ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\n", "\u{1}\u{2}\u{3}\n"] {
            withView(text) { XCTAssertNil($0, "'\(text)' is not HTTP") }
        }
        withView("HTTP/1.1 200\r\n") { XCTAssertNotNil($0, "a status line without a reason phrase") }
    }

    func testHeaderNamesAreCaseInsensitiveAndValuesTrimmed() {
        withView("GET / HTTP/1.0\r\nx-KAZAA-username:   bob \t\r\nHOST:h\r\nEmpty:\r\n\r\n") { view in
            guard let view else { return XCTFail() }
            XCTAssertEqual(string(view.header("X-Kazaa-Username")), "bob")
            XCTAssertEqual(string(view.header(named: "x-kazaa-USERNAME")), "bob")
            XCTAssertEqual(string(view.header("host")), "h")
            XCTAssertEqual(string(view.header("empty")), "")
            XCTAssertNil(view.header("X-Kazaa-User"))
            XCTAssertNil(view.header(named: "X-Kazaa-Username-Extra"))
        }
    }

    func testFirstHeaderWins() {
        withView("GET / HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\n\r\n") { view in
            XCTAssertEqual(string(view?.header("X-A")), "1")
        }
    }

    func testHeaderSplitAcrossIncompleteData() {
        let full = "GET /x HTTP/1.1\r\nHost: a\r\nX-Kazaa-Username: bobby\r\n\r\n"
        let bytes = Array(full.utf8)
        let valueEnd = Array("GET /x HTTP/1.1\r\nHost: a\r\nX-Kazaa-Username: bobby\r".utf8).count
        for length in 0...bytes.count {
            Array(bytes.prefix(length)).withUnsafeBytes { raw in
                let view = HTTPMessageView(raw)
                if length < "GET /x HTTP/1.1\r\n".utf8.count {
                    XCTAssertNil(view, "start line incomplete at \(length)")
                    return
                }
                guard let view else { return XCTFail("view at \(length)") }
                // A line counts only once its line feed has arrived: never a cut-off value.
                let value = view.header("X-Kazaa-Username").map { String(decoding: $0, as: UTF8.self) }
                XCTAssertEqual(value, length > valueEnd ? "bobby" : nil, "at \(length)")
                XCTAssertEqual(view.isComplete, length == bytes.count, "at \(length)")
            }
        }
    }

    func testBodyNeverMatchesAsHeaders() {
        let text = "POST /upload HTTP/1.1\r\nContent-Length: 40\r\n\r\nX-Kazaa-Username: mallory\r\nHost: evil\r\n\r\n"
        withView(text) { view in
            guard let view else { return XCTFail() }
            XCTAssertNil(view.header("X-Kazaa-Username"))
            XCTAssertEqual(string(view.header("Host")), nil)
            XCTAssertEqual(headers(view), ["Content-Length=40"])
            XCTAssertEqual(string(view.headerBlock), "Content-Length: 40\r\n")
        }
        // The same with line feeds only.
        withView("HTTP/1.0 200 OK\nA: 1\n\nB: 2\n\n") { view in
            guard let view else { return XCTFail() }
            XCTAssertNil(view.header("B"))
            XCTAssertEqual(headers(view), ["A=1"])
        }
    }

    func testLineFeedOnlyLineEnds() {
        let text = "HTTP/1.0 200 OK\nContent-Type: text/plain\nX-Kazaa-IP: 10.0.0.1:1214\n\nbody"
        withView(text) { view in
            guard let view else { return XCTFail() }
            XCTAssertEqual(string(view.startLine), "HTTP/1.0 200 OK")
            XCTAssertTrue(view.isComplete)
            XCTAssertEqual(view.headerEnd, text.utf8.count - 4)
            XCTAssertEqual(string(view.header("x-kazaa-ip")), "10.0.0.1:1214")
            XCTAssertEqual(headers(view), ["Content-Type=text/plain", "X-Kazaa-IP=10.0.0.1:1214"])
            // The block holds whole header lines, ending as the CRLF form does, before the blank line.
            XCTAssertEqual(string(view.headerBlock), "Content-Type: text/plain\nX-Kazaa-IP: 10.0.0.1:1214\n")
        }
        withView("GET / HTTP/1.1\nHost: x\r\n\n") { view in
            XCTAssertEqual(string(view?.header("Host")), "x")
            XCTAssertEqual(view?.isComplete, true)
        }
    }

    func testEmptyHeaderBlock() {
        for text in ["GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\n\n"] {
            withView(text) { view in
                guard let view else { return XCTFail() }
                XCTAssertTrue(view.isComplete)
                XCTAssertEqual(view.headerEnd, text.utf8.count)
                XCTAssertEqual(view.headerBlock.count, 0)
                XCTAssertEqual(headers(view), [])
            }
        }
    }

    func testIncompleteHeaderBlockAndLinesWithoutColon() {
        withView("GET / HTTP/1.1\r\nnot a header\r\nA: b\r\nC: partial") { view in
            guard let view else { return XCTFail() }
            XCTAssertFalse(view.isComplete)
            XCTAssertNil(view.headerEnd)
            XCTAssertEqual(headers(view), ["A=b"])
            XCTAssertEqual(string(view.headerBlock), "not a header\r\nA: b\r\nC: partial")
        }
    }
}
