/// The transport protocols the engine tracks flows for.
public enum Transport: UInt8, Sendable, CustomStringConvertible {
    case tcp = 6
    case udp = 17

    public var description: String { self == .tcp ? "tcp" : "udp" }
}

public struct TCPFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
    public static let urg = TCPFlags(rawValue: 0x20)
}

/// Why a packet could not be parsed into a `PacketView`. Each is counted, never fatal.
public enum PacketAnomaly: String, Sendable, CaseIterable {
    /// Shorter than its headers.
    case truncated
    /// A length field that contradicts the bytes present or the other headers.
    case badLength
    /// Neither IPv4 nor IPv6.
    case badVersion
    /// A non-first IP fragment: it has no transport header.
    case fragment
    /// A transport other than TCP or UDP (ICMP, GRE, ...): not inspected.
    case unknownProtocol
}

/// A parsed, zero-copy view of one IP packet. Valid only while the bytes it was parsed from
/// are: the host hands it to a plugin for the duration of one `inspect` call.
public struct PacketView: @unchecked Sendable {
    /// The whole IP packet, from the first byte of the IP header.
    public let bytes: UnsafeRawBufferPointer
    public let ipVersion: UInt8
    public let source: IPAddress
    public let destination: IPAddress
    public let transport: Transport
    public let ttl: UInt8
    /// True when the IPv4 header carries options (IHL > 5).
    public let hasIPOptions: Bool
    /// True for the first fragment of a fragmented datagram.
    public let isFirstFragment: Bool
    /// True when fewer bytes are present than the IP header announces (a snapped capture).
    public let isTruncated: Bool
    public let sourcePort: UInt16
    public let destinationPort: UInt16
    /// TCP only; empty for UDP.
    public let tcpFlags: TCPFlags
    public let sequenceNumber: UInt32
    public let acknowledgementNumber: UInt32
    /// The transport payload (after the TCP or UDP header).
    public let payload: UnsafeRawBufferPointer

    public var sourceEndpoint: Endpoint { Endpoint(source, sourcePort) }
    public var destinationEndpoint: Endpoint { Endpoint(destination, destinationPort) }
    public var isTCP: Bool { transport == .tcp }
    public var isUDP: Bool { transport == .udp }
    /// A TCP SYN without ACK: the first packet of a new connection.
    public var isConnectionRequest: Bool { transport == .tcp && tcpFlags.contains(.syn) && !tcpFlags.contains(.ack) }

    /// The outcome of parsing: a view, or the anomaly and whatever addresses could be read.
    public enum ParseResult {
        case packet(PacketView)
        case anomaly(PacketAnomaly, source: IPAddress?, destination: IPAddress?)
    }

    /// Parses an IP packet (IPv4 or IPv6, by its version nibble). Never traps on any input.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> ParseResult {
        guard let first = bytes.u8(0) else { return .anomaly(.truncated, source: nil, destination: nil) }
        switch first >> 4 {
        case 4: return parseIPv4(bytes)
        case 6: return parseIPv6(bytes)
        default: return .anomaly(.badVersion, source: nil, destination: nil)
        }
    }

    private static func parseIPv4(_ bytes: UnsafeRawBufferPointer) -> ParseResult {
        guard bytes.count >= 20, let src = bytes.u32be(12), let dst = bytes.u32be(16),
              let totalLength = bytes.u16be(2), let fragmentField = bytes.u16be(6),
              let protocolNumber = bytes.u8(9), let ttl = bytes.u8(8) else {
            return .anomaly(.truncated, source: nil, destination: nil)
        }
        let source = IPAddress(v4: src), destination = IPAddress(v4: dst)
        let headerLength = Int(bytes[0] & 0x0F) * 4
        guard headerLength >= 20, Int(totalLength) >= headerLength else {
            return .anomaly(.badLength, source: source, destination: destination)
        }
        guard headerLength <= bytes.count else { return .anomaly(.truncated, source: source, destination: destination) }
        let fragmentOffset = fragmentField & 0x1FFF
        let moreFragments = fragmentField & 0x2000 != 0
        if fragmentOffset != 0 { return .anomaly(.fragment, source: source, destination: destination) }
        let end = min(Int(totalLength), bytes.count)
        return parseTransport(
            bytes: bytes, version: 4, source: source, destination: destination,
            protocolNumber: protocolNumber, ttl: ttl, transportOffset: headerLength, end: end,
            hasOptions: headerLength > 20, isFirstFragment: moreFragments,
            isTruncated: Int(totalLength) > bytes.count)
    }

    private static func parseIPv6(_ bytes: UnsafeRawBufferPointer) -> ParseResult {
        guard bytes.count >= 40, let payloadLength = bytes.u16be(4), var next = bytes.u8(6), let hopLimit = bytes.u8(7),
              let srcBytes = bytes.slice(8, 16), let dstBytes = bytes.slice(24, 16),
              let source = IPAddress(bytes: srcBytes), let destination = IPAddress(bytes: dstBytes) else {
            return .anomaly(.truncated, source: nil, destination: nil)
        }
        // A zero payload length means a jumbogram, which no gateway forwards here.
        guard payloadLength > 0 else { return .anomaly(.badLength, source: source, destination: destination) }
        let end = min(40 + Int(payloadLength), bytes.count)
        var offset = 40
        var isFirstFragment = false
        // Walk a bounded number of extension headers to reach the transport header.
        for _ in 0..<8 {
            switch next {
            case 0, 43, 60:  // hop-by-hop, routing, destination options
                guard let nextHeader = bytes.u8(offset), let length = bytes.u8(offset + 1), offset + 8 <= end else {
                    return .anomaly(.truncated, source: source, destination: destination)
                }
                next = nextHeader
                offset += (Int(length) + 1) * 8
            case 44:  // fragment
                guard let nextHeader = bytes.u8(offset), let field = bytes.u16be(offset + 2), offset + 8 <= end else {
                    return .anomaly(.truncated, source: source, destination: destination)
                }
                if field & 0xFFF8 != 0 { return .anomaly(.fragment, source: source, destination: destination) }
                isFirstFragment = field & 1 != 0
                next = nextHeader
                offset += 8
            case 51:  // authentication header: length in 4-byte units, minus 2
                guard let nextHeader = bytes.u8(offset), let length = bytes.u8(offset + 1), offset + 8 <= end else {
                    return .anomaly(.truncated, source: source, destination: destination)
                }
                next = nextHeader
                offset += (Int(length) + 2) * 4
            default:
                guard offset <= end else { return .anomaly(.badLength, source: source, destination: destination) }
                return parseTransport(
                    bytes: bytes, version: 6, source: source, destination: destination,
                    protocolNumber: next, ttl: hopLimit, transportOffset: offset, end: end,
                    hasOptions: offset > 40, isFirstFragment: isFirstFragment,
                    isTruncated: 40 + Int(payloadLength) > bytes.count)
            }
        }
        return .anomaly(.badLength, source: source, destination: destination)
    }

    private static func parseTransport(
        bytes: UnsafeRawBufferPointer, version: UInt8, source: IPAddress, destination: IPAddress,
        protocolNumber: UInt8, ttl: UInt8, transportOffset: Int, end: Int,
        hasOptions: Bool, isFirstFragment: Bool, isTruncated: Bool
    ) -> ParseResult {
        guard let transport = Transport(rawValue: protocolNumber) else {
            return .anomaly(.unknownProtocol, source: source, destination: destination)
        }
        let packetBytes = UnsafeRawBufferPointer(rebasing: bytes[0..<end])
        switch transport {
        case .udp:
            guard transportOffset + 8 <= end, let sport = bytes.u16be(transportOffset), let dport = bytes.u16be(transportOffset + 2),
                  let udpLength = bytes.u16be(transportOffset + 4) else {
                return .anomaly(.truncated, source: source, destination: destination)
            }
            guard udpLength >= 8 else { return .anomaly(.badLength, source: source, destination: destination) }
            let declaredEnd = transportOffset + Int(udpLength)
            // The UDP length may not exceed the IP datagram, except in a snapped capture.
            if declaredEnd > end && !isTruncated && !isFirstFragment {
                return .anomaly(.badLength, source: source, destination: destination)
            }
            let payloadEnd = min(declaredEnd, end)
            return .packet(PacketView(
                bytes: packetBytes, ipVersion: version, source: source, destination: destination, transport: .udp, ttl: ttl,
                hasIPOptions: hasOptions, isFirstFragment: isFirstFragment, isTruncated: isTruncated,
                sourcePort: sport, destinationPort: dport, tcpFlags: [], sequenceNumber: 0, acknowledgementNumber: 0,
                payload: UnsafeRawBufferPointer(rebasing: bytes[(transportOffset + 8)..<payloadEnd])))
        case .tcp:
            guard transportOffset + 20 <= end, let sport = bytes.u16be(transportOffset), let dport = bytes.u16be(transportOffset + 2),
                  let seq = bytes.u32be(transportOffset + 4), let ack = bytes.u32be(transportOffset + 8),
                  let offsetByte = bytes.u8(transportOffset + 12), let flags = bytes.u8(transportOffset + 13) else {
                return .anomaly(.truncated, source: source, destination: destination)
            }
            let dataOffset = Int(offsetByte >> 4) * 4
            guard dataOffset >= 20 else { return .anomaly(.badLength, source: source, destination: destination) }
            guard transportOffset + dataOffset <= end else { return .anomaly(.truncated, source: source, destination: destination) }
            return .packet(PacketView(
                bytes: packetBytes, ipVersion: version, source: source, destination: destination, transport: .tcp, ttl: ttl,
                hasIPOptions: hasOptions, isFirstFragment: isFirstFragment, isTruncated: isTruncated,
                sourcePort: sport, destinationPort: dport, tcpFlags: TCPFlags(rawValue: flags),
                sequenceNumber: seq, acknowledgementNumber: ack,
                payload: UnsafeRawBufferPointer(rebasing: bytes[(transportOffset + dataOffset)..<end])))
        }
    }
}
