/// Wraps IP packets in link-layer frames, as captures on different interfaces hold them.
public enum LinkFrame {
    public static let etherTypeIPv4: UInt16 = 0x0800
    public static let etherTypeIPv6: UInt16 = 0x86DD
    public static let etherTypeARP: UInt16 = 0x0806
    public static let etherTypeVLAN: UInt16 = 0x8100
    public static let etherTypeQinQ: UInt16 = 0x88A8

    /// A locally administered unicast address, so fixtures never name a real vendor.
    public static let defaultSourceMAC: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01]
    public static let defaultDestinationMAC: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02]

    /// An 802.1Q (or, with `tpid` 0x88A8, 802.1ad) tag.
    public struct VLANTag: Sendable, Hashable {
        /// 12 bits.
        public var id: UInt16
        /// 3 bits.
        public var priority: UInt8
        /// The tag protocol identifier that announces this tag.
        public var tpid: UInt16

        public init(id: UInt16, priority: UInt8 = 0, tpid: UInt16 = LinkFrame.etherTypeVLAN) {
            self.id = id
            self.priority = priority
            self.tpid = tpid
        }
    }

    /// The EtherType for an IP packet, from its version nibble (IPv4 when it is neither 4 nor 6,
    /// so deliberately broken packets can still be framed).
    public static func etherType(of packet: [UInt8]) -> UInt16 {
        packet.first.map { $0 >> 4 == 6 } == true ? etherTypeIPv6 : etherTypeIPv4
    }

    /// An Ethernet II frame carrying an IP packet, with the VLAN tags in order (outermost first).
    public static func ethernet(_ packet: [UInt8], source: [UInt8] = defaultSourceMAC, destination: [UInt8] = defaultDestinationMAC,
                                vlanTags: [VLANTag] = []) -> [UInt8] {
        ethernet(payload: packet, etherType: etherType(of: packet), source: source, destination: destination, vlanTags: vlanTags)
    }

    /// An Ethernet II frame with any EtherType (ARP and other non-IP frames).
    public static func ethernet(payload: [UInt8], etherType: UInt16, source: [UInt8] = defaultSourceMAC,
                                destination: [UInt8] = defaultDestinationMAC, vlanTags: [VLANTag] = []) -> [UInt8] {
        precondition(source.count == 6 && destination.count == 6, "MAC addresses have 6 bytes")
        var out = [UInt8]()
        out.reserveCapacity(14 + 4 * vlanTags.count + payload.count)
        out += destination
        out += source
        for tag in vlanTags {
            out.appendBigEndian(tag.tpid)
            out.appendBigEndian(UInt16(tag.priority & 0x7) << 13 | (tag.id & 0x0FFF))
        }
        out.appendBigEndian(etherType)
        out += payload
        return out
    }

    /// A Linux cooked (SLL) frame: packet type (0 = to us, 4 = sent by us), ARPHRD_ETHER, the
    /// sender's address padded to 8 bytes, and the protocol.
    public static func linuxSLL(_ packet: [UInt8], packetType: UInt16 = 0, address: [UInt8] = defaultSourceMAC) -> [UInt8] {
        linuxSLL(payload: packet, protocolType: etherType(of: packet), packetType: packetType, address: address)
    }

    public static func linuxSLL(payload: [UInt8], protocolType: UInt16, packetType: UInt16 = 0,
                                address: [UInt8] = defaultSourceMAC) -> [UInt8] {
        precondition(address.count <= 8, "link-layer addresses have at most 8 bytes")
        var out = bigEndian(packetType) + bigEndian(UInt16(1)) + bigEndian(UInt16(address.count))
        out += address + [UInt8](repeating: 0, count: 8 - address.count)
        out += bigEndian(protocolType)
        out += payload
        return out
    }

    /// A Linux cooked v2 (SLL2) frame: protocol, reserved, interface index, ARPHRD_ETHER,
    /// packet type, address length and the address padded to 8 bytes.
    public static func linuxSLL2(_ packet: [UInt8], interfaceIndex: UInt32 = 1, packetType: UInt8 = 0,
                                 address: [UInt8] = defaultSourceMAC) -> [UInt8] {
        linuxSLL2(payload: packet, protocolType: etherType(of: packet), interfaceIndex: interfaceIndex,
                  packetType: packetType, address: address)
    }

    public static func linuxSLL2(payload: [UInt8], protocolType: UInt16, interfaceIndex: UInt32 = 1, packetType: UInt8 = 0,
                                 address: [UInt8] = defaultSourceMAC) -> [UInt8] {
        precondition(address.count <= 8, "link-layer addresses have at most 8 bytes")
        var out = bigEndian(protocolType) + [0, 0] + bigEndian(interfaceIndex) + bigEndian(UInt16(1))
        out += [packetType, UInt8(address.count)]
        out += address + [UInt8](repeating: 0, count: 8 - address.count)
        out += payload
        return out
    }

    /// A BSD loopback (NULL) frame. The family is written little-endian, as on the x86 and ARM
    /// hosts that make such captures; `ipv6Family` is 30 on macOS, 28 on FreeBSD, 24 on NetBSD/OpenBSD.
    public static func null(_ packet: [UInt8], ipv6Family: UInt32 = 30, bigEndianFamily: Bool = false) -> [UInt8] {
        let family: UInt32 = etherType(of: packet) == etherTypeIPv6 ? ipv6Family : 2
        let encoded = bigEndian(family)
        return (bigEndianFamily ? encoded : encoded.reversed()) + packet
    }

    /// An OpenBSD loopback (LOOP) frame: the family in network byte order.
    public static func loop(_ packet: [UInt8]) -> [UInt8] {
        null(packet, ipv6Family: 24, bigEndianFamily: true)
    }

    /// The packet framed for a capture of the given link type, or nil for a type this helper does
    /// not frame. Raw, IPv4 and IPv6 captures hold the IP packet as it is.
    public static func frame(_ packet: [UInt8], for linkType: LinkType, vlanTags: [VLANTag] = []) -> [UInt8]? {
        switch linkType {
        case .ethernet: return ethernet(packet, vlanTags: vlanTags)
        case .raw, .ipv4, .ipv6, LinkType(rawValue: 12), LinkType(rawValue: 14): return packet
        case .linuxSLL: return linuxSLL(packet)
        case .linuxSLL2: return linuxSLL2(packet)
        case .null: return null(packet)
        case .loop: return loop(packet)
        default: return nil
        }
    }
}
