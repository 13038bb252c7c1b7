import PluginAPI

/// What the AudioGalaxy plugin keeps per flow. Flows it has not recognised keep nothing.
public struct AudioGalaxyFlowState: DetectorFlowState {
    /// True once the flow is a recognised server connection whose frames are read.
    var session = false
    var cursor = StreamCursor()
    var reader = AudioGalaxyFrameReader()

    public init() {}
}

/// AudioGalaxy Satellite: its framed protocol on any port (the redirector and the main server sit
/// on TCP 21, told apart from FTP by the first bytes: an FTP server speaks first with `220 `),
/// and the transfer opening between satellites. The redirector's answer names the main server;
/// the main server's FILE_TRANSFER orders name the satellites the client will connect to or
/// accept; all of them are learned before the transfer starts.
public struct AudioGalaxyDetector: Detector {
    public static let descriptor = DetectorDescriptor(
        id: "audiogalaxy", name: "AudioGalaxy Satellite", transports: [.tcp], packetLimit: 16)

    static let list = "audiogalaxy"

    private let login: Signature?
    private let message: Signature?
    private let redirect: Signature?
    private let transferRequest: Signature?
    private let transferAccepted: Signature?
    private let orderConnect: Signature?
    private let orderListen: Signature?

    private let lockDuration: Seconds
    private let peerLifetime: Seconds
    private let serverLifetime: Seconds
    private let serverPacketLimit: Int

    static let maximumLearnsPerPacket = 64
    static let maximumFactsPerFinding = 16

    static let signatureIds = [
        "audiogalaxy.login", "audiogalaxy.message", "audiogalaxy.redirect", "audiogalaxy.transfer.request",
        "audiogalaxy.transfer.accepted", "audiogalaxy.server.file-transfer.connect", "audiogalaxy.server.file-transfer.listen",
    ]

    static let parameterNames = ["lock-seconds", "learn-seconds", "learn-server-seconds", "server-packet-limit"]

    public init(signatures: SignatureSet, settings: DetectorSettings) throws {
        for signature in signatures.signatures where !Self.signatureIds.contains(signature.id) {
            throw SignatureParameterError(file: signature.file, line: signature.line,
                                          message: "signature '\(signature.id)': the audiogalaxy plugin has no such signature")
        }
        for parameter in signatures.parameters.values.sorted(by: { $0.line < $1.line })
        where !Self.parameterNames.contains(parameter.name) {
            throw SignatureParameterError(file: signatures.file, line: parameter.line,
                                          message: "parameter '\(parameter.name)': the audiogalaxy plugin reads only \(Self.parameterNames.joined(separator: ", "))")
        }
        let enabled = signatures.enabledSignature
        login = enabled("audiogalaxy.login")
        message = enabled("audiogalaxy.message")
        redirect = enabled("audiogalaxy.redirect")
        transferRequest = enabled("audiogalaxy.transfer.request")
        transferAccepted = enabled("audiogalaxy.transfer.accepted")
        orderConnect = enabled("audiogalaxy.server.file-transfer.connect")
        orderListen = enabled("audiogalaxy.server.file-transfer.listen")

        lockDuration = settings.lockDuration(default: try signatures.integer("lock-seconds", default: 120, in: 0...604_800))
        peerLifetime = Seconds(try signatures.integer("learn-seconds", default: 3600, in: 0...604_800))
        serverLifetime = Seconds(try signatures.integer("learn-server-seconds", default: 86_400, in: 0...2_592_000))
        serverPacketLimit = try signatures.integer("server-packet-limit", default: 250_000, in: 16...100_000_000)
    }

    public func inspect(_ input: DetectionInput, state: inout AudioGalaxyFlowState) -> Detection {
        if state.session { return readServer(input, state: &state, identification: nil) }

        // Every AudioGalaxy stream starts with the magic, whichever side speaks first: anything
        // else (an FTP server's `220 `, an HTTP request, a TLS hello) ends the question at once.
        let stream = input.stream
        guard AudioGalaxyFrame.beginsLikeFrame(stream), AudioGalaxyFrame.beginsLikeFrame(input.reverseStream) else {
            return .notMine
        }
        if stream.isEmpty { return .undecided }

        let connecting = input.direction == .toServer
        switch AudioGalaxyFrame.opening(stream, fromConnectingSide: connecting) {
        case .needMore:
            return .undecided
        case .notAudioGalaxy:
            return .notMine
        case .login:
            guard let rule = login ?? message, rule.matches(input) else { return .notMine }
            return startSession(input, state: &state, rule: rule, facts: [Fact("message", "0")])
        case .message(let type):
            guard let rule = message, rule.matches(input) else { return .notMine }
            return startSession(input, state: &state, rule: rule, facts: [Fact("message", String(type))])
        case let .redirect(address, port):
            guard let rule = redirect, rule.matches(input) else { return .notMine }
            let server = Endpoint(address, port)
            var finding = Finding(signature: rule.id, verdict: Verdict(rule.action), facts: [Fact("server", server.description)])
            if rule.action.enforces {
                if serverLifetime > .zero, input.host.mayLearn(address) {
                    finding.actions.append(.learn(LearnRequest(address: address, port: port, list: Self.list, timeToLive: serverLifetime,
                                                               origin: "\(rule.id) from \(input.client.address)")))
                }
                finding.actions.append(contentsOf: lock(input, rule))
            }
            return .found(finding)
        case .transferRequest:
            guard let rule = transferRequest, rule.matches(input) else { return .notMine }
            return foundTransfer(input, rule: rule)
        case .transferAccepted:
            guard let rule = transferAccepted, rule.matches(input) else { return .notMine }
            return foundTransfer(input, rule: rule)
        }
    }

    // MARK: Findings

    private func startSession(_ input: DetectionInput, state: inout AudioGalaxyFlowState, rule: Signature, facts: [Fact]) -> Detection {
        var finding = Finding(signature: rule.id, verdict: Verdict(rule.action), facts: facts)
        if rule.action.enforces { finding.actions.append(contentsOf: lock(input, rule)) }
        guard input.flow.originatorIsLAN else { return .found(finding) }
        state.session = true
        finding.keepInspecting = true
        return readServer(input, state: &state, identification: finding)
    }

    /// Reads the server's frames in this packet and learns the satellites its orders name.
    private func readServer(_ input: DetectionInput, state: inout AudioGalaxyFlowState, identification: Finding?) -> Detection {
        if input.flow.packetIndex >= serverPacketLimit { return identification.map { .found($0) } ?? .notMine }
        guard input.direction == .toClient else { return identification.map { .found($0) } ?? .undecided }

        var cursor = state.cursor
        var reader = state.reader
        var finding = identification
        var learned = 0
        cursor.advance(input) { bytes, afterGap in
            reader.feed(bytes, afterGap: afterGap) { order in
                guard let rule = order.connect ? orderConnect : orderListen,
                      input.host.mayLearn(order.address), rule.matches(input) else { return }
                // "connect": the client will open address:port. "listen": the far end will connect
                // in from a port nobody knows, so its whole address is learned.
                let port: UInt16? = order.connect ? order.port : nil
                let learns = rule.action.enforces && peerLifetime > .zero
                if learns && (input.host.isLearned(order.address, port: port, until: input.time + peerLifetime / 2)
                              || finding?.learns(order.address, port: port) == true) { return }
                if finding == nil { finding = Finding(signature: rule.id, verdict: Verdict(rule.action), keepInspecting: true) }
                let text = order.connect ? Endpoint(order.address, order.port).description : order.address.description
                finding?.addFact(order.connect ? "connect" : "listen", text, limit: Self.maximumFactsPerFinding)
                if learns, learned < Self.maximumLearnsPerPacket {
                    finding?.actions.append(.learn(LearnRequest(address: order.address, port: port, list: Self.list,
                                                                timeToLive: peerLifetime,
                                                                origin: "\(rule.id) from \(input.client.address)")))
                    learned += 1
                }
            }
        }
        state.cursor = cursor
        state.reader = reader
        return finding.map { .found($0) } ?? .undecided
    }

    private func foundTransfer(_ input: DetectionInput, rule: Signature) -> Detection {
        var finding = Finding(signature: rule.id, verdict: Verdict(rule.action), facts: [Fact("peer", input.remote.description)])
        if rule.action.enforces {
            let address = input.remote.address
            // A satellite the client connects to is learned with its port; one that connects in
            // comes from a port nobody knows, so its whole address is learned.
            let port = input.flow.originatorIsLAN ? input.remote.port : nil
            if peerLifetime > .zero, input.host.mayLearn(address),
               !input.host.isLearned(address, port: port, until: input.time + peerLifetime / 2) {
                finding.actions.append(.learn(LearnRequest(
                    address: address, port: port, list: Self.list, timeToLive: peerLifetime,
                    origin: "\(rule.id) from \(input.client.address)")))
            }
            finding.actions.append(contentsOf: lock(input, rule))
        }
        return .found(finding)
    }

    // MARK: Helpers


    private func lock(_ input: DetectionInput, _ rule: Signature) -> [HostAction] {
        guard lockDuration > .zero else { return [] }
        return [.lock(LockRequest(client: input.client.address, duration: lockDuration, reason: rule.id))]
    }

}
