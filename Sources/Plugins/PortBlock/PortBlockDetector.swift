import PluginAPI

/// Blocks flows that a LAN client starts towards the well-known ports of file-sharing
/// networks. The weakest evidence there is, and the cheapest: it looks at a flow's first
/// packet only. The ports, their transports and exceptions all come from `portblock.xml`.
public struct PortBlockDetector: Detector {
    public static let descriptor = DetectorDescriptor(
        id: "portblock", name: "Port block (well-known file-sharing ports)", packetLimit: 1, isFallback: true)

    private let rules: [Signature]

    public init(signatures: SignatureSet, settings: DetectorSettings) throws {
        rules = signatures.signatures.filter(\.enabled)
        for rule in rules where !rule.elements.contains(where: { if case .ports = $0 { return true } else { return false } }) {
            throw SignatureParameterError(file: rule.file, line: rule.line,
                                          message: "signature '\(rule.id)': a port-block entry needs a <ports> element")
        }
    }

    public func inspect(_ input: DetectionInput, state: inout NoFlowState) -> Detection {
        // Only flows a LAN client opens: a client whose own ephemeral port happens to be a
        // listed one is judged by the port it connects to, never by its own.
        guard input.flow.packetIndex == 0, input.flow.originatorIsLAN, input.direction == .toServer else { return .notMine }
        // Traffic inside the LAN (a probe answer to the gateway, a local service) is not leaving it.
        if input.host.isLAN(input.flow.responder.address) && input.host.isLAN(input.flow.originator.address) { return .notMine }
        for rule in rules where rule.matches(input) {
            return .found(Finding(signature: rule.id, verdict: Verdict(rule.action),
                                  facts: [Fact("port", String(input.flow.responder.port))]))
        }
        return .notMine
    }
}
