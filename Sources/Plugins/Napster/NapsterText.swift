import PluginAPI

/// One field of a Napster text body: a run of non-blank bytes, or a double-quoted string.
struct NapsterToken {
    /// The field's bytes, without quotes.
    var range: Range<Int>
    var quoted: Bool
    /// False for a quoted field whose closing quote has not arrived.
    var terminated: Bool
}

/// Walks the fields of a Napster text body held whole in memory (the start of a stream).
struct NapsterTokenizer {
    let bytes: UnsafeRawBufferPointer
    private(set) var index = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool { index >= bytes.count }

    mutating func next() -> NapsterToken? {
        while index < bytes.count && bytes[index] == UInt8(ascii: " ") { index += 1 }
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "\"") {
            let start = index + 1
            guard let close = bytes.firstIndex(of: UInt8(ascii: "\""), from: start) else {
                index = bytes.count
                return NapsterToken(range: start..<bytes.count, quoted: true, terminated: false)
            }
            index = close + 1
            return NapsterToken(range: start..<close, quoted: true, terminated: true)
        }
        let start = index
        while index < bytes.count && bytes[index] != UInt8(ascii: " ") { index += 1 }
        return NapsterToken(range: start..<index, quoted: false, terminated: true)
    }
}

/// Byte classes and field rules of Napster's text fields.
enum NapsterText {
    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// Nicknames: visible ASCII without quotes.
    static func isNickByte(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") }

    /// Passwords, e-mail addresses, extra tokens: no blanks or control bytes.
    static func isWordByte(_ byte: UInt8) -> Bool { byte > 0x20 && byte != 0x7F && byte != UInt8(ascii: "\"") }

    /// Quoted strings (client names, file names): any text but the quote.
    static func isQuotedByte(_ byte: UInt8) -> Bool { byte >= 0x20 && byte != 0x7F && byte != UInt8(ascii: "\"") }

    static func all(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ test: (UInt8) -> Bool) -> Bool {
        for i in range where !test(bytes[i]) { return false }
        return true
    }

    static func isNick(_ bytes: UnsafeRawBufferPointer, _ token: NapsterToken) -> Bool {
        !token.quoted && (1...64).contains(token.range.count) && all(bytes, token.range, isNickByte)
    }

    static func isWord(_ bytes: UnsafeRawBufferPointer, _ token: NapsterToken, maximum: Int) -> Bool {
        !token.quoted && (1...maximum).contains(token.range.count) && all(bytes, token.range, isWordByte)
    }

    static func isQuotedText(_ bytes: UnsafeRawBufferPointer, _ token: NapsterToken, maximum: Int) -> Bool {
        token.quoted && token.terminated && (1...maximum).contains(token.range.count) && all(bytes, token.range, isQuotedByte)
    }

    /// The token as a decimal number of at most `maximumDigits` digits.
    static func number(_ bytes: UnsafeRawBufferPointer, _ token: NapsterToken, maximumDigits: Int) -> UInt64? {
        guard !token.quoted, (1...maximumDigits).contains(token.range.count) else { return nil }
        var value: UInt64 = 0
        for i in token.range {
            guard isDigit(bytes[i]) else { return nil }
            value = value &* 10 &+ UInt64(bytes[i] - UInt8(ascii: "0"))
        }
        return value
    }

    /// The bytes as printable text for a log fact: control bytes become `?`, at most `limit` bytes.
    static func fact(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, limit: Int = 64) -> String {
        var scalars = String.UnicodeScalarView()
        for i in range.prefix(limit) {
            let byte = bytes[i]
            scalars.append(byte >= 0x20 && byte < 0x7F ? Unicode.Scalar(byte) : "?")
        }
        return String(scalars)
    }
}
