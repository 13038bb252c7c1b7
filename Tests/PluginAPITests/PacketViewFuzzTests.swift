import Foundation
import PacketKit
import PluginAPI
import Simulators
import XCTest

/// Random and mutated packets: the parser must never trap, and every view it returns must lie
/// within the bytes it was given.
final class PacketViewFuzzTests: XCTestCase {
    static let iterations = 200_000
    /// A slow machine stops early rather than holding up the suite; the count run is reported.
    static let timeBudget: TimeInterval = 60

    private func seeds() -> [[UInt8]] {
        let c4 = Endpoint("10.0.0.5:40000")!, s4 = Endpoint("198.51.100.7:1214")!
        let c6 = Endpoint("[2001:db8::5]:40000")!, s6 = Endpoint("[2001:db8:1::7]:6346")!
        let data = Array("GET /.hash=0123456789 HTTP/1.1\r\nX-Kazaa-Username: a\r\n\r\n".utf8)
        return [
            PacketBuilder.udp(from: c4, to: s4, payload: data),
            PacketBuilder.tcp(from: c4, to: s4, flags: [.psh, .ack], seq: 1, ack: 2, payload: data),
            PacketBuilder.tcp(from: c4, to: s4, flags: .syn, seq: 1, mss: 1460, options: [1, 3, 3, 7], ip: PacketBuilder.IPFields(ipv4Options: [0x94, 4, 0, 0])),
            PacketBuilder.udp(from: c6, to: s6, payload: data),
            PacketBuilder.tcp(from: c6, to: s6, flags: .ack, seq: 1, payload: data),
            PacketBuilder.udp(from: c6, to: s6, payload: data, ip: PacketBuilder.IPFields(ipv6ExtensionHeaders: [
                .hopByHop([]), .routing(type: 4, segmentsLeft: 0, data: []), .fragment(offset: 0, moreFragments: true, identification: 5)])),
            PacketBuilder.ip(source: c4.address, destination: s4.address, protocolNumber: 17, payload: [0, 1, 0, 2, 0, 8, 0, 0],
                             fields: PacketBuilder.IPFields(moreFragments: true)),
        ]
    }

    private func checkInvariants(_ input: [UInt8], _ iteration: Int) -> Bool {
        input.withUnsafeBytes { raw -> Bool in
            switch PacketView.parse(raw) {
            case .packet(let view):
                guard let base = raw.baseAddress, let viewBase = view.bytes.baseAddress else { return false }
                let start = viewBase - base
                let payloadStart = view.payload.baseAddress.map { $0 - base } ?? start + view.bytes.count
                let ok = start == 0
                    && view.bytes.count <= raw.count
                    && payloadStart >= 0
                    && payloadStart + view.payload.count <= view.bytes.count
                    && view.ipVersion == raw[0] >> 4
                    && (view.ipVersion == 4 || view.ipVersion == 6)
                    && (view.transport == .tcp || view.tcpFlags.isEmpty)
                    && (view.isTCP ? payloadStart >= (view.ipVersion == 4 ? 40 : 60) : payloadStart >= (view.ipVersion == 4 ? 28 : 48))
                if !ok { XCTFail("iteration \(iteration): view outside its bytes for \(input)") }
                return ok
            case .anomaly(_, let source, let destination):
                let ok = (source == nil) == (destination == nil)
                if !ok { XCTFail("iteration \(iteration): one address without the other for \(input)") }
                return ok
            }
        }
    }

    func testRandomAndMutatedPackets() {
        var rng = SimulationRandom(seed: 0xF022_2026)
        let seeds = seeds()
        let started = Date()
        var parsedPackets = 0
        var done = 0
        for iteration in 0..<Self.iterations {
            if iteration % 4096 == 0 && Date().timeIntervalSince(started) > Self.timeBudget { break }
            var input: [UInt8]
            switch rng.next() % 4 {
            case 0:
                // Random bytes with a plausible version nibble most of the time.
                input = (0..<Int(rng.next() % 120)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                if !input.isEmpty && rng.next() % 4 != 0 {
                    input[0] = (rng.next() % 2 == 0 ? 0x40 : 0x60) | (input[0] & 0x0F)
                }
            default:
                input = seeds[Int(rng.next() % UInt64(seeds.count))]
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    guard !input.isEmpty else { break }
                    let position = Int(rng.next() % UInt64(input.count))
                    switch rng.next() % 5 {
                    case 0: input[position] ^= UInt8(1) << (rng.next() % 8)
                    case 1: input[position] = UInt8(truncatingIfNeeded: rng.next())
                    case 2: input = Array(input.prefix(position))
                    case 3: input += (0..<Int(rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    default:
                        // Length fields are where parsers go wrong: hit them on purpose.
                        let fields = [2, 3, 4, 5, 24, 25, 44, 45, 32]
                        let field = fields[Int(rng.next() % UInt64(fields.count))]
                        if field < input.count { input[field] = UInt8(truncatingIfNeeded: rng.next()) }
                    }
                }
            }
            if !checkInvariants(input, iteration) { return }
            if case .packet = input.withUnsafeBytes({ PacketView.parse($0) }) { parsedPackets += 1 }
            done = iteration + 1
        }
        let elapsed = Date().timeIntervalSince(started)
        print("fuzz: \(done) inputs in \(String(format: "%.2f", elapsed)) s, \(parsedPackets) parsed as packets")
        XCTAssertGreaterThan(done, 10_000, "too few iterations ran to mean anything")
        // Mutations of valid packets must still often parse, or the fuzzer only tests the first guard.
        XCTAssertGreaterThan(parsedPackets, done / 10)
    }
}
