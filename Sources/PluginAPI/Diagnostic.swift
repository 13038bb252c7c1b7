/// One problem found in a file, at a line. Loaders report every problem they find, so a
/// rejected file can be fixed in one pass.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public let file: String
    /// 1-based; 0 when the problem concerns the file as a whole (missing, unreadable).
    public let line: Int
    public let message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// `file:line: message`, or `file: message` for a problem with no line.
    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}
