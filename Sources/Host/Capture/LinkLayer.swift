import PluginAPI

/// The link-layer framings the capture reader can strip to reach the IP packet. Pure logic over
/// the frame bytes, so it is tested without files; every read is bounds-checked.
public enum LinkLayer: Sendable, Hashable, CustomStringConvertible {
    /// Ethernet II, with any number (up to `maximumTags`) of 802.1Q/802.1ad tags and PPPoE sessions.
    case ethernet
    /// IPv4 or IPv6 by the version nibble (DLT_RAW, LINKTYPE_RAW).
    case rawIP
    case ipv4
    case ipv6
    /// Linux cooked capture v1, 16-byte header.
    case linuxSLL
    /// Linux cooked capture v2, 20-byte header.
    case linuxSLL2
    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    case null
    /// OpenBSD loopback: the family in network byte order.
    case loop

    /// Stacked VLAN tags beyond this many are not followed: no real network nests deeper.
    public static let maximumTags = 8

    /// The framing for a libpcap data-link type (`pcap_datalink`), or nil when it has none here.
    /// DLT_RAW is 12 on most systems and 14 on OpenBSD; 101 is its file-format number.
    public init?(dataLinkType: Int32) {
        switch dataLinkType {
        case 0: self = .null
        case 1: self = .ethernet
        case 12, 14, 101: self = .rawIP
        case 108: self = .loop
        case 113: self = .linuxSLL
        case 228: self = .ipv4
        case 229: self = .ipv6
        case 276: self = .linuxSLL2
        default: return nil
        }
    }

    /// Where the IP packet is in a frame, or why there is none.
    public enum Location: Sendable, Hashable {
        /// The IP packet starts at this offset and runs to the end of the captured bytes.
        case ip(offset: Int)
        /// A frame of another protocol (ARP, LLDP, IPX, ...).
        case notIP
        /// The frame ends inside its link-layer header.
        case truncated
    }

    public func locateIP(in frame: UnsafeRawBufferPointer) -> Location {
        switch self {
        case .ethernet:
            guard let type = frame.u16be(12) else { return .truncated }
            return Self.followEtherType(type, payloadOffset: 14, in: frame)
        case .rawIP:
            guard let first = frame.u8(0) else { return .truncated }
            return first >> 4 == 4 || first >> 4 == 6 ? .ip(offset: 0) : .notIP
        case .ipv4, .ipv6:
            return frame.isEmpty ? .truncated : .ip(offset: 0)
        case .linuxSLL:
            guard frame.count >= 16, let type = frame.u16be(14) else { return .truncated }
            return Self.followEtherType(type, payloadOffset: 16, in: frame)
        case .linuxSLL2:
            guard frame.count >= 20, let type = frame.u16be(0) else { return .truncated }
            return Self.followEtherType(type, payloadOffset: 20, in: frame)
        case .null:
            guard let little = frame.u32le(0) else { return .truncated }
            // The writer's byte order is unknown: a family is a small number, so a value with
            // its low half empty was written in the other order.
            let family = little & 0xFFFF == 0 ? little.byteSwapped : little
            return Self.isIPFamily(family) ? .ip(offset: 4) : .notIP
        case .loop:
            guard let family = frame.u32be(0) else { return .truncated }
            return Self.isIPFamily(family) ? .ip(offset: 4) : .notIP
        }
    }

    /// AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (macOS).
    static func isIPFamily(_ family: UInt32) -> Bool {
        family == 2 || family == 10 || family == 24 || family == 28 || family == 30
    }

    /// Follows an EtherType through VLAN tags and PPPoE to IP. `payloadOffset` is where the
    /// bytes that `type` announces begin; a tag's own EtherType sits 2 bytes into it.
    static func followEtherType(_ type: UInt16, payloadOffset: Int, in frame: UnsafeRawBufferPointer) -> Location {
        var type = type
        var offset = payloadOffset
        for _ in 0...maximumTags {
            switch type {
            case 0x0800, 0x86DD:
                return offset <= frame.count ? .ip(offset: offset) : .truncated
            case 0x8100, 0x88A8, 0x9100, 0x9200:  // 802.1Q, 802.1ad, and the pre-standard QinQ types
                guard let inner = frame.u16be(offset + 2) else { return .truncated }
                type = inner
                offset += 4
            case 0x8864:  // PPPoE session: 6-byte header, then the PPP protocol
                guard let code = frame.u8(offset + 1), let ppp = frame.u16be(offset + 6) else { return .truncated }
                guard code == 0, ppp == 0x0021 || ppp == 0x0057 else { return .notIP }
                return .ip(offset: offset + 8)
            default:
                return .notIP
            }
        }
        return .notIP
    }

    public var description: String {
        switch self {
        case .ethernet: return "ethernet"
        case .rawIP: return "raw"
        case .ipv4: return "ipv4"
        case .ipv6: return "ipv6"
        case .linuxSLL: return "linux-sll"
        case .linuxSLL2: return "linux-sll2"
        case .null: return "null"
        case .loop: return "loop"
        }
    }
}
