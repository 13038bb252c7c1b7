import PluginAPI

#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking UDP socket bound to one address and port.
final class DatagramSocket {
    let fd: Int32
    let local: Endpoint

    init(bind endpoint: Endpoint) throws {
        fd = try Sockets.bound(Int32(SOCK_DGRAM.rawValue), to: endpoint, label: "udp")
        local = endpoint
    }

    deinit { Glibc.close(fd) }

    func send(_ bytes: [UInt8], to destination: Endpoint) throws {
        let sent = bytes.withUnsafeBytes { buffer in
            SocketAddress.with(destination) { sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), $0, $1) }
        }
        guard sent >= 0 else { throw SocketError("sendto \(destination)") }
    }

    /// The next datagram, or nil when none is waiting.
    func receive() -> (from: Endpoint, payload: [UInt8])? {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = buffer.withUnsafeMutableBytes { raw in
            withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, raw.baseAddress, raw.count, 0, $0, &length) }
            }
        }
        guard count >= 0, let from = SocketAddress.endpoint(storage) else { return nil }
        return (from, Array(buffer[0..<count]))
    }
}
