#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered line output, so a lab script reading the live simulators sees each event at once.
enum Output {
    static func line(_ text: String) { write(1, text) }

    static func error(_ text: String) { write(2, text) }

    private static func write(_ fd: Int32, _ text: String) {
        let bytes = Array((text + "\n").utf8)
        var offset = 0
        // Bounded: each pass writes at least one byte or stops.
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            offset += written
        }
    }
}
