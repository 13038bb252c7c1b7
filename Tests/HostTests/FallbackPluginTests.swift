import PacketKit
import PluginAPI
import XCTest
@testable import Host

/// A fallback plugin (port rules) is not shown flows an earlier plugin has identified, nor flows
/// whose far end is on a learned list: such flows are named, and counted, once.
final class FallbackPluginTests: XCTestCase {
    /// Identifies any UDP datagram starting with "P2P" and learns its destination.
    struct ProtocolPlugin: Detector {
        static let descriptor = DetectorDescriptor(id: "proto", name: "Test protocol")
        init(signatures: SignatureSet, settings: DetectorSettings) throws {}
        func inspect(_ input: DetectionInput, state: inout NoFlowState) -> Detection {
            guard input.packet.payload.hasPrefix("P2P") else { return .notMine }
            return .found(Finding(signature: "proto.hello", verdict: .drop, actions: [
                .learn(LearnRequest(address: IPAddress(203, 0, 113, 5), port: 4000, list: "proto", timeToLive: Seconds(60), origin: "test")),
            ]))
        }
    }

    /// Drops the first packet of every flow to port 4000, as port rules do.
    struct Ports: Detector {
        static let descriptor = DetectorDescriptor(id: "ports", name: "Test ports", packetLimit: 1, isFallback: true)
        init(signatures: SignatureSet, settings: DetectorSettings) throws {}
        func inspect(_ input: DetectionInput, state: inout NoFlowState) -> Detection {
            input.flow.responder.port == 4000 ? .found(Finding(signature: "ports.4000", verdict: .drop)) : .notMine
        }
    }

    private let client = Endpoint(IPAddress(192, 168, 1, 10), 5000)
    private let peer = Endpoint(IPAddress(203, 0, 113, 5), 4000)

    private func engine(_ sink: CollectingEventSink) throws -> Engine {
        let empty = { (id: String) in SignatureSet(detector: id, revision: "1", file: "\(id).xml", signatures: [], parameters: [:]) }
        let detectors = try LoadedDetectors.build(catalog: [ProtocolPlugin.self, Ports.self],
                                                  signatureSets: ["proto": empty("proto"), "ports": empty("ports")], settings: DetectorSettings())
        return Engine(configuration: Configuration(), detectors: detectors, sink: sink)
    }

    private func send(_ engine: Engine, _ packet: [UInt8], at seconds: Double) -> Verdict {
        packet.withUnsafeBytes { engine.process($0, at: Timestamp(seconds: 1_700_000_000 + seconds)) }.verdict
    }

    func testAFlowIdentifiedByAnEarlierPluginIsNotShownToTheFallback() throws {
        let sink = CollectingEventSink()
        let engine = try engine(sink)
        XCTAssertEqual(send(engine, PacketBuilder.udp(from: client, to: peer, payload: Array("P2P hello".utf8)), at: 0), .drop)
        XCTAssertEqual(sink.alerts.map(\.signature), ["proto.hello"])
        engine.finish()
        XCTAssertEqual(sink.flows.first?.appProto, "proto")
        XCTAssertEqual(sink.flows.first?.reason, "signature:proto.hello")
    }

    func testAFlowToALearnedPeerIsNotShownToTheFallback() throws {
        let sink = CollectingEventSink()
        let engine = try engine(sink)
        _ = send(engine, PacketBuilder.udp(from: client, to: Endpoint(peer.address, 9), payload: Array("P2P hello".utf8)), at: 0)
        XCTAssertEqual(sink.learns.count, 1)
        var tcp = TCPConversation(client: Endpoint(client.address, 5001), server: peer)
        XCTAssertEqual(send(engine, tcp.syn(), at: 1), .drop)
        XCTAssertEqual(sink.alerts.map(\.signature), ["proto.hello"], "no second alert from the fallback")
        engine.finish()
        let flow = try XCTUnwrap(sink.flows.first { $0.destination == peer })
        XCTAssertEqual(flow.reason, "learned-peer")
        XCTAssertEqual(flow.appProto, "proto")
    }

    func testOtherFlowsStillReachTheFallback() throws {
        let sink = CollectingEventSink()
        let engine = try engine(sink)
        var tcp = TCPConversation(client: client, server: Endpoint(IPAddress(203, 0, 113, 6), 4000))
        XCTAssertEqual(send(engine, tcp.syn(), at: 0), .drop)
        XCTAssertEqual(sink.alerts.map(\.signature), ["ports.4000"])
        engine.finish()
        XCTAssertEqual(sink.flows.first?.appProto, "ports")
    }
}
