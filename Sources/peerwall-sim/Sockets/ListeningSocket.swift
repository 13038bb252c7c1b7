import PluginAPI

#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking TCP listening socket.
final class ListeningSocket {
    let fd: Int32
    let local: Endpoint

    init(bind endpoint: Endpoint) throws {
        let fd = socket(SocketAddress.family(endpoint), Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        self.fd = fd
        local = endpoint
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        try Sockets.setNonBlocking(fd)
        guard SocketAddress.with(endpoint, { Glibc.bind(fd, $0, $1) }) == 0 else {
            let error = SocketError("bind \(endpoint) (tcp)")
            Glibc.close(fd)
            throw error
        }
        guard listen(fd, 64) == 0 else { throw SocketError("listen \(endpoint)") }
    }

    deinit { Glibc.close(fd) }

    func accept() -> StreamSocket? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let client = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd, $0, &length) }
        }
        guard client >= 0 else { return nil }
        guard let remote = SocketAddress.endpoint(storage), let stream = try? StreamSocket.accepted(fd: client, remote: remote) else {
            Glibc.close(client)
            return nil
        }
        return stream
    }
}
