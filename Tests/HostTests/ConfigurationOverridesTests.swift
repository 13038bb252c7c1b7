import Host
import PluginAPI
import XCTest

final class ConfigurationOverridesTests: XCTestCase {
    func testFlagsReplaceTheFilesValuesAndListsWhole() {
        var file = Configuration()
        file.queues = [4]
        file.lanRanges = [CIDR("192.168.0.0/16")!]
        file.neverBlock = [CIDR("192.168.1.1")!]
        file.lockSeconds = 600
        file.stateDirectory = "/srv/state"
        var flags = ConfigurationOverrides()
        flags.queues = [0, 1]
        flags.lanRanges = [CIDR("10.0.0.0/8")!]
        flags.lockSeconds = 0
        flags.controlSocketPath = "/tmp/pw.sock"
        let merged = flags.applied(to: file)
        XCTAssertEqual(merged.queues, [0, 1])
        XCTAssertEqual(merged.lanRanges, [CIDR("10.0.0.0/8")!])
        XCTAssertEqual(merged.neverBlock, [CIDR("192.168.1.1")!], "not given on the command line: the file's list stays")
        XCTAssertEqual(merged.lockSeconds, 0)
        XCTAssertEqual(merged.stateDirectory, "/srv/state")
        XCTAssertEqual(merged.controlSocketPath, "/tmp/pw.sock")
    }

    func testSwitchesTurnBehaviourOnButNeverOffAFileSetting() {
        var file = Configuration()
        file.monitorOnly = true
        let merged = ConfigurationOverrides().applied(to: file)
        XCTAssertTrue(merged.monitorOnly)
        var flags = ConfigurationOverrides()
        flags.failOpen = true
        flags.manageRules = true
        let switched = flags.applied(to: Configuration())
        XCTAssertTrue(switched.failOpen)
        XCTAssertTrue(switched.manageRules)
        XCTAssertFalse(switched.monitorOnly)
    }

    func testNoFlagsLeaveTheConfigurationAsItWas() {
        let merged = ConfigurationOverrides().applied(to: Configuration())
        XCTAssertEqual(merged.queues, [0])
        XCTAssertEqual(merged.lanRanges, Configuration.defaultLANRanges)
        XCTAssertEqual(merged.controlSocketPath, "/run/peerwall/peerwall.sock")
        XCTAssertTrue(merged.daemonProblems().isEmpty)
    }

    func testDaemonProblemsNameEachBadSetting() {
        var configuration = Configuration()
        configuration.queues = [1, 1]
        configuration.lockSeconds = -5
        configuration.lanRanges = []
        let problems = configuration.daemonProblems().joined(separator: "\n")
        XCTAssertTrue(problems.contains("given twice"))
        XCTAssertTrue(problems.contains("lock seconds"))
        XCTAssertTrue(problems.contains("no LAN range"))
    }
}
