import Glibc

/// Reads CRLF- or LF-ended lines from a blocking socket with a receive timeout.
struct LineReader {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// The next line without its ending, or nil at the end, on a timeout, or past 4 KiB.
    mutating func next() -> String? {
        var chunk = [UInt8](repeating: 0, count: 1024)
        while buffer.count < 4096 {
            if let end = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[..<end])
                buffer.removeFirst(end + 1)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return nil }
            buffer += chunk[0..<count]
        }
        return nil
    }
}
