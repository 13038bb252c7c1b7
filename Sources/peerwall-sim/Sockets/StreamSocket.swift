import PluginAPI

#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking TCP connection, with a buffer for what could not be written yet.
final class StreamSocket {
    enum ReadResult {
        case data([UInt8])
        case closed
        case wouldBlock
    }

    let fd: Int32
    let remote: Endpoint
    private(set) var pending: [UInt8] = []
    private var isClosed = false

    private init(fd: Int32, remote: Endpoint) {
        self.fd = fd
        self.remote = remote
    }

    /// Starts connecting; the connection is made when the socket becomes writable.
    static func connect(to remote: Endpoint, from local: IPAddress? = nil) throws -> StreamSocket {
        let fd = socket(SocketAddress.family(remote), Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        let stream = StreamSocket(fd: fd, remote: remote)
        try Sockets.setNonBlocking(fd)
        if let local {
            guard SocketAddress.with(Endpoint(local, 0), { Glibc.bind(fd, $0, $1) }) == 0 else { throw SocketError("bind \(local)") }
        }
        let result = SocketAddress.with(remote) { Glibc.connect(fd, $0, $1) }
        guard result == 0 || errno == EINPROGRESS else { throw SocketError("connect \(remote)") }
        return stream
    }

    static func accepted(fd: Int32, remote: Endpoint) throws -> StreamSocket {
        try Sockets.setNonBlocking(fd)
        return StreamSocket(fd: fd, remote: remote)
    }

    deinit { close() }

    /// 0 once connected, else the error that ended the attempt.
    var connectError: Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return errno }
        return code
    }

    /// Queues `bytes` and writes what the kernel takes now.
    func write(_ bytes: [UInt8]) {
        pending += bytes
        flush()
    }

    /// Writes queued bytes; returns false when the connection failed.
    @discardableResult
    func flush() -> Bool {
        while !pending.isEmpty {
            let written = pending.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 { return errno == EAGAIN || errno == EWOULDBLOCK }
            pending.removeFirst(written)
        }
        return true
    }

    func read() -> ReadResult {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 { return .data(Array(buffer[0..<count])) }
        if count == 0 { return .closed }
        return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .closed
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }
}
