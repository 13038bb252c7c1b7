import Foundation

/// One line of the daemon's JSON event log, as the lab reads it: every field any event type
/// has, each optional. The names are the event log's (see README, "Replay").
public struct DaemonEvent: Decodable, Sendable {
    public struct Alert: Decodable, Sendable {
        public var plugin: String?
        public var signatureID: String?
        public var action: String?
        public var verdict: String?
        public var facts: [String: String]?

        enum CodingKeys: String, CodingKey {
            case plugin, action, verdict, facts
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

    /// Seconds since 1970 from the event log's `YYYY-MM-DDTHH:MM:SS[.ffffff]` followed by `Z` or
    /// an offset `±hhmm` / `±hh:mm`.
    public static func seconds(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T") else { return nil }
        func number(_ range: Range<Int>) -> Int32? { Int32(String(decoding: bytes[range], as: UTF8.self)) }
        var zone = 19
        while zone < bytes.count, bytes[zone] == UInt8(ascii: ".") || (bytes[zone] >= 48 && bytes[zone] <= 57) { zone += 1 }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
              let minute = number(14..<16), let second = Double(String(decoding: bytes[17..<zone], as: UTF8.self)) else { return nil }
        var offset = 0.0
        if zone < bytes.count, bytes[zone] != UInt8(ascii: "Z") {
            let digits = bytes[(zone + 1)...].filter { $0 != UInt8(ascii: ":") }
            guard digits.count == 4, let value = Int(String(decoding: digits, as: UTF8.self)) else { return nil }
            offset = Double((value / 100) * 3600 + (value % 100) * 60) * (bytes[zone] == UInt8(ascii: "-") ? -1 : 1)
        }
        var fields = tm()
        fields.tm_year = year - 1900
        fields.tm_mon = month - 1
        fields.tm_mday = day
        fields.tm_hour = hour
        fields.tm_min = minute
        return Double(timegm(&fields)) + second - offset
    }

    public var source: String { LabText.endpoint(sourceIP, sourcePort) }
    public var destination: String { LabText.endpoint(destinationIP, destinationPort) }

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
