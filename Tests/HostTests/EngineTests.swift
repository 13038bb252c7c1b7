@testable import Host
import PacketKit
import PluginAPI
import XCTest

/// A plugin driven by its packets' first bytes, so engine policy can be tested on its own:
/// `LEARN` learns the far end, `LOCK` locks the client for 10 s, `DROP` drops, `KEEP` finds and
/// keeps inspecting, `NOTE` only alerts.
private struct ScriptedDetector: Detector {
    static let descriptor = DetectorDescriptor(id: "scripted", name: "Scripted test plugin", packetLimit: 8)

    init(signatures: SignatureSet, settings: DetectorSettings) throws {}

    func inspect(_ input: DetectionInput, state: inout NoFlowState) -> Detection {
        let payload = input.packet.payload
        if payload.hasPrefix("LEARN") {
            return .found(Finding(signature: "scripted.learn", verdict: .drop, actions: [
                .learn(LearnRequest(address: input.remote.address, port: input.remote.port, list: "scripted",
                                    timeToLive: Seconds(300), origin: "scripted.learn from \(input.client.address)")),
            ]))
        }
        if payload.hasPrefix("LOCK") {
            return .found(Finding(signature: "scripted.lock", verdict: .drop, actions: [
                .lock(LockRequest(client: input.client.address, duration: Seconds(10), reason: "scripted.lock",
                                  probe: ProbeRequest(payload: Array("PROBE".utf8), clientPort: input.client.port, sourcePort: 7))),
            ]))
        }
        if payload.hasPrefix("DROP") { return .found(Finding(signature: "scripted.drop", verdict: .drop)) }
        if payload.hasPrefix("REJECT") { return .found(Finding(signature: "scripted.reject", verdict: .reject)) }
        if payload.hasPrefix("NOTE") { return .found(Finding(signature: "scripted.note", verdict: .accept, identifiesFlow: false)) }
        if payload.hasPrefix("KEEP") { return .found(Finding(signature: "scripted.keep", verdict: .accept, keepInspecting: true)) }
        if payload.hasPrefix("SEND") {
            return .found(Finding(signature: "scripted.send", verdict: .drop, actions: [
                .send(OutboundPacket(udpFrom: input.remote, to: input.client, payload: [1, 2, 3])),
                .send(OutboundPacket(udpFrom: input.client, to: input.remote, payload: [4])),  // never towards the WAN
            ]))
        }
        return .undecided
    }
}

final class EngineTests: XCTestCase {
    private let client = Endpoint(IPAddress(192, 168, 7, 2), 40000)
    private let other = Endpoint(IPAddress(192, 168, 7, 3), 40000)
    private let peer = Endpoint(IPAddress(198, 51, 100, 4), 3456)
    private let web = Endpoint(IPAddress(203, 0, 113, 80), 80)
    private let t0 = Timestamp(seconds: 1_700_000_000)

    private func engine(_ configure: (inout Configuration) -> Void = { _ in }) throws -> (Engine, CollectingEventSink) {
        var configuration = Configuration()
        configure(&configuration)
        let set = SignatureSet(detector: "scripted", revision: "test", file: "scripted.xml", signatures: [], parameters: [:])
        let detectors = try LoadedDetectors.build(catalog: [ScriptedDetector.self], signatureSets: ["scripted": set], settings: DetectorSettings())
        let sink = CollectingEventSink()
        return (Engine(configuration: configuration, detectors: detectors, sink: sink), sink)
    }

    private func udp(_ from: Endpoint, _ to: Endpoint, _ text: String) -> [UInt8] {
        PacketBuilder.udp(from: from, to: to, payload: Array(text.utf8))
    }

    private func syn(_ from: Endpoint, _ to: Endpoint) -> [UInt8] { PacketBuilder.tcp(from: from, to: to, flags: [.syn], seq: 1) }

    @discardableResult
    private func send(_ engine: Engine, _ packet: [UInt8], _ time: Timestamp) -> PacketDecision {
        packet.withUnsafeBytes { engine.process($0, at: time) }
    }

    func testALearnedPeerIsDroppedForEveryLANClientInBothTransports() throws {
        let (e, sink) = try engine()
        XCTAssertEqual(send(e, udp(client, peer, "LEARN"), t0).verdict, .drop)
        XCTAssertEqual(sink.learns.first?.address, peer.address)
        XCTAssertEqual(sink.learns.first?.port, peer.port)
        XCTAssertEqual(send(e, syn(other, peer), t0 + Seconds(1)).verdict, .drop)
        XCTAssertEqual(send(e, udp(Endpoint(other.address, 5000), peer, "hello"), t0 + Seconds(1)).verdict, .drop)
        XCTAssertEqual(send(e, syn(other, Endpoint(peer.address, 80)), t0 + Seconds(1)).verdict, .accept, "the entry is for one port")
        e.finish()
        let toPeer = sink.flows.filter { $0.destination == peer && $0.source.address == other.address }
        XCTAssertEqual(toPeer.count, 2)
        for flow in toPeer {
            XCTAssertEqual(flow.reason, "learned-peer")
            XCTAssertEqual(flow.appProto, "scripted")
            XCTAssertEqual(flow.verdict, .drop)
        }
    }

    func testALockedClientsNewTCPIsRefusedUntilTheLockRunsOut() throws {
        let (e, sink) = try engine()
        // An established connection before the lock keeps working.
        var before = TCPConversation(client: Endpoint(client.address, 41000), server: web)
        for packet in before.handshake() { XCTAssertEqual(send(e, packet, t0).verdict, .accept) }
        send(e, udp(client, peer, "LOCK"), t0)
        XCTAssertEqual(sink.locks.first?.until, t0 + Seconds(10))
        let during = syn(Endpoint(client.address, 41001), web)
        XCTAssertEqual(send(e, during, t0 + Seconds(1)).verdict, .drop)
        for packet in before.send(Array("GET / HTTP/1.1\r\n\r\n".utf8), from: .client) {
            XCTAssertEqual(send(e, packet, t0 + Seconds(2)).verdict, .accept, "only new connections are refused")
        }
        XCTAssertEqual(send(e, syn(Endpoint(other.address, 41002), web), t0 + Seconds(2)).verdict, .accept, "other clients are untouched")
        XCTAssertEqual(send(e, udp(Endpoint(client.address, 5353), Endpoint(IPAddress(198, 51, 100, 53), 53), "dns"), t0 + Seconds(2)).verdict, .accept,
                       "the lock refuses TCP only")
        XCTAssertEqual(send(e, syn(Endpoint(client.address, 41003), web), t0 + Seconds(microseconds: 10_000_000 - 1)).verdict, .drop)
        XCTAssertEqual(send(e, syn(Endpoint(client.address, 41004), web), t0 + Seconds(10)).verdict, .accept)
        e.finish()
        XCTAssertEqual(sink.flows.first { $0.source.port == 41001 }?.reason, "time-lock")
        XCTAssertNil(sink.flows.first { $0.source.port == 41001 }?.appProto)
        XCTAssertEqual(sink.flows.first { $0.source.port == 41004 }?.verdict, .accept)
        XCTAssertEqual(sink.unlocks.first?.client, client.address)
        XCTAssertEqual(sink.unlocks.first?.timestamp, t0 + Seconds(10))
    }

    func testARetransmittedSYNAfterTheLockRunsOutGoesThrough() throws {
        let (e, _) = try engine()
        send(e, udp(client, peer, "LOCK"), t0)
        let request = syn(Endpoint(client.address, 41010), web)
        XCTAssertEqual(send(e, request, t0 + Seconds(9)).verdict, .drop)
        XCTAssertEqual(send(e, request, t0 + Seconds(11)).verdict, .accept, "a time-lock drop is not sticky")
    }

    func testTheProbeGoesOutAtHalfTheLockTimeFromTheGateway() throws {
        let gateway = IPAddress(192, 168, 7, 1)
        let (e, sink) = try engine { $0.gatewayAddresses = [gateway, IPAddress("fd00::1")!] }
        send(e, udp(client, peer, "LOCK"), t0)
        XCTAssertTrue(e.advance(to: t0 + Seconds(4.9)).isEmpty)
        let out = e.advance(to: t0 + Seconds(5))
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(out.first?.source, Endpoint(gateway, 7))
        XCTAssertEqual(out.first?.destination, client)
        XCTAssertEqual(out.first?.payload, Array("PROBE".utf8))
        XCTAssertEqual(sink.injections.last?.kind, "probe")
    }

    func testRejectAnswersWithAResetToTheSender() throws {
        let (e, sink) = try engine { $0.refusal = .reset }
        send(e, udp(client, peer, "LOCK"), t0)
        let decision = send(e, syn(Endpoint(client.address, 41020), web), t0 + Seconds(1))
        XCTAssertEqual(decision.verdict, .reject)
        let reset = try XCTUnwrap(decision.outbound.first)
        XCTAssertEqual(reset.tcpFlags, [.rst, .ack])
        XCTAssertEqual(reset.source, web)
        XCTAssertEqual(reset.destination, Endpoint(client.address, 41020))
        XCTAssertEqual(reset.acknowledgementNumber, 2, "acknowledges the SYN")
        XCTAssertEqual(sink.injections.last?.kind, "reset")
    }

    func testAFlowDroppedByAPluginStaysDroppedAndAlertsOnce() throws {
        let (e, sink) = try engine()
        XCTAssertEqual(send(e, udp(client, peer, "DROP"), t0).verdict, .drop)
        XCTAssertEqual(send(e, udp(client, peer, "anything"), t0 + Seconds(1)).verdict, .drop)
        XCTAssertEqual(send(e, udp(peer, client, "reply"), t0 + Seconds(1)).verdict, .drop)
        e.finish()
        XCTAssertEqual(sink.alerts.count, 1)
        XCTAssertEqual(sink.flows.first?.droppedPackets, 3)
        XCTAssertEqual(sink.flows.first?.packetsToServer, 2)
        XCTAssertEqual(sink.flows.first?.packetsToClient, 1)
        XCTAssertEqual(sink.flows.first?.reason, "signature:scripted.drop")
    }

    func testInjectedPacketsOnlyGoTowardsTheLAN() throws {
        let (e, sink) = try engine()
        let decision = send(e, udp(client, peer, "SEND"), t0)
        XCTAssertEqual(decision.outbound.map(\.destination), [client])
        XCTAssertEqual(sink.injections.count, 1)
    }

    func testMonitorOnlyAndNeverBlockSoftenVerdictsButStillAlert() throws {
        let (monitor, monitorSink) = try engine { $0.monitorOnly = true }
        XCTAssertEqual(send(monitor, udp(client, peer, "LEARN"), t0).verdict, .accept)
        XCTAssertEqual(send(monitor, syn(other, peer), t0).verdict, .accept)
        XCTAssertEqual(monitorSink.alerts.first?.verdict, .accept)
        XCTAssertEqual(monitorSink.alerts.first?.action, .drop)
        XCTAssertEqual(monitor.statsEvent().wouldDrop, 2)

        let (exempt, exemptSink) = try engine { $0.neverBlock = [CIDR("192.168.7.2/32")!] }
        XCTAssertEqual(send(exempt, udp(client, peer, "LOCK"), t0).verdict, .accept)
        XCTAssertTrue(exemptSink.locks.isEmpty, "a never-block client is never locked")
        XCTAssertEqual(send(exempt, syn(Endpoint(client.address, 41030), web), t0).verdict, .accept)
    }

    func testHostilePacketsAreCountedAndAccepted() throws {
        let (e, _) = try engine()
        let hostile: [[UInt8]] = [[], [0x45], [0x60, 0, 0], Array(repeating: 0xFF, count: 40), [0x45, 0, 0, 10] + Array(repeating: 0, count: 16)]
        for packet in hostile { XCTAssertEqual(send(e, packet, t0).verdict, .accept) }
        XCTAssertEqual(e.statsEvent().malformed, UInt64(hostile.count))
        XCTAssertEqual(e.statsEvent().packets, UInt64(hostile.count))
    }

    func testFlowsExpireAfterTheirIdleTimeout() throws {
        let (e, sink) = try engine { $0.flowTimeouts.udp = Seconds(60) }
        send(e, udp(client, web, "x"), t0)
        _ = e.advance(to: t0 + Seconds(59))
        XCTAssertTrue(sink.flows.isEmpty)
        _ = e.advance(to: t0 + Seconds(61))
        XCTAssertEqual(sink.flows.first?.ending, "timeout")
        XCTAssertEqual(e.activeFlowCount, 0)
    }

    func testAtCapacityTheFlowIdleTheLongestIsEvicted() throws {
        let (e, sink) = try engine { $0.flowCapacity = 3 }
        for (i, port) in [1000, 1001, 1002].enumerated() { send(e, udp(Endpoint(client.address, UInt16(port)), web, "x"), t0 + Seconds(Double(i) / 10)) }
        send(e, udp(Endpoint(client.address, 1000), web, "again"), t0 + Seconds(0.5))  // 1001 is now idle the longest
        send(e, udp(Endpoint(client.address, 1003), web, "x"), t0 + Seconds(0.6))
        XCTAssertEqual(e.activeFlowCount, 3)
        XCTAssertEqual(sink.flows.map(\.source.port), [1001])
        XCTAssertEqual(sink.flows.first?.ending, "evicted")
        for i in 0..<100 { send(e, udp(Endpoint(client.address, UInt16(2000 + i)), web, "x"), t0 + Seconds(1)) }
        XCTAssertEqual(e.activeFlowCount, 3, "memory never grows past the capacity")
    }

    func testAFlowBetweenTwoOutsideAddressesTakesItsOriginatorAsTheLANSide() throws {
        let (e, sink) = try engine()
        let outside = Endpoint(IPAddress(198, 51, 100, 77), 40000)
        send(e, udp(outside, peer, "LOCK"), t0)
        XCTAssertEqual(sink.locks.first?.client, outside.address)
    }

    func testAPluginSeesAFlowOnlyUpToItsPacketLimitUnlessItKeepsInspecting() throws {
        let (e, sink) = try engine()
        for _ in 0..<8 { send(e, udp(client, web, "x"), t0) }
        send(e, udp(client, web, "DROP"), t0)  // packet 9: past the limit
        XCTAssertTrue(sink.alerts.isEmpty)
        let second = Endpoint(client.address, 40001)
        send(e, udp(second, web, "KEEP"), t0)
        for _ in 0..<10 { send(e, udp(second, web, "x"), t0) }
        XCTAssertEqual(send(e, udp(second, web, "DROP"), t0).verdict, .drop)
    }

    func testTheReverseDirectionAndCountersAreAttributedToTheOriginator() throws {
        let (e, sink) = try engine()
        var tcp = TCPConversation(client: client, server: web)
        let handshake = tcp.handshake()
        let data = tcp.send(Array(repeating: 0x41, count: 100), from: .server)
        for packet in handshake + data { send(e, packet, t0) }
        e.finish()
        let flow = try XCTUnwrap(sink.flows.first)
        XCTAssertEqual(flow.source, client)
        XCTAssertEqual(flow.destination, web)
        XCTAssertEqual(flow.packetsToServer, 2)
        XCTAssertEqual(flow.packetsToClient, 2)
        XCTAssertEqual(flow.bytesToClient, UInt64(handshake[1].count + data.map(\.count).reduce(0, +)))
        XCTAssertEqual(flow.bytesToServer, UInt64(handshake[0].count + handshake[2].count))
    }
}
