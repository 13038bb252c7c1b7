import Foundation
import Glibc

/// Ordinary browsing from a LAN client: one HTTP GET at a time, from a socket opened in the
/// client's namespace, timed from the connect to the end of the reply.
public enum LabBrowser {
    public enum Outcome: Equatable, Sendable {
        /// A complete reply with this status code.
        case ok(Int)
        /// The connection was refused (a reset).
        case refused
        /// No answer to the connection attempt in time: the SYN was dropped.
        case noAnswer
        /// Connected, but the reply did not come or was cut short.
        case broken(String)
        case failed(String)

        public var isSuccess: Bool { if case .ok(let status) = self { return status == 200 } else { return false } }
    }

    public struct Result: Sendable {
        public let outcome: Outcome
        public let milliseconds: Double
        public let url: String
    }

    /// GETs `http://host:port/path` from namespace `namespace`, giving up after `timeout` seconds.
    public static func get(from namespace: String, host: String, port: UInt16 = 80, path: String = "/", timeout: Double = 2) -> Result {
        let url = "http://\(host.contains(":") ? "[\(host)]" : host)\(port == 80 ? "" : ":\(port)")\(path)"
        let started = Date()
        func result(_ outcome: Outcome) -> Result {
            Result(outcome: outcome, milliseconds: Date().timeIntervalSince(started) * 1000, url: url)
        }
        let socket: NamespaceSocket
        do {
            socket = try NamespaceSocket.open(in: namespace, for: host, type: SOCK_STREAM)
        } catch {
            return result(.failed("\(error)"))
        }
        defer { socket.close() }
        let milliseconds = Int32(timeout * 1000)
        switch socket.connect(to: host, port: port, milliseconds: milliseconds) {
        case .connected: break
        case .refused: return result(.refused)
        case .timedOut: return result(.noAnswer)
        case .failed(let code): return result(.failed(String(cString: strerror(code))))
        }
        socket.setTimeout(milliseconds: Int(milliseconds))
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: Mozilla/5.0 (lab browser)\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        guard writeAll(socket.fd, Array(request.utf8)) else { return result(.broken("send failed")) }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        // Bounded: the server closes after its reply; the timeout ends a stalled read.
        while reply.count < 1 << 20 {
            let count = chunk.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
            if count < 0 { return result(.broken(errno == EAGAIN ? "reply timed out" : String(cString: strerror(errno)))) }
            if count == 0 { break }
            reply += chunk[0..<count]
        }
        let statusLine = String(decoding: reply.prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        let fields = statusLine.split(separator: " ")
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/"), let status = Int(fields[1]) else {
            return result(.broken(reply.isEmpty ? "empty reply" : "not an HTTP reply"))
        }
        return result(.ok(status))
    }
}
