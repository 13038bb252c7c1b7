import Foundation
import XCTest
@testable import Host

final class PCRE2PatternTests: XCTestCase {
    private func first(_ pattern: PCRE2Pattern, _ text: String) -> Range<Int>? {
        Array(text.utf8).withUnsafeBytes { pattern.firstMatch(in: $0) }
    }

    private func captures(_ pattern: PCRE2Pattern, _ text: String) -> [Range<Int>?]? {
        Array(text.utf8).withUnsafeBytes { pattern.captures(in: $0) }
    }

    func testFirstMatchReportsTheByteRange() throws {
        let pattern = try PCRE2Pattern(#"hash=[0-9a-f]{4}"#)
        XCTAssertEqual(first(pattern, "GET /.hash=beef HTTP/1.1"), 6..<15)
        XCTAssertNil(first(pattern, "GET /.hash=BEEF HTTP/1.1"))
        XCTAssertEqual(pattern.pattern, #"hash=[0-9a-f]{4}"#)
    }

    func testCapturesIncludeUnsetGroups() throws {
        let pattern = try PCRE2Pattern(#"(GET|POST) (/x)?(/\w+)"#)
        XCTAssertEqual(pattern.captureCount, 3)
        XCTAssertEqual(captures(pattern, "POST /index"), [0..<11, 0..<4, nil, 5..<11])
        XCTAssertEqual(captures(pattern, "GET /x/y"), [0..<8, 0..<3, 4..<6, 6..<8])
        XCTAssertNil(captures(pattern, "PUT /a"))
    }

    func testManyGroupsGrowTheThreadsMatchData() throws {
        let groups = String(repeating: "(a)", count: 40)
        let pattern = try PCRE2Pattern(groups)
        let result = try XCTUnwrap(captures(pattern, String(repeating: "a", count: 40)))
        XCTAssertEqual(result.count, 41)
        XCTAssertEqual(result[40], 39..<40)
        // A smaller pattern afterwards still gets exact results from the grown block.
        XCTAssertEqual(captures(try PCRE2Pattern("(b)(c)?"), "xb"), [1..<2, 1..<2, nil])
    }

    func testBinarySubjectsWithNULBytes() throws {
        let pattern = try PCRE2Pattern(#"\x27\x00\x00\x00"#)
        let bytes: [UInt8] = [0xff, 0x27, 0x00, 0x00, 0x00, 0x01]
        XCTAssertEqual(bytes.withUnsafeBytes { pattern.firstMatch(in: $0) }, 1..<5)
        let high = try PCRE2Pattern(#"^\xfe\xff"#)
        XCTAssertTrue([UInt8]([0xfe, 0xff, 0x80]).withUnsafeBytes { high.matches($0) }, "invalid UTF-8 is plain bytes")
    }

    func testEmptySubject() throws {
        XCTAssertEqual(first(try PCRE2Pattern("^$"), ""), 0..<0)
        XCTAssertNil(first(try PCRE2Pattern("x"), ""))
        // An empty buffer may have no base address at all.
        let none = UnsafeRawBufferPointer(start: nil, count: 0)
        XCTAssertEqual(try PCRE2Pattern("^$").firstMatch(in: none), 0..<0)
        XCTAssertNil(try PCRE2Pattern("x").firstMatch(in: none))
    }

    func testOptions() throws {
        XCTAssertNil(first(try PCRE2Pattern("kazaa"), "X-KaZaA-User"))
        XCTAssertEqual(first(try PCRE2Pattern("kazaa", options: .init(caseless: true)), "X-KaZaA-User"), 2..<7)

        XCTAssertNil(first(try PCRE2Pattern("^b$"), "a\nb\nc"))
        XCTAssertEqual(first(try PCRE2Pattern("^b$", options: .init(multiline: true)), "a\nb\nc"), 2..<3)

        XCTAssertNil(first(try PCRE2Pattern("a.b"), "a\nb"))
        XCTAssertEqual(first(try PCRE2Pattern("a.b", options: .init(dotall: true)), "a\nb"), 0..<3)

        XCTAssertNil(first(try PCRE2Pattern("a b  # comment"), "ab"))
        XCTAssertEqual(first(try PCRE2Pattern("a b  # comment", options: .init(extended: true)), "ab"), 0..<2)

        XCTAssertEqual(first(try PCRE2Pattern("GET"), "xGET"), 1..<4)
        XCTAssertNil(first(try PCRE2Pattern("GET", options: .init(anchored: true)), "xGET"))
        XCTAssertEqual(first(try PCRE2Pattern("GET", options: .init(anchored: true)), "GETx"), 0..<3)

        XCTAssertEqual(first(try PCRE2Pattern("a+"), "aaa"), 0..<3)
        XCTAssertEqual(first(try PCRE2Pattern("a+", options: .init(ungreedy: true)), "aaa"), 0..<1)
    }

    func testJITIsUsed() throws {
        XCTAssertTrue(PCRE2Pattern.jitSupported, "this PCRE2 build has no JIT for this machine")
        let pattern = try PCRE2Pattern(#"^GET /\.hash=[0-9a-f]{40}"#, options: .init(caseless: true))
        XCTAssertTrue(pattern.isJITCompiled)
        XCTAssertNil(pattern.jitFailure)
        XCTAssertTrue(first(pattern, "get /.hash=" + String(repeating: "a", count: 40)) != nil)
    }

    func testCompileErrorsGiveTheOffsetAndMessage() {
        XCTAssertThrowsError(try PCRE2Pattern("ab)cd")) { error in
            guard let error = error as? PCRE2Pattern.CompileError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.offset, 2)
            XCTAssertEqual(error.pattern, "ab)cd")
            XCTAssertTrue(error.message.contains("unmatched closing parenthesis"), error.message)
            XCTAssertEqual(error.description, "pcre2 error at offset 2 in pattern 'ab)cd': \(error.message)")
        }
        XCTAssertThrowsError(try PCRE2Pattern("x{2,1}")) { error in
            XCTAssertEqual((error as? PCRE2Pattern.CompileError)?.offset, 5)
        }
    }

    func testUTFModeCannotBeSwitchedOnFromThePattern() {
        // The JIT matcher does not check UTF validity, so a pattern must not turn UTF mode on.
        XCTAssertThrowsError(try PCRE2Pattern("(*UTF)caf\u{e9}"))
    }

    func testMatchLimitBoundsBacktracking() throws {
        let subject = String(repeating: "a", count: 28) + "!"
        let limited = try PCRE2Pattern("^(a|aa)+$", matchLimit: 10_000)
        let outcome = Array(subject.utf8).withUnsafeBytes { limited.search(in: $0) }
        guard case let .failed(code, message) = outcome else { return XCTFail("expected the limit to stop the search: \(outcome)") }
        XCTAssertEqual(code, -47, message)  // PCRE2_ERROR_MATCHLIMIT
        XCTAssertNil(first(limited, subject), "a search that gives up counts as no match")
        XCTAssertEqual(first(limited, "aaaa"), 0..<4)
    }

    func testConcurrentSearchesAgree() throws {
        let pattern = try PCRE2Pattern(#"user=(\w+)"#)
        let inputs = (0..<64).map { "GET /?user=peer\($0) HTTP/1.0" }
        let results = UnsafeMutableBufferPointer<Range<Int>?>.allocate(capacity: inputs.count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        nonisolated(unsafe) let shared = results
        DispatchQueue.concurrentPerform(iterations: inputs.count * 50) { index in
            let input = inputs[index % inputs.count]
            let found = Array(input.utf8).withUnsafeBytes { pattern.captures(in: $0) }
            if index < inputs.count { shared[index] = found?[1] ?? nil }
        }
        for (index, input) in inputs.enumerated() {
            let name = "peer\(index)"
            XCTAssertEqual(results[index], 11..<(11 + name.utf8.count), input)
        }
    }
}
