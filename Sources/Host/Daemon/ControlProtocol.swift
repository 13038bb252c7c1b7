import Foundation
import PluginAPI

/// The control socket's protocol: the client sends one request line (`status`, `explain IP`,
/// `unlock IP`, `forget IP`, `reload`), the daemon answers with one JSON object on one line
/// and closes the connection.
public enum ControlRequest: Sendable, Equatable {
    case status
    case explain(IPAddress)
    case unlock(IPAddress)
    case forget(IPAddress)
    case reload

    /// The longest request line the daemon reads.
    public static let maximumLineLength = 512

    /// Parses one request line; the error text goes back to the client.
    public static func parse(_ line: String) -> Result<ControlRequest, ControlProtocolError> {
        let words = line.split(whereSeparator: \.isWhitespace)
        guard let verb = words.first?.lowercased() else { return .failure(ControlProtocolError("empty request")) }
        func address() -> Result<IPAddress, ControlProtocolError> {
            guard words.count == 2 else { return .failure(ControlProtocolError("usage: \(verb) IP")) }
            guard let ip = IPAddress(words[1]) else { return .failure(ControlProtocolError("not an IP address: \(words[1])")) }
            return .success(ip)
        }
        switch verb {
        case "status", "reload":
            guard words.count == 1 else { return .failure(ControlProtocolError("\(verb) takes no argument")) }
            return .success(verb == "status" ? .status : .reload)
        case "explain": return address().map { .explain($0) }
        case "unlock": return address().map { .unlock($0) }
        case "forget": return address().map { .forget($0) }
        default: return .failure(ControlProtocolError("unknown request '\(verb)'"))
        }
    }

    /// The request as the client sends it (without the newline).
    public var line: String {
        switch self {
        case .status: return "status"
        case .reload: return "reload"
        case .explain(let ip): return "explain \(ip)"
        case .unlock(let ip): return "unlock \(ip)"
        case .forget(let ip): return "forget \(ip)"
        }
    }
}

public struct ControlProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The daemon's answer to one request.
public struct ControlResponse: Codable, Sendable, Equatable {
    public var ok: Bool
    public var error: String?
    /// A short human sentence (unlock, forget, reload).
    public var message: String?
    public var status: StatusReport?
    public var explain: ExplainReport?

    public init(ok: Bool, error: String? = nil, message: String? = nil, status: StatusReport? = nil, explain: ExplainReport? = nil) {
        self.ok = ok
        self.error = error
        self.message = message
        self.status = status
        self.explain = explain
    }

    public static func failure(_ text: String) -> ControlResponse { ControlResponse(ok: false, error: text) }

    public func encodedLine() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(self) else { return #"{"ok":false,"error":"cannot encode the answer"}"# }
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode(_ line: String) -> ControlResponse? {
        try? JSONDecoder().decode(ControlResponse.self, from: Data(line.utf8))
    }
}

public struct StatusReport: Codable, Sendable, Equatable {
    public struct LockedClient: Codable, Sendable, Equatable {
        public var client: String
        public var reason: String
        public var remainingSeconds: Double
        public var arms: Int
        public var lockedAt: String

        enum CodingKeys: String, CodingKey {
            case client, reason, arms
            case remainingSeconds = "remaining_seconds"
            case lockedAt = "locked_at"
        }
    }

    public struct QueueCounters: Codable, Sendable, Equatable {
        public var queue: UInt16
        public var packets: UInt64
        public var accepted: UInt64
        public var dropped: UInt64
        public var settled: UInt64
        public var malformed: UInt64
        public var receiveErrors: UInt64
        /// ENOBUFS from the socket: the kernel could not deliver packets to us.
        public var enobufs: UInt64
        public var verdictErrors: UInt64
        /// From /proc/net/netfilter/nfnetlink_queue: packets the kernel dropped because the queue was full.
        public var kernelQueueDropped: UInt64?
        /// From the same file: packets the kernel could not send to the socket.
        public var kernelUserDropped: UInt64?
        public var kernelQueueLength: UInt64?

        enum CodingKeys: String, CodingKey {
            case queue, packets, accepted, dropped, settled, malformed, enobufs
            case receiveErrors = "receive_errors"
            case verdictErrors = "verdict_errors"
            case kernelQueueDropped = "kernel_queue_dropped"
            case kernelUserDropped = "kernel_user_dropped"
            case kernelQueueLength = "kernel_queue_length"
        }
    }

    public var version: String
    public var uptimeSeconds: Double
    public var monitorOnly: Bool
    public var failOpen: Bool
    public var manageRules: Bool
    public var rulesIntact: Bool?
    public var packets: UInt64
    public var accepted: UInt64
    public var dropped: UInt64
    public var rejected: UInt64
    public var wouldDrop: UInt64
    public var malformed: UInt64
    public var flows: UInt64
    public var activeFlows: Int
    public var injected: UInt64
    public var injectFailures: UInt64
    public var queues: [QueueCounters]
    public var detections: [String: UInt64]
    public var signatures: [String: UInt64]
    public var signatureRevisions: [String: String]
    public var lockedClients: [LockedClient]
    public var learnedLists: [String: Int]
    public var reloads: Int
    public var lastReloadError: String?

    enum CodingKeys: String, CodingKey {
        case version, packets, accepted, dropped, rejected, malformed, flows, injected, queues, detections, signatures, reloads
        case uptimeSeconds = "uptime_seconds"
        case monitorOnly = "monitor_only"
        case failOpen = "fail_open"
        case manageRules = "manage_rules"
        case rulesIntact = "rules_intact"
        case wouldDrop = "would_drop"
        case activeFlows = "active_flows"
        case injectFailures = "inject_failures"
        case signatureRevisions = "signature_revisions"
        case lockedClients = "locked_clients"
        case learnedLists = "learned_lists"
        case lastReloadError = "last_reload_error"
    }
}

public struct ExplainReport: Codable, Sendable, Equatable {
    public struct Lock: Codable, Sendable, Equatable {
        public var reason: String
        public var lockedAt: String
        public var lastArmedAt: String
        public var until: String
        public var remainingSeconds: Double
        public var arms: Int
        public var probePending: Bool

        enum CodingKeys: String, CodingKey {
            case reason, until, arms
            case lockedAt = "locked_at"
            case lastArmedAt = "last_armed_at"
            case remainingSeconds = "remaining_seconds"
            case probePending = "probe_pending"
        }
    }

    public struct Learned: Codable, Sendable, Equatable {
        public var list: String
        public var port: UInt16?
        public var origin: String
        public var learnedAt: String
        public var expires: String
        public var remainingSeconds: Double

        enum CodingKeys: String, CodingKey {
            case list, port, origin, expires
            case learnedAt = "learned_at"
            case remainingSeconds = "remaining_seconds"
        }
    }

    public struct Evidence: Codable, Sendable, Equatable {
        public var time: String
        public var plugin: String
        public var signature: String
        public var packet: String
    }

    public var address: String
    public var isLAN: Bool
    public var neverBlocked: Bool
    public var lock: Lock?
    public var learned: [Learned]
    public var evidence: [Evidence]

    enum CodingKeys: String, CodingKey {
        case address, lock, learned, evidence
        case isLAN = "is_lan"
        case neverBlocked = "never_blocked"
    }
}
