import ArgumentParser
import PluginAPI
import Simulators

#if canImport(Glibc)
import Glibc
#endif

/// Stands in for FastTrack supernodes and peers on real sockets, for the gateway lab.
struct FastTrackPeerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fasttrack-peer",
        abstract: "Answer as FastTrack supernodes and peers on real sockets.",
        discussion: """
            On each --listen address and port, answers pings with a supernode pong (0x28; with \
            --ordinary a flagged 0x29), accepts TCP connections and answers the 12-byte session \
            opening with 8 bytes, serves HTTP downloads with Kazaa's reply headers (or the busy \
            reply with --busy), and requests the file when a firewalled uploader pushes (GIVE). \
            Prints one line per event, then a JSON summary line.
            """
    )

    @Option(name: .customLong("listen"), help: ArgumentHelp("An address and port to answer on, UDP and TCP (repeatable).", valueName: "IP:PORT"))
    var listen: [String] = []

    @Option(help: "The network name it answers with when a ping carries none it can read.")
    var network = "KaZaA"

    @Flag(help: "Answer pings as an ordinary node (a flagged 0x29 pong) instead of a supernode.")
    var ordinary = false

    @Flag(help: "Answer downloads with the busy reply (503).")
    var busy = false

    @Option(help: ArgumentHelp("The supernode it names in X-Kazaa-SupernodeIP.", valueName: "IP:PORT"))
    var supernodeIp = "198.51.100.214:2093"

    @Option(help: "Seconds to run.")
    var duration: Double = 60

    @Option(help: "Random seed.")
    var seed: UInt64 = 2

    func validate() throws {
        guard !listen.isEmpty else { throw ValidationError("give at least one --listen ip:port") }
        for text in listen + [supernodeIp] where Endpoint(text) == nil { throw ValidationError("'\(text)' is not ip:port") }
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
    }

    func run() throws {
        var peers: [LiveFastTrackPeer.Node] = []
        for (index, text) in listen.enumerated() {
            guard let endpoint = Endpoint(text), let supernode = Endpoint(supernodeIp) else { continue }
            var configuration = FastTrackPeer.Configuration(endpoint: endpoint, supernode: supernode)
            configuration.network = network
            configuration.isSupernode = !ordinary
            configuration.busy = busy
            configuration.seed = seed &+ UInt64(index)
            peers.append(try LiveFastTrackPeer.Node(peer: FastTrackPeer(configuration), endpoint: endpoint))
        }
        var runner = LiveFastTrackPeer(nodes: peers)
        Output.line(runner.run(for: Seconds(duration)))
    }
}

/// Drives `FastTrackPeer` models with real sockets: a UDP socket and a TCP listener per address.
struct LiveFastTrackPeer {
    struct Node {
        var peer: FastTrackPeer
        let udp: DatagramSocket
        let listener: ListeningSocket

        init(peer: FastTrackPeer, endpoint: Endpoint) throws {
            self.peer = peer
            udp = try DatagramSocket(bind: endpoint)
            listener = try ListeningSocket(bind: endpoint)
        }
    }

    private var nodes: [Node]
    private var streams: [(node: Int, socket: StreamSocket, state: FastTrackPeer.Connection, closing: Bool)] = []
    private var log = EventLog()
    private var pings = 0, accepted = 0, requests = 0

    init(nodes: [Node]) { self.nodes = nodes }

    mutating func run(for duration: Seconds) -> String {
        let start = Sockets.now()
        log.start = start
        let end = start + duration
        while Sockets.now() < end {
            var requests: [(fd: Int32, events: Int16)] = []
            for node in nodes {
                requests.append((node.udp.fd, Int16(POLLIN)))
                requests.append((node.listener.fd, Int16(POLLIN)))
            }
            for stream in streams {
                requests.append((stream.socket.fd, Int16(POLLIN) | (stream.socket.pending.isEmpty ? 0 : Int16(POLLOUT))))
            }
            let ready = Sockets.poll(requests, timeout: min(Seconds(1), end - Sockets.now()))
            let now = Sockets.now()
            for index in nodes.indices {
                if ready[index * 2] & Int16(POLLIN) != 0 { answerDatagrams(index, at: now) }
                if ready[index * 2 + 1] & Int16(POLLIN) != 0 {
                    for _ in 0..<64 {
                        guard let socket = nodes[index].listener.accept() else { break }
                        accepted += 1
                        log.write(now, "\(nodes[index].listener.local): tcp from \(socket.remote)")
                        streams.append((index, socket, FastTrackPeer.Connection(), false))
                    }
                }
            }
            let base = nodes.count * 2
            var finished: [Int] = []
            for offset in 0..<min(streams.count, ready.count - base) {
                let events = ready[base + offset]
                guard events != 0 else { continue }
                if events & Int16(POLLOUT) != 0 { streams[offset].socket.flush() }
                guard events & Int16(POLLIN | POLLHUP | POLLERR) != 0 else { continue }
                switch streams[offset].socket.read() {
                case .data(let bytes):
                    var state = streams[offset].state
                    let reply = nodes[streams[offset].node].peer.receive(bytes, on: &state)
                    streams[offset].state = state
                    if let line = FastTrackWire.firstLine(bytes), line.hasPrefix("GET ") || line.hasPrefix("HEAD ") || line.hasPrefix("GIVE ") {
                        self.requests += 1
                        log.write(now, "\(streams[offset].socket.remote): '\(line)'")
                    }
                    if let reply {
                        streams[offset].socket.write(reply.bytes)
                        if reply.close { streams[offset].closing = true }
                    }
                case .closed:
                    finished.append(offset)
                case .wouldBlock:
                    break
                }
            }
            // Close connections whose last reply is written, and those the other side closed.
            for offset in streams.indices where streams[offset].closing && streams[offset].socket.pending.isEmpty {
                finished.append(offset)
            }
            for offset in Set(finished).sorted(by: >) {
                streams[offset].socket.close()
                streams.remove(at: offset)
            }
        }
        for stream in streams { stream.socket.close() }
        return "{\"summary\":\"fasttrack-peer\",\"pings_answered\":\(pings),\"tcp_accepted\":\(accepted),\"http_requests\":\(requests)}"
    }

    private mutating func answerDatagrams(_ index: Int, at now: Timestamp) {
        // Bounded: what is queued now, at most a burst's worth.
        for _ in 0..<512 {
            guard let (from, payload) = nodes[index].udp.receive() else { return }
            guard let answer = nodes[index].peer.answer(payload) else { continue }
            pings += 1
            do {
                try nodes[index].udp.send(answer, to: from)
                log.write(now, "\(nodes[index].udp.local): ping from \(from), answered with \(answer.count) bytes")
            } catch {
                log.write(now, "\(nodes[index].udp.local): answer to \(from) failed: \(error)")
            }
        }
    }
}
