import AudioGalaxyPlugin
import DetectorCatalog
import EngineTestKit
import Host
import NapsterPlugin
import PacketKit
import PluginAPI
import PortBlockPlugin
import Simulators
import XCTest

/// The shared engine harness with the shipped signature files, fed packets at explicit times,
/// with TCP connections to drive and the events it wrote: the bench of the Napster and
/// AudioGalaxy tests. By default every catalog plugin runs, as on a gateway.
final class ProtocolBench {
    static let ids = DetectorCatalog.all.map { $0.descriptor.id }

    /// The shipped signature sets, loaded once.
    static let shipped: [String: SignatureSet] = {
        do {
            return try SignatureLoader.loadAll(directory: EngineHarness.shippedSignatures, detectorIDs: ids)
        } catch {
            fatalError("the shipped signature files do not load: \(error)")
        }
    }()

    static let gateway = IPAddress(192, 168, 1, 1)
    static let start = Timestamp(microseconds: 1_795_255_200_000_000)

    let harness: EngineHarness
    var engine: Engine { harness.engine }
    var sink: CollectingEventSink { harness.events }
    /// The clock: each delivered packet moves it on by a millisecond.
    var now: Timestamp { harness.now }
    private var nextISN: UInt32 = 0x1000_0000

    /// `edit` may change the signature sets (parameters, actions) before the plugins are built.
    init(monitorOnly: Bool = false, lockSecondsOverride: Int? = nil, catalog: [any Detector.Type] = DetectorCatalog.all,
         edit: (inout [String: SignatureSet]) -> Void = { _ in }) throws {
        var sets = ProtocolBench.shipped
        edit(&sets)
        harness = try EngineHarness(catalog: catalog, signatureSets: sets) { configuration in
            configuration.gatewayAddresses = [ProtocolBench.gateway]
            configuration.monitorOnly = monitorOnly
            configuration.lockSeconds = lockSecondsOverride
        }
        harness.now = ProtocolBench.start
    }

    // MARK: Feeding

    @discardableResult
    func deliver(_ packet: [UInt8]) -> Verdict {
        let verdict = harness.send(packet).verdict
        harness.now = harness.now + Seconds(microseconds: 1000)
        return verdict
    }

    @discardableResult
    func deliver(_ packets: [[UInt8]]) -> [Verdict] { packets.map { deliver($0) } }

    /// Replays a scenario's frames at their own times.
    func replay(_ frames: [CaptureFrame]) {
        for frame in frames { harness.send(frame.packet, at: frame.time) }
    }

    func wait(_ seconds: Double) {
        harness.advance(by: seconds)
    }

    func connection(from client: Endpoint, to server: Endpoint) -> BenchConnection {
        nextISN &+= 0x0100_0000
        return BenchConnection(bench: self, TCPConversation(client: client, server: server, clientISN: nextISN, serverISN: nextISN &+ 0x8000_0000))
    }

    // MARK: Events

    var alerts: [AlertEvent] { sink.alerts }
    var learns: [LearnEvent] { sink.learns }
    var locks: [LockEvent] { sink.locks }

    /// Ends every flow and returns the flow records.
    func finish() -> [FlowEvent] {
        harness.finish()
        return sink.flows
    }

    func learned(_ address: IPAddress, _ port: UInt16?) -> LearnEvent? {
        learns.first { $0.address == address && $0.port == port }
    }

    func alerts(_ signature: String) -> [AlertEvent] { alerts.filter { $0.signature == signature } }
}

/// One TCP connection driven through a bench.
final class BenchConnection {
    let bench: ProtocolBench
    var tcp: TCPConversation

    init(bench: ProtocolBench, _ tcp: TCPConversation) {
        self.bench = bench
        self.tcp = tcp
    }

    /// The handshake's verdicts.
    @discardableResult
    func open() -> [Verdict] { bench.deliver(tcp.handshake()) }

    @discardableResult
    func syn() -> Verdict { bench.deliver(tcp.syn()) }

    /// `data` from `side` in segments of `sizes` (one segment by default), without the other
    /// side's ACK; returns each segment's verdict.
    @discardableResult
    func send(_ data: [UInt8], from side: TCPConversation.Side, sizes: [Int] = []) -> [Verdict] {
        bench.deliver(tcp.send(data, from: side, segmentSizes: sizes))
    }

    @discardableResult
    func send(_ text: String, from side: TCPConversation.Side) -> [Verdict] { send(Array(text.utf8), from: side) }

    /// The segment `data` would be from `side`, at the next sequence number plus `offset`, without
    /// moving the conversation on: for out-of-order and lost segments.
    func segment(_ data: [UInt8], from side: TCPConversation.Side, offset: UInt32) -> [UInt8] {
        tcp.segment(from: side, sequence: tcp.nextSequence(side) &+ offset, data: data)
    }

    /// Moves `side`'s sequence number past `count` bytes without sending them (a lost segment).
    func skip(_ count: Int, from side: TCPConversation.Side) {
        _ = tcp.send([UInt8](repeating: 0, count: count), from: side)
    }

    @discardableResult
    func close(by side: TCPConversation.Side = .client) -> [Verdict] { bench.deliver(tcp.close(initiatedBy: side)) }
}
