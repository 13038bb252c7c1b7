import Foundation
import PluginAPI
import XCTest
@testable import Host

final class ConfigurationLoaderTests: XCTestCase {
    private func fixture(_ name: String) -> String { TestPaths.configs + "/" + name }

    /// Loads a file expected to be rejected; checks the configuration is untouched.
    private func invalid(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> [Diagnostic] {
        var configuration = Configuration()
        configuration.flowCapacity = 12_345
        do {
            try ConfigurationLoader.load(path: fixture(name), into: &configuration)
            XCTFail("\(name) was accepted", file: file, line: line)
        } catch let error as LoadError {
            XCTAssertEqual(configuration.flowCapacity, 12_345, "a rejected file changes nothing", file: file, line: line)
            XCTAssertEqual(configuration.lanRanges, Configuration.defaultLANRanges, file: file, line: line)
            return error.diagnostics
        } catch {
            XCTFail("unexpected error type: \(error)", file: file, line: line)
        }
        return []
    }

    func testShippedSchemaMatchesTheEmbeddedOne() throws {
        let shipped = try String(contentsOfFile: TestPaths.root + "/config/peerwall.xsd", encoding: .utf8)
        XCTAssertEqual(ConfigurationSchema.text + "\n", shipped,
                       "config/peerwall.xsd and ConfigurationSchema.text must be the same text")
    }

    func testExampleFileHoldsTheDefaults() throws {
        var loaded = Configuration()
        loaded.monitorOnly = true
        loaded.lanRanges = []
        loaded.queues = [9]
        try ConfigurationLoader.load(path: TestPaths.root + "/config/peerwall.xml", into: &loaded)
        let defaults = Configuration()
        XCTAssertEqual(loaded.lanRanges, defaults.lanRanges)
        XCTAssertEqual(loaded.neverBlock, defaults.neverBlock)
        XCTAssertEqual(loaded.monitorOnly, defaults.monitorOnly)
        XCTAssertEqual(loaded.lockSeconds, defaults.lockSeconds)
        XCTAssertEqual(loaded.refusal, defaults.refusal)
        XCTAssertEqual(loaded.signatureDirectory, defaults.signatureDirectory)
        XCTAssertEqual(loaded.flowCapacity, defaults.flowCapacity)
        XCTAssertEqual(loaded.streamDepth, defaults.streamDepth)
        XCTAssertEqual(loaded.flowTimeouts, defaults.flowTimeouts)
        XCTAssertEqual(loaded.learnedCapacity, defaults.learnedCapacity)
        XCTAssertEqual(loaded.queues, defaults.queues)
        XCTAssertEqual(loaded.failOpen, defaults.failOpen)
        XCTAssertEqual(loaded.eventLogPath, defaults.eventLogPath)
        XCTAssertEqual(loaded.stateDirectory, defaults.stateDirectory)
        XCTAssertEqual(loaded.controlSocketPath, defaults.controlSocketPath)
        XCTAssertEqual(loaded.manageRules, defaults.manageRules)
        XCTAssertEqual(loaded.gatewayAddresses, defaults.gatewayAddresses)
    }

    func testEverySettingIsRead() throws {
        var configuration = Configuration()
        try ConfigurationLoader.load(path: fixture("custom.xml"), into: &configuration)
        XCTAssertEqual(configuration.lanRanges, ["192.168.1.0/24", "fd00::/8"].compactMap { CIDR($0) })
        XCTAssertEqual(configuration.neverBlock, ["192.168.1.10/32", "192.168.1.128/25"].compactMap { CIDR($0) })
        XCTAssertTrue(configuration.monitorOnly)
        XCTAssertEqual(configuration.lockSeconds, 0)
        XCTAssertEqual(configuration.refusal, .reset)
        XCTAssertEqual(configuration.signatureDirectory, "/opt/peerwall/signatures")
        XCTAssertEqual(configuration.flowCapacity, 1000)
        XCTAssertEqual(configuration.streamDepth, 8192)
        var timeouts = FlowTimeouts()
        timeouts.tcpOpening = Seconds(20)
        timeouts.tcpEstablished = Seconds(7200)
        timeouts.udp = Seconds(90)
        XCTAssertEqual(configuration.flowTimeouts, timeouts, "tcpClosing keeps its default")
        XCTAssertEqual(configuration.learnedCapacity, 500)
        XCTAssertEqual(configuration.queues, [4, 6, 7, 8])
        XCTAssertTrue(configuration.failOpen)
        XCTAssertEqual(configuration.eventLogPath, "/var/log/peerwall/events.log")
        XCTAssertEqual(configuration.stateDirectory, "/srv/peerwall")
        XCTAssertEqual(configuration.controlSocketPath, "/run/pw.sock")
        XCTAssertTrue(configuration.manageRules)
        XCTAssertEqual(configuration.gatewayAddresses, [IPAddress("192.168.1.1"), IPAddress("fd00::1")].compactMap { $0 })
    }

    func testAbsentSettingsKeepWhatTheCallerHad() throws {
        var configuration = Configuration()
        configuration.queues = [3]
        configuration.eventLogPath = "/var/log/peerwall/custom.log"
        try ConfigurationLoader.load(path: fixture("minimal.xml"), into: &configuration)
        XCTAssertTrue(configuration.monitorOnly)
        XCTAssertEqual(configuration.queues, [3])
        XCTAssertEqual(configuration.eventLogPath, "/var/log/peerwall/custom.log")
    }

    func testSeveralErrorsAreAllReportedAtTheirLines() {
        let diagnostics = invalid("several-errors.xml")
        let expected: [(Int, String)] = [
            (6, "'10.0.0.0/40' has an invalid prefix length"),
            (9, "'not-an-address' is not an IP address block"),
            (11, "flowCapacity '0' is not an integer in 1...67108864"),
            (12, "Element 'streamDepth': [facet 'pattern'] The value 'lots' is not accepted by the pattern '[0-9]+'"),
            (13, "timeout udp '9999999' is not an integer in 1...604800"),
            (14, "queue 2 is listed twice"),
            (15, "The value 'tarpit' is not an element of the set {'drop', 'reset'}"),
            (17, "'192.168.1.256' is not an IP address"),
            (19, "Element 'colour': This element is not expected"),
        ]
        XCTAssertEqual(diagnostics.count, expected.count, diagnostics.map(\.description).joined(separator: "\n"))
        for (diagnostic, (line, fragment)) in zip(diagnostics, expected) {
            XCTAssertEqual(diagnostic.line, line, "\(diagnostic)")
            XCTAssertTrue(diagnostic.message.contains(fragment), "'\(diagnostic.message)' lacks '\(fragment)'")
            XCTAssertEqual(diagnostic.description, "\(fixture("several-errors.xml")):\(line): \(diagnostic.message)")
        }
    }

    func testDuplicateSetting() {
        let diagnostics = invalid("duplicate-setting.xml")
        XCTAssertEqual(diagnostics.map(\.line), [4], "\(diagnostics)")
        XCTAssertTrue(diagnostics.first?.message.contains("monitorOnly") == true, "\(diagnostics)")
    }

    func testNotWellFormed() {
        let diagnostics = invalid("not-well-formed.xml")
        XCTAssertEqual(diagnostics.map(\.line), [4], "\(diagnostics)")
        XCTAssertTrue(diagnostics.first?.message.contains("Opening and ending tag mismatch") == true, "\(diagnostics)")
    }

    func testUnsupportedVersion() {
        XCTAssertEqual(invalid("unsupported-version.xml").map(\.description),
                       ["\(fixture("unsupported-version.xml")):2: unsupported schema version '3' (this peerwall reads 1)"])
    }

    func testEmptyLANIsRejected() {
        let diagnostics = invalid("empty-lan.xml")
        XCTAssertEqual(diagnostics.map(\.line), [3], "\(diagnostics)")
    }

    func testHostileFileIsRefused() {
        let diagnostics = invalid("../signatures-invalid/external-entity.xml")
        XCTAssertEqual(diagnostics.map(\.message), ["document type declarations are not allowed"])
    }

    func testMissingFiles() throws {
        let path = fixture("no-such-file.xml")
        var configuration = Configuration()
        XCTAssertThrowsError(try ConfigurationLoader.load(path: path, into: &configuration)) { error in
            XCTAssertEqual("\(error)", "\(path): configuration file not found")
        }
        XCTAssertFalse(try ConfigurationLoader.loadIfPresent(path: path, into: &configuration))
        XCTAssertTrue(try ConfigurationLoader.loadIfPresent(path: fixture("minimal.xml"), into: &configuration))
        XCTAssertTrue(configuration.monitorOnly)
        XCTAssertThrowsError(try ConfigurationLoader.loadIfPresent(path: fixture("several-errors.xml"), into: &configuration),
                             "an invalid file at the default path is still an error")
    }
}
