#if canImport(Glibc)
import Glibc
#endif

/// Buffered line output to a file descriptor (stdout, or an event log file).
public final class LineWriter {
    private var buffer: [UInt8] = []
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private static let flushThreshold = 64 * 1024

    public init(descriptor: Int32, ownsDescriptor: Bool = false) {
        self.descriptor = descriptor
        self.ownsDescriptor = ownsDescriptor
        buffer.reserveCapacity(LineWriter.flushThreshold)
    }

    public static var standardOutput: LineWriter { LineWriter(descriptor: 1) }

    /// Opens (creating, appending) a log file, mode 0640.
    public static func appending(to path: String) -> LineWriter? {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        return fd < 0 ? nil : LineWriter(descriptor: fd, ownsDescriptor: true)
    }

    public func write(line: String) { write(line: Array(line.utf8)) }

    /// Lets `body` append one line's bytes straight into the buffer; the line end is added here.
    public func writeLine(_ body: (inout [UInt8]) -> Void) {
        body(&buffer)
        buffer.append(0x0A)
        if buffer.count >= LineWriter.flushThreshold { flush() }
    }

    public func write(line: [UInt8]) {
        buffer.append(contentsOf: line)
        buffer.append(0x0A)
        if buffer.count >= LineWriter.flushThreshold { flush() }
    }

    public func flush() {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { all in
                let rest = UnsafeRawBufferPointer(rebasing: all[offset...])
                return Glibc.write(descriptor, rest.baseAddress, rest.count)
            }
            if written < 0 {
                if errno == EINTR { continue }
                break  // The reader went away (a closed pipe): drop the output rather than spin.
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }

    deinit {
        flush()
        if ownsDescriptor { close(descriptor) }
    }
}
