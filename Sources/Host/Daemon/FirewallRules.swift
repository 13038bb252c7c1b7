import PluginAPI

/// The packet and connection mark bits peerwall owns. Kept in the high bits, away from the
/// low bits that QoS and policy-routing setups usually use; every rule masks with them.
public enum PeerwallMarks {
    /// The flow needs no more inspection: the kernel lets its packets by without queueing them.
    public static let settled: UInt32 = 0x1000_0000
    /// A probe the daemon sent: the client's answer comes back on the same connection and is queued.
    public static let probe: UInt32 = 0x2000_0000
    /// Every bit peerwall may set.
    public static let mask: UInt32 = settled | probe

    static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}

/// The iptables and ip6tables rules that hand traffic to the daemon.
///
/// Everything lives in the `mangle` table, which runs before `filter`: an ACCEPT verdict from the
/// queue ends only peerwall's hook, so the administrator's own `filter` rules still judge every
/// packet peerwall lets through, and a DROP wins over them.
///
/// What is queued, and why:
/// - FORWARD, from or to a LAN range: every packet of a flow until the daemon marks the flow
///   settled (no plugin wants more of it and nothing dropped it; a connmark saved in
///   POSTROUTING). A settled flow's later packets never leave the kernel.
/// - Every TCP SYN, settled mark or not, so a locked client's new connections are always seen.
/// - Dropped flows stay queued: the kernel keeps no "drop" mark, so a flow once dropped is
///   dropped packet by packet by the daemon, exactly as in replay.
/// - INPUT: only UDP on connections the daemon's own probes opened (the probe socket marks its
///   packets), i.e. a locked client's answer to a probe. No other traffic to the gateway.
///
/// The trade-off: once a flow is settled, a later change of mind (its far end learned as a
/// peer after it started) no longer reaches it; new flows to that peer are blocked.
public struct FirewallRules: Sendable, Equatable {
    public static let chain = "PEERWALL"
    public static let saveChain = "PEERWALL-SAVE"
    static let table = "mangle"

    public enum Family: String, Sendable, CaseIterable {
        case ipv4 = "iptables"
        case ipv6 = "ip6tables"
    }

    /// One iptables invocation, without the program name.
    public struct Command: Sendable, Equatable {
        public let family: Family
        public let arguments: [String]

        /// The command as a shell line.
        public var line: String { ([family.rawValue] + arguments).joined(separator: " ") }
    }

    public let lanRanges: [CIDR]
    public let queues: [UInt16]
    public let failOpen: Bool

    public init(lanRanges: [CIDR], queues: [UInt16], failOpen: Bool) {
        self.lanRanges = lanRanges
        self.queues = queues
        self.failOpen = failOpen
    }

    public init(_ configuration: Configuration) {
        self.init(lanRanges: configuration.lanRanges, queues: configuration.queues, failOpen: configuration.failOpen)
    }

    /// `--queue-num N` for one queue, `--queue-balance A:B` for a contiguous range, nil otherwise.
    public static func queueTarget(for queues: [UInt16]) -> [String]? {
        let sorted = queues.sorted()
        guard let first = sorted.first, let last = sorted.last else { return nil }
        if sorted.count == 1 { return ["--queue-num", String(first)] }
        guard Int(last) - Int(first) + 1 == sorted.count, Set(sorted).count == sorted.count else { return nil }
        return ["--queue-balance", "\(first):\(last)"]
    }

    /// The families with at least one LAN range.
    public var families: [Family] {
        Family.allCases.filter { family in lanRanges.contains { $0.network.isIPv4 == (family == .ipv4) } }
    }

    /// The commands that create the chains and their rules (chains first, then the jumps into them).
    public func installCommands() -> [Command] {
        guard let target = FirewallRules.queueTarget(for: queues) else { return [] }
        let queue = ["-j", "NFQUEUE"] + target + (failOpen ? ["--queue-bypass"] : [])
        var commands: [Command] = []
        for family in families {
            func add(_ arguments: [String]) { commands.append(Command(family: family, arguments: ["-w", "-t", FirewallRules.table] + arguments)) }
            let settled = PeerwallMarks.hex(PeerwallMarks.settled)
            let mask = PeerwallMarks.hex(PeerwallMarks.mask)
            add(["-N", FirewallRules.chain])
            add(["-A", FirewallRules.chain, "-p", "tcp", "--syn"] + queue)
            add(["-A", FirewallRules.chain, "-m", "connmark", "--mark", "\(settled)/\(settled)", "-j", "RETURN"])
            add(["-A", FirewallRules.chain] + queue)
            add(["-N", FirewallRules.saveChain])
            add(["-A", FirewallRules.saveChain, "-m", "mark", "!", "--mark", "0/\(mask)",
                 "-j", "CONNMARK", "--save-mark", "--nfmask", mask, "--ctmask", mask])
            for rule in jumpRules(family: family) { add(["-I", rule[0], "1"] + rule.dropFirst()) }
        }
        return commands
    }

    /// The jump rules (chain and match, without `-I`/`-A`/`-D`), in the order they are inserted
    /// at position 1; the last ends up first.
    func jumpRules(family: Family) -> [[String]] {
        let ranges = lanRanges.filter { $0.network.isIPv4 == (family == .ipv4) }
        let probe = PeerwallMarks.hex(PeerwallMarks.probe)
        var rules: [[String]] = [["POSTROUTING", "-j", FirewallRules.saveChain],
                                 ["INPUT", "-p", "udp", "-m", "connmark", "--mark", "\(probe)/\(probe)", "-j", FirewallRules.chain]]
        for range in ranges.reversed() {
            rules.append(["FORWARD", "-d", range.description, "-j", FirewallRules.chain])
            rules.append(["FORWARD", "-s", range.description, "-j", FirewallRules.chain])
        }
        return rules
    }

    /// Commands that remove everything `installCommands` adds. Each may fail harmlessly when
    /// that piece is already gone.
    public func removeCommands() -> [Command] {
        var commands: [Command] = []
        for family in Family.allCases {
            func add(_ arguments: [String]) { commands.append(Command(family: family, arguments: ["-w", "-t", FirewallRules.table] + arguments)) }
            for rule in jumpRules(family: family) { add(["-D"] + rule) }
            for chain in [FirewallRules.chain, FirewallRules.saveChain] {
                add(["-F", chain])
                add(["-X", chain])
            }
        }
        return commands
    }

    /// Commands that each succeed only while a piece of the installed rules is still there.
    public func checkCommands() -> [Command] {
        guard let target = FirewallRules.queueTarget(for: queues) else { return [] }
        let queue = ["-j", "NFQUEUE"] + target + (failOpen ? ["--queue-bypass"] : [])
        var commands: [Command] = []
        for family in families {
            func add(_ arguments: [String]) { commands.append(Command(family: family, arguments: ["-w", "-t", FirewallRules.table] + arguments)) }
            add(["-C", FirewallRules.chain] + queue)
            for rule in jumpRules(family: family) { add(["-C"] + rule) }
        }
        return commands
    }

    /// The rules as a shell script, for `peerwall rules`.
    public func script() -> String {
        var lines = ["# peerwall firewall rules (mangle table): LAN traffic to NFQUEUE \(FirewallRules.queueTarget(for: queues)?.joined(separator: " ") ?? "?")",
                     "# Settled flows carry connmark \(PeerwallMarks.hex(PeerwallMarks.settled)) and bypass the queue; new TCP SYNs are always queued.",
                     "# Mark bits used: \(PeerwallMarks.hex(PeerwallMarks.mask)). Remove with: peerwall rules --remove"]
        if !failOpen { lines.append("# Without --fail-open, traffic to these queues is dropped while no daemon listens.") }
        lines += installCommands().map(\.line)
        return lines.joined(separator: "\n")
    }
}
