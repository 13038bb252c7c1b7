import PluginAPI

/// What the Napster plugin keeps per flow. Flows it has not recognised keep nothing: the opening
/// is judged afresh from the host's streams on each packet until it decides.
public struct NapsterFlowState: DetectorFlowState {
    /// True once the flow is a recognised client-server connection whose server messages are read.
    var session = false
    var cursor = StreamCursor()
    var reader = NapsterMessageReader()

    public init() {}
}

/// Napster and OpenNap: the client-server protocol on any port, the metaserver, and transfers and
/// browses between clients on any port. A recognised server connection keeps being read, so the
/// peers the server announces later (download acks, firewalled download acks, browse accepts,
/// redirects, search results) go on the learned list before the client connects to them.
public struct NapsterDetector: Detector {
    public static let descriptor = DetectorDescriptor(
        id: "napster", name: "Napster and OpenNap", transports: [.tcp], packetLimit: 16)

    /// The list learned peers go on.
    static let list = "napster"

    private let login: Signature?
    private let newUserLogin: Signature?
    private let nickCheck: Signature?
    private let serverReply: Signature?
    private let metaserver: Signature?
    private let peerDownload: Signature?
    private let peerUpload: Signature?
    private let peerBrowse: Signature?
    /// Indexed like `NapsterAnnouncement.allCases`.
    private let announcements: [Signature?]

    private let lockDuration: Seconds
    private let peerLifetime: Seconds
    private let serverLifetime: Seconds
    private let learnSearchResults: Bool
    /// How many packets of a recognised server connection are read, at most.
    private let serverPacketLimit: Int

    /// Bounds the work and the log for one packet full of announcements.
    static let maximumLearnsPerPacket = 64
    static let maximumFactsPerFinding = 16

    static let signatureIds: [String] = [
        "napster.login", "napster.login.new-user", "napster.nick-check", "napster.server.reply", "napster.metaserver",
        "napster.peer.download", "napster.peer.upload", "napster.peer.browse",
    ] + NapsterAnnouncement.allCases.map(\.signatureId)

    static let parameterNames = ["lock-seconds", "learn-seconds", "learn-server-seconds", "learn-search-results", "server-packet-limit"]

    public init(signatures: SignatureSet, settings: DetectorSettings) throws {
        for signature in signatures.signatures where !Self.signatureIds.contains(signature.id) {
            throw SignatureParameterError(file: signature.file, line: signature.line,
                                          message: "signature '\(signature.id)': the napster plugin has no such signature")
        }
        for parameter in signatures.parameters.values.sorted(by: { $0.line < $1.line })
        where !Self.parameterNames.contains(parameter.name) {
            throw SignatureParameterError(file: signatures.file, line: parameter.line,
                                          message: "parameter '\(parameter.name)': the napster plugin reads only \(Self.parameterNames.joined(separator: ", "))")
        }
        let enabled = signatures.enabledSignature
        login = enabled("napster.login")
        newUserLogin = enabled("napster.login.new-user")
        nickCheck = enabled("napster.nick-check")
        serverReply = enabled("napster.server.reply")
        metaserver = enabled("napster.metaserver")
        peerDownload = enabled("napster.peer.download")
        peerUpload = enabled("napster.peer.upload")
        peerBrowse = enabled("napster.peer.browse")
        announcements = NapsterAnnouncement.allCases.map { enabled($0.signatureId) }

        lockDuration = settings.lockDuration(default: try signatures.integer("lock-seconds", default: 120, in: 0...604_800))
        peerLifetime = Seconds(try signatures.integer("learn-seconds", default: 3600, in: 0...604_800))
        serverLifetime = Seconds(try signatures.integer("learn-server-seconds", default: 86_400, in: 0...2_592_000))
        learnSearchResults = try signatures.boolean("learn-search-results", default: true)
        serverPacketLimit = try signatures.integer("server-packet-limit", default: 250_000, in: 16...100_000_000)
    }

    public func inspect(_ input: DetectionInput, state: inout NapsterFlowState) -> Detection {
        if state.session { return readServer(input, state: &state, identification: nil) }

        let toServer = input.direction == .toServer
        let originator = toServer ? input.stream : input.reverseStream
        let responder = toServer ? input.reverseStream : input.stream
        if originator.isEmpty && responder.isEmpty { return .undecided }
        var waiting = false

        // Client to server: the client speaks first, with a login-family message.
        if !originator.isEmpty {
            let opening = NapsterRecognizer.login(originator)
            if case let .login(kind, port, client) = opening, let rule = loginRule(kind), toServer, rule.matches(input) {
                var facts: [Fact] = []
                if let port { facts.append(Fact("data-port", String(port))) }
                if let client { facts.append(Fact("client", NapsterText.fact(originator, client))) }
                return startSession(input, state: &state, rule: rule, facts: facts)
            }
            switch opening {
            case .login, .framedLogin:
                // The server's answer decides.
                switch NapsterRecognizer.serverReply(responder) {
                case .serverReply(let type):
                    if let rule = serverReply, !toServer, rule.matches(input) {
                        return startSession(input, state: &state, rule: rule, facts: [Fact("message", String(type))])
                    }
                case .needMore:
                    waiting = true
                default:
                    break
                }
            case .needMore:
                waiting = true
            default:
                break
            }
        }

        // Between clients: the connector sends a command word, the acceptor a `1`.
        if originator.isEmpty || originator[0] == UInt8(ascii: "G") || originator[0] == UInt8(ascii: "S") {
            switch NapsterRecognizer.peer(connector: originator, acceptor: responder) {
            case .peer(let kind):
                if let rule = peerRule(kind), rule.matches(input) { return foundPeer(input, rule: rule, kind: kind) }
            case .needMore:
                waiting = true
            default:
                break
            }
        }

        // The metaserver: the client says nothing, the server names a server and closes.
        if originator.isEmpty, let rule = metaserver, input.direction == .toClient, rule.matches(input) {
            let closed = input.packet.tcpFlags.contains(.fin) || input.packet.tcpFlags.contains(.rst)
            switch NapsterRecognizer.metaserver(responder, closed: closed) {
            case .metaserver:
                return foundMetaserver(input, rule: rule, lines: responder)
            case .needMore:
                waiting = true
            default:
                break
            }
        }

        return waiting ? .undecided : .notMine
    }

    // MARK: Findings

    private func loginRule(_ kind: NapsterOpening.LoginKind) -> Signature? {
        switch kind {
        case .login: return login
        case .newUser: return newUserLogin
        case .nickCheck: return nickCheck
        }
    }

    private func peerRule(_ kind: NapsterOpening.PeerKind) -> Signature? {
        switch kind {
        case .download: return peerDownload
        case .upload: return peerUpload
        case .browse: return peerBrowse
        }
    }

    /// A client-server connection recognised: drop, lock the client, and keep reading what the
    /// server announces when the client is ours.
    private func startSession(_ input: DetectionInput, state: inout NapsterFlowState, rule: Signature, facts: [Fact]) -> Detection {
        var finding = Finding(signature: rule.id, verdict: Verdict(rule.action), facts: facts)
        if rule.action.enforces { finding.actions.append(contentsOf: lock(input, rule)) }
        guard input.flow.originatorIsLAN else { return .found(finding) }
        state.session = true
        finding.keepInspecting = true
        return readServer(input, state: &state, identification: finding)
    }

    /// Reads the server's messages in this packet and learns the hosts they announce.
    private func readServer(_ input: DetectionInput, state: inout NapsterFlowState, identification: Finding?) -> Detection {
        if input.flow.packetIndex >= serverPacketLimit { return identification.map { .found($0) } ?? .notMine }
        guard input.direction == .toClient else { return identification.map { .found($0) } ?? .undecided }

        var cursor = state.cursor
        var reader = state.reader
        var finding = identification
        var learned = 0
        cursor.advance(input) { bytes, afterGap in
            reader.feed(bytes, afterGap: afterGap) { kind, fields in
                guard let rule = announcements[kind.ordinal], let peer = kind.peer(fields) else { return }
                if kind == .searchResult && !learnSearchResults { return }
                guard input.host.mayLearn(peer.address), rule.matches(input) else { return }
                let lifetime = kind == .redirect ? serverLifetime : peerLifetime
                let learns = rule.action.enforces && lifetime > .zero
                // A server repeats its sharers: what is already listed for a while yet, or was
                // just taken from this packet, is not announced again.
                if learns && (input.host.isLearned(peer.address, port: peer.port, until: input.time + lifetime / 2)
                              || finding?.learns(peer.address, port: peer.port) == true) { return }
                if finding == nil {
                    finding = Finding(signature: rule.id, verdict: Verdict(rule.action), keepInspecting: true)
                }
                let text = peer.port.map { Endpoint(peer.address, $0).description } ?? peer.address.description
                finding?.addFact(kind.factName, text, limit: Self.maximumFactsPerFinding)
                if learns && learned < Self.maximumLearnsPerPacket {
                    finding?.actions.append(.learn(LearnRequest(
                        address: peer.address, port: peer.port, list: Self.list, timeToLive: lifetime,
                        origin: "\(rule.id) from \(input.client.address)")))
                    learned += 1
                }
            }
        }
        state.cursor = cursor
        state.reader = reader
        return finding.map { .found($0) } ?? .undecided
    }

    private func foundPeer(_ input: DetectionInput, rule: Signature, kind: NapsterOpening.PeerKind) -> Detection {
        var finding = Finding(signature: rule.id, verdict: Verdict(rule.action), facts: [Fact("peer", input.remote.description)])
        if rule.action.enforces {
            // A client the LAN host connects to is learned with its port; one that connects in
            // (a firewalled push) comes from a port nobody knows, so its whole address is learned.
            let address = input.remote.address
            let port = input.flow.originatorIsLAN ? input.remote.port : nil
            if input.host.mayLearn(address), peerLifetime > .zero,
               !input.host.isLearned(address, port: port, until: input.time + peerLifetime / 2) {
                finding.actions.append(.learn(LearnRequest(
                    address: address, port: port, list: Self.list, timeToLive: peerLifetime,
                    origin: "\(rule.id) from \(input.client.address)")))
            }
            finding.actions.append(contentsOf: lock(input, rule))
        }
        return .found(finding)
    }

    private func foundMetaserver(_ input: DetectionInput, rule: Signature, lines: UnsafeRawBufferPointer) -> Detection {
        var finding = Finding(signature: rule.id, verdict: Verdict(rule.action))
        var lineStart = 0
        var count = 0
        while lineStart < lines.count, count < Self.maximumFactsPerFinding {
            let end = lines.firstIndex(of: UInt8(ascii: "\n"), from: lineStart) ?? lines.count
            var lineEnd = end
            if lineEnd > lineStart && lines[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            let text = NapsterText.fact(lines, lineStart..<lineEnd, limit: 260)
            finding.addFact("server", text, limit: Self.maximumFactsPerFinding)
            count += 1
            if rule.action.enforces, serverLifetime > .zero, let endpoint = Endpoint(text), input.host.mayLearn(endpoint.address) {
                finding.actions.append(.learn(LearnRequest(
                    address: endpoint.address, port: endpoint.port, list: Self.list, timeToLive: serverLifetime,
                    origin: "\(rule.id) from \(input.client.address)")))
            }
            lineStart = end + 1
        }
        if rule.action.enforces { finding.actions.append(contentsOf: lock(input, rule)) }
        return .found(finding)
    }

    // MARK: Helpers


    private func lock(_ input: DetectionInput, _ rule: Signature) -> [HostAction] {
        guard lockDuration > .zero else { return [] }
        return [.lock(LockRequest(client: input.client.address, duration: lockDuration, reason: rule.id))]
    }

}

extension NapsterAnnouncement {
    var ordinal: Int {
        switch self {
        case .searchResult: return 0
        case .downloadAck: return 1
        case .resumeResult: return 2
        case .firewalledDownloadAck: return 3
        case .browseRequest: return 4
        case .browseAccept: return 5
        case .redirect: return 6
        }
    }

    var signatureId: String {
        switch self {
        case .searchResult: return "napster.server.search-result"
        case .downloadAck: return "napster.server.download-ack"
        case .resumeResult: return "napster.server.resume-result"
        case .firewalledDownloadAck: return "napster.server.firewalled-download-ack"
        case .browseRequest: return "napster.server.browse-request"
        case .browseAccept: return "napster.server.browse-accept"
        case .redirect: return "napster.server.redirect"
        }
    }

    /// The fact's key in the log.
    var factName: String { self == .redirect ? "server" : "peer" }
}
