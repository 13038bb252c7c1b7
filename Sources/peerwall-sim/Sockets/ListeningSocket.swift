import PluginAPI

#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking TCP listening socket.
final class ListeningSocket {
    let fd: Int32
    let local: Endpoint

    init(bind endpoint: Endpoint) throws {
        let fd = try Sockets.bound(Int32(SOCK_STREAM.rawValue), to: endpoint, label: "tcp")
        guard listen(fd, 64) == 0 else {
            Glibc.close(fd)
            throw SocketError("listen \(endpoint)")
        }
        self.fd = fd
        local = endpoint
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
