import PluginAPI
/// The problems found while reading one file, each at its line. Structural problems (what the
/// schema also catches) are kept apart so that a file the schema rejected is not reported twice.
struct DiagnosticLog {
    let file: String
    private(set) var problems = [Diagnostic]()
    private(set) var structural = [Diagnostic]()

    init(file: String) { self.file = file }

    var count: Int { problems.count + structural.count }

    mutating func problem(_ line: Int, _ message: String) {
        problems.append(Diagnostic(file: file, line: line, message: message))
    }

    mutating func structural(_ line: Int, _ message: String) {
        structural.append(Diagnostic(file: file, line: line, message: message))
    }

    /// The parsed value, or nil after logging why it could not be parsed.
    mutating func value<Value>(_ line: Int, _ result: Result<Value, ValueParser.Message>) -> Value? {
        switch result {
        case let .success(value): return value
        case let .failure(message) where message.isSyntax:
            structural(line, message.text)
            return nil
        case let .failure(message):
            problem(line, message.text)
            return nil
        }
    }
}
