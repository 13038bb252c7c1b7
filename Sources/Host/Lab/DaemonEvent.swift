import Foundation

/// One line of the daemon's JSON event log, as the lab reads it: every field any event type
/// has, each optional. The names are the event log's (see README, "Replay").
public struct DaemonEvent: Decodable, Sendable {
    public struct Alert: Decodable, Sendable {
        public var plugin: String?
        public var signatureID: String?
        public var action: String?
        public var verdict: String?

        enum CodingKeys: String, CodingKey {
            case plugin, action, verdict
            case signatureID = "signature_id"
        }
    }

    public var eventType: String
    public var timestamp: String
    public var proto: String?
    public var sourceIP: String?
    public var sourcePort: Int?
    public var destinationIP: String?
    public var destinationPort: Int?
    public var appProto: String?
    public var verdict: String?
    public var reason: String?
    public var droppedPackets: Int?
    public var packetsToServer: Int?
    public var packetsToClient: Int?
    public var client: String?
    public var until: String?
    public var rearmed: Bool?
    public var lockedAt: String?
    public var ip: String?
    public var port: Int?
    public var list: String?
    public var origin: String?
    public var refreshed: Bool?
    public var kind: String?
    public var plugin: String?
    public var alert: Alert?

    enum CodingKeys: String, CodingKey {
        case timestamp, proto, verdict, reason, client, until, rearmed, ip, port, list, origin, refreshed, kind, plugin, alert
        case eventType = "event_type"
        case sourceIP = "src_ip"
        case sourcePort = "src_port"
        case destinationIP = "dest_ip"
        case destinationPort = "dest_port"
        case appProto = "app_proto"
        case droppedPackets = "dropped_pkts"
        case packetsToServer = "pkts_toserver"
        case packetsToClient = "pkts_toclient"
        case lockedAt = "locked_at"
    }

    /// Parses one event log line; nil for anything else.
    public static func parse(_ line: String) -> DaemonEvent? {
        try? JSONDecoder().decode(DaemonEvent.self, from: Data(line.utf8))
    }

    /// The event's time, as seconds since 1970.
    public var time: Double { DaemonEvent.seconds(timestamp) ?? 0 }

    /// Seconds since 1970 from the event log's `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    public static func seconds(_ text: String) -> Double? {
        let parts = text.split(whereSeparator: { "-T:Z".contains($0) })
        guard parts.count >= 6, let year = Int32(parts[0]), let month = Int32(parts[1]), let day = Int32(parts[2]),
              let hour = Int32(parts[3]), let minute = Int32(parts[4]), let second = Double(parts[5]) else { return nil }
        var fields = tm()
        fields.tm_year = year - 1900
        fields.tm_mon = month - 1
        fields.tm_mday = day
        fields.tm_hour = hour
        fields.tm_min = minute
        fields.tm_sec = 0
        return Double(timegm(&fields)) + second
    }

    var source: String { LabText.endpoint(sourceIP, sourcePort) }
    var destination: String { LabText.endpoint(destinationIP, destinationPort) }

    /// A concise line for the operator, or nil for events not worth a line (refreshes, stats).
    public var humanLine: String? {
        switch eventType {
        case "lock":
            guard let client, let until, let end = DaemonEvent.seconds(until) else { return nil }
            let seconds = Int((end - time).rounded())
            if rearmed == true { return "\(client) lock re-armed, \(seconds) s: \(reason ?? "?")" }
            return "\(client) locked \(seconds) s: \(reason ?? "?")"
        case "unlock":
            guard let client else { return nil }
            let held = lockedAt.flatMap(DaemonEvent.seconds).map { " after \(Int((time - $0).rounded())) s" } ?? ""
            return "\(client) unlocked (\(reason ?? "?"))\(held)"
        case "learn":
            guard refreshed != true, let ip else { return nil }
            let target = port.map { LabText.endpoint(ip, $0) } ?? ip
            return "learned \(target) on the \(list ?? "?") list (\(origin ?? "?"))"
        case "alert":
            guard let alert else { return nil }
            return "\(alert.signatureID ?? "?"): \(proto ?? "?") \(source) -> \(destination) \(alert.verdict ?? "?")"
        case "inject":
            let what: String
            switch kind {
            case "reply": what = "spoofed reply"
            case "probe": what = "lock probe"
            case "reset": what = "reset"
            default: what = kind ?? "packet"
            }
            return "sent \(what) \(proto ?? "?") \(source) -> \(destination)"
        case "flow":
            guard verdict == "dropped" || verdict == "rejected" else { return nil }
            let count = droppedPackets.map { ", \($0) packet\($0 == 1 ? "" : "s")" } ?? ""
            return "\(verdict ?? "dropped") \(proto ?? "?") \(source) -> \(destination) (\(reason ?? "?")\(count))"
        default:
            return nil
        }
    }
}

/// Small text helpers shared by the lab's reports.
enum LabText {
    static func endpoint(_ ip: String?, _ port: Int?) -> String {
        guard let ip else { return "?" }
        guard let port else { return ip }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    static func milliseconds(_ value: Double) -> String {
        value < 10 ? String(format: "%.1f ms", value) : "\(Int(value.rounded())) ms"
    }
}
