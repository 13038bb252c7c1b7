/// A lazily parsed, zero-copy view of the head of an HTTP/1.x message (a request or a
/// response) at the start of a byte stream. Nothing is parsed until asked; header look-ups
/// scan only the header block, so words quoted in a body never match.
public struct HTTPMessageView: @unchecked Sendable {
    /// The stream bytes the view was made from.
    public let bytes: UnsafeRawBufferPointer
    /// The first line, without its line ending.
    public let startLine: UnsafeRawBufferPointer
    /// Offset of the first header line.
    private let headersStart: Int
    /// Offset just past the blank line ending the headers, or nil when it has not arrived yet.
    public let headerEnd: Int?
    /// One bit per header name present (`nameBit`), so a signature that needs a header the
    /// message lacks is rejected without scanning the headers.
    public let headerNames: UInt64

    /// Makes a view when `bytes` start like an HTTP message: a request line `TOKEN SP target SP HTTP/x.y`
    /// or a status line `HTTP/x.y SP code`. Returns nil otherwise or while the first line is incomplete.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        // Most streams are not HTTP: decide from the first bytes before scanning for a line end.
        guard HTTPMessageView.startsLikeHTTP(bytes), let lineEnd = bytes.firstIndex(of: 0x0A) else { return nil }
        let contentEnd = lineEnd > 0 && bytes[lineEnd - 1] == 0x0D ? lineEnd - 1 : lineEnd
        let line = UnsafeRawBufferPointer(rebasing: bytes[0..<contentEnd])
        guard HTTPMessageView.looksLikeRequestLine(line) || HTTPMessageView.looksLikeStatusLine(line) else { return nil }
        self.bytes = bytes
        startLine = line
        headersStart = lineEnd + 1
        let end = HTTPMessageView.findHeaderEnd(bytes, from: lineEnd + 1)
        headerEnd = end
        headerNames = HTTPMessageView.summariseNames(bytes, from: lineEnd + 1, to: end ?? bytes.count)
    }

    /// The summary bit of a header name (ASCII, case-insensitive): FNV-1a of the lowercased name, mod 64.
    public static func nameBit(_ name: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name { hash = (hash ^ UInt64(lowercase(byte))) &* 0x0000_0100_0000_01B3 }
        return 1 << (hash & 63)
    }

    private static func summariseNames(_ bytes: UnsafeRawBufferPointer, from start: Int, to limit: Int) -> UInt64 {
        var names: UInt64 = 0
        var lineStart = start
        while lineStart < limit, let lineEnd = bytes.firstIndex(of: 0x0A, from: lineStart), lineEnd < limit {
            if let colon = bytes.firstIndex(of: 0x3A, from: lineStart), colon < lineEnd {
                names |= nameBit(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<colon]))
            }
            lineStart = lineEnd + 1
        }
        return names
    }

    /// True for a status line (`HTTP/1.1 206 Partial Content`).
    public var isResponse: Bool { startLine.hasPrefix("HTTP/") }
    public var isRequest: Bool { !isResponse }
    /// True once the blank line ending the headers is in the stream.
    public var isComplete: Bool { headerEnd != nil }

    /// The request method (`GET`), or empty for a response.
    public var method: UnsafeRawBufferPointer {
        guard isRequest, let space = startLine.firstIndex(of: 0x20) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: startLine[0..<space])
    }

    /// The request target (`/.hash=...`), or empty for a response.
    public var target: UnsafeRawBufferPointer {
        guard isRequest, let first = startLine.firstIndex(of: 0x20) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let end = startLine.firstIndex(of: 0x20, from: first + 1) ?? startLine.count
        return UnsafeRawBufferPointer(rebasing: startLine[(first + 1)..<end])
    }

    /// The header block: from the first header line up to (not including) the blank line,
    /// or to the end of the bytes when the headers are still incomplete.
    public var headerBlock: UnsafeRawBufferPointer {
        // The blank line is "\r\n" or a bare "\n"; only it is left out, never the last header's line end.
        let end = headerEnd.map { max(headersStart, $0 - (bytes[$0 - 2] == 0x0D ? 2 : 1)) } ?? bytes.count
        guard headersStart <= end else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: bytes[headersStart..<min(end, bytes.count)])
    }

    /// The value of the first header named `name` (ASCII, case-insensitive), with surrounding
    /// blanks trimmed. Only complete header lines are considered.
    public func header(_ name: StaticString) -> UnsafeRawBufferPointer? {
        var found: UnsafeRawBufferPointer?
        forEachHeader { headerName, value in
            if HTTPMessageView.equalsCaseInsensitive(headerName, name) {
                found = value
                return false
            }
            return true
        }
        return found
    }

    /// The value of the first header named `name` (ASCII, case-insensitive), for names known at run time.
    public func header(named name: String) -> UnsafeRawBufferPointer? {
        var name = name
        return name.withUTF8 { wanted -> UnsafeRawBufferPointer? in
            // Signatures ask for many names per packet: test each line's colon position and
            // name in place, and trim only the value of the line that matches.
            let limit = headerEnd ?? bytes.count
            var lineStart = headersStart
            while lineStart < limit, let lineEnd = bytes.firstIndex(of: 0x0A, from: lineStart), lineEnd < limit {
                let colon = lineStart + wanted.count
                if colon < lineEnd, bytes[colon] == 0x3A, HTTPMessageView.equalsCaseInsensitive(bytes, at: lineStart, wanted) {
                    var contentEnd = lineEnd
                    if contentEnd > colon && bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                    var valueStart = colon + 1
                    while valueStart < contentEnd && (bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09) { valueStart += 1 }
                    var valueEnd = contentEnd
                    while valueEnd > valueStart && (bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09) { valueEnd -= 1 }
                    return UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
                }
                if lineEnd == lineStart || (lineEnd == lineStart + 1 && bytes[lineStart] == 0x0D) { return nil }  // the blank line
                lineStart = lineEnd + 1
            }
            return nil
        }
    }

    private static func equalsCaseInsensitive(_ bytes: UnsafeRawBufferPointer, at offset: Int, _ wanted: UnsafeBufferPointer<UInt8>) -> Bool {
        for i in 0..<wanted.count where lowercase(bytes[offset + i]) != lowercase(wanted[i]) { return false }
        return true
    }

    /// Calls `body` with each complete header line's name and trimmed value, in order,
    /// until it returns false.
    public func forEachHeader(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool) {
        var lineStart = headersStart
        let limit = headerEnd ?? bytes.count
        while lineStart < limit, let lineEnd = bytes.firstIndex(of: 0x0A, from: lineStart), lineEnd < limit {
            var contentEnd = lineEnd
            if contentEnd > lineStart && bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            if contentEnd == lineStart { return }  // the blank line
            if let colon = bytes.firstIndex(of: 0x3A, from: lineStart), colon < contentEnd {
                var valueStart = colon + 1
                while valueStart < contentEnd && (bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09) { valueStart += 1 }
                var valueEnd = contentEnd
                while valueEnd > valueStart && (bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09) { valueEnd -= 1 }
                let name = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<colon])
                let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
                if !body(name, value) { return }
            }
            lineStart = lineEnd + 1
        }
    }

    // MARK: Helpers

    public static func equalsCaseInsensitive(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        let p = text.utf8Start
        for i in 0..<bytes.count where lowercase(bytes[i]) != lowercase(p[i]) { return false }
        return true
    }

    @inline(__always) static func lowercase(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    /// An uppercase method token and a space, or `HTTP/`, within the first bytes.
    private static func startsLikeHTTP(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if bytes.hasPrefix("HTTP/") { return true }
        var i = 0
        while i < bytes.count && i < 17, bytes[i] >= 0x41 && bytes[i] <= 0x5A { i += 1 }
        return i > 0 && i <= 16 && bytes.u8(i) == 0x20
    }

    private static func looksLikeRequestLine(_ line: UnsafeRawBufferPointer) -> Bool {
        // METHOD: 1...16 uppercase letters, then a space, a target, a space and "HTTP/".
        var i = 0
        while i < line.count && i < 17, line[i] >= 0x41 && line[i] <= 0x5A { i += 1 }
        guard i > 0, i <= 16, line.u8(i) == 0x20 else { return false }
        guard let second = line.firstIndex(of: 0x20, from: i + 1), second > i + 1 else { return false }
        return line.suffix(from: second + 1).hasPrefix("HTTP/")
    }

    private static func looksLikeStatusLine(_ line: UnsafeRawBufferPointer) -> Bool {
        line.hasPrefix("HTTP/") && line.count >= 12 && line.u8(8) == 0x20
    }

    private static func findHeaderEnd(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        // An empty header block: the blank line follows the start line directly.
        if from < bytes.count && bytes[from] == 0x0A { return from + 1 }
        if from + 1 < bytes.count && bytes[from] == 0x0D && bytes[from + 1] == 0x0A { return from + 2 }
        var i = from
        while i < bytes.count {
            if bytes[i] == 0x0A {
                if i + 1 < bytes.count && bytes[i + 1] == 0x0A { return i + 2 }
                if i + 2 < bytes.count && bytes[i + 1] == 0x0D && bytes[i + 2] == 0x0A { return i + 3 }
            }
            i += 1
        }
        return nil
    }
}
