import PluginAPI

/// A loaded plugin with the per-flow states the host keeps for it. Type-erased so the engine
/// can hold plugins of different `FlowState` types in one array.
protocol AnyDetectorSlot: AnyObject {
    var descriptor: DetectorDescriptor { get }
    /// Shows the plugin a packet. `hasState` says whether a state is stored for the flow (the
    /// engine keeps that bit per flow, so flows without one never touch the state table);
    /// on return it says whether one is stored now.
    func inspect(_ input: DetectionInput, flow: UInt32, hasState: inout Bool) -> Detection
    /// Forgets the state of a flow that ended.
    func discard(flow: UInt32)
    /// Takes over the flow states of the plugin it replaces on a reload (same plugin type only).
    func adoptStates(from previous: AnyDetectorSlot)
    var trackedStates: Int { get }
}

final class DetectorSlot<D: Detector>: AnyDetectorSlot {
    let detector: D
    /// Only states that differ from `D.FlowState()` are stored, so flows a plugin ignores cost nothing.
    private var states: [UInt32: D.FlowState] = [:]
    private let isStateless = D.FlowState.self == NoFlowState.self
    private let initial = D.FlowState()

    init(_ detector: D) { self.detector = detector }

    var descriptor: DetectorDescriptor { D.descriptor }
    var trackedStates: Int { states.count }

    func inspect(_ input: DetectionInput, flow: UInt32, hasState: inout Bool) -> Detection {
        hasState ? inspectStored(input, flow: flow, hasState: &hasState) : inspectFresh(input, flow: flow, hasState: &hasState)
    }

    /// Most packets: no state stored for the flow, so no state-table work unless the plugin made one.
    @inline(never)
    private func inspectFresh(_ input: DetectionInput, flow: UInt32, hasState: inout Bool) -> Detection {
        var state = initial
        let detection = detector.inspect(input, state: &state)
        if !isStateless && state != initial {
            states[flow] = state
            hasState = true
        }
        return detection
    }

    @inline(never)
    private func inspectStored(_ input: DetectionInput, flow: UInt32, hasState: inout Bool) -> Detection {
        var state = states[flow] ?? initial
        let detection = detector.inspect(input, state: &state)
        if state == initial {
            states.removeValue(forKey: flow)
            hasState = false
        } else {
            states[flow] = state
        }
        return detection
    }

    func discard(flow: UInt32) {
        if !isStateless { states.removeValue(forKey: flow) }
    }

    func adoptStates(from previous: AnyDetectorSlot) {
        if let same = previous as? DetectorSlot<D> { states = same.states }
    }
}

/// Builds a plugin from its signature set; opens the existential catalog entry.
func makeDetectorSlot(_ type: any Detector.Type, signatures: SignatureSet, settings: DetectorSettings) throws -> AnyDetectorSlot {
    func open<D: Detector>(_ type: D.Type) throws -> AnyDetectorSlot {
        DetectorSlot(try D(signatures: signatures, settings: settings))
    }
    return try open(type)
}
