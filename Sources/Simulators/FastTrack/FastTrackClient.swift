import PluginAPI

/// A FastTrack client (Kazaa, Grokster, iMesh) as the research describes its behaviour, without
/// any I/O: it is told what happens (`handle`, `runTimers`) and answers with what it does
/// (`Action`s). The packet generator drives it in virtual time; `peerwall-sim fasttrack-client`
/// drives it with real sockets.
///
/// Its modes:
/// 1. UDP discovery: a burst of pings from its listening port to its cached peer list; each
///    supernode pong (0x28) gets a TCP connection, a flagged pong (0x29) the UDP follow-up
///    (0x2A). Plain pongs say UDP works but invite no connection: the client stays in this mode
///    and pings its list again now and then.
/// 2. When no ping is answered (UDP seems blocked) or UDP is disabled: parallel TCP connections
///    with the 12-byte opening, to cached and never-pinged addresses.
/// 3. When those fail: one connection at a time, each with a few seconds' timeout.
/// It answers every ping sent to its UDP port (peers' and the gateway's probes alike) with a
/// pong, downloads files over HTTP with Kazaa's headers and pushes (GIVE) to requesters.
public struct FastTrackClient: Sendable {
    public struct Download: Sendable, Hashable {
        /// When, after the client starts.
        public var after: Seconds
        public var peer: Endpoint
        public var hash: [UInt8]
        public var title: String
        public var range: ClosedRange<Int>
        public var httpVersion: String

        public init(after: Seconds, peer: Endpoint, hash: [UInt8], title: String, range: ClosedRange<Int> = 0...262_143,
                    httpVersion: String = "1.1") {
            self.after = after
            self.peer = peer
            self.hash = hash
            self.title = title
            self.range = range
            self.httpVersion = httpVersion
        }
    }

    public struct Push: Sendable, Hashable {
        public var after: Seconds
        /// The requester the firewalled client connects out to.
        public var requester: Endpoint
        public var pushID: UInt32

        public init(after: Seconds, requester: Endpoint, pushID: UInt32) {
            self.after = after
            self.requester = requester
            self.pushID = pushID
        }
    }

    public struct Configuration: Sendable {
        public var listenPort: UInt16 = 1214
        /// "KaZaA", "Grokster", "fileshare" (iMesh), "MusicCity".
        public var network = "KaZaA"
        public var encryption: UInt32 = 0x29
        public var username = "defaultuser"
        /// The address the client announces as its own (`X-Kazaa-IP`).
        public var address = IPAddress(0, 0, 0, 0)
        /// The cached peer list: pinged in mode 1, tried first in modes 2 and 3.
        public var peers: [Endpoint] = []
        /// Addresses tried only over TCP (a built-in list the client never pings).
        public var hiddenPeers: [Endpoint] = []
        public var udpEnabled = true
        /// How long the client waits for any pong before it takes UDP to be blocked.
        public var discoveryTimeout = Seconds(15)
        /// How often a client kept in UDP mode pings its list again.
        public var repingInterval = Seconds(60)
        /// Pings of one burst go out this far apart.
        public var pingSpacing = Seconds(0.002)
        public var parallelConnections = 8
        public var parallelConnectTimeout = Seconds(21)
        public var serialConnectTimeout = Seconds(4)
        /// The pause before a new round after every address failed.
        public var retryPause = Seconds(30)
        public var downloads: [Download] = []
        public var pushes: [Push] = []
        public var seed: UInt64 = 1

        public init() {}
    }

    public enum Mode: String, Sendable {
        case idle, discovery, udpOnly, parallelTCP, serialTCP, session, stopped
    }

    public enum Action: Sendable, Equatable {
        /// A datagram from the client's listening port.
        case datagram(to: Endpoint, payload: [UInt8])
        /// Open a TCP connection; `connected` or `connectFailed` follows (by `timeout` at the latest).
        case connect(id: Int, to: Endpoint, timeout: Seconds)
        case send(id: Int, bytes: [UInt8])
        case close(id: Int)
        /// What the client is doing, for logs.
        case note(String)
    }

    public enum Event: Sendable, Equatable {
        case datagram(from: Endpoint, payload: [UInt8])
        case connected(id: Int)
        case connectFailed(id: Int)
        case received(id: Int, bytes: [UInt8])
        /// The far end closed or reset the connection.
        case closed(id: Int)
    }

    enum Purpose: Sendable, Equatable {
        case session
        case download(Download)
        case push(Push)
    }

    struct Connection: Sendable {
        let peer: Endpoint
        let purpose: Purpose
        var open = false
        var received: [UInt8] = []
        var stage = 0
    }

    public let configuration: Configuration
    public private(set) var mode: Mode = .idle
    private var random: SimulationRandom
    private var connections: [Int: Connection] = [:]
    private var nextConnectionID = 1
    /// Peers that answered with a supernode pong, and whether any pong came at all.
    private var supernodes: Set<Endpoint> = []
    private var anyPong = false
    /// TCP candidates of modes 2 and 3, in order.
    private var candidates: [Endpoint] = []
    private var startTime = Timestamp.zero
    private var timers: [(time: Timestamp, kind: TimerKind)] = []

    enum TimerKind: Sendable, Equatable {
        case ping(index: Int)
        case discoveryDeadline
        case reping
        case retry
        case download(Int)
        case push(Int)
    }

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        random = SimulationRandom(seed: configuration.seed)
    }

    /// The earliest time `runTimers` has something to do.
    public var nextDeadline: Timestamp? { timers.map(\.time).min() }

    public var isSessionEstablished: Bool { mode == .session }

    // MARK: Driving

    public mutating func start(at now: Timestamp) -> [Action] {
        startTime = now
        for (index, download) in configuration.downloads.enumerated() { schedule(.download(index), at: now + download.after) }
        for (index, push) in configuration.pushes.enumerated() { schedule(.push(index), at: now + push.after) }
        return configuration.udpEnabled ? beginDiscovery(at: now) : beginParallel(at: now, reason: "UDP disabled")
    }

    /// The user quits: every connection closes, nothing is answered or tried any more.
    public mutating func stop(at now: Timestamp) -> [Action] {
        var actions: [Action] = [.note("quitting")]
        for id in connections.keys.sorted() { actions.append(.close(id: id)) }
        connections.removeAll()
        timers.removeAll()
        mode = .stopped
        return actions
    }

    public mutating func runTimers(at now: Timestamp) -> [Action] {
        var actions: [Action] = []
        // Bounded: each pass removes the timers it runs.
        for _ in 0..<10_000 {
            guard let index = timers.indices.filter({ timers[$0].time <= now }).min(by: { timers[$0].time < timers[$1].time }) else { break }
            let timer = timers.remove(at: index)
            actions += fire(timer.kind, at: timer.time)
        }
        return actions
    }

    public mutating func handle(_ event: Event, at now: Timestamp) -> [Action] {
        guard mode != .stopped else { return [] }
        switch event {
        case let .datagram(from, payload):
            return datagram(from: from, payload: payload, at: now)
        case let .connected(id):
            return connected(id, at: now)
        case let .connectFailed(id):
            guard let connection = connections.removeValue(forKey: id) else { return [] }
            return connectionFailed(connection, at: now)
        case let .received(id, bytes):
            return received(id, bytes, at: now)
        case let .closed(id):
            guard let connection = connections.removeValue(forKey: id) else { return [] }
            if connection.purpose == .session {
                mode = configuration.udpEnabled ? .udpOnly : .parallelTCP
                schedule(configuration.udpEnabled ? .reping : .retry, at: now + configuration.retryPause)
                return [.note("session with \(connection.peer) closed")]
            }
            return []
        }
    }

    // MARK: Discovery

    private mutating func beginDiscovery(at now: Timestamp) -> [Action] {
        mode = .discovery
        anyPong = false
        timers.removeAll { if case .ping = $0.kind { return true } else { return false } }
        for index in configuration.peers.indices {
            schedule(.ping(index: index), at: now + Seconds(microseconds: configuration.pingSpacing.microseconds * Int64(index)))
        }
        schedule(.discoveryDeadline, at: now + configuration.discoveryTimeout)
        return [.note("pinging \(configuration.peers.count) cached peers from port \(configuration.listenPort)")]
    }

    private mutating func datagram(from: Endpoint, payload: [UInt8], at now: Timestamp) -> [Action] {
        switch FastTrackWire.classify(payload) {
        case .ping:
            // Whoever asks (a peer, or the gateway's probe) gets a plain pong.
            let id = UInt32(truncatingIfNeeded: random.next())
            return [.datagram(to: from, payload: FastTrackWire.pong(encryption: configuration.encryption, id: id))]
        case .supernodePong:
            anyPong = true
            supernodes.insert(from)
            guard mode == .discovery || mode == .udpOnly, !hasConnection(to: from),
                  openConnections(.session) < configuration.parallelConnections else { return [] }
            return [.note("\(from) is a supernode")] + connect(to: from, purpose: .session, timeout: configuration.parallelConnectTimeout)
        case let .pong(flagged, id):
            anyPong = true
            return flagged ? [.datagram(to: from, payload: FastTrackWire.followUp(id: id))] : []
        case .followUp, .other:
            return []
        }
    }

    private mutating func fire(_ kind: TimerKind, at now: Timestamp) -> [Action] {
        guard mode != .stopped else { return [] }
        switch kind {
        case let .ping(index):
            // A burst goes out whole, even when an early answer already led to a session.
            guard index < configuration.peers.count else { return [] }
            return [.datagram(to: configuration.peers[index],
                              payload: FastTrackWire.ping(network: configuration.network, encryption: configuration.encryption))]
        case .discoveryDeadline:
            guard mode == .discovery else { return [] }
            if !anyPong { return beginParallel(at: now, reason: "no answer to any ping") }
            mode = .udpOnly
            schedule(.reping, at: now + configuration.repingInterval)
            return [.note(supernodes.isEmpty ? "answered, but no supernode offers a connection: staying in UDP mode" : "connecting to supernodes")]
        case .reping:
            guard mode == .udpOnly || mode == .discovery else { return [] }
            return beginDiscovery(at: now)
        case .retry:
            guard mode == .parallelTCP || mode == .serialTCP || mode == .udpOnly else { return [] }
            return configuration.udpEnabled ? beginDiscovery(at: now) : beginParallel(at: now, reason: "retrying")
        case let .download(index):
            let download = configuration.downloads[index]
            return [.note("downloading \(download.title) from \(download.peer)")]
                + connect(to: download.peer, purpose: .download(download), timeout: configuration.parallelConnectTimeout)
        case let .push(index):
            let push = configuration.pushes[index]
            return [.note("pushing to \(push.requester)")]
                + connect(to: push.requester, purpose: .push(push), timeout: configuration.parallelConnectTimeout)
        }
    }

    // MARK: TCP modes

    private mutating func beginParallel(at now: Timestamp, reason: String) -> [Action] {
        mode = .parallelTCP
        candidates = configuration.peers + configuration.hiddenPeers
        var actions: [Action] = [.note("\(reason): parallel TCP to \(min(candidates.count, configuration.parallelConnections)) of \(candidates.count) addresses")]
        for _ in 0..<configuration.parallelConnections {
            guard !candidates.isEmpty else { break }
            actions += connect(to: candidates.removeFirst(), purpose: .session, timeout: configuration.parallelConnectTimeout)
        }
        if candidates.isEmpty && openConnections(.session) == 0 { schedule(.retry, at: now + configuration.retryPause) }
        return actions
    }

    private mutating func connectionFailed(_ connection: Connection, at now: Timestamp) -> [Action] {
        guard connection.purpose == .session else { return [.note("could not reach \(connection.peer)")] }
        switch mode {
        case .parallelTCP:
            if !candidates.isEmpty {
                return connect(to: candidates.removeFirst(), purpose: .session, timeout: configuration.parallelConnectTimeout)
            }
            guard openConnections(.session) == 0 else { return [] }
            // Every parallel attempt failed: one at a time, with a short timeout each.
            mode = .serialTCP
            candidates = configuration.peers + configuration.hiddenPeers
            guard !candidates.isEmpty else { return [] }
            return [.note("parallel attempts failed: one connection at a time")]
                + connect(to: candidates.removeFirst(), purpose: .session, timeout: configuration.serialConnectTimeout)
        case .serialTCP:
            if !candidates.isEmpty {
                return connect(to: candidates.removeFirst(), purpose: .session, timeout: configuration.serialConnectTimeout)
            }
            schedule(.retry, at: now + configuration.retryPause)
            return [.note("no peer reachable; retrying in \(configuration.retryPause)")]
        default:
            return []
        }
    }

    private mutating func connect(to peer: Endpoint, purpose: Purpose, timeout: Seconds) -> [Action] {
        let id = nextConnectionID
        nextConnectionID += 1
        connections[id] = Connection(peer: peer, purpose: purpose)
        return [.connect(id: id, to: peer, timeout: timeout)]
    }

    private mutating func connected(_ id: Int, at now: Timestamp) -> [Action] {
        guard var connection = connections[id] else { return [] }
        connection.open = true
        connections[id] = connection
        switch connection.purpose {
        case .session:
            return [.send(id: id, bytes: FastTrackWire.sessionOpening(using: &random))]
        case let .download(download):
            let request = FastTrackWire.downloadRequest(hash: download.hash, host: download.peer, username: configuration.username,
                                                        network: configuration.network, range: download.range,
                                                        version: download.httpVersion)
            return [.send(id: id, bytes: request)]
        case let .push(push):
            return [.send(id: id, bytes: FastTrackWire.give(pushID: push.pushID))]
        }
    }

    private mutating func received(_ id: Int, _ bytes: [UInt8], at now: Timestamp) -> [Action] {
        guard var connection = connections[id] else { return [] }
        connection.received += bytes
        defer { connections[id] = connection }
        switch connection.purpose {
        case .session:
            // The peer's 8 clear bytes, then its encrypted greeting: answer with the encrypted
            // network name; the session is up.
            guard connection.stage == 0, connection.received.count >= 8 else { return [] }
            connection.stage = 1
            // Other attempts of this round are no longer needed.
            var actions: [Action] = []
            // In id order: dictionary order differs from run to run, and captures must not.
            for other in connections.keys.sorted() where other != id && connections[other]?.purpose == .session {
                actions.append(.close(id: other))
            }
            connections = connections.filter { $0.key == id || $0.value.purpose != .session }
            candidates.removeAll()
            mode = .session
            return actions + [.note("session with \(connection.peer)"),
                              .send(id: id, bytes: random.bytes(configuration.network.utf8.count + 1))]
        case .download:
            // The reply head and body; the uploader closes when done.
            return []
        case .push:
            // The requester's GET arrives on our connection: serve it.
            guard connection.stage == 0, FastTrackWire.headLength(connection.received) != nil else { return [] }
            connection.stage = 1
            let size = 16_384
            let body = random.bytes(size)
            let reply = FastTrackWire.partialContentHead(
                range: 0...(size - 1), total: 4_194_304, username: configuration.username, network: configuration.network,
                ip: Endpoint(configuration.address, configuration.listenPort), supernode: configuration.peers.first ?? connection.peer,
                title: "Track")
            return [.send(id: id, bytes: reply + body), .close(id: id)]
        }
    }

    // MARK: Helpers

    private mutating func schedule(_ kind: TimerKind, at time: Timestamp) {
        timers.append((time, kind))
    }

    private func hasConnection(to peer: Endpoint) -> Bool { connections.values.contains { $0.peer == peer } }

    private func openConnections(_ purpose: Purpose) -> Int { connections.values.filter { $0.purpose == purpose }.count }
}
