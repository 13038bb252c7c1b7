import DetectorCatalog
import Host
import PacketKit
import PluginAPI

/// An in-process host for tests: the real engine with the shipped signatures, a clock the test
/// drives, and every event kept. Plugin tests feed it packets from `PacketBuilder` and assert on
/// what the engine said and did.
public final class EngineHarness {
    public let engine: Engine
    public let events: CollectingEventSink
    /// The clock: each `send` happens at this time unless given one.
    public var now: Timestamp

    /// The repository's `signatures/` directory.
    public static let shippedSignatures: String = {
        var path = #filePath
        for _ in 0..<3 {
            if let slash = path.lastIndex(of: "/") { path = String(path[..<slash]) }
        }
        return path + "/signatures"
    }()

    public static let start = Timestamp(seconds: 1_700_000_000)

    public init(catalog: [any Detector.Type] = DetectorCatalog.all, signatureDirectory: String = EngineHarness.shippedSignatures,
                configure: (inout Configuration) -> Void = { _ in }) throws {
        var configuration = Configuration()
        configure(&configuration)
        let detectors = try EngineSetup.detectors(catalog: catalog, directory: signatureDirectory, configuration: configuration)
        events = CollectingEventSink()
        engine = Engine(configuration: configuration, detectors: detectors, sink: events)
        now = EngineHarness.start
    }

    /// The same host with signature sets given directly: for tests that change a shipped
    /// file's parameter or a signature's action. The lock override is the configuration's.
    public init(catalog: [any Detector.Type] = DetectorCatalog.all, signatureSets: [String: SignatureSet],
                configure: (inout Configuration) -> Void = { _ in }) throws {
        var configuration = Configuration()
        configure(&configuration)
        let detectors = try LoadedDetectors.build(catalog: catalog, signatureSets: signatureSets,
                                                  settings: DetectorSettings(lockSecondsOverride: configuration.lockSeconds))
        events = CollectingEventSink()
        engine = Engine(configuration: configuration, detectors: detectors, sink: events)
        now = EngineHarness.start
    }

    /// Judges one IP packet at the harness clock (or at `time`, which then becomes the clock).
    @discardableResult
    public func send(_ packet: [UInt8], at time: Timestamp? = nil) -> PacketDecision {
        if let time { now = time }
        return packet.withUnsafeBytes { engine.process($0, at: now) }
    }

    /// Judges several packets in order at the harness clock; returns their verdicts.
    @discardableResult
    public func send(_ packets: [[UInt8]]) -> [Verdict] {
        packets.map { send($0).verdict }
    }

    /// Moves the clock forward and runs the engine's timers.
    @discardableResult
    public func advance(by seconds: Double) -> [OutboundPacket] {
        now = now + Seconds(seconds)
        return engine.advance(to: now)
    }

    /// Ends every flow, so each has its `flow` event.
    public func finish() { engine.finish(ending: "end-of-input") }

    /// The flow record for the flow from `source` to `destination` (after `finish()` or expiry).
    public func flow(from source: Endpoint, to destination: Endpoint) -> FlowEvent? {
        events.flows.first { $0.source == source && $0.destination == destination }
    }
}
