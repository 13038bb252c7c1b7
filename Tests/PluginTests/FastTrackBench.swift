import EngineTestKit
import FastTrackPlugin
import Host
import PacketKit
import PluginAPI
import XCTest

/// The shared engine harness with the FastTrack plugin alone, built from the shipped
/// `signatures/fasttrack.xml` (optionally with a parameter or a signature changed), fed packets
/// at explicit times (the injected clock), with helpers for the traffic these tests need.
final class FastTrackBench {
    /// The shipped signature set, loaded once.
    static let shipped: SignatureSet = {
        do {
            guard let set = try SignatureLoader.loadAll(directory: EngineHarness.shippedSignatures, detectorIDs: ["fasttrack"])["fasttrack"] else {
                fatalError("no fasttrack signature set")
            }
            return set
        } catch {
            fatalError("signatures/fasttrack.xml does not load: \(error)")
        }
    }()

    // The cast of the tests.
    static let gateway = IPAddress(192, 168, 1, 1)
    static let client = IPAddress(192, 168, 1, 20)
    static let otherClient = IPAddress(192, 168, 1, 30)
    static let listenPort: UInt16 = 2949
    static let clientEndpoint = Endpoint(client, listenPort)
    static let peer = Endpoint(IPAddress(203, 0, 113, 7), 2407)
    static let secondPeer = Endpoint(IPAddress(198, 51, 100, 44), 3769)
    static let webServer = Endpoint(IPAddress(93, 184, 216, 34), 80)

    let harness: EngineHarness
    var engine: Engine { harness.engine }
    var sink: CollectingEventSink { harness.events }
    private var nextPort: UInt16 = 40_000
    private var nextISN: UInt32 = 0x1000_0000

    /// `parameters` replace (or add) signature-file parameters; `signatures` transforms the list.
    init(parameters: [String: String] = [:], lockSecondsOverride: Int? = nil,
         signatures transform: ([Signature]) -> [Signature] = { $0 }) throws {
        let base = FastTrackBench.shipped
        var merged = base.parameters
        for (name, value) in parameters { merged[name] = SignatureParameter(name: name, value: value, line: 0) }
        let set = SignatureSet(detector: base.detector, revision: base.revision, file: base.file,
                               signatures: transform(base.signatures), parameters: merged)
        harness = try EngineHarness(catalog: [FastTrackDetector.self], signatureSets: ["fasttrack": set]) { configuration in
            configuration.gatewayAddresses = [FastTrackBench.gateway]
            configuration.lockSeconds = lockSecondsOverride
        }
    }

    /// `seconds` after the harness's start.
    static func time(_ seconds: Double) -> Timestamp { EngineHarness.start + Seconds(seconds) }

    // MARK: Feeding

    @discardableResult
    func feed(_ packet: [UInt8], at seconds: Double) -> PacketDecision {
        harness.send(packet, at: FastTrackBench.time(seconds))
    }

    @discardableResult
    func advance(to seconds: Double) -> [OutboundPacket] { advance(toTime: FastTrackBench.time(seconds)) }

    @discardableResult
    func advance(toTime time: Timestamp) -> [OutboundPacket] {
        harness.now = time
        return engine.advance(to: time)
    }

    /// A UDP datagram.
    @discardableResult
    func udp(_ payload: [UInt8], from source: Endpoint = FastTrackBench.clientEndpoint, to destination: Endpoint = FastTrackBench.peer,
             at seconds: Double) -> PacketDecision {
        feed(PacketBuilder.udp(from: source, to: destination, payload: payload), at: seconds)
    }

    /// A fresh ephemeral port for a client's connection.
    func ephemeralPort() -> UInt16 {
        nextPort &+= 1
        return nextPort
    }

    /// A new TCP conversation from `client` to `server` on a fresh port.
    func conversation(from client: IPAddress = FastTrackBench.client, to server: Endpoint) -> TCPConversation {
        nextISN &+= 0x0101_0101
        return TCPConversation(client: Endpoint(client, ephemeralPort()), server: server, clientISN: nextISN, serverISN: ~nextISN)
    }

    /// A client's SYN to `server`; returns its verdict.
    @discardableResult
    func connect(from client: IPAddress = FastTrackBench.client, to server: Endpoint, at seconds: Double) -> PacketDecision {
        var tcp = conversation(from: client, to: server)
        return feed(tcp.syn(), at: seconds)
    }

    /// A whole exchange: handshake, the request (split as given), the response, in order, a
    /// millisecond apart. Returns the verdicts in the same order.
    @discardableResult
    func exchange(from client: IPAddress = FastTrackBench.client, to server: Endpoint, request: [UInt8], splits: [Int] = [],
                  response: [UInt8] = [], responseSplits: [Int] = [], at seconds: Double) -> [PacketDecision] {
        var tcp = conversation(from: client, to: server)
        var packets = tcp.handshake()
        packets += tcp.send(request, from: .client, segmentSizes: splits)
        if !response.isEmpty { packets += tcp.send(response, from: .server, segmentSizes: responseSplits) }
        var decisions: [PacketDecision] = []
        for (index, packet) in packets.enumerated() {
            decisions.append(feed(packet, at: seconds + Double(index) * 0.001))
        }
        return decisions
    }

    func finish() { harness.finish() }

    // MARK: Events

    var alerts: [AlertEvent] { sink.alerts }
    var learns: [LearnEvent] { sink.learns }
    var locks: [LockEvent] { sink.locks }
    var unlocks: [UnlockEvent] { sink.unlocks }
    var injections: [InjectEvent] { sink.injections }
    var replies: [InjectEvent] { sink.injections.filter { $0.kind == "reply" } }
    var probes: [InjectEvent] { sink.injections.filter { $0.kind == "probe" } }

    /// Ends every flow and returns the flow records.
    func flows() -> [FlowEvent] {
        harness.finish()
        return sink.flows
    }

    func isLocked(_ client: IPAddress = FastTrackBench.client, at time: Timestamp) -> Bool {
        advance(toTime: time)
        return engine.isLocked(client)
    }
}

/// Discovery messages built by hand from the wire layout, independent of the plugin's own builders.
enum FastTrackBytes {
    static func ping(_ name: String = "KaZaA", encryption: UInt8 = 0x29) -> [UInt8] {
        [0x27, 0x00, 0x00, 0x00, encryption, 0x80] + Array(name.utf8) + [0x00]
    }

    static func supernodePong(_ name: String = "KaZaA") -> [UInt8] {
        [0x28, 0x00, 0x00, 0x00, 0x29, 0x00, 0x36, 0x5D, 0x06, 0x3D, 0x08] + Array(name.utf8) + [0x00]
    }

    static func pong(flagged: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = [0x29, 0x00, 0x00, 0x00, 0x29, 0x02, flagged ? 0x01 : 0x00, 0x00, 0x00, 0xDE, 0xAD, 0xBE, 0xEF]
        if flagged { bytes += [203, 0, 113, 7, 0x09, 0x67, 0x00, 0x00] }
        return bytes
    }

    static func text(_ string: String) -> [UInt8] { Array(string.utf8) }
}

extension XCTestCase {
    func bench(parameters: [String: String] = [:], lockSecondsOverride: Int? = nil,
               signatures transform: ([Signature]) -> [Signature] = { $0 }) throws -> FastTrackBench {
        try FastTrackBench(parameters: parameters, lockSecondsOverride: lockSecondsOverride, signatures: transform)
    }
}
