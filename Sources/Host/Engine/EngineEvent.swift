import PluginAPI

/// Something the engine reports. The JSON Lines form of each is the replay output contract
/// (and the live event log); field names follow Suricata's EVE where one exists.
public enum EngineEvent: Sendable {
    case flow(FlowEvent)
    case alert(AlertEvent)
    case learn(LearnEvent)
    case lock(LockEvent)
    case unlock(UnlockEvent)
    case inject(InjectEvent)
    case stats(StatsEvent)

    public var timestamp: Timestamp {
        switch self {
        case .flow(let e): return e.timestamp
        case .alert(let e): return e.timestamp
        case .learn(let e): return e.timestamp
        case .lock(let e): return e.timestamp
        case .unlock(let e): return e.timestamp
        case .inject(let e): return e.timestamp
        case .stats(let e): return e.timestamp
        }
    }
}

/// One per flow, when it expires, is evicted, or at the end of input.
public struct FlowEvent: Sendable, Equatable {
    public var timestamp: Timestamp
    public var transport: Transport
    /// The originator.
    public var source: Endpoint
    public var destination: Endpoint
    /// The plugin id that identified the flow, or nil.
    public var appProto: String?
    /// The strongest verdict any of its packets got.
    public var verdict: Verdict
    /// Why (the first reason that dropped a packet), or nil.
    public var reason: String?
    public var packetsToServer: UInt32
    public var packetsToClient: UInt32
    public var bytesToServer: UInt64
    public var bytesToClient: UInt64
    public var droppedPackets: UInt32
    public var start: Timestamp
    public var end: Timestamp
    /// Why the record was written: "timeout", "evicted", "end-of-input", "shutdown".
    public var ending: String
}

/// A plugin recognised something.
public struct AlertEvent: Sendable, Equatable {
    public var timestamp: Timestamp
    public var plugin: String
    public var signature: String
    /// The verdict the plugin asked for.
    public var action: Verdict
    /// The verdict the packet actually got (monitor-only and never-block soften it).
    public var verdict: Verdict
    public var transport: Transport
    public var source: Endpoint
    public var destination: Endpoint
    /// The LAN client concerned.
    public var client: IPAddress
    public var facts: [Fact]
}

/// An address entered (or was refreshed on) a learned list.
public struct LearnEvent: Sendable, Equatable {
    public var timestamp: Timestamp
    public var address: IPAddress
    public var port: UInt16?
    public var list: String
    public var origin: String
    public var expires: Timestamp
    public var refreshed: Bool
}

public struct LockEvent: Sendable, Equatable {
    public var timestamp: Timestamp
    public var client: IPAddress
    public var until: Timestamp
    public var reason: String
    /// True when an existing lock was re-armed.
    public var rearmed: Bool
}

public struct UnlockEvent: Sendable, Equatable {
    public var timestamp: Timestamp
    public var client: IPAddress
    /// "expired" or "operator".
    public var reason: String
    public var lockedAt: Timestamp
}

/// A packet the host built and sent (or, in replay, would send): a spoofed reply, a probe, a reset.
public struct InjectEvent: Sendable, Equatable {
    public var timestamp: Timestamp
    /// "reply", "probe" or "reset".
    public var kind: String
    public var plugin: String?
    public var packet: OutboundPacket
}

/// Counters, written last in replay and on demand live.
public struct StatsEvent: Sendable, Equatable {
    public var timestamp: Timestamp
    public var packets: UInt64
    public var malformed: UInt64
    public var anomalies: [String: UInt64]
    public var flows: UInt64
    public var drops: UInt64
    public var rejects: UInt64
    public var wouldDrop: UInt64
    public var perPlugin: [String: UInt64]
    public var perSignature: [String: UInt64]
    public var locks: UInt64
    public var learned: UInt64
    public var injected: UInt64
    public var learnRefused: UInt64
    public var flowsEvicted: UInt64
}

/// Receives the engine's events, in order.
public protocol EngineEventSink: AnyObject {
    func emit(_ event: EngineEvent)
}

/// Keeps every event, for tests.
public final class CollectingEventSink: EngineEventSink {
    public private(set) var events: [EngineEvent] = []
    public init() {}
    public func emit(_ event: EngineEvent) { events.append(event) }

    public var flows: [FlowEvent] { events.compactMap { if case .flow(let e) = $0 { return e } else { return nil } } }
    public var alerts: [AlertEvent] { events.compactMap { if case .alert(let e) = $0 { return e } else { return nil } } }
    public var learns: [LearnEvent] { events.compactMap { if case .learn(let e) = $0 { return e } else { return nil } } }
    public var locks: [LockEvent] { events.compactMap { if case .lock(let e) = $0 { return e } else { return nil } } }
    public var unlocks: [UnlockEvent] { events.compactMap { if case .unlock(let e) = $0 { return e } else { return nil } } }
    public var injections: [InjectEvent] { events.compactMap { if case .inject(let e) = $0 { return e } else { return nil } } }
}
