import Glibc

/// A socket opened inside a named network namespace (`ip netns add NAME`): the calling thread
/// enters the namespace for the `socket()` call only, then returns to its own. The socket stays
/// in that namespace for its whole life, so one process can act as several hosts of the lab.
public struct NamespaceSocket: Sendable {
    public let fd: Int32
    public let family: Int32

    /// A failed socket call, with errno's text.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        public let code: Int32
        init(_ what: String, code: Int32 = errno) {
            self.code = code
            description = "\(what): \(String(cString: strerror(code)))"
        }
    }

    /// What a connection attempt came to.
    public enum ConnectResult: Equatable, Sendable {
        case connected
        /// A reset answered the SYN.
        case refused
        /// Nothing answered in time (a dropped SYN).
        case timedOut
        case failed(Int32)
    }

    /// setns(2): not in Glibc's Swift overlay (a GNU extension), so looked up at run time.
    private static let setns: (@convention(c) (Int32, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
    }()
    private static let newNetworkNamespace: Int32 = 0x4000_0000  // CLONE_NEWNET

    /// Opens a socket of `type` in namespace `name`, IPv6 when `addressExample` contains a colon.
    public static func open(in name: String, for addressExample: String, type: __socket_type) throws -> NamespaceSocket {
        let family = addressExample.contains(":") ? AF_INET6 : AF_INET
        guard let setns else { throw Failure("setns unavailable", code: ENOSYS) }
        let own = Glibc.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        let target = Glibc.open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
        defer {
            if own >= 0 { Glibc.close(own) }
            if target >= 0 { Glibc.close(target) }
        }
        guard own >= 0, target >= 0 else { throw Failure("cannot open network namespace \(name)", code: ENOENT) }
        guard setns(target, newNetworkNamespace) == 0 else { throw Failure("setns \(name)") }
        let fd = Glibc.socket(family, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let error = errno
        // Staying in the lab's namespace by accident would send later traffic from the wrong host.
        guard setns(own, newNetworkNamespace) == 0 else { fatalError("cannot return to the process's own network namespace") }
        guard fd >= 0 else { throw Failure("socket in \(name)", code: error) }
        return NamespaceSocket(fd: fd, family: family)
    }

    public func close() { Glibc.close(fd) }

    /// Binds to `address` (the wildcard when nil) and `port` (0: any).
    public func bind(_ address: String? = nil, port: UInt16) throws {
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let result = withAddress(address ?? (family == AF_INET ? "0.0.0.0" : "::"), port) { Glibc.bind(fd, $0, $1) }
        guard result == 0 else { throw Failure("bind \(address ?? "*"):\(port)") }
    }

    public func listen(backlog: Int32 = 64) throws {
        guard Glibc.listen(fd, backlog) == 0 else { throw Failure("listen") }
    }

    /// The next waiting connection, or nil after `milliseconds`.
    public func accept(milliseconds: Int32) -> Int32? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, milliseconds) == 1 else { return nil }
        let accepted = Glibc.accept(fd, nil, nil)
        guard accepted >= 0 else { return nil }
        _ = fcntl(accepted, F_SETFD, FD_CLOEXEC)
        return accepted
    }

    public func send(_ bytes: [UInt8], to host: String, port: UInt16) throws {
        let sent = withAddress(host, port) { address, length in
            bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, address, length) }
        }
        guard sent == bytes.count else { throw Failure("sendto \(host):\(port)") }
    }

    /// A blocking connect, bounded by the send timeout (`setTimeout`).
    public func connect(to host: String, port: UInt16) -> Bool {
        withAddress(host, port) { Glibc.connect(fd, $0, $1) } == 0
    }

    /// Connects within `milliseconds`, telling a refusal (a reset) from silence (a dropped SYN).
    /// The socket is blocking again afterwards.
    public func connect(to host: String, port: UInt16, milliseconds: Int32) -> ConnectResult {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        let started = withAddress(host, port) { Glibc.connect(fd, $0, $1) }
        if started == 0 { return .connected }
        guard errno == EINPROGRESS else { return errno == ECONNREFUSED ? .refused : .failed(errno) }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, milliseconds) == 1 else { return .timedOut }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        switch error {
        case 0: return .connected
        case ECONNREFUSED: return .refused
        case ETIMEDOUT: return .timedOut
        default: return .failed(error)
        }
    }

    /// Receive and send timeouts for the blocking calls.
    public func setTimeout(milliseconds: Int) {
        var timeout = timeval(tv_sec: milliseconds / 1000, tv_usec: Int((milliseconds % 1000) * 1000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    private func withAddress<R>(_ host: String, _ port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        NamespaceSocket.withAddress(family: family, host, port, body)
    }

    static func withAddress<R>(family: Int32, _ host: String, _ port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if family == AF_INET {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        inet_pton(AF_INET6, host, &address.sin6_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }
}

/// Writes all of `bytes` to a blocking socket; false when the peer is gone.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    // Bounded: each pass writes at least one byte or stops.
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if written <= 0 { return false }
        offset += written
    }
    return true
}
