import Foundation
import Glibc

/// An ordinary FTP session for the lab: a server (control on port 21, passive data on a fixed
/// port) run by the lab's own process outside, and a client that logs in anonymously, asks for
/// passive mode and fetches one file. It must pass the gateway untouched while AudioGalaxy,
/// whose redirector also listens on 21, is cut off.
public enum LabFTP {
    public static let controlPort: UInt16 = 21
    public static let dataPort: UInt16 = 20_021
    public static let fileSize = 32_768

    /// The control connection's side of the server, for `LabServer`: it answers each command
    /// with the usual reply; `PASV` names `address` and `dataPort`.
    public static func control(address: String) -> @Sendable (Int32) -> Void {
        let octets = address.split(separator: ".").joined(separator: ",")
        let passive = "227 Entering Passive Mode (\(octets),\(dataPort / 256),\(dataPort % 256))"
        return { fd in
            guard writeAll(fd, Array("220 lab FTP server ready\r\n".utf8)) else { return }
            var reader = LineReader(fd: fd)
            // Bounded: a session is a handful of commands.
            for _ in 0..<64 {
                guard let line = reader.next() else { return }
                let command = line.split(separator: " ").first.map { $0.uppercased() } ?? ""
                let reply: String
                switch command {
                case "USER": reply = "331 Password required"
                case "PASS": reply = "230 Logged in"
                case "SYST": reply = "215 UNIX Type: L8"
                case "TYPE": reply = "200 Type set"
                case "PWD": reply = "257 \"/\""
                case "PASV": reply = passive
                case "RETR": reply = "150 Opening BINARY mode data connection\r\n226 Transfer complete"
                case "QUIT":
                    _ = writeAll(fd, Array("221 Goodbye\r\n".utf8))
                    return
                default: reply = "502 Command not implemented"
                }
                guard writeAll(fd, Array((reply + "\r\n").utf8)) else { return }
            }
        }
    }

    /// The passive data connection's side: sends the file and closes.
    public static let data: @Sendable (Int32) -> Void = { fd in
        _ = writeAll(fd, (0..<fileSize).map { UInt8(truncatingIfNeeded: $0 &* 7) })
    }

    public enum Outcome: Equatable, Sendable {
        /// The whole file arrived.
        case ok(bytes: Int)
        /// The control connection could not be opened (dropped or refused).
        case noConnection(String)
        /// A step failed: which, and what came instead.
        case failed(String)

        public var isSuccess: Bool { if case .ok(let bytes) = self { return bytes == LabFTP.fileSize } else { return false } }
    }

    /// Logs in to `server` from namespace `namespace`, fetches a file in passive mode, quits.
    public static func fetch(from namespace: String, server: String, timeout: Double = 3) -> Outcome {
        let milliseconds = Int32(timeout * 1000)
        guard let control = try? NamespaceSocket.open(in: namespace, for: server, type: SOCK_STREAM) else {
            return .noConnection("no socket")
        }
        defer { control.close() }
        switch control.connect(to: server, port: controlPort, milliseconds: milliseconds) {
        case .connected: break
        case .refused: return .noConnection("refused")
        case .timedOut: return .noConnection("no answer")
        case .failed(let code): return .noConnection(String(cString: strerror(code)))
        }
        control.setTimeout(milliseconds: Int(milliseconds))
        var reader = LineReader(fd: control.fd)
        func expect(_ code: String, after command: String?) -> String? {
            if let command, !writeAll(control.fd, Array((command + "\r\n").utf8)) { return nil }
            guard let line = reader.next(), line.hasPrefix(code) else { return nil }
            return line
        }
        guard expect("220", after: nil) != nil else { return .failed("no greeting") }
        guard expect("331", after: "USER anonymous") != nil else { return .failed("USER") }
        guard expect("230", after: "PASS lab@example.org") != nil else { return .failed("PASS") }
        guard expect("200", after: "TYPE I") != nil else { return .failed("TYPE") }
        guard let passive = expect("227", after: "PASV"), let open = passive.firstIndex(of: "("), let close = passive.firstIndex(of: ")") else {
            return .failed("PASV")
        }
        let numbers = passive[passive.index(after: open)..<close].split(separator: ",").compactMap { Int($0) }
        guard numbers.count == 6 else { return .failed("PASV reply") }
        let host = numbers[0..<4].map(String.init).joined(separator: ".")
        let port = UInt16(clamping: numbers[4] * 256 + numbers[5])
        guard let data = try? NamespaceSocket.open(in: namespace, for: host, type: SOCK_STREAM) else { return .failed("data socket") }
        defer { data.close() }
        guard data.connect(to: host, port: port, milliseconds: milliseconds) == .connected else { return .failed("data connection") }
        data.setTimeout(milliseconds: Int(milliseconds))
        guard expect("150", after: "RETR lab-file.bin") != nil else { return .failed("RETR") }
        var received = 0
        var chunk = [UInt8](repeating: 0, count: 8192)
        // Bounded: the server closes after the file; the timeout ends a stalled read.
        while received <= fileSize {
            let count = chunk.withUnsafeMutableBytes { recv(data.fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += count
        }
        guard expect("226", after: nil) != nil else { return .failed("no transfer-complete reply after \(received) bytes") }
        _ = expect("221", after: "QUIT")
        return .ok(bytes: received)
    }
}
