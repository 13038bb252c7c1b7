import PluginAPI

#if canImport(Glibc)
import Glibc
#endif

/// Socket helpers shared by the live simulators.
enum Sockets {
    /// A non-blocking socket of `type` (SOCK_DGRAM, SOCK_STREAM) bound to `endpoint`, with
    /// SO_REUSEADDR so a restarted simulator can take its port back at once.
    static func bound(_ type: Int32, to endpoint: Endpoint, label: String) throws -> Int32 {
        let fd = socket(SocketAddress.family(endpoint), type, 0)
        guard fd >= 0 else { throw SocketError("socket") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        do {
            try setNonBlocking(fd)
            guard SocketAddress.with(endpoint, { Glibc.bind(fd, $0, $1) }) == 0 else { throw SocketError("bind \(endpoint) (\(label))") }
        } catch {
            Glibc.close(fd)
            throw error
        }
        return fd
    }

    static func setNonBlocking(_ fd: Int32) throws {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { throw SocketError("fcntl") }
    }

    /// Waits until one of `requests` (descriptor, events) is ready or `timeout` passes; returns
    /// the events that happened, in the same order.
    static func poll(_ requests: [(fd: Int32, events: Int16)], timeout: Seconds) -> [Int16] {
        var fds = requests.map { pollfd(fd: $0.fd, events: $0.events, revents: 0) }
        let milliseconds = Int32(clamping: max(0, (timeout.microseconds + 999) / 1000))
        _ = fds.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), milliseconds) }
        return fds.map(\.revents)
    }

    /// The system clock.
    static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(microseconds: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000)
    }
}
