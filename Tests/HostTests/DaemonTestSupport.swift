import DetectorCatalog
import Host
import PluginAPI

/// Engines for daemon tests, built from the shipped signature files.
enum DaemonTestSupport {
    static func detectors(lockSeconds: Int? = nil) throws -> LoadedDetectors {
        let ids = DetectorCatalog.all.map { $0.descriptor.id }
        let sets = try SignatureLoader.loadAll(directory: TestPaths.shippedSignatures, detectorIDs: ids)
        return try LoadedDetectors.build(catalog: DetectorCatalog.all, signatureSets: sets,
                                         settings: DetectorSettings(lockSecondsOverride: lockSeconds))
    }

    static func engine(_ configure: (inout Configuration) -> Void = { _ in }) throws -> (Engine, CollectingEventSink) {
        var configuration = Configuration()
        configuration.lanRanges = [CIDR("10.0.0.0/8")!, CIDR("fd00::/8")!]
        configure(&configuration)
        let sink = CollectingEventSink()
        return (Engine(configuration: configuration, detectors: try detectors(), sink: sink), sink)
    }

    static let start = Timestamp(seconds: 1_800_000_000)

    static func lock(_ client: String, until: Timestamp, armedAt: Timestamp, duration: Int = 120,
                     probe: ProbeRequest? = ProbeRequest(payload: [0x27, 0, 0, 0], clientPort: 1214, sourcePort: 1214)) -> SavedLock {
        SavedLock(client: IPAddress(client)!, lockedAt: armedAt, armedAt: armedAt, until: until, duration: Seconds(duration),
                  reason: "fasttrack.udp.ping", probe: probe, probeSent: false, arms: 2)
    }

    static func learned(_ address: String, port: UInt16? = nil, expires: Timestamp) -> LearnedPeer {
        LearnedPeer(address: IPAddress(address)!, port: port, list: "fasttrack", origin: "fasttrack.udp.ping from 10.0.0.5",
                    learnedAt: start, expires: expires)
    }
}
