import Foundation
import Glibc
import Synchronization

/// A TCP server inside one of the lab's namespaces, run by threads of the lab's own process:
/// one accepting thread per listening address, and one thread per connection calling `handler`
/// with the connected socket (closed when the handler returns). Stands in for the outside web
/// server and the FTP server.
public final class LabServer: @unchecked Sendable {
    public let name: String
    private var listeners: [NamespaceSocket] = []
    private let stopping = Atomic<Bool>(false)
    private let handled = Atomic<Int>(0)
    private let handler: @Sendable (Int32) -> Void
    private let active = DispatchGroup()

    /// Listens on every `address:port` in namespace `namespace`.
    public init(name: String, namespace: String, addresses: [String], port: UInt16, handler: @escaping @Sendable (Int32) -> Void) throws {
        self.name = name
        self.handler = handler
        do {
            for address in addresses {
                let socket = try NamespaceSocket.open(in: namespace, for: address, type: SOCK_STREAM)
                listeners.append(socket)
                try socket.bind(address, port: port)
                try socket.listen()
            }
        } catch {
            for socket in listeners { socket.close() }
            throw LabError("\(name): \(error)")
        }
        for socket in listeners {
            active.enter()
            let thread = Thread { [self] in
                acceptLoop(socket)
                active.leave()
            }
            thread.name = "lab-\(name)-accept"
            thread.start()
        }
    }

    /// Connections served so far.
    public var connections: Int { handled.load(ordering: .relaxed) }

    /// Stops accepting, waits (bounded) for the connections in progress, closes the sockets.
    public func stop() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        _ = active.wait(timeout: .now() + 5)
        for socket in listeners { socket.close() }
    }

    private func acceptLoop(_ socket: NamespaceSocket) {
        while !stopping.load(ordering: .relaxed) {
            guard let connection = socket.accept(milliseconds: 200) else { continue }
            handled.wrappingAdd(1, ordering: .relaxed)
            active.enter()
            let thread = Thread { [self] in
                var timeout = timeval(tv_sec: 3, tv_usec: 0)
                setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                handler(connection)
                close(connection)
                active.leave()
            }
            thread.name = "lab-\(name)-connection"
            thread.start()
        }
    }

    // MARK: Handlers

    /// A tiny web server: reads a request head and answers 200 with a small page, then closes.
    public static let web: @Sendable (Int32) -> Void = { fd in
        guard let head = readHead(fd), let line = head.split(separator: "\r\n").first else { return }
        let path = line.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
        let body = Array("<html><body><h1>An ordinary web page</h1><p>\(path)</p></body></html>\n".utf8)
        let reply = "HTTP/1.1 200 OK\r\nServer: peerwall-lab\r\nContent-Type: text/html\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        _ = writeAll(fd, Array(reply.utf8) + body)
    }

    /// Reads up to the blank line that ends an HTTP head (at most 8 KiB); nil when none came.
    static func readHead(_ fd: Int32) -> String? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        while bytes.count < 8192 {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return nil }
            bytes += chunk[0..<count]
            if let text = String(bytes: bytes, encoding: .utf8), text.contains("\r\n\r\n") { return text }
        }
        return nil
    }
}
