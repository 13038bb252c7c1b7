import PluginAPI

/// Every setting of the engine and the daemon, with its default. The config file
/// (`/etc/peerwall/peerwall.xml`) and the command-line flags both fill this one struct;
/// a flag wins over the file.
public struct Configuration: Sendable {
    /// LAN address ranges: the side whose clients are protected and locked.
    public var lanRanges: [CIDR] = Configuration.defaultLANRanges
    /// Clients (or peers) that are never blocked, whatever any plugin says.
    public var neverBlock: [CIDR] = []
    /// Log what would be dropped, drop nothing.
    public var monitorOnly = false
    /// Overrides every plugin's lock time; 0 disables locking. nil keeps each plugin's own.
    public var lockSeconds: Int?
    /// How a locked client's new TCP connections are refused.
    public var refusal: Refusal = .drop
    /// The directory holding the signature files and their schema.
    public var signatureDirectory = "/usr/share/peerwall/signatures"

    // Flow tracking.
    /// Most flows tracked at once; the oldest idle flows are evicted beyond it.
    public var flowCapacity = 262_144
    /// Bytes of each TCP direction reassembled for the plugins.
    public var streamDepth = 4096
    public var flowTimeouts = FlowTimeouts()

    // Learned lists.
    /// Most entries across all learned lists; the soonest to expire are evicted beyond it.
    public var learnedCapacity = 65_536

    // Daemon.
    public var queues: [UInt16] = [0]
    public var failOpen = false
    public var eventLogPath: String?
    public var stateDirectory = "/var/lib/peerwall"
    public var controlSocketPath = "/run/peerwall/peerwall.sock"
    public var manageRules = false
    /// The gateway's own addresses, the source of probes; empty means "look them up per interface".
    public var gatewayAddresses: [IPAddress] = []

    public init() {}

    public static let defaultLANRanges: [CIDR] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"]
        .compactMap { CIDR($0) }

    public enum Refusal: String, Sendable, CaseIterable {
        /// Silently drop the SYN.
        case drop
        /// Answer the SYN with a TCP reset so the application fails fast.
        case reset
    }

    public func isLAN(_ address: IPAddress) -> Bool { lanRanges.contains { $0.contains(address) } }
    public func isNeverBlocked(_ address: IPAddress) -> Bool { neverBlock.contains { $0.contains(address) } }
}

/// Idle timeouts, by transport and TCP state.
public struct FlowTimeouts: Sendable, Equatable {
    /// A TCP flow that has not completed its handshake.
    public var tcpOpening = Seconds(30)
    public var tcpEstablished = Seconds(3600)
    /// After a FIN or RST.
    public var tcpClosing = Seconds(10)
    public var udp = Seconds(60)

    public init() {}
}
