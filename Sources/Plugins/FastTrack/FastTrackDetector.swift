import PluginAPI

/// FastTrack (Kazaa, KazaaLite, Grokster, iMesh), the ftwall way: recognise the UDP discovery
/// pings, learn the pinged peers, answer each ping with a spoofed pong so the client stays in
/// its UDP mode, lock clients that contact learned peers (with a probe that keeps the lock while
/// the client is still running), and catch clear-text HTTP transfers on any port as a safety net.
///
/// Byte rules, lengths, patterns and tunables all come from `signatures/fasttrack.xml`;
/// `README.md` beside this file explains each of them.
public struct FastTrackDetector: Detector {
    public typealias FlowState = FastTrackFlowState

    public static let id = "fasttrack"

    /// HTTP heads arrive in the first few segments; 96 packets leave room for heads split into
    /// many small segments. Discovery flows and flows to learned peers keep inspecting past it.
    public static let descriptor = DetectorDescriptor(
        id: id, name: "FastTrack (Kazaa, KazaaLite, Grokster, iMesh)", transports: [.tcp, .udp], packetLimit: 96)

    /// The reply spoofed to each ping.
    enum SpoofedReply: String {
        case pong = "29"
        case supernodePong = "28"
        case none
    }

    struct DiscoveryRule {
        let signature: Signature
        let kind: DiscoveryMessage.Kind
        let minLength: Int
        let maxLength: Int
        /// True when the signature's action asks for more than a log line.
        var enforces: Bool { signature.action.enforces }
    }

    let discoveryRules: [DiscoveryRule]
    /// Bounds over all discovery rules, for the first, cheapest test of a datagram.
    let discoveryMinLength: Int
    let discoveryMaxLength: Int
    let encryptionTypes: [UInt32]
    let learnedPeerRule: Signature?
    let httpRules: [Signature]
    let sessionOpenRule: Signature?
    let sessionOpenRequestLength: Int
    let standardPorts: PortSet
    let lockDuration: Seconds
    let learnTimeToLive: Seconds
    let passPings: Bool
    let spoofedReply: SpoofedReply
    let probeSourcePort: UInt16

    /// Past this, a direction's stream is as long as the host reassembles (its default depth).
    static let streamLimit = 4096
    /// HTTP rules are looked at again after this many new bytes even before the head is complete.
    static let reevaluationStep = 256
    /// A flow re-arms a lock for contact with a learned peer at most this often.
    static let rearmInterval = Seconds(1)

    public init(signatures: SignatureSet, settings: DetectorSettings) throws {
        var rules: [DiscoveryRule] = []
        for signature in signatures.signatures(withPrefix: "fasttrack.udp.") where signature.enabled {
            rules.append(try FastTrackDetector.discoveryRule(signature))
        }
        discoveryRules = rules
        discoveryMinLength = rules.map(\.minLength).min() ?? Int.max
        discoveryMaxLength = rules.map(\.maxLength).max() ?? 0

        learnedPeerRule = signatures.enabledSignature("fasttrack.learned-peer")
        httpRules = signatures.signatures(withPrefix: "fasttrack.http.").filter(\.enabled)
        sessionOpenRule = signatures.enabledSignature("fasttrack.tcp.session-open")

        let lockSeconds = try signatures.integer("lock-seconds", default: 120, in: 0...86_400)
        lockDuration = settings.lockDuration(default: lockSeconds)
        learnTimeToLive = Seconds(try signatures.integer("learn-seconds", default: 3600, in: 1...2_592_000))
        passPings = try signatures.boolean("pass-pings", default: false)
        let reply = try signatures.choice("spoofed-reply", default: "29", among: ["29", "28", "none"])
        spoofedReply = SpoofedReply(rawValue: reply) ?? .pong
        probeSourcePort = UInt16(try signatures.integer("probe-source-port", default: 1214, in: 1...65_535))
        sessionOpenRequestLength = try signatures.integer("session-open-request-length", default: 12, in: 1...1024)
        standardPorts = try signatures.ports("session-open-standard-ports", default: PortSet([80...80, 443...443]))
        encryptionTypes = try FastTrackDetector.encryptionTypes(signatures)
    }

    // MARK: Configuration

    /// A discovery rule: its type comes from the first byte of its offset-0 rule, its length
    /// bounds from its payload `length` elements.
    static func discoveryRule(_ signature: Signature) throws -> DiscoveryRule {
        var kind: DiscoveryMessage.Kind?
        var minLength = 0, maxLength = 65_535
        for element in signature.elements {
            switch element {
            case let .bytes(offset, value, scope) where offset == 0 && scope == .payload:
                kind = value.first.flatMap(DiscoveryMessage.Kind.init(rawValue:))
            case let .length(low, high, scope) where scope == .payload:
                minLength = max(minLength, low)
                maxLength = min(maxLength, high)
            default:
                break
            }
        }
        guard let kind else {
            throw SignatureParameterError(
                file: signature.file, line: signature.line,
                message: "signature '\(signature.id)': a discovery rule needs payload bytes at offset 0 starting with 27 (ping), 28 (supernode pong) or 29 (pong)")
        }
        if let nameOffset = kind.nameOffset, maxLength < nameOffset + 2 {
            throw SignatureParameterError(
                file: signature.file, line: signature.line,
                message: "signature '\(signature.id)': a length of at most \(maxLength) leaves no room for a network name after offset \(nameOffset)")
        }
        return DiscoveryRule(signature: signature, kind: kind, minLength: minLength, maxLength: maxLength)
    }

    /// `encryption-types`: hex values of the 4-byte field, e.g. "29, A9".
    static func encryptionTypes(_ signatures: SignatureSet) throws -> [UInt32] {
        let text = signatures.string("encryption-types", default: "29, A9")
        var values: [UInt32] = []
        for item in text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" }) {
            var digits = Substring(item)
            if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
            guard let value = UInt32(digits, radix: 16) else {
                throw SignatureParameterError(
                    file: signatures.file, line: signatures.parameters["encryption-types"]?.line ?? 0,
                    message: "parameter 'encryption-types': '\(item)' is not a hexadecimal value of at most 8 digits")
            }
            values.append(value)
        }
        guard !values.isEmpty else {
            throw SignatureParameterError(file: signatures.file, line: signatures.parameters["encryption-types"]?.line ?? 0,
                                          message: "parameter 'encryption-types': no value given")
        }
        return values
    }

    // MARK: Inspection

    public func inspect(_ input: DetectionInput, state: inout FastTrackFlowState) -> Detection {
        input.packet.isUDP ? inspectDatagram(input, state: &state) : inspectSegment(input, state: &state)
    }

    // MARK: UDP

    private func inspectDatagram(_ input: DetectionInput, state: inout FastTrackFlowState) -> Detection {
        let rule = discoveryRule(for: input)
        if rule != nil { state.flags.insert(.sawDiscovery) }

        // Any datagram from a LAN client to a learned peer.
        if input.fromClient, let peer = learnedPeer(input), input.host.isLAN(input.client.address) {
            let ping = rule.flatMap { $0.kind == .ping ? $0 : nil }
            if let detection = contactWithLearnedPeer(input, peer: peer, ping: ping, state: &state) { return detection }
        }

        guard let rule else {
            return state.flags.contains(.sawDiscovery) ? .undecided : .notMine
        }
        return rule.kind == .ping ? ping(input, rule) : pong(input, rule)
    }

    /// The discovery rule this datagram matches: cheap length and byte tests first, then the
    /// signature as written, then the name structure.
    func discoveryRule(for input: DetectionInput) -> DiscoveryRule? {
        let payload = input.packet.payload
        guard payload.count >= discoveryMinLength, payload.count <= discoveryMaxLength,
              let type = payload.u8(0), type >= 0x27, type <= 0x29,
              let encryption = payload.u32be(1), encryptionTypes.contains(encryption) else { return nil }
        for rule in discoveryRules where rule.kind.rawValue == type {
            guard payload.count >= rule.minLength, payload.count <= rule.maxLength, rule.signature.matches(input) else { continue }
            if let nameOffset = rule.kind.nameOffset, DiscoveryMessage.networkName(in: payload, from: nameOffset) == nil { continue }
            return rule
        }
        return nil
    }

    private func ping(_ input: DetectionInput, _ rule: DiscoveryRule) -> Detection {
        let payload = input.packet.payload
        let name = networkName(payload, rule.kind)
        let network = name.map { text(payload, $0) }
        var facts = [Fact("network", network ?? "")]
        var actions: [HostAction] = []
        var verdict = Verdict(rule.signature.action)
        let remote = input.remote
        let outbound = input.fromClient && input.host.isLAN(input.client.address) && input.host.mayLearn(remote.address)
        if outbound {
            facts.append(Fact("client_port", String(input.packet.sourcePort)))
            if rule.enforces {
                // Like ftwall's -n, pass-pings lets the ping (and later UDP to the peer) go out;
                // the peer is still learned, for TCP, and contact with it still locks the client.
                if passPings { verdict = .accept }
                actions.append(learn(remote, signature: rule.signature.id, client: input.packet.sourceEndpoint, network: network))
                if let reply = spoofedReply(to: input, name: name) { actions.append(.send(reply)) }
            }
        }
        return .found(Finding(signature: rule.signature.id, verdict: verdict, identifiesFlow: true, actions: actions,
                              facts: facts, keepInspecting: true))
    }

    private func pong(_ input: DetectionInput, _ rule: DiscoveryRule) -> Detection {
        let payload = input.packet.payload
        var facts: [Fact] = []
        let network = networkName(payload, rule.kind).map { text(payload, $0) }
        if let network { facts.append(Fact("network", network)) }
        let client = input.client.address

        // A locked client answering the gateway's probe: it is still running FastTrack.
        if input.fromClient, input.host.isGatewayAddress(input.remote.address) {
            var actions: [HostAction] = []
            if rule.enforces, lockDuration > .zero, input.host.isLocked(client) {
                actions.append(.lock(LockRequest(client: client, duration: lockDuration, reason: rule.signature.id, probe: nil)))
                facts.append(Fact("probe_answer", "true"))
            }
            return .found(Finding(signature: rule.signature.id, verdict: .accept, identifiesFlow: true, actions: actions,
                                  facts: facts, keepInspecting: true))
        }

        var actions: [HostAction] = []
        // An answer to a ping the LAN client sent on this flow: the sender is a FastTrack peer.
        // Unsolicited pongs teach nothing: their source address is too easy to forge.
        let answersClient = !input.fromClient && input.flow.originatorIsLAN && input.host.isLAN(client)
        if answersClient, rule.enforces, input.host.mayLearn(input.remote.address) {
            actions.append(learn(input.remote, signature: rule.signature.id, client: input.flow.originator, network: network))
        }
        // With pass-pings the discovery exchange is let through both ways, as ftwall's -n did.
        let verdict = passPings ? .accept : Verdict(rule.signature.action)
        return .found(Finding(signature: rule.signature.id, verdict: verdict, identifiesFlow: true,
                              actions: actions, facts: facts, keepInspecting: true))
    }

    /// The reply to spoof for a LAN client's ping: from the pinged peer to the client's port.
    private func spoofedReply(to input: DetectionInput, name: Range<Int>?) -> OutboundPacket? {
        let payload = input.packet.payload
        guard let encryption = payload.slice(1, 4) else { return nil }
        let peer = input.packet.destinationEndpoint
        let bytes: [UInt8]
        switch spoofedReply {
        case .none:
            return nil
        case .pong:
            bytes = DiscoveryMessage.pong(encryption: Array(encryption), id: DiscoveryMessage.pongID(for: peer))
        case .supernodePong:
            guard let name else { return nil }
            bytes = DiscoveryMessage.supernodePong(encryption: Array(encryption), name: Array(payload[name]))
        }
        return OutboundPacket(udpFrom: peer, to: input.packet.sourceEndpoint, payload: bytes)
    }

    // MARK: Learned peers

    /// The entry on this plugin's learned list for the flow's far end.
    private func learnedPeer(_ input: DetectionInput) -> LearnedPeer? {
        guard let peer = input.host.learnedPeer(input.remote), peer.list == FastTrackDetector.id else { return nil }
        return peer
    }

    /// A LAN client's SYN or datagram to a learned peer: the flow is FastTrack; lock the client.
    /// A ping among them is still answered, and refreshes the peer's entry. Returns nil when the
    /// rule is off or does not apply, so the packet is judged by the other rules.
    private func contactWithLearnedPeer(_ input: DetectionInput, peer: LearnedPeer, ping: DiscoveryRule?,
                                        state: inout FastTrackFlowState) -> Detection? {
        guard let rule = learnedPeerRule, rule.matches(input) else { return nil }
        let enforced = Verdict(rule.action)
        // UDP the entry does not block (pass-pings) goes out; the contact still locks the client.
        let verdict = peer.transports.contains(input.packet.transport) ? enforced : .accept
        var actions: [HostAction] = []
        var facts = [Fact("peer", input.remote.description), Fact("learned_from", peer.origin)]
        if let ping {
            let payload = input.packet.payload
            let name = networkName(payload, ping.kind)
            let network = name.map { text(payload, $0) }
            facts.append(Fact("network", network ?? ""))
            if ping.enforces {
                actions.append(learn(input.remote, signature: ping.signature.id, client: input.packet.sourceEndpoint,
                                     network: network))
                if let reply = spoofedReply(to: input, name: name) { actions.append(.send(reply)) }
            }
        } else {
            // Without a reply to send, re-arming once a second per flow is enough.
            let now = input.time.microseconds
            if state.lastLockArm != 0, now &- state.lastLockArm < FastTrackDetector.rearmInterval.microseconds, now >= state.lastLockArm {
                return .undecided
            }
        }
        if enforced != .accept, lockDuration > .zero {
            state.lastLockArm = input.time.microseconds
            let probe = ping.map { _ in probeCopying(input) } ?? probe(from: peer, client: input.client.address)
            actions.append(.lock(LockRequest(client: input.client.address, duration: lockDuration, reason: rule.id, probe: probe)))
        }
        return .found(Finding(signature: rule.id, verdict: verdict, reason: .learnedPeer, identifiesFlow: true,
                              actions: actions, facts: facts, keepInspecting: true))
    }

    /// The client's own ping, sent back to the port it pings from (its listening port).
    private func probeCopying(_ input: DetectionInput) -> ProbeRequest {
        ProbeRequest(payload: Array(input.packet.payload), clientPort: input.packet.sourcePort, sourcePort: probeSourcePort)
    }

    /// A probe for a client that contacts a learned peer other than by ping: a ping like the one
    /// that taught us the peer, when that was this client's, sent to its listening port. Nil
    /// when the client's listening port is not known; the host then keeps any probe the lock had.
    private func probe(from peer: LearnedPeer, client: IPAddress) -> ProbeRequest? {
        let origin = PeerOrigin(parsing: peer.origin)
        guard let endpoint = origin.client, endpoint.address == client, let encryption = encryptionTypes.first else { return nil }
        let name = Array((origin.network ?? "KaZaA").utf8)
        return ProbeRequest(payload: DiscoveryMessage.ping(encryption: encryption, name: name),
                            clientPort: endpoint.port, sourcePort: probeSourcePort)
    }

    private func learn(_ peer: Endpoint, signature: String, client: Endpoint, network: String?) -> HostAction {
        .learn(LearnRequest(address: peer.address, port: peer.port, list: FastTrackDetector.id, timeToLive: learnTimeToLive,
                            origin: PeerOrigin.describe(signature: signature, client: client, network: network),
                            transports: passPings ? [.tcp] : [.tcp, .udp]))
    }


    // MARK: TCP

    private func inspectSegment(_ input: DetectionInput, state: inout FastTrackFlowState) -> Detection {
        if input.packet.isConnectionRequest, input.fromClient, let peer = learnedPeer(input),
           input.host.isLAN(input.client.address),
           let detection = contactWithLearnedPeer(input, peer: peer, ping: nil, state: &state) {
            return detection
        }
        // Only connections a LAN client opened: a stranger must not be able to lock a LAN
        // server by sending it Kazaa headers.
        guard input.flow.originatorIsLAN else { return .notMine }
        let payload = input.packet.payload
        guard !payload.isEmpty else { return .undecided }
        let direction = input.direction
        if state.isDone(direction) { return state.bothDone ? .notMine : .undecided }
        guard input.host.isLAN(input.flow.originator.address) else { return .notMine }

        let stream = input.stream
        switch FastTrackDetector.classify(stream) {
        case .undecided:
            return .undecided
        case .binary:
            state.markDone(direction)
            if direction == .toClient, !state.flags.contains(.sessionChecked) {
                state.flags.insert(.sessionChecked)
                if let detection = sessionOpening(input, state: &state) { return detection }
            }
            return state.bothDone ? .notMine : .undecided
        case .text:
            return http(input, state: &state)
        }
    }

    enum StreamStart {
        case undecided
        /// Not an HTTP message or push: nothing for the HTTP rules.
        case binary
        /// Starts like an HTTP request, status line or push.
        case text
    }

    /// How a direction's stream starts: an uppercase token and a space (a request or GIVE),
    /// `HTTP/` (a status line), or something else.
    static func classify(_ stream: UnsafeRawBufferPointer) -> StreamStart {
        guard let first = stream.u8(0) else { return .undecided }
        guard first >= 0x41, first <= 0x5A else { return .binary }
        var i = 0
        var couldBeStatus = true
        while i < stream.count, i <= 16 {
            let byte = stream[i]
            if couldBeStatus, i < 5 {
                // "HTTP/", without building an array on the packet path.
                let expected: UInt8 = i == 0 ? 0x48 : i == 3 ? 0x50 : i == 4 ? 0x2F : 0x54
                if byte != expected { couldBeStatus = false } else if i == 4 { return .text }
            }
            if byte == 0x20 { return i > 0 ? .text : .binary }
            if !(byte >= 0x41 && byte <= 0x5A) && !couldBeStatus { return .binary }
            i += 1
        }
        return i > 16 ? .binary : .undecided
    }

    private func http(_ input: DetectionInput, state: inout FastTrackFlowState) -> Detection {
        let stream = input.stream
        let direction = input.direction
        let count = stream.count
        let last = state.evaluated(direction)
        // Only the bytes that arrived since the last look are scanned, so a head trickling in
        // over many segments costs little.
        guard count > last, stream.firstIndex(of: 0x0A, from: last) != nil else { return .undecided }
        // Look again when a head completes, on the first complete line, every few hundred new
        // bytes, or when the stream is full; never on every small segment of a long head.
        let headEnded = FastTrackDetector.blankLine(in: stream, from: last - 3)
        let full = count >= FastTrackDetector.streamLimit
        guard last == 0 || headEnded || full || count - last >= FastTrackDetector.reevaluationStep else { return .undecided }
        state.setEvaluated(direction, count)

        let isHTTP = input.http != nil
        // A push line is not followed by a head; a stream that is neither ends here too.
        if headEnded || full || !isHTTP { state.markDone(direction) }
        for i in httpRules.indices where httpRules[i].matches(input) {
            state.markDone(direction)
            return .found(httpFinding(input, httpRules[i], keepInspecting: !state.bothDone))
        }
        return state.bothDone ? .notMine : .undecided
    }

    /// True when `stream[from...]` holds the blank line that ends an HTTP head.
    static func blankLine(in stream: UnsafeRawBufferPointer, from: Int) -> Bool {
        var i = max(0, from)
        while i + 1 < stream.count {
            if stream[i] == 0x0A {
                if stream[i + 1] == 0x0A { return true }
                if i + 2 < stream.count, stream[i + 1] == 0x0D, stream[i + 2] == 0x0A { return true }
            }
            i += 1
        }
        return false
    }

    private func httpFinding(_ input: DetectionInput, _ rule: Signature, keepInspecting: Bool) -> Finding {
        let verdict = Verdict(rule.action)
        let client = input.client.address
        let mine = input.http
        let theirs = HTTPMessageView(input.reverseStream)
        var facts: [Fact] = []
        if let mine {
            facts.append(Fact("start_line", latin1(mine.startLine, limit: 120)))
        } else if let line = input.stream.firstIndex(of: 0x0A) {
            facts.append(Fact("start_line", latin1(UnsafeRawBufferPointer(rebasing: input.stream[0..<line]), limit: 120)))
        }
        for message in [mine, theirs].compactMap({ $0 }) {
            for (key, header) in [("network", "X-Kazaa-Network"), ("username", "X-Kazaa-Username"),
                                  ("user_agent", "UserAgent"), ("user_agent", "User-Agent"), ("server", "Server")]
            where !facts.contains(where: { $0.key == key }) {
                if let value = message.header(named: header) { facts.append(Fact(key, latin1(value, limit: 80))) }
            }
        }
        var actions: [HostAction] = []
        if verdict != .accept {
            var learned: [Endpoint] = []
            func add(_ endpoint: Endpoint, via header: String?) {
                guard input.host.mayLearn(endpoint.address), !learned.contains(endpoint) else { return }
                learned.append(endpoint)
                actions.append(.learn(LearnRequest(
                    address: endpoint.address, port: endpoint.port, list: FastTrackDetector.id, timeToLive: learnTimeToLive,
                    origin: PeerOrigin.describe(signature: rule.id, client: client, via: header))))
            }
            add(input.remote, via: nil)
            // The supernode named by either side is a FastTrack node. X-Kazaa-IP names the
            // sender itself, so only the far end's is a peer (the client's own may be our
            // public address).
            let farEnd = input.fromClient ? theirs : mine
            for message in [mine, theirs].compactMap({ $0 }) {
                if let value = message.header(named: "X-Kazaa-SupernodeIP"), let endpoint = Endpoint(latin1(value, limit: 64)) {
                    add(endpoint, via: "X-Kazaa-SupernodeIP")
                }
            }
            if let farEnd, let value = farEnd.header(named: "X-Kazaa-IP"), let endpoint = Endpoint(latin1(value, limit: 64)) {
                add(endpoint, via: "X-Kazaa-IP")
            }
            if lockDuration > .zero {
                actions.append(.lock(LockRequest(client: client, duration: lockDuration, reason: rule.id, probe: nil)))
            }
        }
        return Finding(signature: rule.id, verdict: verdict, identifiesFlow: true, actions: actions, facts: facts,
                       keepInspecting: keepInspecting)
    }

    // MARK: Session opening

    /// The plain-text start of the encrypted session: the responder's first segment is 8 bytes,
    /// the client sent exactly 12 before it, neither is text, and the port is a learned peer's
    /// or not a common service port. Weak evidence: by default it is only logged.
    private func sessionOpening(_ input: DetectionInput, state: inout FastTrackFlowState) -> Detection? {
        guard let rule = sessionOpenRule, input.direction == .toClient else { return nil }
        let reply = input.stream, request = input.reverseStream
        guard reply.count == input.packet.payload.count, request.count == sessionOpenRequestLength,
              rule.matches(input),
              FastTrackDetector.looksBinary(request), FastTrackDetector.looksBinary(reply) else { return nil }
        let peer = learnedPeer(input)
        guard peer != nil || !standardPorts.contains(input.flow.responder.port) else { return nil }
        state.markDone(.toServer)
        state.markDone(.toClient)
        let verdict = Verdict(rule.action)
        var actions: [HostAction] = []
        if verdict != .accept {
            let client = input.client.address
            if input.host.mayLearn(input.remote.address) {
                actions.append(.learn(LearnRequest(
                    address: input.remote.address, port: input.remote.port, list: FastTrackDetector.id, timeToLive: learnTimeToLive,
                    origin: PeerOrigin.describe(signature: rule.id, client: client))))
            }
            if lockDuration > .zero {
                actions.append(.lock(LockRequest(client: client, duration: lockDuration, reason: rule.id,
                                                 probe: peer.flatMap { probe(from: $0, client: client) })))
            }
        }
        return .found(Finding(signature: rule.id, verdict: verdict, identifiesFlow: true, actions: actions,
                              facts: [Fact("port", String(input.flow.responder.port)), Fact("learned_peer", peer == nil ? "false" : "true")]))
    }

    /// Random-looking rather than text: fewer than three quarters of the bytes are printable.
    static func looksBinary(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !bytes.isEmpty else { return false }
        var printable = 0
        for byte in bytes where (byte >= 0x20 && byte <= 0x7E) || byte == 0x0D || byte == 0x0A || byte == 0x09 { printable += 1 }
        return printable * 4 < bytes.count * 3
    }

    // MARK: Helpers

    private func networkName(_ payload: UnsafeRawBufferPointer, _ kind: DiscoveryMessage.Kind) -> Range<Int>? {
        kind.nameOffset.flatMap { DiscoveryMessage.networkName(in: payload, from: $0) }
    }

    private func text(_ payload: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        UnsafeRawBufferPointer(rebasing: payload[range]).latin1String()
    }

    private func latin1(_ bytes: UnsafeRawBufferPointer, limit: Int) -> String {
        UnsafeRawBufferPointer(rebasing: bytes[0..<min(bytes.count, limit)]).latin1String()
    }
}
