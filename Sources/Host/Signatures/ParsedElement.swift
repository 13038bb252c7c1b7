/// An element of a parsed and validated XML document, copied out of libxml2 so that the loaders
/// work on plain values and never touch C memory.
public struct ParsedElement: Sendable {
    /// The local name, without prefix.
    public let name: String
    /// The namespace URI, or nil for an element in no namespace.
    public let namespace: String?
    public let line: Int
    /// Attributes by local name, in no particular order.
    public let attributes: [String: String]
    /// The element's own text and CDATA, concatenated, with character references resolved.
    public let text: String
    /// Child elements, in document order.
    public let children: [ParsedElement]

    public init(name: String, namespace: String?, line: Int, attributes: [String: String], text: String, children: [ParsedElement]) {
        self.name = name
        self.namespace = namespace
        self.line = line
        self.attributes = attributes
        self.text = text
        self.children = children
    }

    public subscript(attribute name: String) -> String? { attributes[name] }

    public func children(named name: String) -> [ParsedElement] { children.filter { $0.name == name } }

    public func child(named name: String) -> ParsedElement? { children.first { $0.name == name } }

    /// The text without leading or trailing XML whitespace (space, tab, CR, LF).
    public var trimmedText: String { text.trimmingXMLWhitespace() }
}

extension StringProtocol {
    /// Removes XML whitespace (space, tab, CR, LF) at both ends, and nothing else.
    func trimmingXMLWhitespace() -> String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(self[first...last])
    }
}
