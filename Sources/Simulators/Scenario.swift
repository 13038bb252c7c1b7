import PacketKit
import PluginAPI

/// One packet of a generated capture: when it was seen and the IP packet itself.
public struct CaptureFrame: Sendable, Equatable {
    public var time: Timestamp
    public var packet: [UInt8]

    public init(time: Timestamp, packet: [UInt8]) {
        self.time = time
        self.packet = packet
    }
}

/// A named, deterministic traffic scenario: the packet-generator face of a simulator. The golden
/// captures under `Tests/GoldenTests/Captures` and the demo capture are written from these.
public struct Scenario: Sendable {
    /// `<group>-<behaviour>`, e.g. `fasttrack-session`: the golden capture is
    /// `Tests/GoldenTests/Captures/<group>/<name>.pcap`.
    public let name: String
    public let summary: String
    /// The link layer its capture is written with.
    public let linkType: LinkType
    /// True for scenarios whose size the caller chooses; they have no golden capture.
    public let isSized: Bool
    private let generate: @Sendable (Int?) -> [CaptureFrame]

    public init(name: String, summary: String, linkType: LinkType = .ethernet, make: @escaping @Sendable () -> [CaptureFrame]) {
        self.name = name
        self.summary = summary
        self.linkType = linkType
        isSized = false
        generate = { _ in make() }
    }

    /// A scenario whose size the caller chooses (a benchmark's traffic mix).
    public init(name: String, summary: String, linkType: LinkType = .ethernet, defaultSize: Int,
                make: @escaping @Sendable (Int) -> [CaptureFrame]) {
        self.name = name
        self.summary = summary
        self.linkType = linkType
        isSized = true
        generate = { size in make(size ?? defaultSize) }
    }

    public func make() -> [CaptureFrame] { generate(nil) }

    /// The folder of its golden capture: the name up to the first dash.
    public var group: String { String(name.prefix { $0 != "-" }) }

    /// For sized scenarios, about `size` packets; others ignore the size.
    public func make(sized size: Int) -> [CaptureFrame] { generate(size) }
}

/// A small deterministic random generator (SplitMix64), so generated captures are identical
/// from run to run and machine to machine.
public struct SimulationRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}
