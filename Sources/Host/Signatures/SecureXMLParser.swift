import PluginAPI
import CLibXML2

/// Parses untrusted XML (signature and configuration files) into `ParsedElement` values and
/// validates it against a schema.
///
/// Hostile input is contained: a DOCTYPE stops the parse before any entity is declared (so no
/// external entity, no parameter entity, no "billion laughs"), the network is off, entities are
/// never substituted, and the external entity loader refuses everything (see `LibXML2`).
enum SecureXMLParser {
    struct Result {
        /// The document's root, present when the file is well-formed, even if it broke the schema,
        /// so that a loader can report its own problems alongside the schema's.
        let root: ParsedElement?
        let diagnostics: [Diagnostic]
    }

    /// `namespaces` are stripped from libxml2's messages for readability.
    static func parse(contents: [UInt8], file: String, schema: XMLSchema, namespaces: [String]) -> Result {
        let collector = XMLDiagnosticCollector(file: file, namespaces: namespaces)
        let root: ParsedElement? = LibXML2.withLock {
            xmlSetStructuredErrorFunc(collector.opaque, XMLDiagnosticCollector.handler)
            guard let document = read(contents, file: file, collector: collector) else { return nil }
            defer { xmlFreeDoc(document) }
            if document.pointee.intSubset != nil || document.pointee.extSubset != nil {
                collector.add(line: 1, message: "document type declarations are not allowed")
                return nil
            }
            guard let element = xmlDocGetRootElement(document) else {
                collector.add(line: 0, message: "the document has no root element")
                return nil
            }
            schema.validate(document, into: collector)
            return convert(element, depth: 0)
        }
        return Result(root: root, diagnostics: collector.diagnostics)
    }

    private static let options: Int32 = {
        // Deliberately absent: XML_PARSE_NOENT (substitute entities), XML_PARSE_DTDLOAD,
        // XML_PARSE_DTDATTR, XML_PARSE_DTDVALID, XML_PARSE_XINCLUDE, XML_PARSE_HUGE.
        let flags = XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue | XML_PARSE_NOXINCNODE.rawValue
        return Int32(bitPattern: UInt32(flags))
    }()

    private static func read(_ contents: [UInt8], file: String, collector: XMLDiagnosticCollector) -> xmlDocPtr? {
        guard let context = xmlNewParserCtxt() else {
            collector.add(line: 0, message: "cannot create an XML parser")
            return nil
        }
        defer { xmlFreeParserCtxt(context) }
        context.pointee._private = collector.opaque
        // The earliest point at which a DOCTYPE is known: stopping here means its internal subset,
        // and every entity declared in it, is never parsed.
        context.pointee.sax.pointee.internalSubset = { userData, _, _, _ in
            guard let userData else { return }
            let parser = userData.assumingMemoryBound(to: xmlParserCtxt.self)
            if let collector = XMLDiagnosticCollector.from(parser.pointee._private) {
                let line = parser.pointee.input.map { Int($0.pointee.line) } ?? 1
                collector.add(line: max(1, line), message: "document type declarations are not allowed")
                collector.stopped = true
            }
            xmlStopParser(parser)
        }
        guard contents.count <= Int(Int32.max) else {
            collector.add(line: 0, message: "file too large")
            return nil
        }
        let document: xmlDocPtr? = contents.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return nil }
            return base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlCtxtReadMemory(context, $0, Int32(buffer.count), file, nil, options)
            }
        }
        guard let document else {
            if collector.diagnostics.isEmpty { collector.add(line: 0, message: "not a well-formed XML document") }
            return nil
        }
        if collector.stopped || context.pointee.wellFormed == 0 || !collector.diagnostics.isEmpty {
            xmlFreeDoc(document)
            return nil
        }
        return document
    }

    private static func convert(_ node: xmlNodePtr, depth: Int) -> ParsedElement {
        var attributes = [String: String]()
        var attribute = node.pointee.properties
        while let current = attribute {
            if let name = current.pointee.name {
                attributes[String(cString: name)] = textContent(of: current.pointee.children)
            }
            attribute = current.pointee.next
        }

        var text = ""
        var children = [ParsedElement]()
        var child = node.pointee.children
        while let current = child {
            switch current.pointee.type {
            case XML_ELEMENT_NODE:
                // libxml2 already caps nesting (256 levels without XML_PARSE_HUGE); this keeps
                // the recursion bounded even if that default changes.
                if depth < 64 { children.append(convert(current, depth: depth + 1)) }
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = current.pointee.content { text += String(cString: content) }
            default:
                break
            }
            child = current.pointee.next
        }

        return ParsedElement(
            name: node.pointee.name.map { String(cString: $0) } ?? "",
            namespace: node.pointee.ns?.pointee.href.map { String(cString: $0) },
            line: max(0, Int(xmlGetLineNo(node))),
            attributes: attributes,
            text: text,
            children: children
        )
    }

    private static func textContent(of first: xmlNodePtr?) -> String {
        var text = ""
        var node = first
        while let current = node {
            if let content = current.pointee.content { text += String(cString: content) }
            node = current.pointee.next
        }
        return text
    }
}
