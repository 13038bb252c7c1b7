import PluginAPI

/// Builds complete IPv4 and IPv6 packets with correct lengths and checksums: the host's spoofed
/// replies and probes, the simulators' traffic, and test fixtures.
///
/// The typed builders (`udp`, `tcp`, `ip`) are for generators and tests: giving them endpoints of
/// two address families, or more bytes than an IP packet can hold, is a programming error and
/// traps. `build(_:)` is the packet-path entry: it checks the same things and returns nil instead.
public enum PacketBuilder {
    /// IP header fields a caller may set; the defaults suit ordinary traffic.
    public struct IPFields: Sendable, Hashable {
        /// TTL (IPv4) or hop limit (IPv6).
        public var ttl: UInt8
        /// Type of service (IPv4) or traffic class (IPv6).
        public var typeOfService: UInt8
        /// IPv4 only.
        public var identification: UInt16
        /// IPv4 only.
        public var dontFragment: Bool
        /// IPv4 only.
        public var moreFragments: Bool
        /// IPv4 only, in units of 8 bytes.
        public var fragmentOffset: UInt16
        /// IPv4 option bytes, padded with end-of-options (0) to a multiple of 4; at most 40 bytes.
        public var ipv4Options: [UInt8]
        /// IPv6 only, 20 bits.
        public var flowLabel: UInt32
        /// IPv6 only, in order after the fixed header.
        public var ipv6ExtensionHeaders: [IPv6ExtensionHeader]

        public init(ttl: UInt8 = 64, typeOfService: UInt8 = 0, identification: UInt16 = 0, dontFragment: Bool = false,
                    moreFragments: Bool = false, fragmentOffset: UInt16 = 0, ipv4Options: [UInt8] = [],
                    flowLabel: UInt32 = 0, ipv6ExtensionHeaders: [IPv6ExtensionHeader] = []) {
            self.ttl = ttl
            self.typeOfService = typeOfService
            self.identification = identification
            self.dontFragment = dontFragment
            self.moreFragments = moreFragments
            self.fragmentOffset = fragmentOffset
            self.ipv4Options = ipv4Options
            self.flowLabel = flowLabel
            self.ipv6ExtensionHeaders = ipv6ExtensionHeaders
        }
    }

    /// An IPv6 extension header. Each is padded to a multiple of 8 bytes as RFC 8200 requires.
    public enum IPv6ExtensionHeader: Sendable, Hashable {
        /// Hop-by-hop options (next header 0); the bytes are TLV options, padded with Pad1/PadN.
        case hopByHop([UInt8])
        /// Destination options (next header 60); padded like hop-by-hop.
        case destinationOptions([UInt8])
        /// Routing header (next header 43); type-specific data padded with zeros.
        case routing(type: UInt8, segmentsLeft: UInt8, data: [UInt8])
        /// Fragment header (next header 44); `offset` in units of 8 bytes (13 bits).
        case fragment(offset: UInt16, moreFragments: Bool, identification: UInt32)

        public var headerType: UInt8 {
            switch self {
            case .hopByHop: return 0
            case .destinationOptions: return 60
            case .routing: return 43
            case .fragment: return 44
            }
        }

        /// The encoded header with `next` as its next-header field.
        public func encoded(next: UInt8) -> [UInt8] {
            switch self {
            case .hopByHop(let options), .destinationOptions(let options):
                var out: [UInt8] = [next, 0] + options
                let pad = (8 - out.count % 8) % 8
                if pad == 1 {
                    out.append(0)  // Pad1
                } else if pad >= 2 {
                    out += [1, UInt8(pad - 2)] + [UInt8](repeating: 0, count: pad - 2)  // PadN
                }
                out[1] = UInt8(truncatingIfNeeded: out.count / 8 - 1)
                return out
            case let .routing(type, segmentsLeft, data):
                var out: [UInt8] = [next, 0, type, segmentsLeft] + data
                out += [UInt8](repeating: 0, count: (8 - out.count % 8) % 8)
                out[1] = UInt8(truncatingIfNeeded: out.count / 8 - 1)
                return out
            case let .fragment(offset, moreFragments, identification):
                let field = (offset & 0x1FFF) << 3 | (moreFragments ? 1 : 0)
                return [next, 0, UInt8(field >> 8), UInt8(field & 0xFF)] + bigEndian(identification)
            }
        }
    }

    /// The largest packet `build(_:)` makes: IPv4's limit, kept for IPv6 too so a reply fits either path.
    public static let maximumPacketLength = 65_535

    // MARK: Packet-path entry

    /// Builds the packet a plugin asked the host to send, or nil when it cannot be built: endpoints
    /// of two address families, or a payload too large for one IP packet. A RST goes out with a zero window.
    public static func build(_ packet: OutboundPacket, ttl: UInt8 = 64) -> [UInt8]? {
        let source = packet.source, destination = packet.destination
        guard source.address.isIPv4 == destination.address.isIPv4 else { return nil }
        let headerLength = (source.address.isIPv4 ? 20 : 40) + (packet.transport == .tcp ? 20 : 8)
        guard packet.payload.count <= maximumPacketLength - headerLength else { return nil }
        let fields = IPFields(ttl: ttl)
        switch packet.transport {
        case .udp:
            return udp(from: source, to: destination, payload: packet.payload, ip: fields)
        case .tcp:
            return tcp(from: source, to: destination, flags: packet.tcpFlags, seq: packet.sequenceNumber,
                       ack: packet.acknowledgementNumber, payload: packet.payload,
                       window: packet.tcpFlags.contains(.rst) ? 0 : 65_535, ip: fields)
        }
    }

    // MARK: Transport

    /// A UDP datagram in an IP packet.
    public static func udp(from source: Endpoint, to destination: Endpoint, payload: [UInt8] = [], ttl: UInt8 = 64) -> [UInt8] {
        udp(from: source, to: destination, payload: payload, ip: IPFields(ttl: ttl))
    }

    public static func udp(from source: Endpoint, to destination: Endpoint, payload: [UInt8], ip fields: IPFields) -> [UInt8] {
        let length = 8 + payload.count
        precondition(length <= 65_535, "UDP payload too large")
        var segment = [UInt8]()
        segment.reserveCapacity(length)
        segment.appendBigEndian(source.port)
        segment.appendBigEndian(destination.port)
        segment.appendBigEndian(UInt16(length))
        segment.appendZeros(2)
        segment += payload
        let checksum = Checksum.transport(source: source.address, destination: destination.address,
                                          protocolNumber: Transport.udp.rawValue, segment: segment)
        segment[6] = UInt8(checksum >> 8)
        segment[7] = UInt8(checksum & 0xFF)
        return ip(source: source.address, destination: destination.address, protocolNumber: Transport.udp.rawValue,
                  payload: segment, fields: fields)
    }

    /// A TCP segment in an IP packet. `mss` adds a maximum-segment-size option (meant for SYNs);
    /// `options` are further raw option bytes, after it. Options are padded with end-of-options to
    /// a multiple of 4 bytes.
    public static func tcp(from source: Endpoint, to destination: Endpoint, flags: TCPFlags, seq: UInt32, ack: UInt32 = 0,
                           payload: [UInt8] = [], window: UInt16 = 65_535, mss: UInt16? = nil, options: [UInt8] = [],
                           ttl: UInt8 = 64) -> [UInt8] {
        tcp(from: source, to: destination, flags: flags, seq: seq, ack: ack, payload: payload, window: window,
            mss: mss, options: options, ip: IPFields(ttl: ttl))
    }

    public static func tcp(from source: Endpoint, to destination: Endpoint, flags: TCPFlags, seq: UInt32, ack: UInt32 = 0,
                           payload: [UInt8] = [], window: UInt16 = 65_535, mss: UInt16? = nil, options: [UInt8] = [],
                           ip fields: IPFields) -> [UInt8] {
        let unpadded = (mss == nil ? 0 : 4) + options.count
        let optionLength = (unpadded + 3) & ~3
        precondition(optionLength <= 40, "TCP options longer than 40 bytes")
        let headerLength = 20 + optionLength
        var segment = [UInt8]()
        segment.reserveCapacity(headerLength + payload.count)
        segment.appendBigEndian(source.port)
        segment.appendBigEndian(destination.port)
        segment.appendBigEndian(seq)
        segment.appendBigEndian(ack)
        segment.append(UInt8(headerLength / 4) << 4)
        segment.append(flags.rawValue)
        segment.appendBigEndian(window)
        segment.appendZeros(4)  // checksum, urgent pointer
        if let mss {
            segment += [2, 4]
            segment.appendBigEndian(mss)
        }
        segment += options
        segment.appendZeros(optionLength - unpadded)
        segment += payload
        let checksum = Checksum.transport(source: source.address, destination: destination.address,
                                          protocolNumber: Transport.tcp.rawValue, segment: segment)
        segment[16] = UInt8(checksum >> 8)
        segment[17] = UInt8(checksum & 0xFF)
        return ip(source: source.address, destination: destination.address, protocolNumber: Transport.tcp.rawValue,
                  payload: segment, fields: fields)
    }

    // MARK: IP

    /// An IP packet carrying `payload` as protocol `protocolNumber`, unchanged: for ICMP, GRE,
    /// non-first fragments, or deliberately broken transport headers. The family follows the addresses.
    public static func ip(source: IPAddress, destination: IPAddress, protocolNumber: UInt8, payload: [UInt8],
                          fields: IPFields = IPFields()) -> [UInt8] {
        precondition(source.isIPv4 == destination.isIPv4, "source and destination are of different address families")
        return source.isIPv4
            ? ipv4(source: source, destination: destination, protocolNumber: protocolNumber, payload: payload, fields: fields)
            : ipv6(source: source, destination: destination, protocolNumber: protocolNumber, payload: payload, fields: fields)
    }

    private static func ipv4(source: IPAddress, destination: IPAddress, protocolNumber: UInt8, payload: [UInt8],
                             fields: IPFields) -> [UInt8] {
        var options = fields.ipv4Options
        options += [UInt8](repeating: 0, count: (4 - options.count % 4) % 4)
        precondition(options.count <= 40, "IPv4 options longer than 40 bytes")
        let headerLength = 20 + options.count
        let totalLength = headerLength + payload.count
        precondition(totalLength <= maximumPacketLength, "IPv4 packet too large")
        let flagsAndOffset = (fields.dontFragment ? 0x4000 : 0) | (fields.moreFragments ? 0x2000 : 0) | (fields.fragmentOffset & 0x1FFF)
        var out = [UInt8]()
        out.reserveCapacity(totalLength)
        out.append(0x40 | UInt8(headerLength / 4))
        out.append(fields.typeOfService)
        out.appendBigEndian(UInt16(totalLength))
        out.appendBigEndian(fields.identification)
        out.appendBigEndian(UInt16(flagsAndOffset))
        out += [fields.ttl, protocolNumber, 0, 0]
        out.append(source)
        out.append(destination)
        out += options
        let checksum = out.withUnsafeBytes { Checksum.internet($0) }
        out[10] = UInt8(checksum >> 8)
        out[11] = UInt8(checksum & 0xFF)
        out += payload
        return out
    }

    private static func ipv6(source: IPAddress, destination: IPAddress, protocolNumber: UInt8, payload: [UInt8],
                             fields: IPFields) -> [UInt8] {
        var extensions = [UInt8]()
        let headers = fields.ipv6ExtensionHeaders
        for (index, header) in headers.enumerated() {
            let next = index + 1 < headers.count ? headers[index + 1].headerType : protocolNumber
            extensions += header.encoded(next: next)
        }
        let payloadLength = extensions.count + payload.count
        precondition(payloadLength <= 65_535, "IPv6 payload too large")
        let first = UInt32(6) << 28 | UInt32(fields.typeOfService) << 20 | (fields.flowLabel & 0xF_FFFF)
        var out = [UInt8]()
        out.reserveCapacity(40 + payloadLength)
        out.appendBigEndian(first)
        out.appendBigEndian(UInt16(payloadLength))
        out += [headers.first?.headerType ?? protocolNumber, fields.ttl]
        out.append(source)
        out.append(destination)
        out += extensions
        out += payload
        return out
    }
}

@inline(__always) func bigEndian(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

@inline(__always) func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
}

// Appending in place: generators build millions of packets, and a temporary array per field
// made that several times slower.
extension Array where Element == UInt8 {
    @inline(__always) mutating func appendBigEndian(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    @inline(__always) mutating func appendBigEndian(_ value: UInt32) {
        appendBigEndian(UInt16(value >> 16))
        appendBigEndian(UInt16(truncatingIfNeeded: value))
    }

    @inline(__always) mutating func appendZeros(_ count: Int) {
        for _ in 0..<Swift.max(0, count) { append(0) }
    }

    mutating func append(_ address: IPAddress) {
        if let v4 = address.v4 {
            appendBigEndian(v4)
        } else {
            appendBigEndian(UInt32(truncatingIfNeeded: address.high >> 32))
            appendBigEndian(UInt32(truncatingIfNeeded: address.high))
            appendBigEndian(UInt32(truncatingIfNeeded: address.low >> 32))
            appendBigEndian(UInt32(truncatingIfNeeded: address.low))
        }
    }
}
