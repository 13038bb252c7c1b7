import Foundation

/// The lab's networks: each LAN client in a network namespace of its own, all joined to a
/// bridge in the gateway's namespace (one LAN subnet), and the "Internet" in one more namespace
/// holding every outside address (stand-in peers, servers) on its link to the gateway.
///
/// Only addresses inside these namespaces are used: 10.99.1.0/24 and fd00:99:1::/64 for the
/// LAN, 10.99.3.0/24 and fd00:99:3::/64 for the outside; the gateway is `.1` on both. Interfaces
/// are created directly inside the namespaces, so nothing appears in the host's own namespace.
public struct LabNetwork: Sendable {
    /// A LAN client: its role name (also its namespace suffix) and its host number on the LAN.
    public struct Client: Sendable, Equatable {
        public let name: String
        public let host: UInt8
        public init(_ name: String, host: UInt8) {
            self.name = name
            self.host = host
        }
    }

    public static let lanPrefix4 = "10.99.1."
    public static let lanPrefix6 = "fd00:99:1::"
    public static let wanPrefix4 = "10.99.3."
    public static let wanPrefix6 = "fd00:99:3::"
    public static let lanRanges = ["10.99.1.0/24", "fd00:99:1::/64"]
    public static let gatewayLAN4 = lanPrefix4 + "1"
    public static let gatewayLAN6 = lanPrefix6 + "1"

    /// The namespace names start with this (`<base>-<pid>`), so a later run can find what a
    /// killed run left behind.
    public let prefix: String
    public let base: String
    public let clients: [Client]
    /// Host numbers of the outside addresses (`10.99.3.N`, `fd00:99:3::N`).
    public let outsideHosts: [UInt8]

    public init(base: String, clients: [Client], outsideHosts: [UInt8]) {
        self.base = base
        prefix = "\(base)-\(getpid())"
        self.clients = clients
        self.outsideHosts = outsideHosts
    }

    public var gateway: String { prefix + "-gw" }
    public var outside: String { prefix + "-wan" }
    public func namespace(of client: Client) -> String { prefix + "-" + client.name }
    public var allNamespaces: [String] { [gateway, outside] + clients.map(namespace(of:)) }

    public static func address4(_ client: Client) -> String { lanPrefix4 + String(client.host) }
    public static func address6(_ client: Client) -> String { lanPrefix6 + String(client.host) }
    public static func outside4(_ host: UInt8) -> String { wanPrefix4 + String(host) }
    public static func outside6(_ host: UInt8) -> String { wanPrefix6 + String(host) }

    /// Why the lab cannot run here, or nil: root, iproute2 and iptables are needed.
    public static func missingPrerequisite() -> String? {
        if geteuid() != 0 { return "needs root (it creates network namespaces, firewall rules and NFQUEUE readers)" }
        for tool in ["ip", "iptables", "ip6tables", "sysctl"] where CommandRunner.locate(tool) == nil {
            return "needs \(tool) (Debian packages iproute2, iptables, procps)"
        }
        return nil
    }

    /// Creates the namespaces, links, addresses and routes. On failure everything made so far
    /// is removed and the failing command is reported. One `ip -batch` per namespace: starting
    /// a process per command would make this take seconds.
    public func build() throws {
        let gw = gateway
        var steps: [(namespace: String?, commands: [String])] = [(nil, allNamespaces.map { "netns add \($0)" })]
        var gatewayCommands = [
            "link add lan0 type bridge forward_delay 0",
            "addr add \(LabNetwork.gatewayLAN4)/24 dev lan0",
            "addr add \(LabNetwork.gatewayLAN6)/64 dev lan0 nodad",
            "link add wan0 type veth peer name eth0 netns \(outside)",
            "addr add \(LabNetwork.wanPrefix4)1/24 dev wan0",
            "addr add \(LabNetwork.wanPrefix6)1/64 dev wan0 nodad",
            "link set lo up", "link set lan0 up", "link set wan0 up",
        ]
        for client in clients {
            let port = "c\(client.host)"
            gatewayCommands += ["link add \(port) type veth peer name eth0 netns \(namespace(of: client))",
                                "link set \(port) master lan0", "link set \(port) up"]
        }
        steps.append((gw, gatewayCommands))
        for client in clients {
            steps.append((namespace(of: client), [
                "addr add \(LabNetwork.address4(client))/24 dev eth0",
                "addr add \(LabNetwork.address6(client))/64 dev eth0 nodad",
                "link set lo up", "link set eth0 up",
                "route add default via \(LabNetwork.gatewayLAN4)",
                "route add ::/0 via \(LabNetwork.gatewayLAN6)",
            ]))
        }
        var outsideCommands: [String] = []
        for host in outsideHosts {
            outsideCommands.append("addr add \(LabNetwork.outside4(host))/24 dev eth0")
            outsideCommands.append("addr add \(LabNetwork.outside6(host))/64 dev eth0 nodad")
        }
        outsideCommands += ["link set lo up", "link set eth0 up",
                            "route add default via \(LabNetwork.wanPrefix4)1", "route add ::/0 via \(LabNetwork.wanPrefix6)1"]
        steps.append((outside, outsideCommands))
        for step in steps {
            let arguments = (step.namespace.map { ["-n", $0] } ?? []) + ["-batch", "-"]
            let result = CommandRunner.run("ip", arguments, input: step.commands.joined(separator: "\n") + "\n")
            guard result.status == 0 else {
                destroy()
                throw LabError("cannot build the lab network (ip \(arguments.joined(separator: " ")) in \(step.namespace ?? "the host")): \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        }
        let forwarding = CommandRunner.run("ip", ["netns", "exec", gw, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"])
        guard forwarding.status == 0 else {
            destroy()
            throw LabError("cannot turn on forwarding on the lab's gateway: \(forwarding.output)")
        }
    }

    /// Kills whatever still runs in the lab's namespaces (by pid) and deletes them.
    public func destroy() {
        LabNetwork.remove(namespaces: allNamespaces)
    }

    /// The pids of the processes in namespace `name`, as `ip netns pids` finds them: those whose
    /// network namespace is the same file as the named one.
    public static func pids(in name: String) -> [pid_t] {
        var target = stat()
        guard stat("/run/netns/\(name)", &target) == 0 else { return [] }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var found: [pid_t] = []
        for entry in entries {
            guard let pid = pid_t(entry) else { continue }
            var info = stat()
            if stat("/proc/\(entry)/ns/net", &info) == 0, info.st_dev == target.st_dev, info.st_ino == target.st_ino { found.append(pid) }
        }
        return found
    }

    static func remove(namespaces names: [String]) {
        for name in names {
            for pid in pids(in: name) where pid > 1 && pid != getpid() { kill(pid, SIGKILL) }
        }
        let existing = Set(CommandRunner.run("ip", ["netns", "list"]).output.split(whereSeparator: \.isNewline)
            .compactMap { $0.split(separator: " ").first.map(String.init) })
        let commands = names.filter(existing.contains).map { "netns delete \($0)" }
        guard !commands.isEmpty else { return }
        CommandRunner.run("ip", ["-force", "-batch", "-"], input: commands.joined(separator: "\n") + "\n")
    }

    /// Whether `pid` runs: it exists and is not a zombie (a killed run whose parent is gone may
    /// wait a while to be reaped).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// Removes namespaces named `<base>-<pid>-…` whose process is gone: what a run killed
    /// without a chance to clean up left behind. Returns their names.
    @discardableResult
    public static func removeStale(base: String) -> [String] {
        let listing = CommandRunner.run("ip", ["netns", "list"])
        guard listing.status == 0 else { return [] }
        var removed: [String] = []
        defer { remove(namespaces: removed) }
        for line in listing.output.split(whereSeparator: \.isNewline) {
            guard let name = line.split(separator: " ").first.map(String.init), name.hasPrefix(base + "-") else { continue }
            let rest = name.dropFirst(base.count + 1)
            guard let pid = pid_t(rest.prefix { $0.isNumber }), pid > 0 else { continue }
            if isAlive(pid) { continue }
            removed.append(name)
        }
        return removed
    }
}
