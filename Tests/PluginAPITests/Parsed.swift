import PluginAPI

/// What a parse gave, as a value that outlives the bytes: tests compare these.
enum Parsed: Equatable {
    case packet(Summary)
    case anomaly(PacketAnomaly, source: IPAddress?, destination: IPAddress?)

    struct Summary: Equatable {
        var version: UInt8
        var source: Endpoint
        var destination: Endpoint
        var transport: Transport
        var ttl: UInt8
        var flags: UInt8
        var seq: UInt32
        var ack: UInt32
        var payload: [UInt8]
        var hasIPOptions: Bool
        var isFirstFragment: Bool
        var isTruncated: Bool
    }

    var summary: Summary? {
        if case .packet(let summary) = self { return summary }
        return nil
    }

    var anomaly: PacketAnomaly? {
        if case .anomaly(let anomaly, _, _) = self { return anomaly }
        return nil
    }
}

func parse(_ bytes: [UInt8]) -> Parsed {
    bytes.withUnsafeBytes { raw in
        switch PacketView.parse(raw) {
        case .packet(let view):
            return .packet(Parsed.Summary(
                version: view.ipVersion, source: view.sourceEndpoint, destination: view.destinationEndpoint,
                transport: view.transport, ttl: view.ttl, flags: view.tcpFlags.rawValue, seq: view.sequenceNumber,
                ack: view.acknowledgementNumber, payload: Array(view.payload), hasIPOptions: view.hasIPOptions,
                isFirstFragment: view.isFirstFragment, isTruncated: view.isTruncated))
        case let .anomaly(anomaly, source, destination):
            return .anomaly(anomaly, source: source, destination: destination)
        }
    }
}
