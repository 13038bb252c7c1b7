import EngineTestKit
import FastTrackPlugin
import Host
import PacketKit
import PluginAPI
import XCTest

/// UDP discovery: recognition, learning and the spoofed reply.
final class FastTrackDetectorTests: XCTestCase {
    typealias B = FastTrackBench

    func testShippedSignatureFileBuildsThePlugin() throws {
        let set = FastTrackBench.shipped
        XCTAssertEqual(set.detector, "fasttrack")
        for id in ["fasttrack.udp.ping", "fasttrack.udp.supernode-pong", "fasttrack.udp.pong", "fasttrack.udp.pong-flagged",
                   "fasttrack.learned-peer", "fasttrack.http.hash-request", "fasttrack.http.give", "fasttrack.tcp.session-open"] {
            XCTAssertNotNil(set.signature(id), id)
        }
        XCTAssertNoThrow(try FastTrackDetector(signatures: set, settings: DetectorSettings()))
        XCTAssertEqual(FastTrackDetector.descriptor.id, "fasttrack")
    }

    func testKazaaPingIsRecognisedLearnedAndDropped() throws {
        let b = try bench()
        let decision = b.udp(FastTrackBytes.ping(), at: 0)
        XCTAssertEqual(decision.verdict, .drop)
        XCTAssertEqual(b.alerts.map(\.signature), ["fasttrack.udp.ping"])
        XCTAssertEqual(b.alerts.first?.facts.first { $0.key == "network" }?.value, "KaZaA")
        XCTAssertEqual(b.learns.count, 1)
        let learn = try XCTUnwrap(b.learns.first)
        XCTAssertEqual(learn.address, B.peer.address)
        XCTAssertEqual(learn.port, B.peer.port)
        XCTAssertEqual(learn.list, "fasttrack")
        XCTAssertEqual(learn.origin, "fasttrack.udp.ping from 192.168.1.20:2949 network KaZaA")
        XCTAssertEqual(learn.expires, B.time(3600))
        XCTAssertTrue(b.locks.isEmpty, "a first ping to a new peer teaches, it does not lock")
        let flow = try XCTUnwrap(b.flows().first)
        XCTAssertEqual(flow.appProto, "fasttrack")
        XCTAssertEqual(flow.verdict, .drop)
        XCTAssertEqual(flow.reason, "signature:fasttrack.udp.ping")
    }

    func testPingWithEncryptionTypeA9IsRecognised() throws {
        let b = try bench()
        XCTAssertEqual(b.udp(FastTrackBytes.ping(encryption: 0xA9), at: 0).verdict, .drop)
        XCTAssertEqual(b.alerts.map(\.signature), ["fasttrack.udp.ping"])
    }

    func testEncryptionTypesComeFromTheSignatureFile() throws {
        let b = try bench(parameters: ["encryption-types": "0x2B"])
        XCTAssertEqual(b.udp(FastTrackBytes.ping(encryption: 0x29), at: 0).verdict, .accept)
        XCTAssertEqual(b.udp(FastTrackBytes.ping(encryption: 0x2B), from: Endpoint(B.client, 3000), at: 1).verdict, .drop)
        XCTAssertThrowsError(try bench(parameters: ["encryption-types": "29, zz"]))
    }

    func testPingsOfEveryNetworkNameAreRecognisedAtTheLengthTheNameGives() throws {
        let names = ["KaZaA": 12, "Grokster": 15, "fileshare": 16, "MusicCity": 16, "A": 8, "Some Net-2": 17]
        for (index, (name, length)) in names.sorted(by: { $0.key < $1.key }).enumerated() {
            let b = try bench()
            let ping = FastTrackBytes.ping(name)
            XCTAssertEqual(ping.count, length, name)
            let peer = Endpoint(IPAddress(203, 0, 113, UInt8(10 + index)), 1214)
            XCTAssertEqual(b.udp(ping, to: peer, at: 0).verdict, .drop, name)
            XCTAssertEqual(b.alerts.first?.facts.first { $0.key == "network" }?.value, name)
            XCTAssertEqual(b.learns.first?.origin, "fasttrack.udp.ping from 192.168.1.20:2949 network \(name)")
        }
    }

    func testPingsWhoseLengthDoesNotFollowFromTheNameAreNotRecognised() throws {
        let ping = FastTrackBytes.ping()
        let malformed: [(String, [UInt8])] = [
            ("an extra byte after the NUL", ping + [0x00]),
            ("a byte after the NUL", ping + [0x41]),
            ("no NUL", Array(ping.dropLast())),
            ("a NUL inside the name", [0x27, 0, 0, 0, 0x29, 0x80] + Array("Ka".utf8) + [0] + Array("ZaA".utf8) + [0]),
            ("an empty name", [0x27, 0, 0, 0, 0x29, 0x80, 0x00]),
            ("a control byte in the name", [0x27, 0, 0, 0, 0x29, 0x80, 0x4B, 0x01, 0x41, 0x00]),
            ("a high byte in the name", [0x27, 0, 0, 0, 0x29, 0x80, 0x4B, 0xC3, 0x41, 0x00]),
            ("a wrong constant byte", [0x27, 0, 0, 0, 0x29, 0x81] + Array("KaZaA".utf8) + [0]),
            ("an unknown encryption type", FastTrackBytes.ping(encryption: 0x30)),
            ("a non-zero encryption high byte", [0x27, 0, 0, 1, 0x29, 0x80] + Array("KaZaA".utf8) + [0]),
            ("a name longer than the file allows", FastTrackBytes.ping(String(repeating: "x", count: 33))),
            ("the header alone", [0x27, 0, 0, 0, 0x29, 0x80]),
            ("a short datagram", [0x27, 0, 0]),
            ("an empty datagram", []),
        ]
        for (what, payload) in malformed {
            let b = try bench()
            XCTAssertEqual(b.udp(payload, at: 0).verdict, .accept, what)
            XCTAssertTrue(b.alerts.isEmpty, what)
            XCTAssertTrue(b.learns.isEmpty, what)
            XCTAssertTrue(b.replies.isEmpty, what)
        }
    }

    func testEachPongTypeIsRecognisedInReplyToAPing() throws {
        let pongs: [(String, [UInt8], Int)] = [
            ("fasttrack.udp.supernode-pong", FastTrackBytes.supernodePong(), 17),
            ("fasttrack.udp.supernode-pong", FastTrackBytes.supernodePong("Grokster"), 20),
            ("fasttrack.udp.pong", FastTrackBytes.pong(), 13),
            ("fasttrack.udp.pong-flagged", FastTrackBytes.pong(flagged: true), 21),
        ]
        for (signature, pong, length) in pongs {
            XCTAssertEqual(pong.count, length)
            // Pings pass, so the answer comes back through the gateway.
            let b = try bench(parameters: ["pass-pings": "true"])
            b.udp(FastTrackBytes.ping(), at: 0)
            let decision = b.udp(pong, from: B.peer, to: B.clientEndpoint, at: 0.2)
            XCTAssertEqual(decision.verdict, .accept, signature)
            XCTAssertEqual(b.alerts.last?.signature, signature)
            XCTAssertEqual(Set(b.learns.map(\.address)), [B.peer.address], "the answering peer is learned")
        }
    }

    func testPongsOfTheWrongLengthAreNotRecognised() throws {
        let malformed: [(String, [UInt8])] = [
            ("a 14-byte pong", FastTrackBytes.pong() + [0]),
            ("a 12-byte pong", Array(FastTrackBytes.pong().dropLast())),
            ("a 21-byte pong without the flag", FastTrackBytes.pong() + [1, 2, 3, 4, 5, 6, 7, 8]),
            ("a 13-byte pong with the flag", [0x29, 0, 0, 0, 0x29, 0x01, 0x01, 0, 0, 1, 2, 3, 4]),
            ("a supernode pong without NUL", Array(FastTrackBytes.supernodePong().dropLast())),
            ("a supernode pong with a byte after the NUL", FastTrackBytes.supernodePong() + [0x20]),
            ("a supernode pong with no name", [0x28, 0, 0, 0, 0x29, 0, 0x36, 0x5D, 0x06, 0x3D, 0x08, 0x00]),
        ]
        for (what, payload) in malformed {
            let b = try bench()
            XCTAssertEqual(b.udp(payload, from: B.peer, to: B.clientEndpoint, at: 0).verdict, .accept, what)
            XCTAssertTrue(b.alerts.isEmpty, what)
        }
    }

    func testSpoofedPongMatchesTheWireByteForByte() throws {
        let b = try bench()
        let ping = FastTrackBytes.ping()
        let decision = b.udp(ping, at: 5)
        XCTAssertEqual(decision.outbound.count, 1)
        let reply = try XCTUnwrap(decision.outbound.first)
        XCTAssertEqual(b.replies.map(\.packet), [reply])
        XCTAssertEqual(b.replies.first?.plugin, "fasttrack")
        XCTAssertEqual(b.replies.first?.timestamp, B.time(5))
        XCTAssertEqual(reply.transport, .udp)
        XCTAssertEqual(reply.source, B.peer, "it appears to come from the pinged peer")
        XCTAssertEqual(reply.destination, B.clientEndpoint, "to the client's listening port")
        XCTAssertEqual(reply.payload.count, 13)
        // Type, the ping's encryption field, 01, no flag, 00 00, and an id: FNV-1a of the peer's
        // address and port (203.0.113.7, 2407), so replies from one peer agree.
        XCTAssertEqual(reply.payload, [0x29, 0x00, 0x00, 0x00, 0x29, 0x01, 0x00, 0x00, 0x00, 0x47, 0x2D, 0x66, 0x26])
        // The id is stable for one peer and differs between peers.
        let second = try bench().udp(ping, at: 6).outbound.first
        XCTAssertEqual(second?.payload, reply.payload)
        let other = try bench().udp(ping, to: B.secondPeer, at: 6).outbound.first
        XCTAssertNotEqual(other.map { Array($0.payload[9..<13]) }, Array(reply.payload[9..<13]))

        // On the wire: lengths and checksums as the builder makes them, and a reply the plugin
        // itself reads as a well-formed 0x29 pong.
        let packet = try XCTUnwrap(PacketBuilder.build(reply))
        XCTAssertEqual(packet, PacketBuilder.udp(from: B.peer, to: B.clientEndpoint, payload: reply.payload))
        XCTAssertEqual(packet.count, 20 + 8 + 13)
        XCTAssertEqual(Array(packet[2..<4]), [0, 41], "IPv4 total length")
        XCTAssertEqual(Array(packet[24..<26]), [0, 21], "UDP length")
        packet.withUnsafeBytes { bytes in
            XCTAssertTrue(Checksum.isValidIPv4Header(UnsafeRawBufferPointer(rebasing: bytes[0..<20])))
            XCTAssertTrue(Checksum.isValidTransport(source: B.peer.address, destination: B.client, protocolNumber: 17,
                                                    segment: UnsafeRawBufferPointer(rebasing: bytes[20...])))
            guard case .packet(let view) = PacketView.parse(bytes) else { return XCTFail("the reply does not parse") }
            XCTAssertEqual(view.sourceEndpoint, B.peer)
            XCTAssertEqual(view.destinationEndpoint, B.clientEndpoint)
            XCTAssertEqual(Array(view.payload), reply.payload)
        }
        let reader = try bench(parameters: ["pass-pings": "true"])
        reader.udp(ping, at: 0)
        reader.feed(packet, at: 0.1)
        XCTAssertEqual(reader.alerts.last?.signature, "fasttrack.udp.pong")
    }

    func testSupernodePongReplyCarriesThePingsNetworkName() throws {
        for name in ["KaZaA", "Grokster", "fileshare"] {
            let b = try bench(parameters: ["spoofed-reply": "28"])
            let ping = FastTrackBytes.ping(name, encryption: 0xA9)
            let reply = try XCTUnwrap(b.udp(ping, at: 0).outbound.first)
            XCTAssertEqual(reply.payload.count, 11 + name.utf8.count + 1, name)
            XCTAssertEqual(Array(reply.payload[0..<6]), [0x28, 0x00, 0x00, 0x00, 0xA9, 0x00], "the ping's encryption field is echoed")
            XCTAssertEqual(Array(reply.payload[11...]), Array(name.utf8) + [0])
            XCTAssertLessThanOrEqual(reply.payload[9], 100, "a load in percent")
            XCTAssertEqual(reply.source, B.peer)
            XCTAssertEqual(reply.destination, B.clientEndpoint)
            // Well formed: it is what the plugin itself recognises as a supernode pong.
            let reader = try bench(parameters: ["pass-pings": "true"])
            reader.udp(ping, at: 0)
            reader.feed(try XCTUnwrap(PacketBuilder.build(reply)), at: 0.1)
            XCTAssertEqual(reader.alerts.last?.signature, "fasttrack.udp.supernode-pong", name)
        }
    }

    func testNoReplyIsSpoofedWhenTheFileSaysNone() throws {
        let b = try bench(parameters: ["spoofed-reply": "none"])
        XCTAssertEqual(b.udp(FastTrackBytes.ping(), at: 0).verdict, .drop)
        XCTAssertTrue(b.replies.isEmpty)
        XCTAssertEqual(b.learns.count, 1)
        XCTAssertThrowsError(try bench(parameters: ["spoofed-reply": "30"]))
    }

    func testEveryPingIsAnsweredAndRefreshesItsPeer() throws {
        let b = try bench()
        for i in 0..<3 { b.udp(FastTrackBytes.ping(), at: Double(i) * 20) }
        XCTAssertEqual(b.replies.count, 3)
        XCTAssertEqual(b.learns.map(\.refreshed), [false, true, true])
        XCTAssertEqual(b.learns.last?.expires, B.time(40 + 3600))
    }

    func testABurstOfPingsTeachesEveryPeer() throws {
        let b = try bench()
        for i in 0..<200 {
            let peer = Endpoint(IPAddress(v4: 0xCB00_7100 &+ UInt32(i) &* 0x0001_0101), UInt16(1100 + i * 7))
            b.udp(FastTrackBytes.ping(), to: peer, at: Double(i) * 0.005)
        }
        XCTAssertEqual(b.learns.count, 200)
        XCTAssertEqual(b.replies.count, 200)
        XCTAssertEqual(Set(b.replies.map(\.packet.source)).count, 200)
        XCTAssertTrue(b.locks.isEmpty)
    }

    func testPassPingsLetsDiscoveryThroughButStillRefusesTCPToLearnedPeers() throws {
        let b = try bench(parameters: ["pass-pings": "true"])
        XCTAssertEqual(b.udp(FastTrackBytes.ping(), at: 0).verdict, .accept)
        XCTAssertEqual(b.replies.count, 1, "the client is still answered")
        XCTAssertEqual(b.learns.first?.address, B.peer.address, "the pinged peer is learned, for TCP")
        XCTAssertEqual(b.udp(FastTrackBytes.supernodePong(), from: B.peer, to: B.clientEndpoint, at: 0.1).verdict, .accept)
        // The next ping to the learned peer goes out too, and locks the client.
        XCTAssertEqual(b.udp(FastTrackBytes.ping(), at: 30).verdict, .accept)
        XCTAssertEqual(b.locks.count, 1)
        // A connection to the peer is refused.
        let syn = PacketBuilder.tcp(from: Endpoint(B.clientEndpoint.address, 40999), to: B.peer, flags: [.syn], seq: 1)
        XCTAssertEqual(b.feed(syn, at: 31).verdict, .drop)
    }

    func testPingsFromOutsideAreRecognisedButTeachNothing() throws {
        let b = try bench()
        let decision = b.udp(FastTrackBytes.ping(), from: B.peer, to: B.clientEndpoint, at: 0)
        XCTAssertEqual(decision.verdict, .drop)
        XCTAssertEqual(b.alerts.map(\.signature), ["fasttrack.udp.ping"])
        XCTAssertTrue(b.learns.isEmpty, "a datagram's source is too easy to forge to learn from")
        XCTAssertTrue(b.replies.isEmpty, "replies only ever go to the LAN client that pinged")
        XCTAssertTrue(b.locks.isEmpty)
    }

    func testUnsolicitedPongsTeachNothing() throws {
        let b = try bench()
        XCTAssertEqual(b.udp(FastTrackBytes.supernodePong(), from: B.peer, to: B.clientEndpoint, at: 0).verdict, .drop)
        XCTAssertEqual(b.alerts.map(\.signature), ["fasttrack.udp.supernode-pong"])
        XCTAssertTrue(b.learns.isEmpty)
    }

    func testPingsBetweenLANHostsAreNotAnsweredOrLearned() throws {
        let b = try bench()
        b.udp(FastTrackBytes.ping(), to: Endpoint(B.otherClient, 1214), at: 0)
        XCTAssertEqual(b.alerts.count, 1)
        XCTAssertTrue(b.learns.isEmpty)
        XCTAssertTrue(b.replies.isEmpty)
    }

    func testAlertOnlyPingSignatureNeitherDropsNorTeaches() throws {
        let b = try bench(signatures: { list in list.map { $0.id == "fasttrack.udp.ping" ? $0.with(action: .alert) : $0 } })
        XCTAssertEqual(b.udp(FastTrackBytes.ping(), at: 0).verdict, .accept)
        XCTAssertEqual(b.alerts.map(\.signature), ["fasttrack.udp.ping"])
        XCTAssertTrue(b.learns.isEmpty)
        XCTAssertTrue(b.replies.isEmpty)
    }

    func testWithTheWholeCatalogFastTrackNamesFlowsOnItsDefaultPort() throws {
        let h = try EngineHarness { $0.gatewayAddresses = [B.gateway] }
        let decision = h.send(PacketBuilder.udp(from: B.clientEndpoint, to: Endpoint(B.peer.address, 1214), payload: FastTrackBytes.ping()))
        XCTAssertEqual(decision.verdict, .drop)
        XCTAssertEqual(decision.outbound.count, 1)
        h.finish()
        XCTAssertEqual(h.events.flows.first?.appProto, "fasttrack")
        XCTAssertEqual(h.events.flows.first?.reason, "signature:fasttrack.udp.ping")
    }

    func testOtherUDPIsLeftAlone() throws {
        let b = try bench()
        let dns: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 7] + Array("example".utf8) + [3] + Array("com".utf8) + [0, 0, 1, 0, 1]
        XCTAssertEqual(b.udp(dns, to: Endpoint(IPAddress(9, 9, 9, 9), 53), at: 0).verdict, .accept)
        XCTAssertTrue(b.alerts.isEmpty)
        XCTAssertNil(b.flows().first?.appProto)
    }
}

extension Signature {
    /// The same signature with another action (or enabled state), for tests of the file's knobs.
    func with(action: SignatureAction? = nil, enabled: Bool? = nil) -> Signature {
        Signature(id: id, transport: transport, direction: direction, action: action ?? self.action, enabled: enabled ?? self.enabled,
                  summary: summary, elements: elements, exceptions: exceptions, exceptedPorts: exceptedPorts, file: file, line: line)
    }
}
