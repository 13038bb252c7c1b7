import PluginAPI

#if canImport(Glibc)
import Glibc
#endif

/// Waiting forms of the non-blocking sockets, for live clients that go one step at a time:
/// each waits at most its timeout and says what happened.
extension StreamSocket {
    /// Connects, waiting at most `timeout` seconds.
    static func connect(to remote: Endpoint, timeout: Double) throws -> StreamSocket {
        let socket = try StreamSocket.connect(to: remote)
        let events = Sockets.poll([(socket.fd, Int16(POLLOUT))], timeout: Seconds(timeout))
        guard events.first.map({ $0 != 0 }) == true else { throw SocketError("connect \(remote)", code: ETIMEDOUT) }
        let code = socket.connectError
        guard code == 0 else { throw SocketError("connect \(remote)", code: code) }
        return socket
    }

    /// Writes all of `bytes`, waiting at most `timeout` seconds for room.
    func sendAll(_ bytes: [UInt8], timeout: Double = 10) throws {
        write(bytes)
        let deadline = Sockets.now() + Seconds(timeout)
        while !pending.isEmpty {
            guard flush() else { throw SocketError("send \(remote)") }
            if pending.isEmpty { return }
            let left = deadline - Sockets.now()
            guard left > .zero else { throw SocketError("send \(remote)", code: ETIMEDOUT) }
            _ = Sockets.poll([(fd, Int16(POLLOUT))], timeout: left)
        }
    }

    /// What arrives within `timeout` seconds: bytes, `[]` when nothing came, nil when the
    /// connection has ended.
    func receive(timeout: Double) -> [UInt8]? {
        let deadline = Sockets.now() + Seconds(timeout)
        while true {
            switch read() {
            case .data(let bytes): return bytes
            case .closed: return nil
            case .wouldBlock:
                let left = deadline - Sockets.now()
                guard left > .zero else { return [] }
                _ = Sockets.poll([(fd, Int16(POLLIN))], timeout: left)
            }
        }
    }

    /// Reads until `done` says the bytes so far are enough, the connection ends, or `timeout` passes.
    func receive(until done: ([UInt8]) -> Bool, timeout: Double) -> [UInt8] {
        var received: [UInt8] = []
        let deadline = Sockets.now() + Seconds(timeout)
        while !done(received) {
            let left = deadline - Sockets.now()
            guard left > .zero, let chunk = receive(timeout: left.value) else { break }
            received += chunk
        }
        return received
    }
}

extension ListeningSocket {
    /// The next connection, waiting at most `timeout` seconds.
    func accept(timeout: Double) -> StreamSocket? {
        let deadline = Sockets.now() + Seconds(timeout)
        while true {
            if let stream = accept() { return stream }
            let left = deadline - Sockets.now()
            guard left > .zero else { return nil }
            _ = Sockets.poll([(fd, Int16(POLLIN))], timeout: left)
        }
    }
}
