import PacketKit
import PluginAPI
import XCTest

final class PacketViewTests: XCTestCase {
    let client4 = Endpoint("10.0.0.5:40000")!
    let server4 = Endpoint("198.51.100.7:1214")!
    let client6 = Endpoint("[2001:db8::5]:40000")!
    let server6 = Endpoint("[2001:db8:1::7]:6346")!
    let payload = Array("GIVE 12:ABCDEF/file.mp3\n\n".utf8)

    // MARK: Round trips

    func testUDPRoundTrip() {
        for (from, to, version) in [(client4, server4, UInt8(4)), (client6, server6, UInt8(6))] {
            let packet = PacketBuilder.udp(from: from, to: to, payload: payload, ttl: 33)
            guard case .packet(let p) = parse(packet) else { return XCTFail("\(parse(packet))") }
            XCTAssertEqual(p, Parsed.Summary(version: version, source: from, destination: to, transport: .udp, ttl: 33, flags: 0,
                                             seq: 0, ack: 0, payload: payload, hasIPOptions: false, isFirstFragment: false,
                                             isTruncated: false))
        }
    }

    func testTCPRoundTrip() {
        for (from, to, version) in [(client4, server4, UInt8(4)), (client6, server6, UInt8(6))] {
            for flags in [TCPFlags.syn, [.syn, .ack], [.psh, .ack], [.fin, .ack], [.rst], [.urg, .ack, .psh, .fin, .syn, .rst]] {
                let packet = PacketBuilder.tcp(from: from, to: to, flags: flags, seq: 0xDEAD_BEEF, ack: 0x0102_0304,
                                               payload: payload, mss: flags.contains(.syn) ? 1400 : nil)
                guard case .packet(let p) = parse(packet) else { return XCTFail("\(parse(packet))") }
                XCTAssertEqual(p, Parsed.Summary(version: version, source: from, destination: to, transport: .tcp, ttl: 64,
                                                 flags: flags.rawValue, seq: 0xDEAD_BEEF, ack: 0x0102_0304, payload: payload,
                                                 hasIPOptions: false, isFirstFragment: false, isTruncated: false))
            }
        }
        let syn = PacketBuilder.tcp(from: client4, to: server4, flags: .syn, seq: 1)
        syn.withUnsafeBytes { raw in
            guard case .packet(let view) = PacketView.parse(raw) else { return XCTFail() }
            XCTAssertTrue(view.isConnectionRequest)
            XCTAssertTrue(view.isTCP)
            XCTAssertEqual(view.bytes.count, syn.count)
            XCTAssertEqual(view.payload.count, 0)
        }
    }

    func testIPv4Options() {
        for optionLength in [1, 4, 11, 40] {
            let options = [UInt8](repeating: 1, count: optionLength)  // NOPs
            let fields = PacketBuilder.IPFields(ipv4Options: options)
            let udp = PacketBuilder.udp(from: client4, to: server4, payload: payload, ip: fields)
            XCTAssertEqual(Int(udp[0] & 0x0F), 5 + (optionLength + 3) / 4)
            guard case .packet(let u) = parse(udp) else { return XCTFail("\(optionLength)") }
            XCTAssertTrue(u.hasIPOptions)
            XCTAssertEqual(u.source, client4)
            XCTAssertEqual(u.destination, server4)
            XCTAssertEqual(u.payload, payload)
            let tcp = PacketBuilder.tcp(from: client4, to: server4, flags: .ack, seq: 5, ack: 6, payload: payload, ip: fields)
            guard case .packet(let t) = parse(tcp) else { return XCTFail("\(optionLength)") }
            XCTAssertEqual(t.destination, server4)
            XCTAssertEqual(t.seq, 5)
            XCTAssertEqual(t.payload, payload)
        }
    }

    func testIPv6ExtensionHeaders() {
        let chains: [[PacketBuilder.IPv6ExtensionHeader]] = [
            [.hopByHop([5, 2, 0, 0, 1, 0])],
            [.fragment(offset: 0, moreFragments: true, identification: 0xABCD)],
            [.fragment(offset: 0, moreFragments: false, identification: 1)],  // an atomic fragment
            [.hopByHop([]), .destinationOptions([UInt8](repeating: 0, count: 20)), .routing(type: 4, segmentsLeft: 0, data: [UInt8](repeating: 0, count: 16)),
             .fragment(offset: 0, moreFragments: true, identification: 2), .destinationOptions([])],
        ]
        for chain in chains {
            let fields = PacketBuilder.IPFields(ipv6ExtensionHeaders: chain)
            let udp = PacketBuilder.udp(from: client6, to: server6, payload: payload, ip: fields)
            guard case .packet(let u) = parse(udp) else { return XCTFail("\(chain): \(parse(udp))") }
            XCTAssertEqual(u.source, client6)
            XCTAssertEqual(u.destination, server6)
            XCTAssertEqual(u.payload, payload)
            XCTAssertTrue(u.hasIPOptions)
            let expectFirst = chain.contains { if case .fragment(_, true, _) = $0 { return true }; return false }
            XCTAssertEqual(u.isFirstFragment, expectFirst, "\(chain)")
            let tcp = PacketBuilder.tcp(from: client6, to: server6, flags: [.psh, .ack], seq: 10, ack: 20, payload: payload, ip: fields)
            XCTAssertEqual(parse(tcp).summary?.payload, payload, "\(chain)")
        }
    }

    func testAuthenticationHeaderIsSkipped() {
        // AH: next header, length in 4-byte units minus 2 (4 → 24 bytes), reserved, SPI, sequence, ICV.
        let udp = PacketBuilder.udp(from: client6, to: server6, payload: payload)
        var ah: [UInt8] = [17, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
        ah += [UInt8](repeating: 0xAA, count: 12)
        let packet = PacketBuilder.ip(source: client6.address, destination: server6.address, protocolNumber: 51,
                                      payload: ah + Array(udp[40...]))
        XCTAssertEqual(parse(packet).summary?.payload, payload)
        XCTAssertEqual(parse(packet).summary?.destination, server6)
    }

    func testFirstFragments() {
        // IPv4 first fragment: MF set, offset 0; the UDP length names the whole datagram.
        let whole = PacketBuilder.udp(from: client4, to: server4, payload: [UInt8](repeating: 0x41, count: 100))
        let first = PacketBuilder.ip(source: client4.address, destination: server4.address, protocolNumber: 17,
                                     payload: Array(whole[20..<(20 + 48)]), fields: PacketBuilder.IPFields(moreFragments: true))
        guard case .packet(let f) = parse(first) else { return XCTFail("\(parse(first))") }
        XCTAssertTrue(f.isFirstFragment)
        XCTAssertFalse(f.isTruncated)
        XCTAssertEqual(f.payload, [UInt8](repeating: 0x41, count: 40))

        // The same UDP length without MF contradicts the datagram.
        let lying = PacketBuilder.ip(source: client4.address, destination: server4.address, protocolNumber: 17,
                                     payload: Array(whole[20..<(20 + 48)]))
        XCTAssertEqual(parse(lying).anomaly, .badLength)
    }

    // MARK: Hostile packets

    func testEmptyAndOneByte() {
        XCTAssertEqual(parse([]), .anomaly(.truncated, source: nil, destination: nil))
        for byte: UInt8 in [0x45, 0x4F, 0x60, 0x6F] {
            XCTAssertEqual(parse([byte]), .anomaly(.truncated, source: nil, destination: nil), "\(byte)")
        }
        XCTAssertEqual(parse([0x00]), .anomaly(.badVersion, source: nil, destination: nil))
        // A null base address must be handled as well as an empty buffer.
        let result = PacketView.parse(UnsafeRawBufferPointer(start: nil, count: 0))
        if case .anomaly(.truncated, nil, nil) = result {} else { XCTFail("\(result)") }
    }

    func testBadVersions() {
        var packet = PacketBuilder.udp(from: client4, to: server4, payload: payload)
        for version: UInt8 in [0, 1, 5, 7, 15] {
            packet[0] = version << 4 | 5
            XCTAssertEqual(parse(packet).anomaly, .badVersion, "version \(version)")
        }
        // An IPv4 header announced as IPv6: too short for the fixed IPv6 header.
        let short = PacketBuilder.udp(from: client4, to: server4)
        var six = short
        six[0] = 0x65
        XCTAssertEqual(parse(six).anomaly, .truncated)
    }

    /// Every prefix of a valid packet parses to `truncated` or to a snapped packet whose payload
    /// is exactly the bytes present.
    func testEveryTruncationLength() {
        let cases: [(String, [UInt8], Int)] = [
            ("udp4", PacketBuilder.udp(from: client4, to: server4, payload: payload), 28),
            ("tcp4", PacketBuilder.tcp(from: client4, to: server4, flags: [.psh, .ack], seq: 1, ack: 2, payload: payload, mss: 1460), 44),
            ("udp6", PacketBuilder.udp(from: client6, to: server6, payload: payload), 48),
            ("tcp6", PacketBuilder.tcp(from: client6, to: server6, flags: .ack, seq: 1, ack: 2, payload: payload), 60),
            ("udp6+ext", PacketBuilder.udp(from: client6, to: server6, payload: payload, ip: PacketBuilder.IPFields(
                ipv6ExtensionHeaders: [.hopByHop([]), .fragment(offset: 0, moreFragments: false, identification: 3)])), 64),
            ("tcp4+opt", PacketBuilder.tcp(from: client4, to: server4, flags: .ack, seq: 1, payload: payload,
                                           ip: PacketBuilder.IPFields(ipv4Options: [1, 1, 1, 1])), 44),
        ]
        for (name, packet, headers) in cases {
            for length in 0...packet.count {
                let result = parse(Array(packet.prefix(length)))
                if length < headers {
                    XCTAssertEqual(result.anomaly, .truncated, "\(name) cut at \(length): \(result)")
                } else {
                    guard case .packet(let p) = result else { XCTFail("\(name) cut at \(length): \(result)"); continue }
                    XCTAssertEqual(p.payload, Array(payload.prefix(length - headers)), "\(name) cut at \(length)")
                    XCTAssertEqual(p.isTruncated, length < packet.count, "\(name) cut at \(length)")
                }
            }
        }
    }

    func testIHLBelowFive() {
        var packet = PacketBuilder.tcp(from: client4, to: server4, flags: .ack, seq: 1, payload: payload)
        for ihl: UInt8 in 0..<5 {
            packet[0] = 0x40 | ihl
            XCTAssertEqual(parse(packet), .anomaly(.badLength, source: client4.address, destination: server4.address), "IHL \(ihl)")
        }
    }

    func testIHLBeyondBytes() {
        var packet = PacketBuilder.udp(from: client4, to: server4)
        packet[0] = 0x4F  // 60-byte header in a 28-byte packet
        packet.set16(2, 60)
        XCTAssertEqual(parse(packet).anomaly, .truncated)
    }

    func testTotalLengthBelowHeader() {
        var packet = PacketBuilder.udp(from: client4, to: server4, payload: payload)
        for total: UInt16 in [0, 1, 19] {
            packet.set16(2, total)
            XCTAssertEqual(parse(packet).anomaly, .badLength, "total length \(total)")
        }
        var withOptions = PacketBuilder.udp(from: client4, to: server4, payload: payload, ip: PacketBuilder.IPFields(ipv4Options: [1, 1, 1, 1]))
        withOptions.set16(2, 22)  // at least 20, but less than the 24-byte header
        XCTAssertEqual(parse(withOptions).anomaly, .badLength)
    }

    func testTotalLengthAboveBytesIsASnappedPacket() {
        var packet = PacketBuilder.udp(from: client4, to: server4, payload: payload)
        packet.set16(2, UInt16(packet.count + 100))
        packet.set16(24, UInt16(8 + payload.count + 100))
        guard case .packet(let p) = parse(packet) else { return XCTFail("\(parse(packet))") }
        XCTAssertTrue(p.isTruncated)
        XCTAssertEqual(p.payload, payload)

        var six = PacketBuilder.tcp(from: client6, to: server6, flags: .ack, seq: 1, payload: payload)
        six.set16(4, UInt16(six.count - 40 + 1000))
        XCTAssertEqual(parse(six).summary?.isTruncated, true)
        XCTAssertEqual(parse(six).summary?.payload, payload)
    }

    func testTrailingLinkPaddingIsNotPayload() {
        let packet = PacketBuilder.udp(from: client4, to: server4, payload: [1, 2])
        let padded = packet + [UInt8](repeating: 0, count: 16)  // an Ethernet frame padded to its minimum
        XCTAssertEqual(parse(padded).summary?.payload, [1, 2])
        XCTAssertEqual(padded.withUnsafeBytes { raw -> Int in
            if case .packet(let view) = PacketView.parse(raw) { return view.bytes.count }
            return -1
        }, packet.count)
        let tcp6 = PacketBuilder.tcp(from: client6, to: server6, flags: .ack, seq: 1, payload: [7])
        XCTAssertEqual(parse(tcp6 + [0, 0, 0]).summary?.payload, [7])
    }

    func testUDPLengthField() {
        for (from, to, offset) in [(client4, server4, 20), (client6, server6, 40)] {
            var packet = PacketBuilder.udp(from: from, to: to, payload: payload)
            for length: UInt16 in [0, 1, 7] {
                packet.set16(offset + 4, length)
                XCTAssertEqual(parse(packet).anomaly, .badLength, "UDP length \(length)")
            }
            packet.set16(offset + 4, UInt16(8 + payload.count + 1))
            XCTAssertEqual(parse(packet).anomaly, .badLength, "UDP length past the datagram")
            // Shorter than the datagram: the rest is not UDP payload.
            packet.set16(offset + 4, 8 + 4)
            XCTAssertEqual(parse(packet).summary?.payload, Array(payload.prefix(4)))
            packet.set16(offset + 4, 8)
            XCTAssertEqual(parse(packet).summary?.payload, [])
        }
        // A datagram too short for the UDP header at all.
        let stub = PacketBuilder.ip(source: client4.address, destination: server4.address, protocolNumber: 17, payload: [0, 1, 0, 2, 0, 8, 0])
        XCTAssertEqual(parse(stub).anomaly, .truncated)
    }

    func testTCPDataOffset() {
        for (from, to, offset) in [(client4, server4, 20), (client6, server6, 40)] {
            var packet = PacketBuilder.tcp(from: from, to: to, flags: .ack, seq: 1, payload: [1, 2, 3, 4])
            for dataOffset: UInt8 in 0..<5 {
                packet[offset + 12] = dataOffset << 4
                XCTAssertEqual(parse(packet).anomaly, .badLength, "data offset \(dataOffset)")
            }
            // 24 bytes of header fit the 24 bytes present: all options, no payload.
            packet[offset + 12] = 6 << 4
            XCTAssertEqual(parse(packet).summary?.payload, [])
            for dataOffset: UInt8 in 7...15 {
                packet[offset + 12] = dataOffset << 4
                XCTAssertEqual(parse(packet).anomaly, .truncated, "data offset \(dataOffset)")
            }
        }
    }

    func testNonFirstFragments() {
        let v4 = PacketBuilder.ip(source: client4.address, destination: server4.address, protocolNumber: 17,
                                  payload: [UInt8](repeating: 0x42, count: 16), fields: PacketBuilder.IPFields(moreFragments: true, fragmentOffset: 6))
        XCTAssertEqual(parse(v4), .anomaly(.fragment, source: client4.address, destination: server4.address))
        let lastV4 = PacketBuilder.ip(source: client4.address, destination: server4.address, protocolNumber: 6,
                                      payload: [1], fields: PacketBuilder.IPFields(fragmentOffset: 0x1FFF))
        XCTAssertEqual(parse(lastV4).anomaly, .fragment)

        for (offset, more) in [(UInt16(1), true), (185, false), (0x1FFF, true)] {
            let v6 = PacketBuilder.ip(source: client6.address, destination: server6.address, protocolNumber: 17,
                                      payload: [UInt8](repeating: 0x42, count: 16),
                                      fields: PacketBuilder.IPFields(ipv6ExtensionHeaders: [.fragment(offset: offset, moreFragments: more, identification: 9)]))
            XCTAssertEqual(parse(v6), .anomaly(.fragment, source: client6.address, destination: server6.address), "offset \(offset)")
        }
    }

    func testUnknownProtocols() {
        for protocolNumber: UInt8 in [1, 2, 47, 50, 58, 89, 132, 255] {
            let v4 = PacketBuilder.ip(source: client4.address, destination: server4.address, protocolNumber: protocolNumber,
                                      payload: [8, 0, 0xF7, 0xFF, 0, 0, 0, 0])
            XCTAssertEqual(parse(v4), .anomaly(.unknownProtocol, source: client4.address, destination: server4.address), "\(protocolNumber)")
        }
        for protocolNumber: UInt8 in [58, 47, 59] {  // ICMPv6, GRE, no next header
            let v6 = PacketBuilder.ip(source: client6.address, destination: server6.address, protocolNumber: protocolNumber,
                                      payload: [128, 0, 0, 0, 0, 1, 0, 1])
            XCTAssertEqual(parse(v6), .anomaly(.unknownProtocol, source: client6.address, destination: server6.address), "\(protocolNumber)")
        }
    }

    func testIPv6LengthsAndExtensionHeaderAbuse() {
        var zero = PacketBuilder.udp(from: client6, to: server6, payload: payload)
        zero.set16(4, 0)  // a jumbogram's marker
        XCTAssertEqual(parse(zero).anomaly, .badLength)

        // A hop-by-hop header that claims more bytes than the packet holds.
        var long = PacketBuilder.udp(from: client6, to: server6, payload: payload, ip: PacketBuilder.IPFields(ipv6ExtensionHeaders: [.hopByHop([])]))
        long[41] = 200
        XCTAssertNotNil(parse(long).anomaly)

        // An extension header that starts past the announced payload length.
        var cut = PacketBuilder.udp(from: client6, to: server6, payload: [], ip: PacketBuilder.IPFields(ipv6ExtensionHeaders: [.hopByHop([])]))
        cut.set16(4, 4)
        XCTAssertNotNil(parse(cut).anomaly)

        // Nine chained headers are more than the parser walks; seven and the transport header fit.
        let nine = [PacketBuilder.IPv6ExtensionHeader](repeating: .destinationOptions([]), count: 9)
        let deep = PacketBuilder.udp(from: client6, to: server6, payload: payload, ip: PacketBuilder.IPFields(ipv6ExtensionHeaders: nine))
        XCTAssertEqual(parse(deep).anomaly, .badLength)
        let seven = Array(nine.prefix(7))
        let fits = PacketBuilder.udp(from: client6, to: server6, payload: payload, ip: PacketBuilder.IPFields(ipv6ExtensionHeaders: seven))
        XCTAssertEqual(parse(fits).summary?.payload, payload)
    }

    func testAnomaliesCarryAddressesWhenReadable() {
        var packet = PacketBuilder.udp(from: client4, to: server4, payload: payload)
        packet[0] = 0x44
        if case .anomaly(_, let source, let destination) = parse(packet) {
            XCTAssertEqual(source, client4.address)
            XCTAssertEqual(destination, server4.address)
        } else {
            XCTFail()
        }
        XCTAssertEqual(parse(Array(packet.prefix(19))), .anomaly(.truncated, source: nil, destination: nil))
    }
}
