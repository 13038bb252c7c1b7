/// A protocol plugin. It looks at packets and says what it sees, as values; the host owns
/// every side effect (verdicts, learned addresses, locks, injected packets, logs).
///
/// A plugin is registered by one line in `DetectorCatalog.all`, and ships a signature file
/// `signatures/<id>.xml` and tests. Instances are immutable: a reload builds new ones from the
/// new signature set and swaps them in whole.
public protocol Detector: Sendable {
    /// The plugin's own per-flow state, kept by the host. Use `NoFlowState` when none is needed.
    associatedtype FlowState: DetectorFlowState = NoFlowState

    static var descriptor: DetectorDescriptor { get }

    /// Builds the plugin from its validated, compiled signature file. Throws
    /// `SignatureParameterError` for a tunable it cannot accept; the host then rejects the file whole.
    init(signatures: SignatureSet, settings: DetectorSettings) throws

    /// Looks at one packet of a flow. Called on the packet path: it must not block, allocate
    /// needlessly or trap on any input.
    func inspect(_ input: DetectionInput, state: inout FlowState) -> Detection
}

/// Per-flow state a plugin keeps between packets of one flow. The host starts each flow at
/// `init()` and stores only states that differ from it.
public protocol DetectorFlowState: Sendable, Equatable {
    init()
}

/// For plugins that keep nothing between packets.
public struct NoFlowState: DetectorFlowState {
    public init() {}
}

/// What the host needs to know about a plugin before it sees any packet.
public struct DetectorDescriptor: Sendable {
    /// Lowercase, stable: names the signature file, the log label, `app_proto`, and prefixes signature ids.
    public let id: String
    /// Human name: "FastTrack (Kazaa, KazaaLite, Grokster, iMesh)".
    public let name: String
    /// The transports whose packets the plugin is shown.
    public let transports: Set<Transport>
    /// How many packets of a flow (both directions together) the plugin is shown at most, unless
    /// it asks to keep inspecting after a finding. Keeps long transfers off the inspection path.
    public let packetLimit: Int
    /// A fallback plugin (port rules) only judges flows nothing better has claimed: the host does
    /// not show it a flow that an earlier plugin in the catalog has already identified, nor one
    /// whose far end is on a learned list. Those flows already name their protocol, and a second
    /// alert for them would count them twice.
    public let isFallback: Bool

    public init(id: String, name: String, transports: Set<Transport> = [.tcp, .udp], packetLimit: Int = 24,
                isFallback: Bool = false) {
        self.id = id
        self.name = name
        self.transports = transports
        self.packetLimit = packetLimit
        self.isFallback = isFallback
    }

    /// `signatures/<id>.xml`.
    public var signatureFileName: String { "\(id).xml" }
}

/// Host settings that plugins honour.
public struct DetectorSettings: Sendable {
    /// Overrides every plugin's own lock time when set (`--lock-seconds`); 0 disables locking.
    public var lockSecondsOverride: Int?

    public init(lockSecondsOverride: Int? = nil) {
        self.lockSecondsOverride = lockSecondsOverride
    }

    /// The lock time to use: the override when given, else the plugin's own value.
    public func lockDuration(default seconds: Int) -> Seconds {
        Seconds(lockSecondsOverride ?? seconds)
    }
}
