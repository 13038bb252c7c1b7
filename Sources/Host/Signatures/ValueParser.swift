import PluginAPI

/// Parses the value types that signature and configuration files share, with messages that say
/// exactly what is wrong. Each function returns the value or the message.
enum ValueParser {
    static func isBlank(_ character: Character) -> Bool {
        character == " " || character == "\t" || character == "\n" || character == "\r" || character == "\r\n"
    }

    /// Items separated by commas or blanks, empty items dropped.
    static func items(_ text: String) -> [Substring] {
        text.split(whereSeparator: { $0 == "," || isBlank($0) })
    }

    /// `xs:boolean`: true, false, 1, 0 (surrounding blanks allowed).
    static func boolean(_ text: String) -> Result<Bool, Message> {
        switch text.trimmingXMLWhitespace() {
        case "true", "1": return .success(true)
        case "false", "0": return .success(false)
        default: return .failure(Message("'\(text)' is not a boolean (true or false)"))
        }
    }

    /// A decimal integer within `range`; `what` names it in the message.
    /// Text that is not a decimal number at all fails with `isSyntax` set: the schemas already
    /// reject it, so callers can avoid reporting it twice.
    static func integer(_ text: String, _ what: String, in range: ClosedRange<Int>) -> Result<Int, Message> {
        let trimmed = text.trimmingXMLWhitespace()
        let digits = trimmed.hasPrefix("+") ? trimmed.dropFirst() : Substring(trimmed)
        let message = "\(what) '\(trimmed)' is not an integer in \(range.lowerBound)...\(range.upperBound)"
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else { return .failure(Message(message, isSyntax: true)) }
        guard let value = Int(trimmed), range.contains(value) else { return .failure(Message(message)) }
        return .success(value)
    }

    /// `1214, 6698-6699`: ports and inclusive ranges separated by commas or blanks.
    static func ports(_ text: String) -> Result<PortSet, Message> {
        var ranges = [ClosedRange<UInt16>]()
        for item in items(text) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), bounds.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }) else {
                return .failure(Message("'\(item)' is not a port or a port range (such as 6698-6699)"))
            }
            var values = [UInt16]()
            for bound in bounds {
                guard let value = UInt16(bound) else {
                    return .failure(Message("port \(bound) is out of range 0...65535"))
                }
                values.append(value)
            }
            guard let low = values.first, let high = values.last else { continue }
            guard low <= high else {
                return .failure(Message("port range \(low)-\(high) has its low bound above its high bound"))
            }
            ranges.append(low...high)
        }
        guard !ranges.isEmpty else { return .failure(Message("empty port list", isSyntax: true)) }
        return .success(PortSet(ranges))
    }

    /// An address block: `192.0.2.0/24`, `2001:db8::/32`, or a single address (a /32 or /128).
    static func cidr(_ text: Substring) -> Result<CIDR, Message> {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        // Checked here because `CIDR(_:)` does not reject an empty address or an empty prefix.
        guard let address = parts.first, !address.isEmpty, IPAddress(address) != nil else {
            return .failure(Message("'\(text)' is not an IP address block (such as 192.0.2.0/24)"))
        }
        if parts.count == 2 {
            let prefix = parts[1]
            let limit = address.contains(":") ? 128 : 32
            guard !prefix.isEmpty, prefix.allSatisfy(\.isASCIIDigit), let length = Int(prefix), length <= limit else {
                return .failure(Message("'\(text)' has an invalid prefix length (0...\(limit))"))
            }
        }
        guard let cidr = CIDR(text) else {
            return .failure(Message("'\(text)' is not an IP address block (such as 192.0.2.0/24)"))
        }
        return .success(cidr)
    }

    /// One or more address blocks separated by commas or blanks.
    static func cidrs(_ text: String) -> Result<[CIDR], Message> {
        var blocks = [CIDR]()
        for item in items(text) {
            switch cidr(item) {
            case let .success(block): blocks.append(block)
            case let .failure(message): return .failure(message)
            }
        }
        guard !blocks.isEmpty else { return .failure(Message("empty address list", isSyntax: true)) }
        return .success(blocks)
    }

    static func address(_ text: String) -> Result<IPAddress, Message> {
        let trimmed = text.trimmingXMLWhitespace()
        guard !trimmed.isEmpty, let address = IPAddress(trimmed) else {
            return .failure(Message("'\(trimmed)' is not an IP address"))
        }
        return .success(address)
    }

    /// Hex byte pairs with optional blanks between them: `27 00 00 00`, `27000000`.
    static func hexBytes(_ text: String) -> Result<[UInt8], Message> {
        var bytes = [UInt8]()
        for token in text.split(whereSeparator: isBlank) {
            guard token.count % 2 == 0, token.allSatisfy(\.isHexDigit) else {
                return .failure(Message("'\(token)' is not a sequence of hex byte pairs (such as 27 00 0a)"))
            }
            var index = token.startIndex
            while index < token.endIndex {
                let next = token.index(index, offsetBy: 2)
                guard let byte = UInt8(token[index..<next], radix: 16) else {
                    return .failure(Message("'\(token)' is not a sequence of hex byte pairs (such as 27 00 0a)"))
                }
                bytes.append(byte)
                index = next
            }
        }
        guard !bytes.isEmpty else { return .failure(Message("no bytes given", isSyntax: true)) }
        return .success(bytes)
    }

    /// A problem with a value, before it is placed at a file and line.
    struct Message: Error, Sendable {
        let text: String
        /// The value is malformed in a way the schema checks too.
        let isSyntax: Bool
        init(_ text: String, isSyntax: Bool = false) {
            self.text = text
            self.isSyntax = isSyntax
        }
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
