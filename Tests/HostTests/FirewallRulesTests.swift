import Host
import PluginAPI
import XCTest

final class FirewallRulesTests: XCTestCase {
    func testOneQueueUsesQueueNumAndFailOpenAddsBypass() {
        let rules = FirewallRules(lanRanges: [CIDR("192.168.1.0/24")!], queues: [3], failOpen: true)
        let lines = rules.installCommands().map(\.line)
        XCTAssertTrue(lines.contains("iptables -w -t mangle -A PEERWALL -j NFQUEUE --queue-num 3 --queue-bypass"))
        XCTAssertTrue(lines.contains("iptables -w -t mangle -I FORWARD 1 -s 192.168.1.0/24 -j PEERWALL"))
        XCTAssertTrue(lines.contains("iptables -w -t mangle -I FORWARD 1 -d 192.168.1.0/24 -j PEERWALL"))
        XCTAssertFalse(lines.contains { $0.hasPrefix("ip6tables") }, "no IPv6 LAN range, no IPv6 rules")
    }

    func testSeveralContiguousQueuesAreBalancedWithoutBypassWhenNotFailOpen() {
        let rules = FirewallRules(lanRanges: [CIDR("10.0.0.0/8")!, CIDR("fd00::/8")!], queues: [2, 0, 1], failOpen: false)
        let lines = rules.installCommands().map(\.line)
        XCTAssertTrue(lines.contains("iptables -w -t mangle -A PEERWALL -j NFQUEUE --queue-balance 0:2"))
        XCTAssertTrue(lines.contains("ip6tables -w -t mangle -I FORWARD 1 -s fd00::/8 -j PEERWALL"))
        XCTAssertFalse(lines.contains { $0.contains("--queue-bypass") })
    }

    func testSynsAreQueuedBeforeTheSettledBypassSoLocksSeeEveryNewConnection() {
        let lines = FirewallRules(lanRanges: [CIDR("10.0.0.0/8")!], queues: [0], failOpen: false).installCommands().map(\.line)
        let syn = lines.firstIndex { $0.contains("-p tcp --syn -j NFQUEUE") }
        let bypass = lines.firstIndex { $0.contains("--mark 0x10000000/0x10000000 -j RETURN") }
        XCTAssertNotNil(syn)
        XCTAssertNotNil(bypass)
        XCTAssertLessThan(syn ?? 99, bypass ?? 0)
        XCTAssertTrue(lines.contains("iptables -w -t mangle -I INPUT 1 -p udp -m connmark --mark 0x20000000/0x20000000 -j PEERWALL"))
        XCTAssertTrue(lines.contains("iptables -w -t mangle -A PEERWALL-SAVE -m mark ! --mark 0/0x30000000 -j CONNMARK --save-mark --nfmask 0x30000000 --ctmask 0x30000000"))
    }

    func testRemovalDeletesEveryJumpBeforeItsChain() {
        let rules = FirewallRules(lanRanges: [CIDR("10.0.0.0/8")!], queues: [0], failOpen: false)
        let lines = rules.removeCommands().filter { $0.family == .ipv4 }.map(\.line)
        let lastJumpDelete = lines.lastIndex { $0.contains(" -D ") }
        let firstChainDelete = lines.firstIndex { $0.contains(" -X ") }
        XCTAssertLessThan(lastJumpDelete ?? 99, firstChainDelete ?? 0)
        for install in rules.installCommands() where install.arguments.contains("-I") {
            var expected = install.arguments
            let at = expected.firstIndex(of: "-I")!
            expected[at] = "-D"
            expected.remove(at: at + 2)  // the position
            XCTAssertTrue(rules.removeCommands().contains { $0.arguments == expected }, "no delete for \(install.line)")
        }
    }

    func testNonContiguousQueuesAreAConfigurationProblem() {
        XCTAssertNil(FirewallRules.queueTarget(for: [0, 2]))
        var configuration = Configuration()
        configuration.queues = [0, 2]
        XCTAssertTrue(configuration.daemonProblems().contains { $0.contains("contiguous") })
        XCTAssertTrue(FirewallRules(configuration).installCommands().isEmpty)
    }
}
