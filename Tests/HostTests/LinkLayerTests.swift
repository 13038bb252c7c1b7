import Simulators
import XCTest
import PacketKit
import PluginAPI
@testable import Host

final class LinkLayerTests: XCTestCase {
    let v4 = PacketBuilder.udp(from: Endpoint("10.0.0.5:40000")!, to: Endpoint("198.51.100.7:53")!, payload: [1, 2, 3])
    let v6 = PacketBuilder.tcp(from: Endpoint("[2001:db8::5]:40000")!, to: Endpoint("[2001:db8::7]:80")!, flags: .syn, seq: 1)

    private func locate(_ layer: LinkLayer, _ frame: [UInt8]) -> LinkLayer.Location {
        frame.withUnsafeBytes { layer.locateIP(in: $0) }
    }

    func testDataLinkTypeMapping() {
        XCTAssertEqual(LinkLayer(dataLinkType: 1), .ethernet)
        XCTAssertEqual(LinkLayer(dataLinkType: 12), .rawIP)
        XCTAssertEqual(LinkLayer(dataLinkType: 14), .rawIP)
        XCTAssertEqual(LinkLayer(dataLinkType: 101), .rawIP)
        XCTAssertEqual(LinkLayer(dataLinkType: 228), .ipv4)
        XCTAssertEqual(LinkLayer(dataLinkType: 229), .ipv6)
        XCTAssertEqual(LinkLayer(dataLinkType: 113), .linuxSLL)
        XCTAssertEqual(LinkLayer(dataLinkType: 276), .linuxSLL2)
        XCTAssertEqual(LinkLayer(dataLinkType: 0), .null)
        XCTAssertEqual(LinkLayer(dataLinkType: 108), .loop)
        XCTAssertNil(LinkLayer(dataLinkType: 105))  // 802.11
        XCTAssertNil(LinkLayer(dataLinkType: 147))
        XCTAssertNil(LinkLayer(dataLinkType: -1))
    }

    func testEthernetWithoutAndWithTags() {
        XCTAssertEqual(locate(.ethernet, LinkFrame.ethernet(v4)), .ip(offset: 14))
        XCTAssertEqual(locate(.ethernet, LinkFrame.ethernet(v6)), .ip(offset: 14))
        XCTAssertEqual(locate(.ethernet, LinkFrame.ethernet(v4, vlanTags: [.init(id: 100)])), .ip(offset: 18))
        let qinq: [LinkFrame.VLANTag] = [.init(id: 10, tpid: LinkFrame.etherTypeQinQ), .init(id: 20, priority: 5)]
        XCTAssertEqual(locate(.ethernet, LinkFrame.ethernet(v6, vlanTags: qinq)), .ip(offset: 22))
        let eight = (0..<LinkLayer.maximumTags).map { LinkFrame.VLANTag(id: UInt16($0)) }
        XCTAssertEqual(locate(.ethernet, LinkFrame.ethernet(v4, vlanTags: eight)), .ip(offset: 14 + 4 * LinkLayer.maximumTags))
        // One tag more than the reader follows is not taken for IP.
        XCTAssertEqual(locate(.ethernet, LinkFrame.ethernet(v4, vlanTags: eight + [.init(id: 9)])), .notIP)
    }

    func testEthernetNonIPAndTruncated() {
        let arp = LinkFrame.ethernet(payload: [UInt8](repeating: 0, count: 28), etherType: LinkFrame.etherTypeARP)
        XCTAssertEqual(locate(.ethernet, arp), .notIP)
        let taggedARP = LinkFrame.ethernet(payload: [0, 1], etherType: LinkFrame.etherTypeARP, vlanTags: [.init(id: 3)])
        XCTAssertEqual(locate(.ethernet, taggedARP), .notIP)
        // An 802.3 length field instead of an EtherType.
        XCTAssertEqual(locate(.ethernet, LinkFrame.ethernet(payload: [0xAA, 0xAA, 3], etherType: 3)), .notIP)
        let tagged = LinkFrame.ethernet(v4, vlanTags: [.init(id: 7)])
        for cut in 0..<16 {
            XCTAssertEqual(locate(.ethernet, Array(tagged.prefix(cut))), .truncated, "cut at \(cut)")
        }
        // Header complete, IP packet absent: the parser gets an empty packet and counts it.
        XCTAssertEqual(locate(.ethernet, Array(tagged.prefix(18))), .ip(offset: 18))
    }

    func testPPPoESession() {
        let length = UInt16(v4.count + 2)
        let session: [UInt8] = [0x11, 0x00, 0x12, 0x34, UInt8(length >> 8), UInt8(length & 0xFF)]
        XCTAssertEqual(locate(.ethernet, LinkFrame.ethernet(payload: session + [0x00, 0x21] + v4, etherType: 0x8864)), .ip(offset: 22))
        XCTAssertEqual(locate(.ethernet, LinkFrame.ethernet(payload: session + [0x00, 0x57] + v6, etherType: 0x8864)), .ip(offset: 22))
        // LCP is not IP; a discovery code other than session data is not either.
        XCTAssertEqual(locate(.ethernet, LinkFrame.ethernet(payload: session + [0xC0, 0x21, 1], etherType: 0x8864)), .notIP)
        var discovery = session
        discovery[1] = 0x09
        XCTAssertEqual(locate(.ethernet, LinkFrame.ethernet(payload: discovery + [0x00, 0x21] + v4, etherType: 0x8864)), .notIP)
        XCTAssertEqual(locate(.ethernet, LinkFrame.ethernet(payload: Array(session.prefix(5)), etherType: 0x8864)), .truncated)
    }

    func testRawAndPerFamilyTypes() {
        XCTAssertEqual(locate(.rawIP, v4), .ip(offset: 0))
        XCTAssertEqual(locate(.rawIP, v6), .ip(offset: 0))
        XCTAssertEqual(locate(.rawIP, [0x50, 0, 0]), .notIP)
        XCTAssertEqual(locate(.rawIP, []), .truncated)
        XCTAssertEqual(locate(.ipv4, v4), .ip(offset: 0))
        XCTAssertEqual(locate(.ipv6, v6), .ip(offset: 0))
        XCTAssertEqual(locate(.ipv4, []), .truncated)
    }

    func testLinuxCooked() {
        XCTAssertEqual(locate(.linuxSLL, LinkFrame.linuxSLL(v4)), .ip(offset: 16))
        XCTAssertEqual(locate(.linuxSLL, LinkFrame.linuxSLL(v6, packetType: 4)), .ip(offset: 16))
        // libpcap puts a VLAN tag it took from the kernel's metadata after the cooked header.
        let vlan = LinkFrame.linuxSLL(payload: [0x00, 0x64, 0x08, 0x00] + v4, protocolType: LinkFrame.etherTypeVLAN)
        XCTAssertEqual(locate(.linuxSLL, vlan), .ip(offset: 20))
        XCTAssertEqual(locate(.linuxSLL, LinkFrame.linuxSLL(payload: [1, 2], protocolType: LinkFrame.etherTypeARP)), .notIP)
        XCTAssertEqual(locate(.linuxSLL, Array(LinkFrame.linuxSLL(v4).prefix(15))), .truncated)

        XCTAssertEqual(locate(.linuxSLL2, LinkFrame.linuxSLL2(v4)), .ip(offset: 20))
        XCTAssertEqual(locate(.linuxSLL2, LinkFrame.linuxSLL2(v6, interfaceIndex: 7)), .ip(offset: 20))
        let vlan2 = LinkFrame.linuxSLL2(payload: [0x00, 0x64, 0x86, 0xDD] + v6, protocolType: LinkFrame.etherTypeVLAN)
        XCTAssertEqual(locate(.linuxSLL2, vlan2), .ip(offset: 24))
        XCTAssertEqual(locate(.linuxSLL2, LinkFrame.linuxSLL2(payload: [], protocolType: 0x88CC)), .notIP)
        XCTAssertEqual(locate(.linuxSLL2, Array(LinkFrame.linuxSLL2(v4).prefix(19))), .truncated)
    }

    func testLoopback() {
        XCTAssertEqual(locate(.null, LinkFrame.null(v4)), .ip(offset: 4))
        XCTAssertEqual(locate(.null, LinkFrame.null(v4, bigEndianFamily: true)), .ip(offset: 4))
        for family: UInt32 in [10, 24, 28, 30] {
            XCTAssertEqual(locate(.null, LinkFrame.null(v6, ipv6Family: family)), .ip(offset: 4), "family \(family)")
            XCTAssertEqual(locate(.null, LinkFrame.null(v6, ipv6Family: family, bigEndianFamily: true)), .ip(offset: 4))
        }
        XCTAssertEqual(locate(.null, [7, 0, 0, 0, 0x45]), .notIP)
        XCTAssertEqual(locate(.null, [2, 0, 0]), .truncated)
        XCTAssertEqual(locate(.loop, LinkFrame.loop(v6)), .ip(offset: 4))
        XCTAssertEqual(locate(.loop, LinkFrame.loop(v4)), .ip(offset: 4))
        XCTAssertEqual(locate(.loop, [2, 0, 0, 0] + v4), .notIP)  // little-endian is not LOOP's order
    }

    /// Random frames never trap and every IP offset lies within the frame.
    func testRandomFramesStayInBounds() {
        var rng = SimulationRandom(seed: 0x5EED_0001)
        let layers: [LinkLayer] = [.ethernet, .rawIP, .ipv4, .ipv6, .linuxSLL, .linuxSLL2, .null, .loop]
        let interesting: [UInt16] = [0x0800, 0x86DD, 0x8100, 0x88A8, 0x9100, 0x8864, 0x0806]
        for _ in 0..<20_000 {
            var frame = (0..<Int(rng.next() % 48)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            // Seed EtherType positions with values that lead somewhere, so the tag walk is exercised.
            for position in [0, 12, 14, 16, 18, 22] where position + 1 < frame.count && rng.next() % 2 == 0 {
                let type = interesting[Int(rng.next() % UInt64(interesting.count))]
                frame[position] = UInt8(type >> 8)
                frame[position + 1] = UInt8(type & 0xFF)
            }
            for layer in layers {
                if case .ip(let offset) = locate(layer, frame) {
                    XCTAssertTrue(offset >= 0 && offset <= frame.count, "\(layer) offset \(offset) of \(frame.count)")
                }
            }
        }
    }
}
