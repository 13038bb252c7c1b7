import PacketKit
import PluginAPI
import Simulators
import XCTest

/// Checksums against published and hand-computed vectors, and against a second, deliberately
/// different implementation (16-bit end-around carry at every step, pseudo-headers spelt out).
final class ChecksumTests: XCTestCase {
    private func referenceChecksum(_ data: [UInt8]) -> UInt16 {
        var sum: UInt16 = 0
        var i = 0
        while i < data.count {
            let word = UInt16(data[i]) << 8 | (i + 1 < data.count ? UInt16(data[i + 1]) : 0)
            let (added, carry) = sum.addingReportingOverflow(word)
            sum = carry ? added + 1 : added
            i += 2
        }
        return ~sum
    }

    private func referencePseudoHeader(_ packet: [UInt8], protocolNumber: UInt8, length: Int) -> [UInt8] {
        if packet[0] >> 4 == 4 {
            return Array(packet[12..<20]) + [0, protocolNumber, UInt8(length >> 8), UInt8(length & 0xFF)]
        }
        return Array(packet[8..<40]) + [0, 0, UInt8(length >> 8), UInt8(length & 0xFF), 0, 0, 0, protocolNumber]
    }

    func testRFC1071Example() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
        let data: [UInt8] = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]
        XCTAssertEqual(Checksum.internet(data), 0x220D)
        XCTAssertEqual(Checksum.finish(Checksum.sum(data)), 0x220D)
        XCTAssertEqual(referenceChecksum(data), 0x220D)
    }

    func testKnownIPv4Header() {
        // A widely published example header whose checksum is b861.
        var header = hexBytes("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7")
        XCTAssertEqual(Checksum.internet(header), 0xB861)
        header.set16(10, 0xB861)
        XCTAssertTrue(header.withUnsafeBytes { Checksum.isValidIPv4Header($0) })
        header[8] = 0x3F
        XCTAssertFalse(header.withUnsafeBytes { Checksum.isValidIPv4Header($0) })
    }

    func testHandComputedUDPChecksum() {
        // 10.0.0.1:1 -> 10.0.0.2:2, payload "AB":
        //   pseudo-header 0a00+0001+0a00+0002+0011+000a = 141e
        //   UDP header and data 0001+0002+000a+0000+4142 = 414f
        //   141e + 414f = 556d, complement aa92.
        let packet = PacketBuilder.udp(from: Endpoint("10.0.0.1:1")!, to: Endpoint("10.0.0.2:2")!, payload: Array("AB".utf8))
        XCTAssertEqual(packet.get16(20 + 6), 0xAA92)
    }

    func testOddLengthPadsWithZero() {
        XCTAssertEqual(Checksum.internet([0x12]), ~UInt16(0x1200))
        XCTAssertEqual(Checksum.internet([0x12, 0x34, 0x56]), referenceChecksum([0x12, 0x34, 0x56]))
        XCTAssertEqual(Checksum.internet([]), 0xFFFF)
    }

    func testFoldingManyCarries() {
        let data = [UInt8](repeating: 0xFF, count: 100_001)
        XCTAssertEqual(Checksum.internet(data), referenceChecksum(data))
    }

    /// Every builder output carries checksums the reference implementation agrees with.
    func testBuilderChecksumsMatchReference() {
        var rng = SimulationRandom(seed: 0xC4EC_0001)
        let v4 = (Endpoint("192.0.2.1:1024")!, Endpoint("198.51.100.200:6346")!)
        let v6 = (Endpoint("[2001:db8:1::ab]:1024")!, Endpoint("[2001:db8:ff::1]:6346")!)
        for round in 0..<2000 {
            let (from, to) = round % 2 == 0 ? v4 : v6
            let payload = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let isTCP = round % 4 < 2
            let packet = isTCP
                ? PacketBuilder.tcp(from: from, to: to, flags: TCPFlags(rawValue: UInt8(truncatingIfNeeded: rng.next()) & 0x3F),
                                    seq: UInt32(truncatingIfNeeded: rng.next()), ack: UInt32(truncatingIfNeeded: rng.next()),
                                    payload: payload, window: UInt16(truncatingIfNeeded: rng.next()),
                                    mss: round % 8 == 0 ? 1460 : nil)
                : PacketBuilder.udp(from: from, to: to, payload: payload, ttl: UInt8(truncatingIfNeeded: rng.next()))
            let ipHeader = packet[0] >> 4 == 4 ? Int(packet[0] & 0x0F) * 4 : 40
            if packet[0] >> 4 == 4 {
                var header = Array(packet[0..<ipHeader])
                let stored = header.get16(10)
                header.set16(10, 0)
                XCTAssertEqual(stored, referenceChecksum(header))
            }
            var segment = Array(packet[ipHeader...])
            let field = isTCP ? 16 : 6
            let stored = segment.get16(field)
            segment.set16(field, 0)
            let protocolNumber: UInt8 = isTCP ? 6 : 17
            var expected = referenceChecksum(referencePseudoHeader(packet, protocolNumber: protocolNumber, length: segment.count) + segment)
            if !isTCP && expected == 0 { expected = 0xFFFF }
            XCTAssertEqual(stored, expected, "round \(round)")
            XCTAssertTrue(Array(packet[ipHeader...]).withUnsafeBytes {
                Checksum.isValidTransport(source: from.address, destination: to.address,
                                          protocolNumber: protocolNumber, segment: $0)
            })
        }
    }

    func testUDPZeroChecksumIsSentAsAllOnes() {
        let from = Endpoint("10.9.8.7:5000")!, to = Endpoint("10.1.2.3:6000")!
        // With payload word w the checksum is ~(S + w); choosing w = ~S (the checksum for w = 0)
        // makes the sum all ones, whose complement zero must go out as ffff.
        let plain = PacketBuilder.udp(from: from, to: to, payload: [0, 0])
        let c0 = plain.get16(26)
        let packet = PacketBuilder.udp(from: from, to: to, payload: [UInt8(c0 >> 8), UInt8(c0 & 0xFF)])
        XCTAssertEqual(packet.get16(26), 0xFFFF)
        XCTAssertTrue(Array(packet[20...]).withUnsafeBytes {
            Checksum.isValidTransport(source: from.address, destination: to.address, protocolNumber: 17, segment: $0)
        })
    }

    func testCorruptedSegmentFailsValidation() {
        let from = Endpoint("[2001:db8::1]:1")!, to = Endpoint("[2001:db8::2]:2")!
        var packet = PacketBuilder.tcp(from: from, to: to, flags: [.psh, .ack], seq: 7, ack: 9, payload: Array("data".utf8))
        packet[packet.count - 1] ^= 0x01
        XCTAssertFalse(Array(packet[40...]).withUnsafeBytes {
            Checksum.isValidTransport(source: from.address, destination: to.address, protocolNumber: 6, segment: $0)
        })
    }
}
