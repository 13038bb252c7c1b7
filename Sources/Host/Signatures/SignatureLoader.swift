import PluginAPI

/// Loads signature files (`<detector-id>.xml`): parses them without trusting them, validates them
/// against `peerwall-signatures.xsd`, checks what the schema cannot, and compiles every pattern.
///
/// All or nothing: a file with any problem yields no `SignatureSet`, and the error carries every
/// problem found in it (and, for `loadAll`, in every other file), each at its line.
public enum SignatureLoader {
    /// The schema's file name, looked up in the signature directory.
    public static let schemaFileName = "peerwall-signatures.xsd"
    /// The namespace of signature files, version 1.
    public static let namespace = "https://peerwall.dev/ns/signatures/1"
    /// Values of the `schema` attribute this loader reads.
    public static let supportedSchemaVersions: Set<Int> = [1]
    /// Largest offset or length a `payload` match may name: the largest IP packet.
    public static let payloadLimit = 65_535
    /// Largest offset or length a `stream` match may name.
    public static let streamLimit = 1_048_576

    /// Loads `<id>.xml` for each of `detectorIDs` from `directory`, validated against the schema
    /// in the same directory. Returns the sets by detector id.
    ///
    /// - Throws: `LoadError` with every problem of every file, when any file is missing or wrong.
    public static func loadAll(
        directory: String, detectorIDs: [String], matchLimit: UInt32 = PCRE2Pattern.defaultMatchLimit
    ) throws -> [String: SignatureSet] {
        let schema = try XMLSchema(path: path(directory, schemaFileName))
        var sets = [String: SignatureSet]()
        var diagnostics = [Diagnostic]()
        for id in detectorIDs where sets[id] == nil {
            let file = path(directory, "\(id).xml")
            switch load(file: file, detectorID: id, schema: schema, matchLimit: matchLimit) {
            case let .success(set): sets[id] = set
            case let .failure(error): diagnostics += error.diagnostics
            }
        }
        guard diagnostics.isEmpty else { throw LoadError(diagnostics) }
        return sets
    }

    /// Loads one signature file for the detector `detectorID`, which defaults to the file's name
    /// without `.xml`. `schemaPath` defaults to `peerwall-signatures.xsd` beside the file.
    ///
    /// - Throws: `LoadError` with every problem found.
    public static func load(
        file: String, detectorID: String? = nil, schemaPath: String? = nil, matchLimit: UInt32 = PCRE2Pattern.defaultMatchLimit
    ) throws -> SignatureSet {
        let schema = try XMLSchema(path: schemaPath ?? path(directory(of: file), schemaFileName))
        let id = detectorID ?? SignatureLoader.detectorID(of: file)
        return try load(file: file, detectorID: id, schema: schema, matchLimit: matchLimit).get()
    }

    /// Loads signatures from `contents` as if read from `file`. For tests and tools that hold the
    /// text already.
    public static func load(
        contents: [UInt8], file: String, detectorID: String, schemaPath: String,
        matchLimit: UInt32 = PCRE2Pattern.defaultMatchLimit
    ) throws -> SignatureSet {
        let schema = try XMLSchema(path: schemaPath)
        return try load(contents: contents, file: file, detectorID: detectorID, schema: schema, matchLimit: matchLimit).get()
    }

    static func load(file: String, detectorID: String, schema: XMLSchema, matchLimit: UInt32) -> Result<SignatureSet, LoadError> {
        switch FileContents.read(file) {
        case let .success(contents):
            return load(contents: contents, file: file, detectorID: detectorID, schema: schema, matchLimit: matchLimit)
        case let .failure(error):
            let message = error.isMissing
                ? "missing signature file for detector '\(detectorID)'"
                : "cannot read signature file: \(error.message)"
            return .failure(LoadError([Diagnostic(file: file, line: 0, message: message)]))
        }
    }

    static func load(
        contents: [UInt8], file: String, detectorID: String, schema: XMLSchema, matchLimit: UInt32
    ) -> Result<SignatureSet, LoadError> {
        let parsed = SecureXMLParser.parse(contents: contents, file: file, schema: schema, namespaces: [namespace])
        guard let root = parsed.root else { return .failure(LoadError(parsed.diagnostics)) }
        var builder = SignatureFileBuilder(file: file, detectorID: detectorID, matchLimit: matchLimit)
        let set = builder.build(root)
        // Problems the schema should already have reported are shown only if it did not,
        // so that one mistake is not reported twice.
        var diagnostics = parsed.diagnostics + builder.diagnostics
        if parsed.diagnostics.isEmpty { diagnostics += builder.structuralDiagnostics }
        guard diagnostics.isEmpty, let set else {
            if diagnostics.isEmpty {
                return .failure(LoadError([Diagnostic(file: file, line: 0, message: "not a signature file")]))
            }
            return .failure(LoadError(sorted(diagnostics)))
        }
        return .success(set)
    }

    static func sorted(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        // Stable: problems on one line keep the order they were found in.
        diagnostics.enumerated()
            .sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }
            .map(\.element)
    }

    static func path(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// `signatures/fasttrack.xml` → `fasttrack`.
    static func detectorID(of file: String) -> String {
        let name = file.split(separator: "/").last.map(String.init) ?? file
        return name.hasSuffix(".xml") ? String(name.dropLast(4)) : name
    }

    static func directory(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "" }
        return slash == file.startIndex ? "/" : String(file[..<slash])
    }
}
