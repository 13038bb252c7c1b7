import PacketKit
import PluginAPI
import XCTest

final class PacketBuilderTests: XCTestCase {
    let client4 = Endpoint("192.168.1.20:51000")!
    let server4 = Endpoint("203.0.113.9:1214")!
    let client6 = Endpoint("[2001:db8::1]:6346")!
    let server6 = Endpoint("[2001:db8:ffff::2]:6347")!

    // MARK: Exact bytes

    func testIPv4SynMatchesIndependentEncoding() {
        // Encoded and checksummed by a separate implementation (struct packing), not by this code.
        let expected = hexBytes("4500002c0000000040067d06c0a80114cb007109c73804be01020304000000006002faf0cf720000020405b4")
        let packet = PacketBuilder.tcp(from: client4, to: server4, flags: .syn, seq: 0x0102_0304, window: 64_240, mss: 1460)
        XCTAssertEqual(packet, expected)
    }

    func testIPv6UDPMatchesIndependentEncoding() {
        let expected = hexBytes("60000000000d114020010db800000000000000000000000120010db8ffff0000000000000000000218ca18cb000d2ef868656c6c6f")
        XCTAssertEqual(PacketBuilder.udp(from: client6, to: server6, payload: Array("hello".utf8)), expected)
    }

    // MARK: Lengths and fields

    func testLengthFields() {
        let udp4 = PacketBuilder.udp(from: client4, to: server4, payload: [1, 2, 3], ttl: 7)
        XCTAssertEqual(udp4.count, 20 + 8 + 3)
        XCTAssertEqual(Int(udp4.get16(2)), udp4.count)
        XCTAssertEqual(udp4.get16(24), 11)
        XCTAssertEqual(udp4[8], 7)
        XCTAssertEqual(udp4[9], 17)

        let tcp6 = PacketBuilder.tcp(from: client6, to: server6, flags: [.psh, .ack], seq: 1, ack: 2, payload: [9, 9], ttl: 3)
        XCTAssertEqual(tcp6.count, 40 + 20 + 2)
        XCTAssertEqual(Int(tcp6.get16(4)), tcp6.count - 40)
        XCTAssertEqual(tcp6[6], 6)
        XCTAssertEqual(tcp6[7], 3)
        XCTAssertEqual(tcp6[40 + 12] >> 4, 5)
        XCTAssertEqual(tcp6[40 + 13], TCPFlags([.psh, .ack]).rawValue)
    }

    func testTCPOptionsArePaddedAndCounted() {
        let withMSS = PacketBuilder.tcp(from: client4, to: server4, flags: .syn, seq: 1, mss: 536)
        XCTAssertEqual(withMSS[20 + 12] >> 4, 6)
        XCTAssertEqual(Array(withMSS[40..<44]), [2, 4, 0x02, 0x18])
        // MSS, then NOP NOP SACK-permitted, then window scale: 4 + 4 + 3 → padded to 12.
        let more = PacketBuilder.tcp(from: client4, to: server4, flags: .syn, seq: 1, mss: 1460, options: [1, 1, 4, 2, 3, 3, 7])
        XCTAssertEqual(more[20 + 12] >> 4, 8)
        XCTAssertEqual(more.count, 20 + 32)
        XCTAssertEqual(more.last, 0)
        guard case .packet(let summary) = parse(more) else { return XCTFail() }
        XCTAssertEqual(summary.payload, [])
    }

    func testIPv4FieldsAndOptions() {
        let fields = PacketBuilder.IPFields(ttl: 9, typeOfService: 0xB8, identification: 0xBEEF, dontFragment: true,
                                            ipv4Options: [0x94, 0x04, 0x00, 0x00, 0x01])
        let packet = PacketBuilder.udp(from: client4, to: server4, payload: [1], ip: fields)
        XCTAssertEqual(packet[0], 0x47)  // 28-byte header: 5 option bytes padded to 8
        XCTAssertEqual(packet[1], 0xB8)
        XCTAssertEqual(packet.get16(4), 0xBEEF)
        XCTAssertEqual(packet.get16(6), 0x4000)
        XCTAssertEqual(Array(packet[20..<28]), [0x94, 0x04, 0, 0, 1, 0, 0, 0])
        XCTAssertTrue(Array(packet[0..<28]).withUnsafeBytes { Checksum.isValidIPv4Header($0) })
    }

    func testIPv6ExtensionHeaderEncoding() {
        XCTAssertEqual(PacketBuilder.IPv6ExtensionHeader.hopByHop([]).encoded(next: 17), [17, 0, 1, 4, 0, 0, 0, 0])
        // Router alert (6 bytes) fills the header exactly.
        XCTAssertEqual(PacketBuilder.IPv6ExtensionHeader.hopByHop([5, 2, 0, 0, 1, 0]).encoded(next: 6), [6, 0, 5, 2, 0, 0, 1, 0])
        // Five option bytes leave one to pad: Pad1.
        XCTAssertEqual(PacketBuilder.IPv6ExtensionHeader.destinationOptions([1, 3, 0, 0, 0]).encoded(next: 6), [6, 0, 1, 3, 0, 0, 0, 0])
        XCTAssertEqual(PacketBuilder.IPv6ExtensionHeader.hopByHop([UInt8](repeating: 0, count: 7)).encoded(next: 6).count, 16)
        XCTAssertEqual(PacketBuilder.IPv6ExtensionHeader.hopByHop([UInt8](repeating: 0, count: 7)).encoded(next: 6)[1], 1)
        XCTAssertEqual(PacketBuilder.IPv6ExtensionHeader.fragment(offset: 0x1FFF, moreFragments: true, identification: 0x0102_0304).encoded(next: 17),
                       [17, 0, 0xFF, 0xF9, 1, 2, 3, 4])
        XCTAssertEqual(PacketBuilder.IPv6ExtensionHeader.routing(type: 0, segmentsLeft: 0, data: []).encoded(next: 6), [6, 0, 0, 0, 0, 0, 0, 0])

        let chained = PacketBuilder.udp(from: client6, to: server6, payload: [1, 2], ip: PacketBuilder.IPFields(
            ipv6ExtensionHeaders: [.hopByHop([]), .routing(type: 0, segmentsLeft: 0, data: []), .fragment(offset: 0, moreFragments: false, identification: 1)]))
        XCTAssertEqual(chained[6], 0)  // first: hop-by-hop
        XCTAssertEqual(chained[40], 43)  // then routing
        XCTAssertEqual(chained[48], 44)  // then fragment
        XCTAssertEqual(chained[56], 17)  // then UDP
        XCTAssertEqual(Int(chained.get16(4)), chained.count - 40)
    }

    // MARK: Outbound packets

    func testBuildOutboundPackets() throws {
        let udp = OutboundPacket(udpFrom: server4, to: client4, payload: [0x27, 0x00, 0x00, 0x00])
        guard case .packet(let u) = parse(try XCTUnwrap(PacketBuilder.build(udp))) else { return XCTFail() }
        XCTAssertEqual(u.source, server4)
        XCTAssertEqual(u.destination, client4)
        XCTAssertEqual(u.transport, .udp)
        XCTAssertEqual(u.payload, [0x27, 0, 0, 0])
        XCTAssertEqual(u.ttl, 64)

        let rst = OutboundPacket(tcpFrom: server6, to: client6, flags: [.rst, .ack], sequenceNumber: 77, acknowledgementNumber: 88)
        let rstPacket = try XCTUnwrap(PacketBuilder.build(rst, ttl: 200))
        guard case .packet(let r) = parse(rstPacket) else { return XCTFail() }
        XCTAssertEqual(r.version, 6)
        XCTAssertEqual(r.flags, TCPFlags([.rst, .ack]).rawValue)
        XCTAssertEqual(r.seq, 77)
        XCTAssertEqual(r.ack, 88)
        XCTAssertEqual(r.ttl, 200)
        XCTAssertEqual(rstPacket.get16(40 + 14), 0, "a reset advertises no window")

        let reply = OutboundPacket(tcpFrom: server4, to: client4, flags: [.psh, .ack], sequenceNumber: 1, acknowledgementNumber: 2,
                                   payload: Array("HTTP/1.0 404 Not Found\r\n\r\n".utf8))
        guard case .packet(let p) = parse(try XCTUnwrap(PacketBuilder.build(reply))) else { return XCTFail() }
        XCTAssertEqual(p.payload, reply.payload)
    }

    func testBuildRejectsWhatCannotBeSent() {
        XCTAssertNil(PacketBuilder.build(OutboundPacket(udpFrom: client4, to: server6, payload: [])))
        XCTAssertNil(PacketBuilder.build(OutboundPacket(tcpFrom: server6, to: client4, flags: .rst, sequenceNumber: 0, acknowledgementNumber: 0)))
        XCTAssertNil(PacketBuilder.build(OutboundPacket(udpFrom: client4, to: server4, payload: [UInt8](repeating: 0, count: 65_508))))
        let largest = PacketBuilder.build(OutboundPacket(udpFrom: client4, to: server4, payload: [UInt8](repeating: 0, count: 65_507)))
        XCTAssertEqual(largest?.count, 65_535)
        XCTAssertNil(PacketBuilder.build(OutboundPacket(udpFrom: client6, to: server6, payload: [UInt8](repeating: 0, count: 65_535 - 48 + 1))))
        XCTAssertNil(PacketBuilder.build(OutboundPacket(tcpFrom: client4, to: server4, flags: .ack, sequenceNumber: 0,
                                                        acknowledgementNumber: 0, payload: [UInt8](repeating: 0, count: 65_496))))
    }

    // MARK: Link frames

    func testLinkFrameLayouts() {
        let ip = PacketBuilder.udp(from: client4, to: server4)
        let ethernet = LinkFrame.ethernet(ip, vlanTags: [.init(id: 0x123, priority: 5, tpid: LinkFrame.etherTypeQinQ), .init(id: 7)])
        XCTAssertEqual(Array(ethernet[0..<12]), LinkFrame.defaultDestinationMAC + LinkFrame.defaultSourceMAC)
        XCTAssertEqual(Array(ethernet[12..<22]), [0x88, 0xA8, 0xA1, 0x23, 0x81, 0x00, 0x00, 0x07, 0x08, 0x00])
        XCTAssertEqual(Array(ethernet[22...]), ip)

        let ip6 = PacketBuilder.udp(from: client6, to: server6)
        XCTAssertEqual(Array(LinkFrame.ethernet(ip6)[12..<14]), [0x86, 0xDD])
        XCTAssertEqual(Array(LinkFrame.linuxSLL(ip6, packetType: 4).prefix(16)),
                       [0, 4, 0, 1, 0, 6] + LinkFrame.defaultSourceMAC + [0, 0, 0x86, 0xDD])
        XCTAssertEqual(Array(LinkFrame.linuxSLL2(ip, interfaceIndex: 3, packetType: 4).prefix(20)),
                       [0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6] + LinkFrame.defaultSourceMAC + [0, 0])
        XCTAssertEqual(Array(LinkFrame.null(ip).prefix(4)), [2, 0, 0, 0])
        XCTAssertEqual(Array(LinkFrame.null(ip6).prefix(4)), [30, 0, 0, 0])
        XCTAssertEqual(Array(LinkFrame.loop(ip6).prefix(4)), [0, 0, 0, 24])
        XCTAssertEqual(LinkFrame.frame(ip, for: .raw), ip)
        XCTAssertNil(LinkFrame.frame(ip, for: LinkType(rawValue: 105)))
    }

    // MARK: Capture writer

    func testPcapBytes() {
        var writer = CaptureWriter(format: .pcap, linkType: .ethernet, snapLength: 65_535)
        XCTAssertEqual(writer.bytes, [0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 1, 0, 0, 0])
        writer.append([0xAA, 0xBB, 0xCC], at: Timestamp(microseconds: 1_000_000_000_500_001))
        // 1000000000 s = 0x3b9aca00, 500001 us = 0x0007a121, lengths 3 and 3.
        XCTAssertEqual(Array(writer.bytes[24...]), [0x00, 0xCA, 0x9A, 0x3B, 0x21, 0xA1, 0x07, 0x00, 3, 0, 0, 0, 3, 0, 0, 0, 0xAA, 0xBB, 0xCC])
        XCTAssertEqual(writer.frameCount, 1)

        var big = CaptureWriter(format: .pcapNanoseconds, linkType: .raw, bigEndian: true)
        XCTAssertEqual(Array(big.bytes.prefix(4)), [0xA1, 0xB2, 0x3C, 0x4D])
        XCTAssertEqual(Array(big.bytes[20..<24]), [0, 0, 0, 101])
        big.append([1], at: Timestamp(microseconds: 2_000_003))
        XCTAssertEqual(Array(big.bytes[24..<32]), [0, 0, 0, 2, 0, 0, 0x0B, 0xB8])  // 3 us = 3000 ns
    }

    func testPcapngBytes() {
        var writer = CaptureWriter(format: .pcapng, linkType: .linuxSLL2, snapLength: 1500)
        XCTAssertEqual(writer.bytes.count, 28 + 32)
        XCTAssertEqual(Array(writer.bytes.prefix(12)), [0x0A, 0x0D, 0x0D, 0x0A, 28, 0, 0, 0, 0x4D, 0x3C, 0x2B, 0x1A])
        XCTAssertEqual(Array(writer.bytes[28..<44]), [1, 0, 0, 0, 32, 0, 0, 0, 0x14, 0x01, 0, 0, 0xDC, 0x05, 0, 0])
        writer.append([1, 2, 3, 4, 5], at: Timestamp(microseconds: 0x1_0000_0002), originalLength: 9)
        let block = Array(writer.bytes[60...])
        XCTAssertEqual(block.count, 32 + 8)
        XCTAssertEqual(Array(block[0..<8]), [6, 0, 0, 0, 40, 0, 0, 0])
        XCTAssertEqual(Array(block[12..<20]), [1, 0, 0, 0, 2, 0, 0, 0])  // high word, then low word
        XCTAssertEqual(Array(block[20..<28]), [5, 0, 0, 0, 9, 0, 0, 0])
        XCTAssertEqual(Array(block[28..<36]), [1, 2, 3, 4, 5, 0, 0, 0])
        XCTAssertEqual(Array(block[36..<40]), [40, 0, 0, 0])
    }

    func testWriterSnapsAndIsDeterministic() {
        func make() -> [UInt8] {
            var writer = CaptureWriter(format: .pcapng, linkType: .ethernet, snapLength: 4)
            writer.append([1, 2, 3, 4, 5, 6], at: Timestamp(microseconds: 5))
            writer.append(ipPacket: PacketBuilder.udp(from: client4, to: server4), at: Timestamp(microseconds: 6))
            return writer.bytes
        }
        XCTAssertEqual(make(), make())
        var writer = CaptureWriter(format: .pcap, linkType: .raw, snapLength: 4)
        writer.append([1, 2, 3, 4, 5, 6], at: .zero)
        XCTAssertEqual(Array(writer.bytes[32..<40]), [4, 0, 0, 0, 6, 0, 0, 0])
        XCTAssertEqual(Array(writer.bytes[40...]), [1, 2, 3, 4])
    }

    // MARK: TCP conversation

    func testConversationTracksSequenceNumbers() {
        var tcp = TCPConversation(client: client4, server: server4, clientISN: 100, serverISN: 5000)
        let handshake = tcp.handshake().map(parse).compactMap(\.summary)
        XCTAssertEqual(handshake.count, 3)
        XCTAssertEqual(handshake.map(\.flags), [TCPFlags.syn.rawValue, TCPFlags([.syn, .ack]).rawValue, TCPFlags.ack.rawValue])
        XCTAssertEqual(handshake.map(\.seq), [100, 5000, 101])
        XCTAssertEqual(handshake.map(\.ack), [0, 101, 5001])
        XCTAssertEqual(handshake[1].source, server4)

        let request = Array("GET /file HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let sent = tcp.send(request, from: .client, segmentSizes: [5, 10]).map(parse).compactMap(\.summary)
        XCTAssertEqual(sent.map { $0.payload.count }, [5, 10, 10, request.count - 25])
        XCTAssertEqual(sent.flatMap(\.payload), request)
        XCTAssertEqual(sent.map(\.seq), [101, 106, 116, 126])
        XCTAssertTrue(sent.allSatisfy { $0.ack == 5001 })
        XCTAssertEqual(sent.map { $0.flags & TCPFlags.psh.rawValue != 0 }, [false, false, false, true])
        XCTAssertEqual(tcp.nextSequence(.client), 101 + UInt32(request.count))

        let response = tcp.send(Array("HTTP/1.1 200 OK\r\n\r\n".utf8), from: .server).map(parse).compactMap(\.summary)
        XCTAssertEqual(response.count, 1)
        XCTAssertEqual(response[0].seq, 5001)
        XCTAssertEqual(response[0].ack, 101 + UInt32(request.count))
        XCTAssertEqual(tcp.send([], from: .server), [])

        let close = tcp.close(initiatedBy: .server).map(parse).compactMap(\.summary)
        XCTAssertEqual(close.map(\.flags), [TCPFlags([.fin, .ack]).rawValue, TCPFlags.ack.rawValue, TCPFlags([.fin, .ack]).rawValue, TCPFlags.ack.rawValue])
        let serverFin = 5001 + UInt32(19)
        let clientFin = 101 + UInt32(request.count)
        XCTAssertEqual(close.map(\.seq), [serverFin, clientFin, clientFin, serverFin + 1])
        XCTAssertEqual(close.map(\.ack), [clientFin, serverFin + 1, serverFin + 1, clientFin + 1])

        guard case .packet(let reset) = parse(tcp.reset(from: .client)) else { return XCTFail() }
        XCTAssertEqual(reset.flags, TCPFlags([.rst, .ack]).rawValue)
        XCTAssertEqual(reset.seq, clientFin + 1)
    }

    func testConversationSequenceWrapsAndRetransmits() {
        var tcp = TCPConversation(client: client6, server: server6, clientISN: .max, serverISN: 1, mss: nil)
        let syn = tcp.syn()
        XCTAssertEqual(syn[40 + 12] >> 4, 5, "no MSS option asked for")
        XCTAssertEqual(tcp.nextSequence(.client), 0)
        _ = tcp.synAck()
        let data = tcp.send([1, 2, 3], from: .client)
        XCTAssertEqual(parse(data[0]).summary?.seq, 0)
        let again = tcp.segment(from: .client, sequence: 0, data: [1, 2, 3])
        XCTAssertEqual(again, data[0], "a retransmission is the same segment")
        XCTAssertEqual(tcp.nextSequence(.client), 3)
    }
}
