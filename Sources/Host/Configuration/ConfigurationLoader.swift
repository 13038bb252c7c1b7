import PluginAPI

/// Reads the configuration file (`/etc/peerwall/peerwall.xml`) into a `Configuration`.
///
/// The file is validated against `config/peerwall.xsd` (compiled into the program) and checked as
/// a whole: with any problem, the configuration is left untouched and the error lists every
/// problem at its line.
public enum ConfigurationLoader {
    public static let defaultPath = "/etc/peerwall/peerwall.xml"
    /// The namespace of configuration files, version 1.
    public static let namespace = "https://peerwall.dev/ns/config/1"
    /// Values of the `schema` attribute this loader reads.
    public static let supportedSchemaVersions: Set<Int> = [1]

    // Bounds that catch typos (a capacity of 2 flows, a timeout of a century) without second-guessing
    // a deliberate choice.
    public static let flowCapacityRange = 1...67_108_864
    public static let streamDepthRange = 0...SignatureLoader.streamLimit
    public static let learnedCapacityRange = 0...16_777_216
    public static let lockSecondsRange = 0...31_536_000
    public static let timeoutRange = 1...604_800

    /// Applies the file at `path` to `configuration`. A missing file is an error: use
    /// `loadIfPresent` for the default path, where the file is optional.
    ///
    /// - Throws: `LoadError` with every problem found; `configuration` is then unchanged.
    public static func load(path: String, into configuration: inout Configuration) throws {
        switch FileContents.read(path) {
        case let .success(contents):
            try load(contents: contents, file: path, into: &configuration)
        case let .failure(error):
            let message = error.isMissing ? "configuration file not found" : "cannot read configuration file: \(error.message)"
            throw LoadError([Diagnostic(file: path, line: 0, message: message)])
        }
    }

    /// Like `load(path:into:)`, but a missing file leaves `configuration` as it is and returns false.
    /// Any other problem (unreadable, invalid) still throws.
    @discardableResult
    public static func loadIfPresent(path: String = defaultPath, into configuration: inout Configuration) throws -> Bool {
        switch FileContents.read(path) {
        case let .success(contents):
            try load(contents: contents, file: path, into: &configuration)
            return true
        case let .failure(error) where error.isMissing:
            return false
        case let .failure(error):
            throw LoadError([Diagnostic(file: path, line: 0, message: "cannot read configuration file: \(error.message)")])
        }
    }

    /// Applies configuration text, read from `file` (named in diagnostics).
    ///
    /// - Throws: `LoadError` with every problem found; `configuration` is then unchanged.
    public static func load(contents: [UInt8], file: String, into configuration: inout Configuration) throws {
        let schema = try XMLSchema(contents: Array(ConfigurationSchema.text.utf8), file: "peerwall.xsd")
        let parsed = SecureXMLParser.parse(contents: contents, file: file, schema: schema, namespaces: [namespace])
        guard let root = parsed.root else { throw LoadError(parsed.diagnostics) }
        var builder = Builder(file: file, configuration: configuration)
        builder.apply(root)
        var diagnostics = parsed.diagnostics + builder.diagnostics
        if parsed.diagnostics.isEmpty { diagnostics += builder.structuralDiagnostics }
        guard diagnostics.isEmpty else { throw LoadError(SignatureLoader.sorted(diagnostics)) }
        configuration = builder.configuration
    }

    /// Walks the validated tree. Kept private to the loader: it is the file format, nothing more.
    private struct Builder {
        var configuration: Configuration
        /// Problems found; the structural ones (which the schema reports too) are shown only if it did not.
        var log: DiagnosticLog

        var diagnostics: [Diagnostic] { log.problems }
        var structuralDiagnostics: [Diagnostic] { log.structural }

        init(file: String, configuration: Configuration) {
            log = DiagnosticLog(file: file)
            self.configuration = configuration
        }

        mutating func apply(_ root: ParsedElement) {
            guard root.name == "peerwall", root.namespace == ConfigurationLoader.namespace else {
                log.structural(root.line, "the root element must be <peerwall> in namespace \(ConfigurationLoader.namespace)")
                return
            }
            if let version = root[attribute: "schema"] {
                let number = Int(version.trimmingXMLWhitespace())
                if !supportedSchemaVersions.contains(where: { $0 == number }) {
                    let supported = supportedSchemaVersions.sorted().map(String.init).joined(separator: ", ")
                    log.problem(root.line, "unsupported schema version '\(version)' (this peerwall reads \(supported))")
                }
            } else {
                log.structural(root.line, "missing attribute 'schema'")
            }

            var seen = [String: Int]()
            for element in root.children {
                if let first = seen[element.name] {
                    log.structural(element.line, "<\(element.name)> is already set at line \(first)")
                    continue
                }
                seen[element.name] = element.line
                apply(setting: element)
            }
        }

        private mutating func apply(setting element: ParsedElement) {
            let text = element.trimmedText
            switch element.name {
            case "lan":
                if let ranges = ranges(element), !ranges.isEmpty {
                    configuration.lanRanges = ranges
                } else if element.children(named: "range").isEmpty {
                    log.structural(element.line, "<lan> needs at least one <range>")
                }
            case "neverBlock":
                if let ranges = ranges(element) { configuration.neverBlock = ranges }
            case "monitorOnly":
                if let value = boolean(element) { configuration.monitorOnly = value }
            case "lockSeconds":
                if let value = integer(element, text, in: lockSecondsRange) { configuration.lockSeconds = value }
            case "refusal":
                if let value = Configuration.Refusal(rawValue: text) {
                    configuration.refusal = value
                } else {
                    log.structural(element.line, "refusal '\(text)' is not drop or reset")
                }
            case "signatureDirectory":
                if let value = path(element) { configuration.signatureDirectory = value }
            case "flowCapacity":
                if let value = integer(element, text, in: flowCapacityRange) { configuration.flowCapacity = value }
            case "streamDepth":
                if let value = integer(element, text, in: streamDepthRange) { configuration.streamDepth = value }
            case "timeouts":
                applyTimeouts(element)
            case "learnedCapacity":
                if let value = integer(element, text, in: learnedCapacityRange) { configuration.learnedCapacity = value }
            case "queues":
                if let value = queues(element) { configuration.queues = value }
            case "failOpen":
                if let value = boolean(element) { configuration.failOpen = value }
            case "eventLog":
                if let value = path(element) { configuration.eventLogPath = value }
            case "stateDirectory":
                if let value = path(element) { configuration.stateDirectory = value }
            case "controlSocket":
                if let value = path(element) { configuration.controlSocketPath = value }
            case "manageRules":
                if let value = boolean(element) { configuration.manageRules = value }
            case "gatewayAddresses":
                var addresses = [IPAddress]()
                for child in element.children {
                    guard child.name == "address" else {
                        log.structural(child.line, "unexpected element <\(child.name)> in <gatewayAddresses>")
                        continue
                    }
                    if let address = log.value(child.line, ValueParser.address(child.text)) { addresses.append(address) }
                }
                configuration.gatewayAddresses = addresses
            default:
                log.structural(element.line, "unknown setting <\(element.name)>")
            }
        }

        private mutating func applyTimeouts(_ element: ParsedElement) {
            let fields: [(String, WritableKeyPath<FlowTimeouts, Seconds>)] = [
                ("tcpOpening", \.tcpOpening), ("tcpEstablished", \.tcpEstablished),
                ("tcpClosing", \.tcpClosing), ("udp", \.udp),
            ]
            for (name, field) in fields {
                guard let text = element[attribute: name] else { continue }
                if let seconds = log.value(element.line, ValueParser.integer(text, "timeout \(name)", in: timeoutRange)) {
                    configuration.flowTimeouts[keyPath: field] = Seconds(seconds)
                }
            }
        }

        private mutating func ranges(_ element: ParsedElement) -> [CIDR]? {
            var blocks = [CIDR]()
            var failed = false
            for child in element.children {
                guard child.name == "range" else {
                    log.structural(child.line, "unexpected element <\(child.name)> in <\(element.name)>")
                    continue
                }
                if let block = log.value(child.line, ValueParser.cidr(Substring(child.trimmedText))) {
                    blocks.append(block)
                } else {
                    failed = true
                }
            }
            return failed ? nil : blocks
        }

        private mutating func queues(_ element: ParsedElement) -> [UInt16]? {
            guard let set = log.value(element.line, ValueParser.ports(element.text).mapError {
                ValueParser.Message($0.text.replacing("port", with: "queue"))
            }) else { return nil }
            var queues = [UInt16]()
            for range in set.ranges {
                for queue in range {
                    if queues.contains(queue) {
                        log.problem(element.line, "queue \(queue) is listed twice")
                        return nil
                    }
                    queues.append(queue)
                }
            }
            return queues
        }

        private mutating func integer(_ element: ParsedElement, _ text: String, in range: ClosedRange<Int>) -> Int? {
            log.value(element.line, ValueParser.integer(text, element.name, in: range))
        }

        private mutating func boolean(_ element: ParsedElement) -> Bool? {
            switch element.trimmedText {
            case "true": return true
            case "false": return false
            default:
                log.structural(element.line, "<\(element.name)> must be true or false")
                return nil
            }
        }

        private mutating func path(_ element: ParsedElement) -> String? {
            let text = element.trimmedText
            guard !text.isEmpty else {
                log.structural(element.line, "<\(element.name)> must not be empty")
                return nil
            }
            return text
        }
    }
}
