/// A compiled pattern, supplied by the host (PCRE2 with JIT). Plugins use it through this
/// protocol and never see the regex engine. Class-bound: signatures hold it by reference.
public protocol PatternMatcher: AnyObject, Sendable {
    /// The pattern's source text, as written in the signature file.
    var pattern: String { get }
    /// The byte range of the first match in `bytes`, or nil.
    func firstMatch(in bytes: UnsafeRawBufferPointer) -> Range<Int>?
    /// The ranges of the whole match (index 0) and of each capture group of the first match;
    /// an unset group is nil. Returns nil when there is no match.
    func captures(in bytes: UnsafeRawBufferPointer) -> [Range<Int>?]?
}

public extension PatternMatcher {
    func matches(_ bytes: UnsafeRawBufferPointer) -> Bool { firstMatch(in: bytes) != nil }
}

/// What a signature asks for when it matches.
public enum SignatureAction: String, Sendable, CaseIterable {
    /// Drop the packet, and the flow from then on.
    case drop
    /// Drop and answer with a TCP reset (or ICMP unreachable) where the host can.
    case reject
    /// Log only: weak evidence, or a signature in shadow mode.
    case alert
    /// Explicitly allow (an exception).
    case accept
}

extension SignatureAction {
    /// Drop and reject enforce (learn, lock); alert only logs; accept does nothing.
    public var enforces: Bool { self == .drop || self == .reject }
}

/// Which packets of a flow a signature applies to, relative to the flow's originator.
public enum DirectionFilter: String, Sendable, CaseIterable {
    case toServer, toClient, any

    public func admits(_ direction: FlowDirection) -> Bool {
        switch self {
        case .any: return true
        case .toServer: return direction == .toServer
        case .toClient: return direction == .toClient
        }
    }
}

public enum TransportFilter: String, Sendable, CaseIterable {
    case tcp, udp, any

    public func admits(_ transport: Transport) -> Bool {
        switch self {
        case .any: return true
        case .tcp: return transport == .tcp
        case .udp: return transport == .udp
        }
    }
}

/// Which bytes a content match looks at.
public enum MatchScope: String, Sendable, CaseIterable {
    /// This packet's transport payload.
    case payload
    /// The in-order reassembled start of this packet's direction, up to and including this packet.
    case stream
}

/// Which port of a flow a `ports` match tests.
public enum PortSide: String, Sendable, CaseIterable {
    /// The port the flow's originator connected to (the service port).
    case responder
    /// The originator's own port.
    case originator
    /// Either port.
    case either
}

/// A set of ports and port ranges, e.g. `1214, 6698-6699`.
public struct PortSet: Sendable, Hashable, CustomStringConvertible {
    public var ranges: [ClosedRange<UInt16>]

    public init(_ ranges: [ClosedRange<UInt16>]) { self.ranges = ranges }

    /// Parses `1214`, `6698-6699`, and lists of them separated by commas or blanks.
    public init?(parsing text: String) {
        var ranges = [ClosedRange<UInt16>]()
        for item in text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" || $0 == "\t" }) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            if bounds.count == 1, let port = UInt16(bounds[0]) {
                ranges.append(port...port)
            } else if bounds.count == 2, let low = UInt16(bounds[0]), let high = UInt16(bounds[1]), low <= high {
                ranges.append(low...high)
            } else {
                return nil
            }
        }
        guard !ranges.isEmpty else { return nil }
        self.ranges = ranges
    }

    @inlinable public func contains(_ port: UInt16) -> Bool {
        for range in ranges where range.contains(port) { return true }
        return false
    }

    public var description: String {
        ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }
}

/// One condition of a signature. A signature matches when all of its elements match.
public enum MatchElement: Sendable {
    /// These bytes at this offset.
    case bytes(offset: Int, value: [UInt8], scope: MatchScope)
    /// A length (of the payload or of the stream so far) within bounds.
    case length(min: Int, max: Int, scope: MatchScope)
    /// A PCRE2 pattern found in the payload or stream.
    case pattern(any PatternMatcher, scope: MatchScope)
    /// A PCRE2 pattern matched against the HTTP request or status line (without its line ending).
    case httpStartLine(any PatternMatcher)
    /// A header present (names are case-insensitive); its trimmed value must match the pattern if one is given.
    case httpHeader(name: String, value: (any PatternMatcher)?)
    /// The flow's port on the given side lies in the set.
    case ports(PortSet, side: PortSide)
}

/// One entry of a signature file, loaded, validated and compiled by the host.
public final class Signature: Sendable {
    /// Stable, namespaced id: `fasttrack.http.x-kazaa-username`. Logs, counters and exemptions use it.
    public let id: String
    public let transport: TransportFilter
    public let direction: DirectionFilter
    public let action: SignatureAction
    public let enabled: Bool
    public let summary: String
    public let elements: [MatchElement]
    /// Addresses (of either end) for which the signature never fires.
    public let exceptions: [CIDR]
    /// Ports (of the given side) for which the signature never fires.
    public let exceptedPorts: [(PortSet, PortSide)]
    /// Where the signature was defined, for messages.
    public let file: String
    public let line: Int

    public init(
        id: String, transport: TransportFilter, direction: DirectionFilter, action: SignatureAction, enabled: Bool,
        summary: String = "", elements: [MatchElement], exceptions: [CIDR] = [], exceptedPorts: [(PortSet, PortSide)] = [],
        file: String = "", line: Int = 0
    ) {
        self.id = id
        self.transport = transport
        self.direction = direction
        self.action = action
        self.enabled = enabled
        self.summary = summary
        self.elements = elements
        self.exceptions = exceptions
        self.exceptedPorts = exceptedPorts
        self.file = file
        self.line = line
        var required: UInt64 = 0
        for case let .httpHeader(name, _) in elements { required |= HTTPMessageView.nameBit(name.utf8) }
        requiredHeaderNames = required
    }

    /// The header-name bits every message must have for this signature to match.
    private let requiredHeaderNames: UInt64

    /// True when the signature is enabled and every element matches this input.
    public func matches(_ input: DetectionInput) -> Bool {
        guard enabled, transport.admits(input.packet.transport), direction.admits(input.direction) else { return false }
        if requiredHeaderNames != 0 {
            guard let http = input.http, http.headerNames & requiredHeaderNames == requiredHeaderNames else { return false }
        }
        for cidr in exceptions where cidr.contains(input.packet.source) || cidr.contains(input.packet.destination) {
            return false
        }
        for (set, side) in exceptedPorts where Signature.port(input, side, in: set) { return false }
        // By index: iterating by value would copy every element, references and all.
        for i in elements.indices where !Signature.evaluate(elements[i], input) { return false }
        return true
    }

    static func port(_ input: DetectionInput, _ side: PortSide, in set: PortSet) -> Bool {
        switch side {
        case .responder: return set.contains(input.flow.responder.port)
        case .originator: return set.contains(input.flow.originator.port)
        case .either: return set.contains(input.flow.responder.port) || set.contains(input.flow.originator.port)
        }
    }

    static func evaluate(_ element: MatchElement, _ input: DetectionInput) -> Bool {
        switch element {
        case let .bytes(offset, value, scope):
            return input.bytes(scope).matches(value, at: offset)
        case let .length(min, max, scope):
            let count = input.bytes(scope).count
            return count >= min && count <= max
        case let .pattern(matcher, scope):
            return matcher.matches(input.bytes(scope))
        case let .httpStartLine(matcher):
            guard let http = input.http else { return false }
            return matcher.matches(http.startLine)
        case let .httpHeader(name, value):
            guard let http = input.http, let found = http.header(named: name) else { return false }
            return value?.matches(found) ?? true
        case let .ports(set, side):
            return port(input, side, in: set)
        }
    }
}

/// A named tunable from a signature file (`<param name="lock-seconds" value="120"/>`).
public struct SignatureParameter: Sendable, Hashable {
    public let name: String
    public let value: String
    public let line: Int

    public init(name: String, value: String, line: Int) {
        self.name = name
        self.value = value
        self.line = line
    }
}

/// Everything one plugin's signature file holds, validated and compiled.
public struct SignatureSet: Sendable {
    /// The plugin id the file belongs to.
    public let detector: String
    /// The file's `revision` attribute, logged on every load.
    public let revision: String
    /// The file the set was loaded from, for messages.
    public let file: String
    public let signatures: [Signature]
    public let parameters: [String: SignatureParameter]

    public init(detector: String, revision: String, file: String, signatures: [Signature], parameters: [String: SignatureParameter]) {
        self.detector = detector
        self.revision = revision
        self.file = file
        self.signatures = signatures
        self.parameters = parameters
    }

    public func signature(_ id: String) -> Signature? { signatures.first { $0.id == id } }

    /// The signature with this id when it is enabled: plugins treat a disabled one as absent.
    public func enabledSignature(_ id: String) -> Signature? { signature(id).flatMap { $0.enabled ? $0 : nil } }

    /// The signatures whose id starts with `prefix`, in file order.
    public func signatures(withPrefix prefix: String) -> [Signature] { signatures.filter { $0.id.hasPrefix(prefix) } }

    // Typed parameter access. A malformed value is a configuration error reported at its line.

    public func integer(_ name: String, default defaultValue: Int, in range: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard let parameter = parameters[name] else { return defaultValue }
        guard let value = Int(parameter.value), range.contains(value) else {
            throw SignatureParameterError(file: file, line: parameter.line,
                                          message: "parameter '\(name)': '\(parameter.value)' is not an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    public func boolean(_ name: String, default defaultValue: Bool) throws -> Bool {
        guard let parameter = parameters[name] else { return defaultValue }
        switch parameter.value.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default:
            throw SignatureParameterError(file: file, line: parameter.line,
                                          message: "parameter '\(name)': '\(parameter.value)' is not a boolean (true or false)")
        }
    }

    public func string(_ name: String, default defaultValue: String) -> String {
        parameters[name]?.value ?? defaultValue
    }

    public func choice(_ name: String, default defaultValue: String, among allowed: [String]) throws -> String {
        guard let parameter = parameters[name] else { return defaultValue }
        guard allowed.contains(parameter.value) else {
            throw SignatureParameterError(file: file, line: parameter.line,
                                          message: "parameter '\(name)': '\(parameter.value)' is not one of \(allowed.joined(separator: ", "))")
        }
        return parameter.value
    }

    public func ports(_ name: String, default defaultValue: PortSet) throws -> PortSet {
        guard let parameter = parameters[name] else { return defaultValue }
        guard let set = PortSet(parsing: parameter.value) else {
            throw SignatureParameterError(file: file, line: parameter.line,
                                          message: "parameter '\(name)': '\(parameter.value)' is not a port list")
        }
        return set
    }
}

/// A parameter or signature that a plugin rejects when it is constructed: a `Diagnostic`, so
/// the host reports it like any other problem of the file.
public typealias SignatureParameterError = Diagnostic
