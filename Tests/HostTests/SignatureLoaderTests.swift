import Foundation
import PluginAPI
import XCTest
@testable import Host

final class SignatureLoaderTests: XCTestCase {
    // MARK: Helpers

    private func invalid(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> [Diagnostic] {
        let path = TestPaths.invalidSignatures + "/" + name
        do {
            let set = try SignatureLoader.load(file: path, detectorID: "fasttrack", schemaPath: TestPaths.schema)
            XCTFail("\(name) loaded with \(set.signatures.count) signatures", file: file, line: line)
            return []
        } catch let error as LoadError {
            XCTAssertFalse(error.diagnostics.isEmpty, file: file, line: line)
            for diagnostic in error.diagnostics {
                XCTAssertEqual(diagnostic.file, path, file: file, line: line)
            }
            return error.diagnostics
        } catch {
            XCTFail("unexpected error type: \(error)", file: file, line: line)
            return []
        }
    }

    /// Asserts exactly one diagnostic, at `expectedLine`, whose message contains `fragment`.
    private func assertSingle(
        _ name: String, line expectedLine: Int, _ fragment: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        let diagnostics = invalid(name, file: file, line: line)
        XCTAssertEqual(diagnostics.count, 1, "\(diagnostics)", file: file, line: line)
        guard let diagnostic = diagnostics.first else { return }
        XCTAssertEqual(diagnostic.line, expectedLine, "\(diagnostic)", file: file, line: line)
        XCTAssertTrue(diagnostic.message.contains(fragment), "'\(diagnostic.message)' lacks '\(fragment)'", file: file, line: line)
    }

    private func validSet() throws -> SignatureSet {
        try SignatureLoader.load(file: TestPaths.validSignatures + "/fasttrack.xml", schemaPath: TestPaths.schema)
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("peerwall-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    // MARK: Good files

    func testValidFileLoadsEveryValue() throws {
        let set = try validSet()
        XCTAssertEqual(set.detector, "fasttrack")
        XCTAssertEqual(set.revision, "2026-11-21.1")
        XCTAssertEqual(set.file, TestPaths.validSignatures + "/fasttrack.xml")
        XCTAssertEqual(set.parameters["lock-seconds"], SignatureParameter(name: "lock-seconds", value: "120", line: 4))
        XCTAssertEqual(try set.integer("lock-seconds", default: 0), 120)
        XCTAssertEqual(try set.boolean("probe", default: false), true)
        XCTAssertEqual(set.signatures.map(\.id), ["fasttrack.http.x-kazaa-username", "fasttrack.udp.probe", "fasttrack.pcre.options"])

        let http = try XCTUnwrap(set.signature("fasttrack.http.x-kazaa-username"))
        XCTAssertEqual(http.transport, .tcp)
        XCTAssertEqual(http.direction, .toServer)
        XCTAssertEqual(http.action, .drop)
        XCTAssertTrue(http.enabled)
        XCTAssertEqual(http.summary, "Kazaa client announcing its user")
        XCTAssertEqual(http.line, 6)
        XCTAssertEqual(http.exceptions, [CIDR("192.0.2.0/24"), CIDR("2001:db8::/32"), CIDR("198.51.100.7/32")].compactMap { $0 })
        XCTAssertEqual(http.exceptedPorts.count, 1)
        XCTAssertEqual(http.exceptedPorts.first?.0, PortSet([80...80, 443...443]))
        XCTAssertEqual(http.exceptedPorts.first?.1, .originator)
        XCTAssertEqual(http.elements.count, 3)
        guard case let .httpStartLine(startLine) = http.elements[0],
              case let .httpHeader(name, value?) = http.elements[1],
              case let .httpHeader(presentName, nil) = http.elements[2] else {
            return XCTFail("unexpected elements \(http.elements)")
        }
        XCTAssertEqual(startLine.pattern, #"^GET /\.hash="#)
        XCTAssertTrue(Array("get /.hash=1".utf8).withUnsafeBytes { startLine.matches($0) }, "caseless=\"true\" applies")
        XCTAssertEqual(name, "X-Kazaa-Username")
        XCTAssertEqual(value.pattern, #"^[^\r\n]{1,64}$"#)
        XCTAssertEqual(presentName, "X-Kazaa-Network")

        let probe = try XCTUnwrap(set.signature("fasttrack.udp.probe"))
        XCTAssertFalse(probe.enabled)
        XCTAssertEqual(probe.action, .alert)
        XCTAssertEqual(probe.summary, "")
        guard probe.elements.count == 4,
              case let .bytes(offset, bytes, bytesScope) = probe.elements[0],
              case let .length(min, max, lengthScope) = probe.elements[1],
              case let .length(streamMin, streamMax, streamScope) = probe.elements[2],
              case let .ports(ports, side) = probe.elements[3] else {
            return XCTFail("unexpected elements \(probe.elements)")
        }
        XCTAssertEqual(offset, 2)
        XCTAssertEqual(bytes, [0x27, 0, 0, 0])
        XCTAssertEqual(bytesScope, .stream)
        XCTAssertEqual([min, max], [12, 12])
        XCTAssertEqual(lengthScope, .payload)
        XCTAssertEqual(streamMin, 0)
        XCTAssertEqual(streamMax, 100)
        XCTAssertEqual(streamScope, .stream)
        XCTAssertEqual(ports, PortSet([1214...1214, 6698...6699, 1300...1300]))
        XCTAssertEqual(side, .either)

        let options = try XCTUnwrap(set.signature("fasttrack.pcre.options"))
        XCTAssertEqual(options.transport, .any)
        XCTAssertEqual(options.direction, .toClient)
        XCTAssertEqual(options.action, .reject)
        guard options.elements.count == 3,
              case let .pattern(status, statusScope) = options.elements[0],
              case let .pattern(literal, literalScope) = options.elements[1],
              case let .length(fiveMin, fiveMax, _) = options.elements[2] else {
            return XCTFail("unexpected elements \(options.elements)")
        }
        let compiled = try XCTUnwrap(status as? PCRE2Pattern)
        XCTAssertEqual(compiled.options, PCRE2Pattern.Options(
            caseless: true, multiline: true, dotall: true, extended: true, anchored: true, ungreedy: true))
        XCTAssertEqual(compiled.pattern, #"HTTP/1\.[01] \s 200  # status line"#, "surrounding blanks are trimmed")
        XCTAssertTrue(compiled.isJITCompiled)
        XCTAssertEqual(statusScope, .stream)
        XCTAssertEqual(literal.pattern, #"<KazaaClient> & \x00"#, "CDATA and character references are text")
        XCTAssertEqual(literalScope, .payload)
        XCTAssertEqual(fiveMin, 5)
        XCTAssertEqual(fiveMax, Int.max)
    }

    func testDetectorDefaultsToTheFileName() throws {
        XCTAssertEqual(SignatureLoader.detectorID(of: "signatures/fasttrack.xml"), "fasttrack")
        XCTAssertEqual(try validSet().detector, "fasttrack")
        // The same file offered for another detector is rejected.
        XCTAssertThrowsError(try SignatureLoader.load(
            file: TestPaths.validSignatures + "/fasttrack.xml", detectorID: "napster", schemaPath: TestPaths.schema))
    }

    // MARK: Bad files, one kind each

    func testNotWellFormed() {
        assertSingle("not-well-formed.xml", line: 5, "Opening and ending tag mismatch")
    }

    func testEmptyFile() {
        assertSingle("empty.xml", line: 1, "Document is empty")
    }

    func testUnknownElement() {
        assertSingle("unknown-element.xml", line: 5, "Element 'payload': This element is not expected")
    }

    func testMissingAttribute() {
        assertSingle("missing-attribute.xml", line: 3, "The attribute 'action' is required but missing")
    }

    func testBadEnumerationValue() {
        assertSingle("bad-enum.xml", line: 3, "The value 'sctp' is not an element of the set {'tcp', 'udp', 'any'}")
    }

    func testWrongNamespace() {
        assertSingle("wrong-namespace.xml", line: 2, "No matching global declaration available for the validation root")
    }

    func testBadRegexGivesTheOffsetInThePattern() {
        let diagnostics = invalid("bad-regex.xml")
        XCTAssertEqual(diagnostics.map(\.description), [
            TestPaths.invalidSignatures + "/bad-regex.xml:5: pcre2 error at offset 14 in pattern '^GET (/\\.hash=': missing closing parenthesis",
        ])
    }

    func testDuplicateID() {
        assertSingle("duplicate-id.xml", line: 6, "duplicate signature id 'fasttrack.a' (first defined at line 3)")
    }

    func testDuplicateParameter() {
        assertSingle("duplicate-param.xml", line: 4, "duplicate parameter 'lock-seconds' (first given at line 3)")
    }

    func testIDWithoutTheDetectorPrefix() {
        assertSingle("missing-prefix.xml", line: 3, "signature id 'napster.a' must start with 'fasttrack.'")
    }

    func testWrongDetectorAttribute() {
        assertSingle("wrong-detector.xml", line: 2, "detector 'napster' does not match the file")
    }

    func testUnsupportedSchemaVersion() {
        assertSingle("unsupported-version.xml", line: 2, "unsupported schema version '2'")
    }

    func testBadHex() {
        let diagnostics = invalid("bad-hex.xml")
        XCTAssertEqual(diagnostics.map(\.line), [4, 7])
        XCTAssertTrue(diagnostics[0].message.contains("'0G' is not a sequence of hex byte pairs"), diagnostics[0].message)
        XCTAssertTrue(diagnostics[1].message.contains("'000' is not a sequence of hex byte pairs"), diagnostics[1].message)
    }

    func testBadPortRange() {
        let diagnostics = invalid("bad-port-range.xml")
        XCTAssertEqual(diagnostics.map(\.line), [4, 7])
        XCTAssertEqual(diagnostics.first?.message, "port range 7000-6000 has its low bound above its high bound")
        XCTAssertEqual(diagnostics.last?.message, "port 70000 is out of range 0...65535")
    }

    func testBadCIDR() {
        let diagnostics = invalid("bad-cidr.xml")
        XCTAssertEqual(diagnostics.map(\.line), [5, 6])
        XCTAssertTrue(diagnostics[0].message.contains("'192.0.2.0/33' has an invalid prefix length"), diagnostics[0].message)
        XCTAssertTrue(diagnostics[1].message.contains("'192.0.2.300' is not an IP address block"), diagnostics[1].message)
    }

    func testBadBounds() {
        let diagnostics = invalid("bad-bounds.xml")
        XCTAssertEqual(diagnostics.map(\.line), [4, 7, 10])
        XCTAssertEqual(diagnostics.map(\.message), [
            "length min 20 is above max 10",
            "<length> needs a min or a max",
            "offset '70000' is not an integer in 0...65535",
        ])
    }

    func testBadExcept() {
        let diagnostics = invalid("bad-except.xml")
        XCTAssertEqual(diagnostics.map(\.line), [5, 6])
        XCTAssertEqual(diagnostics.first?.message, "<except> needs exactly one of address or ports")
        XCTAssertEqual(diagnostics.last?.message, "<except ports> needs a side (responder, originator or either)")
    }

    func testProblemsTheSchemaReportsAreNotRepeated() {
        let diagnostics = invalid("blank-values.xml")
        XCTAssertEqual(diagnostics.map(\.line), [4, 5], "\(diagnostics)")
        XCTAssertTrue(diagnostics.allSatisfy { $0.message.contains("[facet 'pattern']") }, "\(diagnostics)")
    }

    func testMissingFile() {
        let path = TestPaths.invalidSignatures + "/no-such-file.xml"
        XCTAssertThrowsError(try SignatureLoader.load(file: path, detectorID: "fasttrack", schemaPath: TestPaths.schema)) { error in
            let diagnostics = (error as? LoadError)?.diagnostics ?? []
            XCTAssertEqual(diagnostics.map(\.description), ["\(path): missing signature file for detector 'fasttrack'"])
        }
    }

    func testMissingSchema() {
        let path = TestPaths.invalidSignatures + "/no-such-schema.xsd"
        XCTAssertThrowsError(try SignatureLoader.load(file: TestPaths.validSignatures + "/fasttrack.xml", schemaPath: path)) { error in
            let diagnostics = (error as? LoadError)?.diagnostics ?? []
            XCTAssertEqual(diagnostics.count, 1)
            XCTAssertEqual(diagnostics.first?.file, path)
            XCTAssertTrue(diagnostics.first?.message.contains("No such file or directory") == true, "\(diagnostics)")
        }
    }

    func testSeveralErrorsAreAllReportedAtTheirLines() {
        let diagnostics = invalid("several-errors.xml")
        let expected: [(Int, String)] = [
            (5, "duplicate parameter 'lock-seconds' (first given at line 4)"),
            (7, "pcre2 error at offset 10 in pattern '^GET /[a-z': missing terminating ] for character class"),
            (10, "'zz' is not a sequence of hex byte pairs"),
            (12, "duplicate signature id 'fasttrack.regex' (first defined at line 6)"),
            (15, "signature id 'kazaa.ports' must start with 'fasttrack.'"),
            (16, "port range 6699-6698 has its low bound above its high bound"),
            (18, "The value 'sideways' is not an element of the set"),
            (20, "'10.0.0.0/99' has an invalid prefix length"),
        ]
        XCTAssertEqual(diagnostics.count, expected.count, diagnostics.map(\.description).joined(separator: "\n"))
        for (diagnostic, (line, fragment)) in zip(diagnostics, expected) {
            XCTAssertEqual(diagnostic.line, line, "\(diagnostic)")
            XCTAssertTrue(diagnostic.message.contains(fragment), "'\(diagnostic.message)' lacks '\(fragment)'")
        }
        let error = LoadError(diagnostics)
        XCTAssertEqual(error.description.split(separator: "\n").count, expected.count)
    }

    // MARK: Hostile files

    func testExternalEntityIsNeverRead() throws {
        // Points the entity at a file with a known marker, to tell whether it was read at all.
        let directory = try temporaryDirectory()
        let secret = directory.appendingPathComponent("secret.txt")
        let marker = "MARKER-\(UUID().uuidString)"
        try Data(marker.utf8).write(to: secret)
        let fixture = try String(contentsOfFile: TestPaths.invalidSignatures + "/external-entity.xml", encoding: .utf8)
        let hostile = fixture.replacingOccurrences(of: "file:///etc/passwd", with: secret.absoluteString)
        XCTAssertNotEqual(hostile, fixture)
        let path = directory.appendingPathComponent("fasttrack.xml").path
        try Data(hostile.utf8).write(to: path.fileURL)

        XCTAssertThrowsError(try SignatureLoader.load(file: path, schemaPath: TestPaths.schema)) { error in
            let text = "\(error)"
            XCTAssertFalse(text.contains(marker), text)
            XCTAssertEqual((error as? LoadError)?.diagnostics.map(\.line), [2])
            XCTAssertTrue(text.contains("document type declarations are not allowed"), text)
        }
        XCTAssertEqual(invalid("external-entity.xml").map(\.message), ["document type declarations are not allowed"])
    }

    func testExternalDTDIsRefused() {
        assertSingle("external-dtd.xml", line: 2, "document type declarations are not allowed")
    }

    func testBillionLaughsIsRefusedQuickly() {
        let start = Date()
        assertSingle("billion-laughs.xml", line: 2, "document type declarations are not allowed")
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.0)
    }

    func testUndeclaredEntityIsAnError() throws {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("fasttrack.xml").path
        try Data("""
            <?xml version="1.0"?>
            <signatures xmlns="https://peerwall.dev/ns/signatures/1" detector="fasttrack" schema="1" revision="r">
              <param name="x" value="&e;"/>
            </signatures>
            """.utf8).write(to: path.fileURL)
        XCTAssertThrowsError(try SignatureLoader.load(file: path, schemaPath: TestPaths.schema)) { error in
            XCTAssertEqual((error as? LoadError)?.diagnostics.first?.line, 3, "\(error)")
        }
    }

    func testADirectoryIsNotASignatureFile() throws {
        let directory = try temporaryDirectory()
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("fasttrack.xml"), withIntermediateDirectories: false)
        XCTAssertThrowsError(try SignatureLoader.load(file: directory.path + "/fasttrack.xml", schemaPath: TestPaths.schema)) { error in
            XCTAssertTrue("\(error)".contains("not a regular file"), "\(error)")
        }
    }

    // MARK: Directories

    private func signatureDirectory(_ files: [String: String]) throws -> URL {
        let directory = try temporaryDirectory()
        try FileManager.default.copyItem(atPath: TestPaths.schema, toPath: directory.appendingPathComponent(SignatureLoader.schemaFileName).path)
        for (name, source) in files {
            try FileManager.default.copyItem(atPath: source, toPath: directory.appendingPathComponent(name).path)
        }
        return directory
    }

    func testLoadAllReturnsEverySet() throws {
        let directory = try signatureDirectory([
            "fasttrack.xml": TestPaths.validSignatures + "/fasttrack.xml",
            "portblock.xml": TestPaths.shippedSignatures + "/portblock.xml",
        ])
        let sets = try SignatureLoader.loadAll(directory: directory.path, detectorIDs: ["portblock", "fasttrack"])
        XCTAssertEqual(Set(sets.keys), ["portblock", "fasttrack"])
        XCTAssertEqual(sets["fasttrack"]?.signatures.count, 3)
        XCTAssertEqual(sets["portblock"]?.file, directory.path + "/portblock.xml")
    }

    func testLoadAllReportsEveryFilesProblemsAndMissingFiles() throws {
        let directory = try signatureDirectory([
            "fasttrack.xml": TestPaths.invalidSignatures + "/several-errors.xml",
            "portblock.xml": TestPaths.shippedSignatures + "/portblock.xml",
        ])
        XCTAssertThrowsError(try SignatureLoader.loadAll(directory: directory.path, detectorIDs: ["fasttrack", "napster", "portblock"])) { error in
            let diagnostics = (error as? LoadError)?.diagnostics ?? []
            let files = diagnostics.map { $0.file.split(separator: "/").last.map(String.init) ?? "" }
            XCTAssertEqual(files.filter { $0 == "fasttrack.xml" }.count, 8, "\(error)")
            XCTAssertEqual(diagnostics.last?.description, directory.path + "/napster.xml: missing signature file for detector 'napster'")
            XCTAssertFalse(files.contains("portblock.xml"))
        }
    }

    func testABrokenSchemaIsReportedAgainstTheSchemaFile() throws {
        let directory = try temporaryDirectory()
        let schema = directory.appendingPathComponent("broken.xsd").path
        try Data("""
            <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
              <xs:element name="x" type="xs:noSuchType"/>
            </xs:schema>
            """.utf8).write(to: schema.fileURL)
        XCTAssertThrowsError(try SignatureLoader.load(file: TestPaths.validSignatures + "/fasttrack.xml", schemaPath: schema)) { error in
            let diagnostics = (error as? LoadError)?.diagnostics ?? []
            XCTAssertFalse(diagnostics.isEmpty)
            XCTAssertTrue(diagnostics.allSatisfy { $0.file == schema }, "\(diagnostics)")
            XCTAssertEqual(diagnostics.first?.line, 2, "\(diagnostics)")
        }
    }

    func testMatchLimitReachesEveryPattern() throws {
        let set = try SignatureLoader.load(file: TestPaths.validSignatures + "/fasttrack.xml", schemaPath: TestPaths.schema, matchLimit: 500)
        var limits = [UInt32]()
        for signature in set.signatures {
            for element in signature.elements {
                switch element {
                case let .pattern(matcher, _), let .httpStartLine(matcher):
                    limits.append((matcher as? PCRE2Pattern)?.matchLimit ?? 0)
                case let .httpHeader(_, matcher?):
                    limits.append((matcher as? PCRE2Pattern)?.matchLimit ?? 0)
                default:
                    break
                }
            }
        }
        XCTAssertEqual(limits, [500, 500, 500, 500])
    }

    func testLoadAllNeedsTheSchema() throws {
        let directory = try temporaryDirectory()
        XCTAssertThrowsError(try SignatureLoader.loadAll(directory: directory.path, detectorIDs: ["portblock"])) { error in
            XCTAssertEqual((error as? LoadError)?.diagnostics.first?.file, directory.path + "/peerwall-signatures.xsd")
        }
    }

    func testRepeatedLoadsDoNotGrowMemory() throws {
        let path = TestPaths.validSignatures + "/fasttrack.xml"
        func load(_ count: Int) throws {
            for _ in 0..<count {
                _ = try SignatureLoader.load(file: path, schemaPath: TestPaths.schema)
                _ = try? SignatureLoader.load(file: TestPaths.invalidSignatures + "/several-errors.xml", detectorID: "fasttrack", schemaPath: TestPaths.schema)
            }
        }
        try load(50)
        let before = try residentBytes()
        try load(1_000)
        let growth = try residentBytes() - before
        // A leaked document or schema per load would add tens of megabytes over 2,000 loads.
        XCTAssertLessThan(growth, 8 * 1024 * 1024, "resident memory grew by \(growth) bytes")
    }

    private func residentBytes() throws -> Int {
        let statm = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8)
        let fields = statm.split(separator: " ")
        let pages = try XCTUnwrap(fields.count > 1 ? Int(fields[1]) : nil)
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

private extension String {
    var fileURL: URL { URL(fileURLWithPath: self) }
}
