import Glibc

/// The daemon's end of the control socket: a Unix stream socket, mode 0600, one request line
/// and one answer line per connection, handled one at a time.
final class ControlServer: @unchecked Sendable {
    let path: String
    private let fd: Int32

    struct SetupError: Error, CustomStringConvertible { let description: String }

    init(path: String) throws {
        self.path = path
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !directory.isEmpty { mkdir(directory, 0o755) }
        // Only a stale socket is removed; any other file at that path is left alone.
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                throw SetupError(description: "\(path) exists and is not a socket")
            }
            if ControlClient.isListening(path) { throw SetupError(description: "another peerwall already answers on \(path)") }
            unlink(path)
        }
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SetupError(description: "cannot open a Unix socket: \(String(cString: strerror(errno)))") }
        guard var address = ControlClient.address(path) else {
            Glibc.close(fd)
            throw SetupError(description: "control socket path too long: \(path)")
        }
        // Created 0600 from the start: no window where another user could connect.
        let previous = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(previous)
        guard bound == 0, listen(fd, 16) == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw SetupError(description: "cannot listen on \(path): \(message)")
        }
        chmod(path, 0o600)
    }

    /// Answers connections until `shouldStop` returns true.
    func serve(shouldStop: () -> Bool, handle: (String) -> String) {
        while !shouldStop() {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 250) > 0 else { continue }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { continue }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            if let line = ControlClient.readLine(client, limit: ControlRequest.maximumLineLength) {
                ControlClient.writeAll(client, handle(line) + "\n")
            } else {
                ControlClient.writeAll(client, ControlResponse.failure("request line missing or longer than \(ControlRequest.maximumLineLength) bytes").encodedLine() + "\n")
            }
            Glibc.close(client)
        }
    }

    func close() {
        Glibc.close(fd)
        unlink(path)
    }
}

/// The command-line tools' end of the control socket.
public enum ControlClient {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Sends one request and returns the daemon's answer.
    public static func send(_ request: ControlRequest, socketPath: String) throws -> ControlResponse {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "cannot open a Unix socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard var address = address(socketPath) else { throw Failure(description: "control socket path too long: \(socketPath)") }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            throw Failure(description: "cannot reach the daemon at \(socketPath): \(String(cString: strerror(errno))) (is peerwall run active?)")
        }
        // A reload can take a while (every signature recompiled).
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        writeAll(fd, request.line + "\n")
        guard let line = readLine(fd, limit: 16 * 1024 * 1024) else { throw Failure(description: "no answer from the daemon") }
        guard let response = ControlResponse.decode(line) else { throw Failure(description: "the daemon's answer is not understood") }
        return response
    }

    static func isListening(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, var address = address(path) else { return false }
        defer { close(fd) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }

    static func address(_ path: String) -> sockaddr_un? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { target in
            for (i, byte) in bytes.enumerated() { target[i] = byte }
            target[bytes.count] = 0
        }
        return address
    }

    /// Reads up to the first newline (or EOF); nil when nothing came or the line is too long.
    static func readLine(_ fd: Int32, limit: Int) -> String? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count <= limit {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            if let newline = chunk[0..<count].firstIndex(of: 0x0A) {
                bytes += chunk[0..<newline]
                return bytes.count <= limit ? String(decoding: bytes, as: UTF8.self) : nil
            }
            bytes += chunk[0..<count]
        }
        return bytes.isEmpty || bytes.count > limit ? nil : String(decoding: bytes, as: UTF8.self)
    }

    static func writeAll(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}
