import PluginAPI
import CLibXML2

/// A compiled XML Schema (XSD 1.0), used to validate documents before they are interpreted.
final class XMLSchema {
    let file: String
    fileprivate let schema: xmlSchemaPtr

    /// Compiles the schema in `contents`; `file` names it in diagnostics. Throws `LoadError`.
    init(contents: [UInt8], file: String) throws {
        self.file = file
        let collector = XMLDiagnosticCollector(file: file, namespaces: [])
        let compiled: xmlSchemaPtr? = LibXML2.withLock {
            xmlSetStructuredErrorFunc(collector.opaque, XMLDiagnosticCollector.handler)
            guard let parser = contents.withUnsafeBufferPointer({ buffer in
                buffer.baseAddress.flatMap { base in
                    base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                        xmlSchemaNewMemParserCtxt($0, Int32(clamping: buffer.count))
                    }
                }
            }) else { return nil }
            defer { xmlSchemaFreeParserCtxt(parser) }
            xmlSchemaSetParserStructuredErrors(parser, XMLDiagnosticCollector.handler, collector.opaque)
            // The parser context reads `contents` only during this call.
            return withExtendedLifetime(contents) { xmlSchemaParse(parser) }
        }
        guard let compiled, collector.diagnostics.isEmpty else {
            if let compiled { xmlSchemaFree(compiled) }
            let problems = collector.diagnostics.isEmpty
                ? [Diagnostic(file: file, line: 0, message: "not a usable XML Schema")] : collector.diagnostics
            throw LoadError(problems)
        }
        schema = compiled
    }

    /// Reads and compiles the schema at `path`. Throws `LoadError`.
    convenience init(path: String) throws {
        switch FileContents.read(path) {
        case let .success(contents):
            try self.init(contents: contents, file: path)
        case let .failure(error):
            throw LoadError([Diagnostic(file: path, line: 0, message: "cannot read schema: \(error.message)")])
        }
    }

    deinit {
        xmlSchemaFree(schema)
    }

    /// Validates `document`, reporting into `collector`. Call with the libxml2 lock held.
    func validate(_ document: xmlDocPtr, into collector: XMLDiagnosticCollector) {
        guard let context = xmlSchemaNewValidCtxt(schema) else {
            collector.add(line: 0, message: "cannot create a schema validation context")
            return
        }
        defer { xmlSchemaFreeValidCtxt(context) }
        xmlSchemaSetValidStructuredErrors(context, XMLDiagnosticCollector.handler, collector.opaque)
        let before = collector.diagnostics.count
        let result = xmlSchemaValidateDoc(context, document)
        if result != 0 && collector.diagnostics.count == before {
            collector.add(line: 0, message: "the document does not conform to the schema \(file)")
        }
    }
}
