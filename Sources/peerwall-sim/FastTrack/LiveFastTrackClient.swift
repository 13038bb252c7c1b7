import PluginAPI
import Simulators

#if canImport(Glibc)
import Glibc
#endif

/// Drives a `FastTrackClient` model with real sockets and the system clock: one UDP socket on
/// the listening port, one non-blocking TCP socket per connection the model opens.
struct LiveFastTrackClient {
    private var client: FastTrackClient
    private let udp: DatagramSocket
    private let bindAddress: IPAddress?
    private var connections: [Int: (socket: StreamSocket, deadline: Timestamp, connected: Bool)] = [:]
    private var pendingEvents: [FastTrackClient.Event] = []
    private var start = Timestamp.zero
    private var log: EventLog
    private var tally = Tally()

    struct Tally {
        var pingsSent = 0
        var supernodePongs = 0
        var pongs = 0
        var pingsAnswered = 0
        var probesAnswered = 0
        var attempts = 0
        var connected = 0
        var failed = 0
        var bytesReceived = 0
    }

    init(configuration: FastTrackClient.Configuration, bind: IPAddress) throws {
        client = FastTrackClient(configuration)
        udp = try DatagramSocket(bind: Endpoint(bind, configuration.listenPort))
        bindAddress = bind.isUnspecified ? nil : bind
        log = EventLog()
    }

    /// Runs for `duration`; the model quits after `quitAfter` (it then stops answering) while the
    /// sockets stay open. Returns the summary as one JSON line.
    mutating func run(for duration: Seconds, quitAfter: Seconds?) -> String {
        start = Sockets.now()
        log.start = start
        let end = start + duration
        var quitTime = quitAfter.map { start + $0 }
        perform(client.start(at: start))
        // Bounded by time; each pass waits in poll.
        while Sockets.now() < end {
            var now = Sockets.now()
            if let quit = quitTime, now >= quit {
                perform(client.stop(at: now))
                quitTime = nil
            }
            var wake = end
            if let deadline = client.nextDeadline { wake = min(wake, deadline) }
            if let quit = quitTime { wake = min(wake, quit) }
            for entry in connections.values where !entry.connected { wake = min(wake, entry.deadline) }
            let ids = connections.keys.sorted()
            var requests: [(fd: Int32, events: Int16)] = [(udp.fd, Int16(POLLIN))]
            for id in ids {
                guard let entry = connections[id] else { continue }
                var events = Int16(POLLIN)
                if !entry.connected || !entry.socket.pending.isEmpty { events |= Int16(POLLOUT) }
                requests.append((entry.socket.fd, events))
            }
            let ready = Sockets.poll(requests, timeout: max(.zero, wake - now))
            now = Sockets.now()
            if ready[0] & Int16(POLLIN) != 0 {
                // Bounded: drain what is queued now, at most a burst's worth.
                for _ in 0..<512 {
                    guard let (from, payload) = udp.receive() else { break }
                    note(datagram: payload, from: from)
                    pendingEvents.append(.datagram(from: from, payload: payload))
                }
            }
            for (offset, id) in ids.enumerated() {
                let events = ready[offset + 1]
                guard events != 0, var entry = connections[id] else { continue }
                if !entry.connected {
                    guard events & Int16(POLLOUT | POLLERR | POLLHUP) != 0 else { continue }
                    let error = entry.socket.connectError
                    if error == 0 {
                        entry.connected = true
                        connections[id] = entry
                        tally.connected += 1
                        log.write(now, "tcp connected to \(entry.socket.remote)")
                        pendingEvents.append(.connected(id: id))
                    } else {
                        fail(id, reason: String(cString: strerror(error)), at: now)
                    }
                    continue
                }
                if events & Int16(POLLOUT) != 0 { entry.socket.flush() }
                if events & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                    switch entry.socket.read() {
                    case .data(let bytes):
                        tally.bytesReceived += bytes.count
                        pendingEvents.append(.received(id: id, bytes: bytes))
                    case .closed:
                        log.write(now, "tcp closed by \(entry.socket.remote)")
                        entry.socket.close()
                        connections.removeValue(forKey: id)
                        pendingEvents.append(.closed(id: id))
                    case .wouldBlock:
                        break
                    }
                }
            }
            for (id, entry) in connections where !entry.connected && entry.deadline <= now {
                fail(id, reason: "timed out", at: now)
            }
            deliverPending(at: now)
            perform(client.runTimers(at: now))
        }
        for entry in connections.values { entry.socket.close() }
        let t = tally
        return "{\"summary\":\"fasttrack-client\",\"mode\":\"\(client.mode.rawValue)\",\"pings_sent\":\(t.pingsSent),"
            + "\"supernode_pongs\":\(t.supernodePongs),\"pongs\":\(t.pongs),\"pings_answered\":\(t.pingsAnswered),"
            + "\"probes_answered\":\(t.probesAnswered),\"tcp_attempts\":\(t.attempts),\"tcp_connected\":\(t.connected),"
            + "\"tcp_failed\":\(t.failed),\"bytes_received\":\(t.bytesReceived)}"
    }

    private mutating func fail(_ id: Int, reason: String, at now: Timestamp) {
        guard let entry = connections.removeValue(forKey: id) else { return }
        entry.socket.close()
        tally.failed += 1
        log.write(now, "tcp to \(entry.socket.remote) failed: \(reason)")
        pendingEvents.append(.connectFailed(id: id))
    }

    private mutating func deliverPending(at now: Timestamp) {
        // Bounded: events lead to actions, which may lead to at most a few more events.
        for _ in 0..<10_000 {
            guard !pendingEvents.isEmpty else { return }
            let event = pendingEvents.removeFirst()
            perform(client.handle(event, at: now))
        }
    }

    private mutating func perform(_ actions: [FastTrackClient.Action]) {
        let now = Sockets.now()
        for action in actions {
            switch action {
            case let .datagram(to, payload):
                do {
                    try udp.send(payload, to: to)
                    switch FastTrackWire.classify(payload) {
                    case .ping: tally.pingsSent += 1
                    case .pong: log.write(now, "udp pong > \(to)")
                    default: log.write(now, "udp \(payload.count) bytes > \(to)")
                    }
                } catch {
                    log.write(now, "udp > \(to) failed: \(error)")
                }
            case let .connect(id, to, timeout):
                tally.attempts += 1
                do {
                    let socket = try StreamSocket.connect(to: to, from: bindAddress)
                    connections[id] = (socket, now + timeout, false)
                    log.write(now, "tcp connecting to \(to)")
                } catch {
                    tally.failed += 1
                    log.write(now, "tcp to \(to) failed: \(error)")
                    pendingEvents.append(.connectFailed(id: id))
                }
            case let .send(id, bytes):
                guard let entry = connections[id] else { continue }
                entry.socket.write(bytes)
                let line = FastTrackWire.firstLine(bytes).map { "'\($0)'" } ?? "\(bytes.count) bytes"
                log.write(now, "tcp > \(entry.socket.remote): \(line)")
            case let .close(id):
                guard let entry = connections.removeValue(forKey: id) else { continue }
                entry.socket.close()
            case let .note(text):
                log.write(now, text)
            }
        }
    }

    private mutating func note(datagram payload: [UInt8], from: Endpoint) {
        let now = Sockets.now()
        let known = client.configuration.peers.contains(from)
        switch FastTrackWire.classify(payload) {
        case let .ping(network):
            // A client that has quit answers nothing; say so, and count only real answers.
            let answering = client.mode != .stopped
            if answering {
                tally.pingsAnswered += 1
                if !known { tally.probesAnswered += 1 }
            }
            log.write(now, "udp ping (\(network)) < \(from)\(known ? "" : ", a probe"): \(answering ? "answering" : "not answering (quit)")")
        case let .supernodePong(network):
            tally.supernodePongs += 1
            log.write(now, "udp supernode pong (\(network)) < \(from)")
        case let .pong(flagged, _):
            tally.pongs += 1
            log.write(now, "udp pong\(flagged ? " (flagged)" : "") < \(from)")
        default:
            log.write(now, "udp \(payload.count) bytes < \(from)")
        }
    }
}

/// One line per event on standard output, with the seconds since the start.
struct EventLog {
    var start = Timestamp.zero

    func write(_ time: Timestamp, _ text: String) {
        let elapsed = Double((time - start).microseconds) / 1_000_000
        let rounded = (elapsed * 1000).rounded() / 1000
        Output.line("\(rounded) \(text)")
    }
}
