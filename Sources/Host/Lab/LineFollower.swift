import Glibc

/// Follows a file another process appends to (`tail -f`): each call returns the complete lines
/// written since the last one. A file that does not exist yet reads as empty.
public final class LineFollower {
    public let path: String
    private var fd: Int32 = -1
    private var partial: [UInt8] = []

    public init(path: String) { self.path = path }

    deinit { if fd >= 0 { close(fd) } }

    /// The new complete lines, without their line ends; at most `limit` bytes are read per call.
    public func newLines(limit: Int = 1 << 20) -> [String] {
        if fd < 0 {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { return [] }
        }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var total = 0
        while total < limit {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            partial += chunk[0..<count]
            total += count
        }
        var lines: [String] = []
        var start = 0
        for index in partial.indices where partial[index] == UInt8(ascii: "\n") {
            lines.append(String(decoding: partial[start..<index], as: UTF8.self))
            start = index + 1
        }
        partial.removeFirst(start)
        return lines
    }
}
