import PluginAPI

/// What the host does with one packet: the verdict, and any packets to send because of it.
public struct PacketDecision: Sendable {
    public var verdict: Verdict
    public var outbound: [OutboundPacket]
    /// True when every later packet of this flow would be accepted without being inspected: no
    /// plugin still wants the flow and nothing dropped it. A live host may then let the kernel
    /// pass the rest of the flow (a connection mark) instead of queueing it.
    public var flowSettled: Bool

    public init(verdict: Verdict, outbound: [OutboundPacket] = [], flowSettled: Bool = false) {
        self.verdict = verdict
        self.outbound = outbound
        self.flowSettled = flowSettled
    }
}

/// The detection engine: flows, stream reassembly, the plugins, the learned lists, the time
/// locks and the policy that turns what plugins say into verdicts. Replay and the live daemon
/// drive the very same engine; only the packet source and the clock differ.
///
/// Not thread-safe: one caller at a time (the daemon serialises its queue readers).
public final class Engine: HostQueries {
    public let configuration: Configuration
    private(set) var detectors: LoadedDetectors {
        didSet { cacheDetectorTraits() }
    }
    private let sink: EngineEventSink
    /// Per plugin, what the packet loop needs, copied out of the descriptors so the loop touches
    /// no reference-counted storage.
    private var detectorTransports: [UInt8] = []
    private var detectorPacketLimits: [Int] = []
    private var detectorIsFallback: [Bool] = []

    var flows: FlowTable
    private var streams: [UInt32: StreamPair] = [:]
    var learned: LearnedAddressLists
    var locks = TimeLockService()
    /// The time of the last packet or timer advance.
    public private(set) var now = Timestamp.zero
    private var nextHousekeeping: Timestamp?
    /// When the next probe or lock expiry is due.
    var lockDeadline: Timestamp?
    private static let housekeepingInterval = Seconds(1)

    /// Signature ids seen in findings, so flows store a small index instead of a string.
    private var reasonNames: [String] = []
    private var reasonIndex: [String: Int] = [:]

    /// Recent evidence per LAN client, for `explain`.
    private(set) var evidence: [IPAddress: [Evidence]] = [:]
    private static let evidencePerClient = 8
    private static let evidenceClients = 4096

    /// The gateway's own address facing a client (the probe source), or nil when unknown.
    public var gatewayAddress: (IPAddress) -> IPAddress?

    // Counters.
    private(set) var counters = Counters()

    struct Counters {
        var packets: UInt64 = 0
        var anomalies: [PacketAnomaly: UInt64] = [:]
        var flows: UInt64 = 0
        var drops: UInt64 = 0
        var rejects: UInt64 = 0
        var wouldDrop: UInt64 = 0
        var perPlugin: [String: UInt64] = [:]
        var perSignature: [String: UInt64] = [:]
        var locks: UInt64 = 0
        var learned: UInt64 = 0
        var learnRefused: UInt64 = 0
        var injected: UInt64 = 0
        var flowsEvicted: UInt64 = 0
        var malformed: UInt64 { anomalies.values.reduce(0, +) }
    }

    public struct Evidence: Sendable, Equatable {
        public let time: Timestamp
        public let plugin: String
        public let signature: String
        public let summary: String
    }

    public init(configuration: Configuration, detectors: LoadedDetectors, sink: EngineEventSink) {
        self.configuration = configuration
        self.detectors = detectors
        self.sink = sink
        flows = FlowTable(capacity: configuration.flowCapacity, timeouts: configuration.flowTimeouts)
        learned = LearnedAddressLists(capacity: configuration.learnedCapacity)
        let gateways = configuration.gatewayAddresses
        let lanRanges = configuration.lanRanges
        gatewayAddress = { client in
            // Prefer a gateway address in the same LAN range as the client, then any of its family.
            if let range = lanRanges.first(where: { $0.contains(client) }),
               let inRange = gateways.first(where: { range.contains($0) }) { return inRange }
            return gateways.first { $0.isIPv4 == client.isIPv4 }
        }
        cacheDetectorTraits()
    }

    /// Swaps in a new plugin set (a reload). Flow states of plugins present in both carry over.
    public func replace(detectors newDetectors: LoadedDetectors) {
        for slot in newDetectors.slots {
            if let old = detectors.slots.first(where: { $0.descriptor.id == slot.descriptor.id }) { slot.adoptStates(from: old) }
        }
        let sameOrder = newDetectors.ids == detectors.ids
        detectors = newDetectors
        if !sameOrder {
            // Plugin bit positions changed: let every flow be seen afresh by the new set.
            let all = Engine.allBits(newDetectors.slots.count)
            for slot in flows.liveSlots {
                flows[slot].activeDetectors = all
                flows[slot].keepInspecting = 0
                // Which plugin holds state is unknown now: let every one look (and clean up).
                flows[slot].detectorStates = all
            }
        }
    }

    private func cacheDetectorTraits() {
        let descriptors = detectors.slots.map(\.descriptor)
        detectorTransports = descriptors.map { ($0.transports.contains(.tcp) ? 1 : 0) | ($0.transports.contains(.udp) ? 2 : 0) }
        detectorPacketLimits = descriptors.map(\.packetLimit)
        detectorIsFallback = descriptors.map(\.isFallback)
    }

    // MARK: HostQueries

    public func learnedPeer(_ endpoint: Endpoint) -> LearnedPeer? {
        if learned.isEmpty { return nil }
        // The host and several plugins ask about the same far end for each packet: remember the last answer.
        if memoValid, memoEndpoint == endpoint, memoGeneration == learned.generation, memoTime == now { return memoAnswer }
        let answer = learned.lookup(endpoint, at: now)
        remember(endpoint, answer)
        return answer
    }

    private var memoValid = false
    private var memoEndpoint = Endpoint(IPAddress(v4: 0), 0)
    private var memoGeneration: UInt64 = 0
    private var memoTime = Timestamp.zero
    private var memoAnswer: LearnedPeer?

    private func remember(_ endpoint: Endpoint, _ answer: LearnedPeer?) {
        memoValid = true
        memoEndpoint = endpoint
        memoGeneration = learned.generation
        memoTime = now
        memoAnswer = answer
    }

    /// The far end's learned entry for this packet, skipping the look-up while the lists have
    /// not changed since the flow's far end was last found on none.
    private func remoteLearned(_ flow: inout FlowRecord, _ remote: Endpoint) -> LearnedPeer? {
        if learned.isEmpty { return nil }
        let generation = UInt32(truncatingIfNeeded: learned.generation) &+ 1
        if flow.notLearnedAtGeneration == generation { return nil }
        let answer = learnedPeer(remote)
        flow.notLearnedAtGeneration = answer == nil ? generation : 0
        return answer
    }

    public func isLocked(_ client: IPAddress) -> Bool { locks.isLocked(client, at: now) }
    public func isLAN(_ address: IPAddress) -> Bool { configuration.isLAN(address) }
    public func isGatewayAddress(_ address: IPAddress) -> Bool { configuration.gatewayAddresses.contains(address) }

    // MARK: Packets

    /// Judges one IP packet seen at `time`. Never traps on any input.
    public func process(_ bytes: UnsafeRawBufferPointer, at time: Timestamp) -> PacketDecision {
        counters.packets += 1
        var outbound: [OutboundPacket] = []
        advance(to: time, outbound: &outbound)

        let packet: PacketView
        switch PacketView.parse(bytes) {
        case .packet(let view):
            packet = view
        case .anomaly(let anomaly, _, _):
            // Not ours to judge (ICMP, fragments) or not parseable: counted, and let through,
            // since the kernel has already validated what it forwards.
            counters.anomalies[anomaly, default: 0] += 1
            return PacketDecision(verdict: .accept, outbound: outbound)
        }

        let slot = flowSlot(for: packet, at: time)
        var flow = flows[slot]
        let direction: FlowDirection = (packet.source == flow.originator.address && packet.sourcePort == flow.originator.port
            && (packet.destination != flow.originator.address || packet.destinationPort != flow.originator.port))
            ? .toServer : .toClient
        if direction == .toServer {
            flow.packetsToServer &+= 1
            flow.bytesToServer &+= UInt64(packet.bytes.count)
        } else {
            flow.packetsToClient &+= 1
            flow.bytesToClient &+= UInt64(packet.bytes.count)
        }
        let packetIndex = flow.packetCount - 1
        let timeoutClass = nextTimeoutClass(flow, packet)
        if packet.tcpFlags.contains(.fin) || packet.tcpFlags.contains(.rst) { flow.sawFIN = true }

        let info = FlowInfo(transport: packet.transport, originator: flow.originator, responder: flow.responder,
                            originatorIsLAN: flow.originatorIsLAN, packetIndex: packetIndex, startTime: flow.start)
        let fromClient = (direction == .toServer) == flow.originatorIsLAN
        let client = info.client.address
        let remote = info.remote

        var verdict = Verdict.accept
        var reason = ReasonCode.none
        let remotePeer = remoteLearned(&flow, remote)

        // 1. The plugins that still want this flow.
        if flow.activeDetectors != 0 {
            updateStream(slot, flow: &flow, packet: packet, direction: direction)
            let transportBit: UInt8 = packet.isTCP ? 1 : 2
            let slots = detectors.slots
            withStreams(slot, packet: packet, direction: direction) { stream, reverse in
                let input = DetectionInput(packet: packet, flow: info, direction: direction, time: time,
                                           stream: stream, reverseStream: reverse, host: self)
                for i in 0..<slots.count {
                    let bit = UInt32(1) << UInt32(i)
                    guard flow.activeDetectors & bit != 0 else { continue }
                    guard detectorTransports[i] & transportBit != 0 else {
                        flow.activeDetectors &= ~bit
                        continue
                    }
                    let detector = slots[i]
                    if packetIndex >= detectorPacketLimits[i] && flow.keepInspecting & bit == 0 {
                        flow.activeDetectors &= ~bit
                        if flow.detectorStates & bit != 0 { detector.discard(flow: slot); flow.detectorStates &= ~bit }
                        continue
                    }
                    // A fallback plugin (port-block) yields to a flow another plugin named, or to a learned peer.
                    if detectorIsFallback[i] && (flow.appProto != 0 || remotePeer?.transports.contains(packet.transport) == true) {
                        flow.activeDetectors &= ~bit
                        if flow.detectorStates & bit != 0 { detector.discard(flow: slot); flow.detectorStates &= ~bit }
                        continue
                    }
                    var hasState = flow.detectorStates & bit != 0
                    let detection = detector.inspect(input, flow: slot, hasState: &hasState)
                    if hasState { flow.detectorStates |= bit } else { flow.detectorStates &= ~bit }
                    switch detection {
                    case .undecided:
                        break
                    case .notMine:
                        flow.activeDetectors &= ~bit
                        if flow.detectorStates & bit != 0 { detector.discard(flow: slot); flow.detectorStates &= ~bit }
                    case .found(let finding):
                        if finding.identifiesFlow && flow.appProto == 0 { flow.appProto = UInt8(i + 1) }
                        if finding.verdict > verdict || (finding.verdict == verdict && reason == .none && verdict != .accept) {
                            verdict = finding.verdict
                            reason = reasonCode(finding.reason)
                        }
                        if finding.keepInspecting {
                            flow.keepInspecting |= bit
                        } else {
                            flow.activeDetectors &= ~bit
                            if flow.detectorStates & bit != 0 { detector.discard(flow: slot); flow.detectorStates &= ~bit }
                        }
                        record(finding, plugin: detector.descriptor.id, packet: packet, client: client, at: time, outbound: &outbound)
                    }
                }
            }
            if flow.activeDetectors == 0 { streams.removeValue(forKey: slot) }
        }

        // 2. Host policy: learned peers, then time locks, then what the flow already earned.
        // Looked up again: a plugin may have just learned the far end.
        if verdict == .accept, let peer = remotePeer ?? remoteLearned(&flow, remote), peer.transports.contains(packet.transport) {
            verdict = .drop
            reason = .learnedPeer
            if flow.appProto == 0, let index = detectors.ids.firstIndex(of: peer.list) { flow.appProto = UInt8(index + 1) }
        }
        if verdict == .accept, packet.isConnectionRequest, fromClient, flow.originatorIsLAN, locks.isLocked(client, at: time) {
            verdict = configuration.refusal == .reset ? .reject : .drop
            reason = .timeLock
        }
        if flow.stickyDrop && flow.verdict > verdict {
            verdict = flow.verdict
            reason = flow.reason
        }
        if verdict != .accept && reason != .timeLock { flow.stickyDrop = true }

        // 3. Exceptions: never-block wins over everything; monitor-only drops nothing.
        var final = verdict
        if final != .accept && (configuration.isNeverBlocked(client) || configuration.isNeverBlocked(remote.address)) {
            final = .accept
        }
        if final != .accept && configuration.monitorOnly {
            counters.wouldDrop += 1
            final = .accept
        }
        if verdict != .accept {
            if flow.reason == .none { flow.reason = reason }
            if verdict > flow.verdict { flow.verdict = verdict }
        }
        if final != .accept {
            flow.droppedPackets &+= 1
            counters.drops += 1
            if final == .reject {
                counters.rejects += 1
                if packet.isTCP, let reset = resetFor(packet) {
                    outbound.append(reset)
                    inject(reset, kind: "reset", plugin: nil, at: time)
                }
            }
        }
        flows[slot] = flow
        flows.touch(slot, at: time, timeoutClass: timeoutClass)
        let settled = verdict == .accept && !flow.stickyDrop && !stillInspected(flow, after: packetIndex)
        return PacketDecision(verdict: final, outbound: outbound, flowSettled: settled)
    }

    /// True when some plugin will still be shown the flow's next packet.
    private func stillInspected(_ flow: FlowRecord, after packetIndex: Int) -> Bool {
        guard flow.activeDetectors != 0 else { return false }
        if flow.keepInspecting & flow.activeDetectors != 0 { return true }
        for i in detectorPacketLimits.indices where flow.activeDetectors & (UInt32(1) << UInt32(i)) != 0 {
            if packetIndex + 1 < detectorPacketLimits[i] { return true }
        }
        return false
    }

    /// Runs the timers up to `time`: flow expiry, lock expiry and probes, learned-entry expiry.
    /// Packets call it; a live daemon also calls it when idle.
    public func advance(to time: Timestamp) -> [OutboundPacket] {
        var outbound: [OutboundPacket] = []
        advance(to: time, outbound: &outbound)
        return outbound
    }

    private func advance(to time: Timestamp, outbound: inout [OutboundPacket]) {
        if time > now { now = time }
        // Locks run to the microsecond: probes and expiries happen when due, not on the next sweep.
        if let deadline = lockDeadline, deadline <= now { runLockTimers(outbound: &outbound) }
        if let next = nextHousekeeping, now < next { return }
        nextHousekeeping = now + Engine.housekeepingInterval
        while let slot = flows.expired(at: now) { endFlow(slot, ending: "timeout", at: nil) }
        learned.expire(at: now)
    }

    private func runLockTimers(outbound: inout [OutboundPacket]) {
        for (client, probe, due) in locks.takeDueProbes(at: now) {
            guard let source = gatewayAddress(client) else { continue }
            let packet = OutboundPacket(udpFrom: Endpoint(source, probe.sourcePort), to: Endpoint(client, probe.clientPort),
                                        payload: probe.payload)
            outbound.append(packet)
            // Stamped with when it fell due: in replay, timers run when the next packet arrives.
            inject(packet, kind: "probe", plugin: nil, at: due)
        }
        for lock in locks.takeExpired(at: now) {
            sink.emit(.unlock(UnlockEvent(timestamp: lock.until, client: lock.client, reason: "expired", lockedAt: lock.lockedAt)))
        }
        lockDeadline = locks.nextDeadline()
    }

    /// Ends every flow (end of input or shutdown) and writes the stats record.
    public func finish(ending: String = "end-of-input") {
        for slot in flows.liveSlots.sorted(by: { flows[$0].start < flows[$1].start || (flows[$0].start == flows[$1].start && $0 < $1) }) {
            endFlow(slot, ending: ending, at: nil)
        }
        sink.emit(.stats(statsEvent()))
    }

    // MARK: Operator actions

    /// Lifts a client's lock by hand. Returns false when it was not locked.
    @discardableResult
    public func unlock(_ client: IPAddress) -> Bool {
        guard let lock = locks.unlock(client) else { return false }
        lockDeadline = locks.nextDeadline()
        sink.emit(.unlock(UnlockEvent(timestamp: now, client: client, reason: "operator", lockedAt: lock.lockedAt)))
        return true
    }

    /// Removes an address from every learned list; returns how many entries went.
    @discardableResult
    public func forget(_ address: IPAddress) -> Int {
        evidence.removeValue(forKey: address)
        return learned.forget(address)
    }

    // MARK: Flows

    private func flowSlot(for packet: PacketView, at time: Timestamp) -> UInt32 {
        var senderIsLow = false
        let key = FlowKey(packet, senderIsLow: &senderIsLow)
        if let slot = flows.slot(for: key) {
            let flow = flows[slot]
            // A new SYN on a closed connection with the same ports starts a new flow.
            let senderIsOriginator = senderIsLow == flow.originatorIsLow
            if !(packet.isConnectionRequest && flow.sawFIN && senderIsOriginator) { return slot }
            endFlow(slot, ending: "reused", at: time)
        }
        if flows.isFull, let victim = flows.oldestIdle() {
            counters.flowsEvicted += 1
            endFlow(victim, ending: "evicted", at: time)
        }
        // A capture that starts mid-handshake: a SYN-ACK's receiver opened the connection.
        let isSynAck = packet.isTCP && packet.tcpFlags.contains(.syn) && packet.tcpFlags.contains(.ack)
        let originatorIsLow = isSynAck ? !senderIsLow : senderIsLow
        let originator = originatorIsLow ? key.low : key.high
        let responder = originatorIsLow ? key.high : key.low
        // The LAN side is the originator when it is in the LAN ranges, or when neither end is
        // (a capture taken off the gateway): only a LAN responder makes the flow inbound.
        let originatorIsLAN = configuration.isLAN(originator.address) || !configuration.isLAN(responder.address)
        counters.flows += 1
        let record = FlowRecord(
            key: key, originatorIsLow: originatorIsLow, originatorIsLAN: originatorIsLAN,
            timeoutClass: packet.isTCP ? .tcpOpening : .udp,
            activeDetectors: Engine.allBits(detectors.slots.count), keepInspecting: 0, detectorStates: 0,
            notLearnedAtGeneration: 0, appProto: 0,
            verdict: .accept, stickyDrop: false, sawFIN: false, sawSYN: 0, synSequenceToServer: 0, synSequenceToClient: 0,
            reason: .none, start: time, lastSeen: time,
            packetsToServer: 0, packetsToClient: 0, bytesToServer: 0, bytesToClient: 0, droppedPackets: 0,
            previous: FlowTable.none, next: FlowTable.none)
        return flows.insert(record)
    }

    private func nextTimeoutClass(_ flow: FlowRecord, _ packet: PacketView) -> FlowTimeoutClass {
        guard packet.isTCP else { return .udp }
        if flow.sawFIN || packet.tcpFlags.contains(.fin) || packet.tcpFlags.contains(.rst) { return .tcpClosing }
        if flow.packetsToServer > 0 && flow.packetsToClient > 0 && packet.tcpFlags.contains(.ack) { return .tcpEstablished }
        return flow.timeoutClass == .tcpEstablished ? .tcpEstablished : .tcpOpening
    }

    private func endFlow(_ slot: UInt32, ending: String, at time: Timestamp?) {
        let flow = flows.remove(slot)
        streams.removeValue(forKey: slot)
        for (i, detector) in detectors.slots.enumerated() where flow.detectorStates & (UInt32(1) << UInt32(i)) != 0 {
            detector.discard(flow: slot)
        }
        let appProto = flow.appProto == 0 ? nil : detectors.slots[safe: Int(flow.appProto) - 1]?.descriptor.id
        let event = FlowEvent(
            timestamp: flow.lastSeen, transport: Transport(rawValue: flow.key.transport) ?? .udp,
            source: flow.originator, destination: flow.responder, appProto: appProto, verdict: flow.verdict,
            reason: reasonText(flow.reason), packetsToServer: flow.packetsToServer, packetsToClient: flow.packetsToClient,
            bytesToServer: flow.bytesToServer, bytesToClient: flow.bytesToClient, droppedPackets: flow.droppedPackets,
            start: flow.start, end: flow.lastSeen, ending: ending)
        sink.emit(.flow(event))
    }

    // MARK: Streams

    /// Adds a TCP segment to its direction's stream. Bare SYNs only note their sequence number
    /// in the flow: the stream buffers exist only for flows that carry payload.
    private func updateStream(_ slot: UInt32, flow: inout FlowRecord, packet: PacketView, direction: FlowDirection) {
        guard packet.isTCP else { return }
        let isSYN = packet.tcpFlags.contains(.syn)
        if packet.payload.isEmpty {
            if isSYN {
                if direction == .toServer { flow.sawSYN |= 1; flow.synSequenceToServer = packet.sequenceNumber }
                else { flow.sawSYN |= 2; flow.synSequenceToClient = packet.sequenceNumber }
            }
            return
        }
        let depth = configuration.streamDepth
        if streams[slot] == nil {
            var pair = StreamPair()
            if flow.sawSYN & 1 != 0 { pair.toServer = StreamBuffer(synSequence: flow.synSequenceToServer) }
            if flow.sawSYN & 2 != 0 { pair.toClient = StreamBuffer(synSequence: flow.synSequenceToClient) }
            streams[slot] = pair
        }
        if direction == .toServer {
            streams[slot]?.toServer.add(sequence: packet.sequenceNumber, isSYN: isSYN, payload: packet.payload, limit: depth)
        } else {
            streams[slot]?.toClient.add(sequence: packet.sequenceNumber, isSYN: isSYN, payload: packet.payload, limit: depth)
        }
    }

    private func withStreams(_ slot: UInt32, packet: PacketView, direction: FlowDirection,
                             _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        if !packet.isTCP {
            body(packet.payload, UnsafeRawBufferPointer(start: nil, count: 0))
            return
        }
        guard let pair = streams[slot] else {
            body(UnsafeRawBufferPointer(start: nil, count: 0), UnsafeRawBufferPointer(start: nil, count: 0))
            return
        }
        let (forward, reverse) = direction == .toServer ? (pair.toServer.data, pair.toClient.data) : (pair.toClient.data, pair.toServer.data)
        forward.withUnsafeBytes { f in reverse.withUnsafeBytes { r in body(f, r) } }
    }

    // MARK: Findings and actions

    private func record(_ finding: Finding, plugin: String, packet: PacketView, client: IPAddress, at time: Timestamp,
                        outbound: inout [OutboundPacket]) {
        counters.perPlugin[plugin, default: 0] += 1
        counters.perSignature[finding.signature, default: 0] += 1
        var effective = finding.verdict
        if effective != .accept && (configuration.monitorOnly || configuration.isNeverBlocked(client)
            || configuration.isNeverBlocked(packet.source) || configuration.isNeverBlocked(packet.destination)) {
            effective = .accept
        }
        sink.emit(.alert(AlertEvent(timestamp: time, plugin: plugin, signature: finding.signature, action: finding.verdict,
                                    verdict: effective, transport: packet.transport, source: packet.sourceEndpoint,
                                    destination: packet.destinationEndpoint, client: client, facts: finding.facts)))
        addEvidence(client, Evidence(time: time, plugin: plugin, signature: finding.signature,
                                     summary: "\(packet.transport) \(packet.sourceEndpoint) > \(packet.destinationEndpoint), \(packet.payload.count) payload bytes"))
        for action in finding.actions {
            switch action {
            case .learn(let request):
                let (outcome, entry) = learned.learn(request, at: time, isLAN: configuration.isLAN)
                switch outcome {
                case .added, .refreshed:
                    if let entry {
                        if outcome == .added { counters.learned += 1 }
                        sink.emit(.learn(LearnEvent(timestamp: time, address: entry.address, port: entry.port, list: entry.list,
                                                    origin: entry.origin, expires: entry.expires, refreshed: outcome == .refreshed)))
                    }
                case .refused:
                    counters.learnRefused += 1
                }
            case .lock(let request):
                guard !configuration.isNeverBlocked(request.client), configuration.isLAN(request.client) || !configuration.isLAN(client) else { continue }
                defer { lockDeadline = locks.nextDeadline() }
                switch locks.arm(request, at: time) {
                case .locked(let lock)?:
                    counters.locks += 1
                    sink.emit(.lock(LockEvent(timestamp: time, client: lock.client, until: lock.until, reason: lock.reason, rearmed: false)))
                case .rearmed(let lock)?:
                    sink.emit(.lock(LockEvent(timestamp: time, client: lock.client, until: lock.until, reason: lock.reason, rearmed: true)))
                case nil:
                    break
                }
            case .send(let packet):
                // Injected packets only ever go towards the LAN.
                guard configuration.isLAN(packet.destination.address) || packet.destination.address == client,
                      packet.source.address.isIPv4 == packet.destination.address.isIPv4 else { continue }
                outbound.append(packet)
                inject(packet, kind: "reply", plugin: plugin, at: time)
            }
        }
    }

    private func inject(_ packet: OutboundPacket, kind: String, plugin: String?, at time: Timestamp) {
        counters.injected += 1
        sink.emit(.inject(InjectEvent(timestamp: time, kind: kind, plugin: plugin, packet: packet)))
    }

    /// A reset answering a refused segment, sent to its sender as if from the other end.
    private func resetFor(_ packet: PacketView) -> OutboundPacket? {
        guard configuration.isLAN(packet.source) || !configuration.isLAN(packet.destination) else { return nil }
        let length = UInt32(truncatingIfNeeded: packet.payload.count) &+ (packet.tcpFlags.contains(.syn) ? 1 : 0)
            &+ (packet.tcpFlags.contains(.fin) ? 1 : 0)
        return OutboundPacket(tcpFrom: packet.destinationEndpoint, to: packet.sourceEndpoint, flags: [.rst, .ack],
                              sequenceNumber: packet.tcpFlags.contains(.ack) ? packet.acknowledgementNumber : 0,
                              acknowledgementNumber: packet.sequenceNumber &+ length)
    }

    private func addEvidence(_ client: IPAddress, _ item: Evidence) {
        if evidence[client] == nil && evidence.count >= Engine.evidenceClients {
            if let oldest = evidence.min(by: { ($0.value.last?.time ?? .zero) < ($1.value.last?.time ?? .zero) })?.key {
                evidence.removeValue(forKey: oldest)
            }
        }
        evidence[client, default: []].append(item)
        if let count = evidence[client]?.count, count > Engine.evidencePerClient { evidence[client]?.removeFirst(count - Engine.evidencePerClient) }
    }

    // MARK: Reasons

    private func reasonCode(_ reason: VerdictReason) -> ReasonCode {
        switch reason {
        case .learnedPeer: return .learnedPeer
        case .timeLock: return .timeLock
        case .signature(let id):
            if let index = reasonIndex[id] { return .signature(index) }
            reasonNames.append(id)
            reasonIndex[id] = reasonNames.count - 1
            return .signature(reasonNames.count - 1)
        }
    }

    private func reasonText(_ code: ReasonCode) -> String? {
        if code == .none { return nil }
        if code == .learnedPeer { return VerdictReason.learnedPeer.description }
        if code == .timeLock { return VerdictReason.timeLock.description }
        if let index = code.signatureIndex, index < reasonNames.count { return VerdictReason.signature(reasonNames[index]).description }
        return nil
    }

    // MARK: Stats

    public func statsEvent() -> StatsEvent {
        var anomalies: [String: UInt64] = [:]
        for (kind, count) in counters.anomalies { anomalies[kind.rawValue] = count }
        return StatsEvent(timestamp: now, packets: counters.packets, malformed: counters.malformed, anomalies: anomalies,
                          flows: counters.flows, drops: counters.drops, rejects: counters.rejects, wouldDrop: counters.wouldDrop,
                          perPlugin: counters.perPlugin, perSignature: counters.perSignature, locks: counters.locks,
                          learned: counters.learned, injected: counters.injected, learnRefused: counters.learnRefused,
                          flowsEvicted: counters.flowsEvicted)
    }

    public var activeFlowCount: Int { flows.count }
    public var lockedClientCount: Int { locks.count }
    public var learnedCount: Int { learned.count }

    static func allBits(_ count: Int) -> UInt32 { count >= 32 ? .max : (UInt32(1) << UInt32(count)) - 1 }
}

extension Array {
    subscript(safe index: Int) -> Element? { index >= 0 && index < count ? self[index] : nil }
}
