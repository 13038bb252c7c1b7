/// Why a capture file could not be read, or could not be read to its end. The command line
/// exits with `exitCode` (sysexits: EX_NOINPUT 66, EX_DATAERR 65) and prints `description`.
public struct CaptureError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// No such file, a directory, or a file that cannot be opened for reading.
        case cannotOpen
        /// The file is not a pcap or pcapng capture (or its header is cut short).
        case notACapture
        /// A capture of a link type the reader cannot strip to IP.
        case unsupportedLinkType(Int32)
        /// The capture is damaged part-way, after `framesRead` good frames.
        case corrupt(framesRead: Int)
    }

    /// The file, as the caller named it.
    public let path: String
    public let kind: Kind
    /// What went wrong, without the path.
    public let message: String

    public init(path: String, kind: Kind, message: String) {
        self.path = path
        self.kind = kind
        self.message = message
    }

    public var exitCode: Int32 { kind == .cannotOpen ? 66 : 65 }

    public var description: String { "capture file '\(path)': \(message)" }
}
