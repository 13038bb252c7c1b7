import PluginAPI

/// What the FastTrack plugin remembers about one flow. Small and flat: the host stores it only
/// for flows where it differs from the initial value.
public struct FastTrackFlowState: DetectorFlowState {
    struct Flags: OptionSet, Hashable {
        let rawValue: UInt8
        /// Nothing more to look for in the originator's stream.
        static let toServerDone = Flags(rawValue: 1 << 0)
        /// Nothing more to look for in the responder's stream.
        static let toClientDone = Flags(rawValue: 1 << 1)
        /// A discovery message was seen on this UDP flow.
        static let sawDiscovery = Flags(rawValue: 1 << 2)
        /// The session-opening check has been made.
        static let sessionChecked = Flags(rawValue: 1 << 3)
    }

    var flags: Flags = []
    /// How much of each direction's stream the HTTP rules last looked at.
    var evaluatedToServer: UInt16 = 0
    var evaluatedToClient: UInt16 = 0
    /// When this flow last armed a lock for contact with a learned peer (microseconds), 0 for never.
    var lastLockArm: Int64 = 0

    public init() {}

    func isDone(_ direction: FlowDirection) -> Bool {
        flags.contains(direction == .toServer ? .toServerDone : .toClientDone)
    }

    mutating func markDone(_ direction: FlowDirection) {
        flags.insert(direction == .toServer ? .toServerDone : .toClientDone)
    }

    var bothDone: Bool { flags.contains([.toServerDone, .toClientDone]) }

    func evaluated(_ direction: FlowDirection) -> Int {
        Int(direction == .toServer ? evaluatedToServer : evaluatedToClient)
    }

    mutating func setEvaluated(_ direction: FlowDirection, _ count: Int) {
        let value = UInt16(clamping: count)
        if direction == .toServer { evaluatedToServer = value } else { evaluatedToClient = value }
    }
}
