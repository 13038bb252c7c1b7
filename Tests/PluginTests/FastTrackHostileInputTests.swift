import FastTrackPlugin
import Host
import PacketKit
import PluginAPI
import Simulators
import XCTest

/// Malformed and hostile traffic: never a crash, never a lock, never a learned address.
final class FastTrackHostileInputTests: XCTestCase {
    typealias B = FastTrackBench

    private func assertNothingLearnedOrLocked(_ b: FastTrackBench, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(b.locks.isEmpty, "\(what): locked \(b.locks.map(\.client))", file: file, line: line)
        XCTAssertTrue(b.learns.isEmpty, "\(what): learned \(b.learns.map(\.address))", file: file, line: line)
        XCTAssertTrue(b.injections.isEmpty, "\(what): sent \(b.injections.count) packets", file: file, line: line)
    }

    func testShortAndMisshapenDiscoveryDatagramsAreIgnored() throws {
        let b = try bench()
        var payloads: [[UInt8]] = []
        for type: UInt8 in [0x27, 0x28, 0x29, 0x2A, 0xC0, 0xC1] {
            for length in 0..<8 { payloads.append([type, 0, 0, 0, 0x29, 0x80, 0x41, 0x42].prefix(length).map { $0 }) }
        }
        payloads.append(FastTrackBytes.ping() + [0])
        payloads.append(Array(FastTrackBytes.ping().dropLast()) + [0x41])
        payloads.append([0x27, 0, 0, 0, 0x29, 0x80] + Array(repeating: 0x41, count: 1400))
        payloads.append([0x28, 0, 0, 0, 0x29, 0x00] + Array(repeating: 0x41, count: 1400) + [0])
        for (i, payload) in payloads.enumerated() {
            let peer = Endpoint(IPAddress(v4: 0xCB00_7100 | UInt32(i & 0xFF)), UInt16(2000 + i))
            XCTAssertEqual(b.udp(payload, to: peer, at: Double(i)).verdict, .accept, "\(payload.prefix(8))")
        }
        XCTAssertTrue(b.alerts.isEmpty)
        assertNothingLearnedOrLocked(b, "short datagrams")
    }

    func testHugeHeadersLockNoOne() throws {
        let b = try bench()
        // 200 header lines: the Kazaa header lies past what the host reassembles.
        var lines = ["GET /index.html HTTP/1.1", "Host: example.org"]
        for i in 0..<200 { lines.append("X-Filler-\(i): " + String(repeating: "v", count: 90)) }
        lines.append("X-Kazaa-Username: late")
        let request = FastTrackBytes.text(lines.joined(separator: "\r\n") + "\r\n\r\n")
        let decisions = b.exchange(to: B.webServer, request: request, splits: [1460], at: 0)
        XCTAssertTrue(decisions.allSatisfy { $0.verdict == .accept })
        // One header line longer than the stream, and a head that never ends.
        b.exchange(to: B.webServer, request: FastTrackBytes.text("GET / HTTP/1.1\r\nCookie: " + String(repeating: "c", count: 20_000)),
                   splits: [1460], at: 10)
        b.exchange(to: B.webServer, request: FastTrackBytes.text("GET / HTTP/1.1\r\n" + String(repeating: "X-A: b\r\n", count: 400)),
                   splits: [7], at: 20)
        XCTAssertTrue(b.alerts.isEmpty)
        assertNothingLearnedOrLocked(b, "huge headers")
    }

    func testNamesWithoutTheirNULAndWrongLengthsNeverLock() throws {
        let b = try bench()
        // The same malformed ping, again and again to the same peer: a real one would lock by now.
        let ping = Array(FastTrackBytes.ping().dropLast())
        for i in 0..<20 { b.udp(ping, at: Double(i)) }
        let long = FastTrackBytes.ping() + [0x00, 0x00]
        for i in 0..<20 { b.udp(long, at: 30 + Double(i)) }
        b.connect(to: B.peer, at: 60)
        assertNothingLearnedOrLocked(b, "malformed pings")
    }

    func testRandomPacketsNeverCrashOrLock() throws {
        // Fixed seed and a fixed count: the same inputs on every run.
        var random = SimulationRandom(seed: 0xFA57_7EAC)
        let b = try bench()
        let templates: [[UInt8]] = [
            FastTrackBytes.ping(), FastTrackBytes.supernodePong(), FastTrackBytes.pong(), FastTrackBytes.pong(flagged: true),
            FastTrackSessionOpeningTests.opening,
        ]
        var accepted = 0
        for i in 0..<3000 {
            let time = Double(i) * 0.01
            let client = Endpoint(IPAddress(192, 168, 1, UInt8(2 + i % 200)), UInt16(1024 + i))
            let peer = Endpoint(IPAddress(v4: 0x0B00_0000 &+ UInt32(i) &* 7919), UInt16(1 + i % 65_000))
            switch i % 4 {
            case 0:
                // Raw garbage as an IP packet.
                b.feed(random.bytes(Int.random(in: 0...80, using: &random)), at: time)
            case 1:
                // A discovery template with random bytes changed, its last byte never a NUL,
                // and never 13 or 21 bytes long: it can never be a valid discovery message.
                var payload = templates[Int.random(in: 0..<4, using: &random)]
                for _ in 0..<Int.random(in: 0...4, using: &random) {
                    payload[Int.random(in: 1..<payload.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                payload += random.bytes(Int.random(in: 0...6, using: &random))
                if payload.count == 13 || payload.count == 21 { payload.append(0x41) }
                payload[payload.count - 1] |= 0x01
                if b.udp(payload, from: client, to: peer, at: time).verdict == .accept { accepted += 1 }
            case 2:
                // Random binary TCP data after a handshake.
                let request = random.bytes(Int.random(in: 1...40, using: &random))
                let response = random.bytes(Int.random(in: 0...40, using: &random))
                b.exchange(from: client.address, to: peer, request: request, response: response, at: time)
            default:
                // Text requests with random printable junk (no dots, so no FastTrack paths).
                let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-/: ".utf8)
                let junk = (0..<Int.random(in: 0...120, using: &random)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] }
                let request = FastTrackBytes.text("GET /") + junk + FastTrackBytes.text(" HTTP/1.1\r\nHost: x\r\n\r\n")
                b.exchange(from: client.address, to: peer, request: request, splits: [Int.random(in: 1...30, using: &random), 4096], at: time)
            }
        }
        XCTAssertEqual(accepted, 750)
        XCTAssertTrue(b.alerts.allSatisfy { $0.signature == "fasttrack.tcp.session-open" }, "\(Set(b.alerts.map(\.signature)))")
        XCTAssertTrue(b.alerts.allSatisfy { $0.verdict == .accept })
        assertNothingLearnedOrLocked(b, "random packets")
        b.finish()
        XCTAssertGreaterThan(b.engine.statsEvent().malformed, 0, "the garbage was seen and counted")
    }

    func testMutatedValidMessagesNeverLockWithoutAContact() throws {
        // Mutations of valid messages may stay valid (they then teach), but a lock needs a
        // second contact with a learned peer: each datagram here goes to a peer of its own.
        var random = SimulationRandom(seed: 27)
        let b = try bench()
        let valid = [FastTrackBytes.ping(), FastTrackBytes.ping("Grokster"), FastTrackBytes.supernodePong(), FastTrackBytes.pong()]
        for i in 0..<2000 {
            var payload = valid[i % valid.count]
            let index = Int.random(in: 0..<payload.count, using: &random)
            payload[index] = UInt8.random(in: 0...255, using: &random)
            if Bool.random(using: &random) { payload.removeLast(Int.random(in: 0...min(3, payload.count), using: &random)) }
            let peer = Endpoint(IPAddress(v4: 0x0C00_0000 &+ UInt32(i) &* 104_729), UInt16(1024 + i))
            b.udp(payload, from: Endpoint(B.client, UInt16(1024 + i)), to: peer, at: Double(i) * 0.01)
        }
        XCTAssertTrue(b.locks.isEmpty)
        // Whatever was learned is a pinged peer with a well-formed ping behind it.
        XCTAssertTrue(b.learns.allSatisfy { $0.origin.hasPrefix("fasttrack.udp.ping from 192.168.1.20:") })
    }
}
