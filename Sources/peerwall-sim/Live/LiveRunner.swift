import PluginAPI
import Simulators

#if canImport(Glibc)
import Glibc
#endif

/// Runs a `LiveService` over real sockets: it listens, accepts, reads, and carries out what the
/// service answers, in one thread with `poll`, until the duration runs out (or for ever).
final class LiveRunner {
    private struct Connection {
        let socket: StreamSocket
        /// Closed by the service: ends once its last bytes are written.
        var closing = false
    }

    private var listeners: [(socket: ListeningSocket, tag: Int)] = []
    private var connections: [Int: Connection] = [:]
    private var nextID = 1
    private let service: LiveService

    init(service: LiveService) { self.service = service }

    func listen(on endpoint: Endpoint, tag: Int) throws {
        listeners.append((try ListeningSocket(bind: endpoint), tag))
        Output.line("listening on \(endpoint)")
    }

    /// Serves until `duration` seconds have passed; nil serves until the process is stopped.
    func run(duration: Double?) {
        let deadline = duration.map { Sockets.now() + Seconds($0) }
        while deadline.map({ Sockets.now() < $0 }) ?? true {
            let ids = connections.keys.sorted()
            let requests = listeners.map { ($0.socket.fd, Int16(POLLIN)) } + ids.compactMap { id in
                connections[id].map { ($0.socket.fd, Int16($0.socket.pending.isEmpty ? POLLIN : POLLIN | POLLOUT)) }
            }
            let events = Sockets.poll(requests, timeout: Seconds(0.2))
            for (index, listener) in listeners.enumerated() where events[index] != 0 {
                while let socket = listener.socket.accept() {
                    let id = nextID
                    nextID += 1
                    connections[id] = Connection(socket: socket)
                    apply(service.accepted(id, listener: listener.tag, from: socket.remote))
                }
            }
            for (offset, id) in ids.enumerated() where events[listeners.count + offset] != 0 {
                guard let connection = connections[id] else { continue }
                guard connection.socket.flush() else {
                    drop(id)
                    continue
                }
                if connection.closing {
                    if connection.socket.pending.isEmpty { connections.removeValue(forKey: id) }
                    continue
                }
                switch connection.socket.read() {
                case .data(let bytes): apply(service.received(id, bytes))
                case .closed: drop(id)
                case .wouldBlock: break
                }
            }
        }
    }

    private func drop(_ id: Int) {
        guard connections.removeValue(forKey: id) != nil else { return }
        service.closed(id)
    }

    private func apply(_ outputs: [LiveOutput]) {
        for output in outputs {
            switch output {
            case let .send(id, bytes):
                connections[id]?.socket.write(bytes)
            case .close(let id):
                guard var connection = connections[id], !connection.closing else { continue }
                service.closed(id)
                if connection.socket.pending.isEmpty {
                    connections.removeValue(forKey: id)
                } else {
                    connection.closing = true
                    connections[id] = connection
                }
            case .log(let line):
                Output.line(line)
            }
        }
    }
}

/// Wall-clock seconds, for the live clients' deadlines.
enum Clock {
    static var now: Double { Sockets.now().seconds }
}
