import PluginAPI
import XCTest

/// A small, fixed-seed generator so random tests repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

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

func hexBytes(_ hex: String) -> [UInt8] {
    var out = [UInt8]()
    var high: UInt8?
    for ch in hex.utf8 {
        guard let nibble = ch.hexValue else { continue }
        if let h = high {
            out.append(h << 4 | nibble)
            high = nil
        } else {
            high = nibble
        }
    }
    return out
}

private extension UInt8 {
    var hexValue: UInt8? {
        switch self {
        case 0x30...0x39: return self - 0x30
        case 0x61...0x66: return self - 0x61 + 10
        case 0x41...0x46: return self - 0x41 + 10
        default: return nil
        }
    }
}

extension Array where Element == UInt8 {
    /// Sets a big-endian 16-bit field.
    mutating func set16(_ offset: Int, _ value: UInt16) {
        self[offset] = UInt8(value >> 8)
        self[offset + 1] = UInt8(value & 0xFF)
    }

    func get16(_ offset: Int) -> UInt16 { UInt16(self[offset]) << 8 | UInt16(self[offset + 1]) }
}
