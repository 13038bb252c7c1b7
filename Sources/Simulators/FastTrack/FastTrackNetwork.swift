import PacketKit
import PluginAPI

/// A small network in virtual time, for captures: FastTrack clients on the LAN (driven by their
/// `FastTrackClient` models), FastTrack peers and web servers outside, LAN hosts browsing, and a
/// gateway between them. It records every packet as seen on the gateway's LAN-facing queue: what
/// the clients send (whether or not the gateway lets it through) and what comes back from outside.
/// Packets the gateway itself sends (spoofed replies, probes) are not recorded: an engine
/// replaying the capture makes those itself.
///
/// The generator cannot react to what the engine replaying the capture decides, so the gateway
/// is modelled here, in one of three ways, to decide what the clients experience.
public struct FastTrackNetwork {
    public enum Gateway: Sendable {
        /// Nothing in the way: pings reach peers, every connection reaches its server.
        case open
        /// peerwall's FastTrack rules as documented: pings are dropped, their peers learned and
        /// answered with a spoofed pong (`spoof`: 0x29, 0x28 or none); a SYN or datagram to a
        /// learned peer, or a Kazaa HTTP message, locks the client for `lockSeconds`; a locked
        /// client's new connections go unanswered; at half the lock time it is probed with its
        /// own ping, and its answer re-arms the lock.
        case peerwall(lockSeconds: Int, spoof: UInt8?)
    }

    /// A web page fetched by a LAN host at a given time.
    public struct WebVisit: Sendable {
        public var client: IPAddress
        public var after: Seconds
        public var server: Endpoint
        public var request: [UInt8]
        public var response: [UInt8]

        public init(client: IPAddress, after: Seconds, server: Endpoint, path: String = "/", host: String = "www.example.com",
                    response: [UInt8]? = nil) {
            self.client = client
            self.after = after
            self.server = server
            request = Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)\r\nAccept: */*\r\nConnection: close\r\n\r\n".utf8)
            let body = "<html><head><title>\(host)</title></head><body><p>Welcome.</p></body></html>\n"
            self.response = response ?? Array("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8)
        }
    }

    /// A client on the LAN, what it runs, and when it starts and quits.
    public struct ClientHost: Sendable {
        public var address: IPAddress
        public var client: FastTrackClient
        public var start: Seconds
        public var quit: Seconds?

        public init(address: IPAddress, client: FastTrackClient, start: Seconds = .zero, quit: Seconds? = nil) {
            self.address = address
            self.client = client
            self.start = start
            self.quit = quit
        }
    }

    public static let gatewayAddress = IPAddress(192, 168, 1, 1)
    public static let probePort: UInt16 = 1214

    public let gateway: Gateway
    public let start: Timestamp
    /// Round-trip time to hosts outside.
    public var roundTrip = Seconds(0.04)

    private var hosts: [ClientHost]
    private var peers: [Endpoint: (peer: FastTrackPeer, onlineFrom: Seconds)] = [:]
    private var webVisits: [WebVisit] = []
    private var extraFrames: [(Seconds, [UInt8])] = []
    private var random: SimulationRandom

    // Simulation state.
    private var now: Timestamp
    private var queue: [(time: Timestamp, order: Int, event: Event)] = []
    private var order = 0
    private var frames: [(time: Timestamp, order: Int, packet: [UInt8])] = []
    private var connections: [ConnectionKey: Link] = [:]
    private var nextPort: [IPAddress: UInt16] = [:]
    public private(set) var notes: [String] = []

    // The modelled gateway's state.
    private var learned: Set<Endpoint> = []
    private var locks: [IPAddress: GatewayLock] = [:]

    struct GatewayLock {
        var until: Timestamp
        var armedAt: Timestamp
    }

    struct ConnectionKey: Hashable {
        let host: Int
        let id: Int
    }

    /// One TCP connection of a client (`host` ≥ 0) or of a browsing LAN host (`host` < 0).
    struct Link {
        var tcp: TCPConversation
        var established = false
        var closed = false
        var stalled = false
        var synAttempts = 1
        var peerConnection = FastTrackPeer.Connection()
        /// For web visits: the response to send.
        var webResponse: [UInt8]?
    }

    enum Event {
        case start(Int)
        case stop(Int)
        case timers(Int)
        case deliver(Int, FastTrackClient.Event)
        case synRetry(ConnectionKey, Timestamp)
        case connectTimeout(ConnectionKey)
        case probe(IPAddress, Timestamp)
        case visit(Int)
        case frame([UInt8])
    }

    public init(gateway: Gateway, start: Timestamp = FastTrackNetwork.defaultStart, seed: UInt64 = 7) {
        self.gateway = gateway
        self.start = start
        now = start
        hosts = []
        random = SimulationRandom(seed: seed)
    }

    /// 2026-11-21T10:00:00Z.
    public static let defaultStart = Timestamp(microseconds: 1_795_255_200_000_000)

    // MARK: Cast

    public mutating func add(_ host: ClientHost) { hosts.append(host) }

    public mutating func add(_ peer: FastTrackPeer, onlineFrom: Seconds = .zero) {
        peers[peer.configuration.endpoint] = (peer, onlineFrom)
    }

    public mutating func add(_ visit: WebVisit) { webVisits.append(visit) }

    /// A packet recorded as is, at `after` seconds.
    public mutating func add(frame packet: [UInt8], after: Seconds) { extraFrames.append((after, packet)) }

    // MARK: Running

    /// Runs the network for `duration` and returns the recorded packets in time order.
    public mutating func run(for duration: Seconds) -> [CaptureFrame] {
        let end = start + duration
        for (index, host) in hosts.enumerated() {
            schedule(.start(index), at: start + host.start)
            if let quit = host.quit { schedule(.stop(index), at: start + quit) }
        }
        for (index, visit) in webVisits.enumerated() { schedule(.visit(index), at: start + visit.after) }
        for (after, packet) in extraFrames { schedule(.frame(packet), at: start + after) }
        // Bounded: a scenario is a few thousand events.
        for _ in 0..<1_000_000 {
            guard let next = queue.indices.min(by: { (queue[$0].time, queue[$0].order) < (queue[$1].time, queue[$1].order) }),
                  queue[next].time <= end else { break }
            let item = queue.remove(at: next)
            now = item.time
            process(item.event)
        }
        return frames.sorted { ($0.time, $0.order) < ($1.time, $1.order) }.map { CaptureFrame(time: $0.time, packet: $0.packet) }
    }

    private mutating func schedule(_ event: Event, at time: Timestamp) {
        order += 1
        queue.append((time, order, event))
    }

    private mutating func record(_ packet: [UInt8], at time: Timestamp) {
        order += 1
        frames.append((time, order, packet))
    }

    private mutating func record(_ packets: [[UInt8]], at time: Timestamp) {
        for packet in packets { record(packet, at: time) }
    }

    private mutating func process(_ event: Event) {
        switch event {
        case let .start(index):
            notes.append("\(now): \(hosts[index].address) starts \(hosts[index].client.configuration.network)")
            perform(index, hosts[index].client.start(at: now))
        case let .stop(index):
            perform(index, hosts[index].client.stop(at: now))
        case let .timers(index):
            perform(index, hosts[index].client.runTimers(at: now))
        case let .deliver(index, clientEvent):
            perform(index, hosts[index].client.handle(clientEvent, at: now))
        case let .synRetry(key, deadline):
            retrySYN(key, deadline: deadline)
        case let .connectTimeout(key):
            guard let link = connections[key], !link.established, !link.closed else { return }
            connections[key]?.closed = true
            if key.host >= 0 { perform(key.host, hosts[key.host].client.handle(.connectFailed(id: key.id), at: now)) }
        case let .probe(client, armedAt):
            probe(client, armedAt: armedAt)
        case let .visit(index):
            visit(index)
        case let .frame(packet):
            record(packet, at: now)
        }
    }

    /// Carries out a client's actions, then wakes it for its next timer.
    private mutating func perform(_ index: Int, _ actions: [FastTrackClient.Action]) {
        let host = hosts[index]
        let listening = Endpoint(host.address, host.client.configuration.listenPort)
        for action in actions {
            switch action {
            case let .datagram(to, payload):
                datagram(index, from: listening, to: to, payload: payload)
            case let .connect(id, to, timeout):
                connect(ConnectionKey(host: index, id: id), from: host.address, to: to, timeout: timeout)
            case let .send(id, bytes):
                send(ConnectionKey(host: index, id: id), bytes)
            case let .close(id):
                close(ConnectionKey(host: index, id: id))
            case let .note(text):
                notes.append("\(now): \(host.address): \(text)")
            }
        }
        if let next = hosts[index].client.nextDeadline {
            // One wake-up per deadline is enough; duplicates are harmless (nothing is due).
            if !queue.contains(where: { if case .timers(index) = $0.event, $0.time == next { return true } else { return false } }) {
                schedule(.timers(index), at: max(next, now))
            }
        }
    }

    // MARK: UDP

    private mutating func datagram(_ index: Int, from source: Endpoint, to destination: Endpoint, payload: [UInt8]) {
        record(PacketBuilder.udp(from: source, to: destination, payload: payload), at: now)
        let kind = FastTrackWire.classify(payload)
        if case .peerwall(_, let spoof) = gateway {
            if destination.address == FastTrackNetwork.gatewayAddress {
                // An answer to the probe keeps the lock.
                if case .pong = kind, isLocked(source.address) { arm(source.address) }
                return
            }
            let isPing: Bool
            if case .ping = kind { isPing = true } else { isPing = false }
            if learned.contains(destination) {
                arm(source.address)
            } else if !isPing {
                deliverDatagram(index, from: source, to: destination, payload: payload)
                return
            }
            guard isPing else { return }
            learned.insert(destination)
            if let spoof, case let .ping(network) = kind {
                let reply = spoof == 0x28
                    ? FastTrackWire.supernodePong(network: network)
                    : FastTrackWire.pong(id: UInt32(truncatingIfNeeded: destination.address.low &+ UInt64(destination.port)))
                schedule(.deliver(index, .datagram(from: destination, payload: reply)), at: now + Seconds(0.0005))
            }
            return
        }
        deliverDatagram(index, from: source, to: destination, payload: payload)
    }

    private mutating func deliverDatagram(_ index: Int, from source: Endpoint, to destination: Endpoint, payload: [UInt8]) {
        guard let entry = peers[destination], now >= start + entry.onlineFrom else { return }
        var peer = entry.peer
        let answer = peer.answer(payload)
        peers[destination] = (peer, entry.onlineFrom)
        guard let answer else { return }
        let arrival = now + roundTrip
        record(PacketBuilder.udp(from: destination, to: source, payload: answer), at: arrival)
        schedule(.deliver(index, .datagram(from: destination, payload: answer)), at: arrival)
    }

    // MARK: The modelled gateway

    private func isLocked(_ client: IPAddress) -> Bool {
        guard let lock = locks[client] else { return false }
        return now < lock.until
    }

    /// Locks the client or re-arms its lock; schedules the probe at half the lock time.
    private mutating func arm(_ client: IPAddress) {
        guard case .peerwall(let seconds, _) = gateway, seconds > 0 else { return }
        let duration = Seconds(seconds)
        let until = now + duration
        if var lock = locks[client], now < lock.until {
            lock.until = max(lock.until, until)
            lock.armedAt = now
            locks[client] = lock
        } else {
            locks[client] = GatewayLock(until: until, armedAt: now)
            notes.append("\(now): gateway locks \(client)")
        }
        schedule(.probe(client, now), at: now + duration / 2)
    }

    private mutating func probe(_ client: IPAddress, armedAt: Timestamp) {
        // Only the probe of the latest arming goes out.
        guard let lock = locks[client], lock.armedAt == armedAt, now < lock.until,
              let index = hosts.firstIndex(where: { $0.address == client }) else { return }
        let configuration = hosts[index].client.configuration
        let probe = FastTrackWire.ping(network: configuration.network, encryption: configuration.encryption)
        notes.append("\(now): gateway probes \(client)")
        schedule(.deliver(index, .datagram(from: Endpoint(FastTrackNetwork.gatewayAddress, FastTrackNetwork.probePort), payload: probe)),
                 at: now + Seconds(0.0005))
    }

    /// Whether the modelled gateway lets this SYN through, arming locks as peerwall would.
    private mutating func gatewayPassesSYN(from client: IPAddress, to server: Endpoint) -> Bool {
        guard case .peerwall = gateway else { return true }
        if learned.contains(server) {
            arm(client)
            return false
        }
        return !isLocked(client)
    }

    /// Whether the modelled gateway's HTTP rules catch this message; learns and locks if so.
    private mutating func gatewayCatchesHTTP(_ bytes: [UInt8], client: IPAddress, server: Endpoint) -> Bool {
        guard case .peerwall = gateway else { return false }
        let head = FastTrackWire.headLength(bytes).map { Array(bytes[0..<$0]) } ?? bytes
        let text = String(decoding: head, as: UTF8.self).lowercased()
        let caught = text.hasPrefix("get /.hash=") || text.hasPrefix("give ") || text.contains("\nx-kazaa")
            || text.contains("\nuseragent: kazaaclient") || text.contains("\nserver: kazaaclient")
        guard caught else { return false }
        learned.insert(server)
        arm(client)
        return true
    }

    // MARK: TCP

    private mutating func ephemeralPort(_ address: IPAddress) -> UInt16 {
        // Windows XP picks ephemeral ports from 1025 up.
        let port = nextPort[address] ?? 1100
        nextPort[address] = port >= 4999 ? 1100 : port + 1
        return port
    }

    private mutating func connect(_ key: ConnectionKey, from client: IPAddress, to server: Endpoint, timeout: Seconds) {
        let isn = UInt32(truncatingIfNeeded: random.next())
        var tcp = TCPConversation(client: Endpoint(client, ephemeralPort(client)), server: server, clientISN: isn,
                                  serverISN: UInt32(truncatingIfNeeded: random.next()))
        record(tcp.syn(), at: now)
        connections[key] = Link(tcp: tcp)
        schedule(.connectTimeout(key), at: now + timeout)
        attemptHandshake(key, deadline: now + timeout)
    }

    private mutating func attemptHandshake(_ key: ConnectionKey, deadline: Timestamp) {
        guard var link = connections[key] else { return }
        let client = link.tcp.client.address, server = link.tcp.server
        let reachable = peers[server].map { now >= start + $0.onlineFrom } ?? false
        if gatewayPassesSYN(from: client, to: server), reachable {
            let arrival = now + roundTrip
            record(link.tcp.synAck(), at: arrival)
            record(link.tcp.ack(from: .client), at: arrival)
            link.established = true
            connections[key] = link
            schedule(.deliver(key.host, .connected(id: key.id)), at: arrival)
            return
        }
        // Unanswered: the client's stack retransmits the SYN after 3 s, then 6 s, until its timeout.
        let wait = Seconds(3 * (1 << min(link.synAttempts - 1, 4)))
        if now + wait < deadline { schedule(.synRetry(key, deadline), at: now + wait) }
    }

    private mutating func retrySYN(_ key: ConnectionKey, deadline: Timestamp) {
        guard var link = connections[key], !link.established, !link.closed else { return }
        link.synAttempts += 1
        // A retransmission carries the same sequence number as the first SYN.
        record(link.tcp.segment(from: .client, sequence: link.tcp.nextSequence(.client) &- 1, data: [], flags: .syn), at: now)
        connections[key] = link
        attemptHandshake(key, deadline: deadline)
    }

    private mutating func send(_ key: ConnectionKey, _ bytes: [UInt8]) {
        guard var link = connections[key], link.established, !link.closed, !link.stalled else { return }
        record(link.tcp.send(bytes, from: .client, segmentSizes: [1448]), at: now)
        let client = link.tcp.client.address, server = link.tcp.server
        if gatewayCatchesHTTP(bytes, client: client, server: server) {
            stall(key, &link, lastData: bytes)
            return
        }
        let arrival = now + roundTrip
        record(link.tcp.ack(from: .server), at: arrival)
        guard var entry = peers[server] else {
            connections[key] = link
            return
        }
        let reply = entry.peer.receive(bytes, on: &link.peerConnection)
        peers[server] = entry
        guard let reply else {
            connections[key] = link
            return
        }
        if !reply.bytes.isEmpty {
            if gatewayCatchesHTTP(reply.bytes, client: client, server: server) {
                // The reply is dropped at the gateway: the client sees nothing more.
                record(link.tcp.segment(from: .server, sequence: link.tcp.nextSequence(.server), data: Array(reply.bytes.prefix(1448))), at: arrival)
                stall(key, &link, lastData: nil)
                return
            }
            record(link.tcp.send(reply.bytes, from: .server, segmentSizes: [1448]), at: arrival)
            record(link.tcp.ack(from: .client), at: arrival)
            schedule(.deliver(key.host, .received(id: key.id, bytes: reply.bytes)), at: arrival)
        }
        if reply.close {
            record(link.tcp.fin(from: .server), at: arrival)
            record(link.tcp.ack(from: .client), at: arrival)
            record(link.tcp.fin(from: .client), at: arrival)
            record(link.tcp.ack(from: .server), at: arrival + roundTrip)
            link.closed = true
            schedule(.deliver(key.host, .closed(id: key.id)), at: arrival)
        }
        connections[key] = link
    }

    /// Data the gateway drops: the sender retransmits it twice, then resets the connection.
    private mutating func stall(_ key: ConnectionKey, _ link: inout Link, lastData: [UInt8]?) {
        link.stalled = true
        if let data = lastData {
            let sequence = link.tcp.nextSequence(.client) &- UInt32(truncatingIfNeeded: data.count)
            let first = Array(data.prefix(1448))
            record(link.tcp.segment(from: .client, sequence: sequence, data: first), at: now + Seconds(1))
            record(link.tcp.segment(from: .client, sequence: sequence, data: first), at: now + Seconds(3))
        }
        record(link.tcp.reset(from: .client), at: now + Seconds(7))
        link.closed = true
        connections[key] = link
        if key.host >= 0 { schedule(.deliver(key.host, .closed(id: key.id)), at: now + Seconds(7)) }
    }

    private mutating func close(_ key: ConnectionKey) {
        guard var link = connections[key], !link.closed else { return }
        link.closed = true
        if link.established && !link.stalled {
            record(link.tcp.close(initiatedBy: .client), at: now)
        }
        connections[key] = link
    }

    // MARK: Browsing

    private mutating func visit(_ index: Int) {
        let visit = webVisits[index]
        let key = ConnectionKey(host: -1 - index, id: 0)
        var tcp = TCPConversation(client: Endpoint(visit.client, ephemeralPort(visit.client)), server: visit.server,
                                  clientISN: UInt32(truncatingIfNeeded: random.next()), serverISN: UInt32(truncatingIfNeeded: random.next()))
        record(tcp.syn(), at: now)
        guard gatewayPassesSYN(from: visit.client, to: visit.server) else {
            // Refused: the browser's stack retransmits twice and gives up.
            let sequence = tcp.nextSequence(.client) &- 1
            for wait in [3.0, 9.0] {
                record(tcp.segment(from: .client, sequence: sequence, data: [], flags: .syn), at: now + Seconds(wait))
            }
            connections[key] = Link(tcp: tcp, closed: true)
            return
        }
        var time = now + roundTrip
        record(tcp.synAck(), at: time)
        record(tcp.ack(from: .client), at: time)
        record(tcp.send(visit.request, from: .client, segmentSizes: [1448]), at: time)
        time = time + roundTrip
        record(tcp.send(visit.response, from: .server, segmentSizes: [1448]), at: time)
        record(tcp.ack(from: .client), at: time)
        record(tcp.close(initiatedBy: .server), at: time + Seconds(0.001))
        connections[key] = Link(tcp: tcp, established: true, closed: true)
    }
}
