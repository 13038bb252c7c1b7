import PluginAPI

/// Turns the validated element tree of one signature file into a `SignatureSet`, checking what
/// the schema cannot. Keeps going after a problem so that all of them are reported.
struct SignatureFileBuilder {
    let detectorID: String
    let matchLimit: UInt32
    /// Problems found; the structural ones (which the schema reports too) are shown only when
    /// the schema did not, as a safety net.
    private(set) var log: DiagnosticLog

    var file: String { log.file }
    var diagnostics: [Diagnostic] { log.problems }
    var structuralDiagnostics: [Diagnostic] { log.structural }

    init(file: String, detectorID: String, matchLimit: UInt32) {
        log = DiagnosticLog(file: file)
        self.detectorID = detectorID
        self.matchLimit = matchLimit
    }

    mutating func build(_ root: ParsedElement) -> SignatureSet? {
        guard root.name == "signatures", root.namespace == SignatureLoader.namespace else {
            log.structural(root.line, "the root element must be <signatures> in namespace \(SignatureLoader.namespace)")
            return nil
        }
        if let detector = root[attribute: "detector"] {
            if detector != detectorID {
                log.problem(root.line, "detector '\(detector)' does not match the file: it holds the signatures of '\(detectorID)'")
            }
        } else {
            log.structural(root.line, "missing attribute 'detector'")
        }
        if let version = root[attribute: "schema"] {
            let number = Int(version.trimmingXMLWhitespace())
            if !SignatureLoader.supportedSchemaVersions.contains(where: { $0 == number }) {
                let supported = SignatureLoader.supportedSchemaVersions.sorted().map(String.init).joined(separator: ", ")
                log.problem(root.line, "unsupported schema version '\(version)' (this peerwall reads \(supported))")
            }
        } else {
            log.structural(root.line, "missing attribute 'schema'")
        }
        let revision = root[attribute: "revision"]?.trimmingXMLWhitespace() ?? ""
        if revision.isEmpty { log.structural(root.line, "missing attribute 'revision'") }

        var parameters = [String: SignatureParameter]()
        var signatures = [Signature]()
        var signatureLines = [String: Int]()
        for child in root.children {
            switch child.name {
            case "param":
                guard let name = child[attribute: "name"], let value = child[attribute: "value"] else {
                    log.structural(child.line, "<param> needs a name and a value")
                    continue
                }
                if let first = parameters[name] {
                    log.problem(child.line, "duplicate parameter '\(name)' (first given at line \(first.line))")
                } else {
                    parameters[name] = SignatureParameter(name: name, value: value, line: child.line)
                }
            case "signature":
                if let id = child[attribute: "id"] {
                    if let first = signatureLines[id] {
                        log.problem(child.line, "duplicate signature id '\(id)' (first defined at line \(first))")
                    } else {
                        signatureLines[id] = child.line
                    }
                }
                if let signature = buildSignature(child) { signatures.append(signature) }
            default:
                log.structural(child.line, "unexpected element <\(child.name)>")
            }
        }
        return SignatureSet(detector: detectorID, revision: revision, file: file, signatures: signatures, parameters: parameters)
    }

    private mutating func buildSignature(_ element: ParsedElement) -> Signature? {
        let before = log.count
        let prefix = detectorID + "."
        let id = element[attribute: "id"] ?? ""
        if id.isEmpty {
            log.structural(element.line, "<signature> needs an id")
        } else if !id.hasPrefix(prefix) || id.count == prefix.count {
            log.problem(element.line, "signature id '\(id)' must start with '\(prefix)' followed by a name")
        }
        let transport = enumeration(element, "transport", TransportFilter.self)
        let direction = enumeration(element, "direction", DirectionFilter.self)
        let action = enumeration(element, "action", SignatureAction.self)
        let enabled = boolean(element, "enabled", default: true)

        var summary = ""
        var elements = [MatchElement]()
        var exceptions = [CIDR]()
        var exceptedPorts = [(PortSet, PortSide)]()
        for child in element.children {
            switch child.name {
            case "summary":
                summary = child.text.split(whereSeparator: ValueParser.isBlank).joined(separator: " ")
            case "except":
                buildException(child, into: &exceptions, &exceptedPorts)
            default:
                if let match = buildMatch(child) { elements.append(match) }
            }
        }
        if elements.isEmpty && element.children.allSatisfy({ $0.name == "summary" || $0.name == "except" }) {
            log.structural(element.line, "signature '\(id)' has no match element")
        }

        guard log.count == before,
              let transport, let direction, let action, let enabled, !elements.isEmpty else { return nil }
        return Signature(
            id: id, transport: transport, direction: direction, action: action, enabled: enabled,
            summary: summary, elements: elements, exceptions: exceptions, exceptedPorts: exceptedPorts,
            file: file, line: element.line
        )
    }

    private mutating func buildMatch(_ element: ParsedElement) -> MatchElement? {
        switch element.name {
        case "ports":
            guard let side = enumeration(element, "side", PortSide.self),
                  let set = log.value(element.line, ValueParser.ports(element.text)) else { return nil }
            return .ports(set, side: side)

        case "bytes":
            guard let scope = scope(element), let offset = bound(element, "offset", scope: scope, default: 0),
                  let bytes = log.value(element.line, ValueParser.hexBytes(element.text)) else { return nil }
            let limit = self.limit(scope)
            guard offset + bytes.count <= limit else {
                log.problem(element.line, "bytes at offset \(offset) end past \(limit), the largest \(scope.rawValue) offset")
                return nil
            }
            return .bytes(offset: offset, value: bytes, scope: scope)

        case "length":
            guard let scope = scope(element) else { return nil }
            guard element[attribute: "min"] != nil || element[attribute: "max"] != nil else {
                log.problem(element.line, "<length> needs a min or a max")
                return nil
            }
            guard let low = bound(element, "min", scope: scope, default: 0),
                  let high = bound(element, "max", scope: scope, default: Int.max) else { return nil }
            guard low <= high else {
                log.problem(element.line, "length min \(low) is above max \(high)")
                return nil
            }
            return .length(min: low, max: high, scope: scope)

        case "pcre":
            guard let scope = scope(element), let pattern = pattern(element, optional: false) else { return nil }
            return .pattern(pattern, scope: scope)

        case "httpStartLine":
            guard let pattern = pattern(element, optional: false) else { return nil }
            return .httpStartLine(pattern)

        case "httpHeader":
            guard let name = element[attribute: "name"], !name.isEmpty else {
                log.structural(element.line, "<httpHeader> needs a name")
                return nil
            }
            let before = log.problems.count
            let pattern = pattern(element, optional: true)
            guard log.problems.count == before else { return nil }
            return .httpHeader(name: name, value: pattern)

        default:
            log.structural(element.line, "unexpected element <\(element.name)> in a signature")
            return nil
        }
    }

    private mutating func buildException(_ element: ParsedElement, into exceptions: inout [CIDR], _ exceptedPorts: inout [(PortSet, PortSide)]) {
        let address = element[attribute: "address"], ports = element[attribute: "ports"], side = element[attribute: "side"]
        switch (address, ports) {
        case let (address?, nil):
            if side != nil { log.problem(element.line, "<except address> takes no side; side applies to ports") }
            if let blocks = log.value(element.line, ValueParser.cidrs(address)) { exceptions += blocks }
        case let (nil, ports?):
            guard side != nil else {
                log.problem(element.line, "<except ports> needs a side (responder, originator or either)")
                return
            }
            if let side = enumeration(element, "side", PortSide.self), let set = log.value(element.line, ValueParser.ports(ports)) {
                exceptedPorts.append((set, side))
            }
        default:
            log.problem(element.line, "<except> needs exactly one of address or ports")
        }
    }

    private mutating func pattern(_ element: ParsedElement, optional: Bool) -> PCRE2Pattern? {
        let source = element.trimmedText
        if source.isEmpty {
            if !optional { log.structural(element.line, "<\(element.name)> needs a pattern") }
            return nil
        }
        var options = PCRE2Pattern.Options()
        let flags: [(String, WritableKeyPath<PCRE2Pattern.Options, Bool>)] = [
            ("caseless", \.caseless), ("multiline", \.multiline), ("dotall", \.dotall),
            ("extended", \.extended), ("anchored", \.anchored), ("ungreedy", \.ungreedy),
        ]
        for (name, path) in flags {
            guard let flag = boolean(element, name, default: false) else { return nil }
            options[keyPath: path] = flag
        }
        do {
            return try PCRE2Pattern(source, options: options, matchLimit: matchLimit)
        } catch let error as PCRE2Pattern.CompileError {
            log.problem(element.line, error.description)
        } catch {
            log.problem(element.line, "pcre2 error in pattern '\(source)': \(error)")
        }
        return nil
    }

    // MARK: Attributes

    private mutating func enumeration<Value: RawRepresentable<String>>(_ element: ParsedElement, _ name: String, _: Value.Type) -> Value? {
        guard let text = element[attribute: name] else {
            log.structural(element.line, "<\(element.name)> needs the attribute '\(name)'")
            return nil
        }
        guard let value = Value(rawValue: text) else {
            log.structural(element.line, "invalid \(name) '\(text)'")
            return nil
        }
        return value
    }

    private mutating func boolean(_ element: ParsedElement, _ name: String, default defaultValue: Bool) -> Bool? {
        guard let text = element[attribute: name] else { return defaultValue }
        switch ValueParser.boolean(text) {
        case let .success(value): return value
        case let .failure(message):
            log.structural(element.line, "\(name): \(message.text)")
            return nil
        }
    }

    private mutating func scope(_ element: ParsedElement) -> MatchScope? {
        guard element[attribute: "scope"] != nil else { return .payload }
        return enumeration(element, "scope", MatchScope.self)
    }

    private func limit(_ scope: MatchScope) -> Int {
        scope == .payload ? SignatureLoader.payloadLimit : SignatureLoader.streamLimit
    }

    /// An offset or length bound, within the limit of its scope.
    private mutating func bound(_ element: ParsedElement, _ name: String, scope: MatchScope, default defaultValue: Int) -> Int? {
        guard let text = element[attribute: name] else { return defaultValue }
        return log.value(element.line, ValueParser.integer(text, name, in: 0...limit(scope)))
    }
}
