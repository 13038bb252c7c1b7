#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads whole (small) files for the loaders, telling a missing file apart from other failures.
enum FileContents {
    /// Configuration and signature files are small; a larger file is refused rather than read
    /// into memory, since a hostile or mistaken path (a device, a log) must not exhaust it.
    static let sizeLimit = 16 * 1024 * 1024

    struct ReadError: Error, Sendable {
        let code: Int32
        let message: String
        var isMissing: Bool { code == ENOENT }
    }

    static func read(_ path: String) -> Result<[UInt8], ReadError> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return .failure(error(errno)) }
        defer { close(descriptor) }

        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return .failure(error(errno)) }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            return .failure(ReadError(code: EINVAL, message: "not a regular file"))
        }

        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(error(errno))
            }
            if count == 0 { return .success(bytes) }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > sizeLimit {
                return .failure(ReadError(code: EFBIG, message: "larger than \(sizeLimit / 1024 / 1024) MiB"))
            }
        }
    }

    private static func error(_ code: Int32) -> ReadError {
        ReadError(code: code, message: String(cString: strerror(code)))
    }
}

#if canImport(Glibc)
private let systemRead = Glibc.read
#elseif canImport(Musl)
private let systemRead = Musl.read
#elseif canImport(Darwin)
private let systemRead = Darwin.read
#endif
