/// What a plugin says about one packet.
public enum Detection: Sendable {
    /// Nothing yet: keep showing me this flow.
    case undecided
    /// Not my protocol, or nothing more to see: stop showing me this flow.
    case notMine
    /// I recognised something.
    case found(Finding)
}

/// The final decision for a packet. Ordered by severity: a stronger verdict wins.
public enum Verdict: Int, Sendable, Comparable, CustomStringConvertible {
    case accept = 0
    case drop = 1
    /// Drop, and tell the sender (a TCP reset) so the application fails fast.
    case reject = 2

    public static func < (lhs: Verdict, rhs: Verdict) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The form used in event logs: "accepted", "dropped", "rejected".
    public var pastTense: String {
        switch self {
        case .accept: return "accepted"
        case .drop: return "dropped"
        case .reject: return "rejected"
        }
    }

    public var description: String { pastTense }

    public init(_ action: SignatureAction) {
        switch action {
        case .drop: self = .drop
        case .reject: self = .reject
        case .alert, .accept: self = .accept
        }
    }
}

/// Why a verdict was given. Its text form is the `reason` field of events.
public enum VerdictReason: Sendable, Hashable, CustomStringConvertible {
    /// A signature matched: `signature:<id>`.
    case signature(String)
    /// The far end is on a learned list: `learned-peer`.
    case learnedPeer
    /// The LAN client is under a time lock: `time-lock`.
    case timeLock

    public var description: String {
        switch self {
        case .signature(let id): return "signature:\(id)"
        case .learnedPeer: return "learned-peer"
        case .timeLock: return "time-lock"
        }
    }
}

/// A plugin's finding: the verdict it asks for, why, and what the host should do.
public struct Finding: Sendable {
    /// The signature id that recognised the packet.
    public var signature: String
    public var verdict: Verdict
    public var reason: VerdictReason
    /// True when the finding names the flow's protocol (`app_proto`); false for side evidence.
    public var identifiesFlow: Bool
    public var actions: [HostAction]
    /// Extra detail for the log (a user agent, a network name, a peer address).
    public var facts: [Fact]
    /// Keep showing me this flow after this finding (to learn what a server announces later).
    public var keepInspecting: Bool

    public init(signature: String, verdict: Verdict, reason: VerdictReason? = nil, identifiesFlow: Bool = true,
                actions: [HostAction] = [], facts: [Fact] = [], keepInspecting: Bool = false) {
        self.signature = signature
        self.verdict = verdict
        self.reason = reason ?? .signature(signature)
        self.identifiesFlow = identifiesFlow
        self.actions = actions
        self.facts = facts
        self.keepInspecting = keepInspecting
    }
}

public struct Fact: Sendable, Hashable {
    public let key: String
    public let value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

/// A side effect a plugin asks the host to carry out.
public enum HostAction: Sendable {
    /// Put an address (and port) on a learned list.
    case learn(LearnRequest)
    /// Lock a LAN client, or re-arm its lock.
    case lock(LockRequest)
    /// Send a packet towards a LAN client (a spoofed reply).
    case send(OutboundPacket)
}

public struct LearnRequest: Sendable, Hashable {
    public var address: IPAddress
    /// nil lists the whole address.
    public var port: UInt16?
    public var list: String
    public var timeToLive: Seconds
    /// Where it was learned: a signature id and the client, for `peerwall explain`.
    public var origin: String
    /// The transports the host blocks towards the entry: both by default; TCP only lets a
    /// protocol's UDP through while still refusing its connections (ftwall's `-n`).
    public var transports: Set<Transport>

    public init(address: IPAddress, port: UInt16?, list: String, timeToLive: Seconds, origin: String,
                transports: Set<Transport> = [.tcp, .udp]) {
        self.address = address
        self.port = port
        self.list = list
        self.timeToLive = timeToLive
        self.origin = origin
        self.transports = transports
    }
}

public struct LockRequest: Sendable, Hashable {
    public var client: IPAddress
    public var duration: Seconds
    /// The signature id or event that caused the lock.
    public var reason: String
    /// What to send the client at half the lock time to see whether it is still trying.
    public var probe: ProbeRequest?

    public init(client: IPAddress, duration: Seconds, reason: String, probe: ProbeRequest? = nil) {
        self.client = client
        self.duration = duration
        self.reason = reason
        self.probe = probe
    }
}

/// A UDP datagram the host sends a locked client from the gateway's own address.
public struct ProbeRequest: Sendable, Hashable {
    public var payload: [UInt8]
    /// The client's port the probe is addressed to.
    public var clientPort: UInt16
    /// The gateway's source port for the probe.
    public var sourcePort: UInt16

    public init(payload: [UInt8], clientPort: UInt16, sourcePort: UInt16) {
        self.payload = payload
        self.clientPort = clientPort
        self.sourcePort = sourcePort
    }
}

/// A packet for the host to build and send. The host only ever sends towards LAN addresses.
public struct OutboundPacket: Sendable, Hashable {
    public var transport: Transport
    public var source: Endpoint
    public var destination: Endpoint
    public var payload: [UInt8]
    /// TCP only.
    public var tcpFlags: TCPFlags
    public var sequenceNumber: UInt32
    public var acknowledgementNumber: UInt32

    public init(udpFrom source: Endpoint, to destination: Endpoint, payload: [UInt8]) {
        transport = .udp
        self.source = source
        self.destination = destination
        self.payload = payload
        tcpFlags = []
        sequenceNumber = 0
        acknowledgementNumber = 0
    }

    public init(tcpFrom source: Endpoint, to destination: Endpoint, flags: TCPFlags, sequenceNumber: UInt32,
                acknowledgementNumber: UInt32, payload: [UInt8] = []) {
        transport = .tcp
        self.source = source
        self.destination = destination
        self.payload = payload
        tcpFlags = flags
        self.sequenceNumber = sequenceNumber
        self.acknowledgementNumber = acknowledgementNumber
    }
}

public extension Finding {
    /// Adds a fact for the log. A second value for a key already present joins the first,
    /// comma-separated, so each key appears once; past `limit` values a key takes no more.
    mutating func addFact(_ key: String, _ value: String, limit: Int = 16) {
        guard let index = facts.firstIndex(where: { $0.key == key }) else {
            facts.append(Fact(key, value))
            return
        }
        let present = facts[index].value
        guard present.utf8.reduce(1, { $1 == UInt8(ascii: ",") ? $0 + 1 : $0 }) < limit else { return }
        facts[index] = Fact(key, present + ", " + value)
    }
}

public extension Finding {
    /// True when the finding already asks to learn this entry.
    func learns(_ address: IPAddress, port: UInt16?) -> Bool {
        actions.contains {
            if case .learn(let request) = $0 { return request.address == address && request.port == port }
            return false
        }
    }
}
