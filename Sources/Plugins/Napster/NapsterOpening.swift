import PluginAPI

/// What the start of a flow says, read from the host's reassembled streams.
enum NapsterOpening: Equatable {
    /// Not enough bytes yet.
    case needMore
    case notNapster
    /// A login-family message whose framing holds but whose fields do not convince on their own:
    /// the server's answer decides.
    case framedLogin
    /// The data port announced (none for a nick registration) and where the quoted client name lies.
    case login(LoginKind, dataPort: UInt16?, client: Range<Int>?)
    case serverReply(type: UInt16)
    case peer(PeerKind)
    /// The metaserver's answer: one `host:port` line or more.
    case metaserver

    enum LoginKind: Equatable {
        /// Type 2.
        case login
        /// Type 6, the first login after registering a nick.
        case newUser
        /// Type 7, registering (checking) a nick.
        case nickCheck
    }

    enum PeerKind: Equatable {
        /// `GET`: the connector downloads.
        case download
        /// `SEND`: a firewalled uploader pushes.
        case upload
        /// `GETLIST` / `SENDLIST`: a direct browse.
        case browse
    }
}

/// Recognisers for the first messages of Napster flows. They read whole buffers, never trap,
/// and allocate nothing.
enum NapsterRecognizer {
    /// The longest login we read: real ones are well under 256 bytes.
    static let maximumLoginLength = 1024
    static let maximumFileName = 1024

    // MARK: Client to server

    /// The client's first messages: an optional version message (type 4), then a login (2 or 6)
    /// or a nick registration (7).
    static func login(_ stream: UnsafeRawBufferPointer) -> NapsterOpening {
        var offset = 0
        for frame in 0..<2 {
            guard let length = stream.u16le(offset), let type = stream.u16le(offset + 2) else {
                return stream.count > offset ? earlyHeader(stream, at: offset) : .needMore
            }
            let size = Int(length)
            guard size <= maximumLoginLength else { return .notNapster }
            let end = offset + 4 + size
            switch type {
            case 4 where frame == 0:
                // "napster v2.0beta5a sends this prior to login": a short version text.
                guard size <= 32 else { return .notNapster }
                guard end <= stream.count else { return .needMore }
                guard let data = stream.slice(offset + 4, size),
                      NapsterText.all(data, 0..<size, NapsterText.isWordByte) else { return .notNapster }
                offset = end
                continue
            case 2, 6, 7:
                guard size > 0 else { return .notNapster }
                guard end <= stream.count else {
                    // Judge what has arrived: binary bytes end the wait early.
                    guard let partial = stream.slice(offset + 4, stream.count - offset - 4),
                          NapsterText.all(partial, 0..<partial.count, { $0 >= 0x20 && $0 != 0x7F }) else { return .notNapster }
                    return .needMore
                }
                guard let data = stream.slice(offset + 4, size) else { return .notNapster }
                guard NapsterText.all(data, 0..<size, { $0 >= 0x20 && $0 != 0x7F }) else { return .notNapster }
                let parsed: NapsterOpening = type == 7 ? nickCheck(data) : loginFields(data, newUser: type == 6, dataOffset: offset + 4)
                return parsed == .notNapster ? .framedLogin : parsed
            default:
                return .notNapster
            }
        }
        return .notNapster
    }

    /// Fewer than four header bytes: rule out what cannot be a Napster header already.
    private static func earlyHeader(_ stream: UnsafeRawBufferPointer, at offset: Int) -> NapsterOpening {
        // Byte 1 is the length's high byte (logins are short); byte 2 the type's low byte.
        if let high = stream.u8(offset + 1), Int(high) << 8 > maximumLoginLength { return .notNapster }
        if let type = stream.u8(offset + 2), !isLoginFamily(UInt16(type)) { return .notNapster }
        return .needMore
    }

    /// `nick password port "client-info" link-type [extra]` (2), `... link-type email` (6).
    private static func loginFields(_ data: UnsafeRawBufferPointer, newUser: Bool, dataOffset: Int) -> NapsterOpening {
        var tokens = NapsterTokenizer(data)
        guard let nick = tokens.next(), NapsterText.isNick(data, nick),
              let password = tokens.next(), NapsterText.isWord(data, password, maximum: 128),
              let portToken = tokens.next(), let port = NapsterText.number(data, portToken, maximumDigits: 5), port <= 65_535,
              let client = tokens.next(), NapsterText.isQuotedText(data, client, maximum: 128),
              let linkToken = tokens.next(), let link = NapsterText.number(data, linkToken, maximumDigits: 2), link <= 10
        else { return .notNapster }
        if newUser {
            guard let email = tokens.next(), NapsterText.isWord(data, email, maximum: 128), tokens.next() == nil else { return .notNapster }
            return .login(.newUser, dataPort: UInt16(port), client: client.range.shifted(by: dataOffset))
        }
        // Later clients append a build number or two.
        for _ in 0..<3 {
            guard let extra = tokens.next() else {
                return .login(.login, dataPort: UInt16(port), client: client.range.shifted(by: dataOffset))
            }
            guard NapsterText.isWord(data, extra, maximum: 32) else { return .notNapster }
        }
        return .notNapster
    }

    /// `nick`, and nothing else.
    private static func nickCheck(_ data: UnsafeRawBufferPointer) -> NapsterOpening {
        var tokens = NapsterTokenizer(data)
        guard let nick = tokens.next(), NapsterText.isNick(data, nick), nick.range == 0..<data.count else { return .notNapster }
        return .login(.nickCheck, dataPort: nil, client: nil)
    }

    // MARK: Server to client

    /// The server's first message after a login-family message: an error (0), a login ack (3),
    /// or an answer to a nick registration (8, 9, 10), complete and in text.
    static func serverReply(_ stream: UnsafeRawBufferPointer) -> NapsterOpening {
        guard let length = stream.u16le(0), let type = stream.u16le(2) else {
            if let type = stream.u8(2), !isReplyType(UInt16(type)) { return .notNapster }
            return .needMore
        }
        guard isReplyType(type), Int(length) <= maximumLoginLength else { return .notNapster }
        guard 4 + Int(length) <= stream.count else { return .needMore }
        guard let data = stream.slice(4, Int(length)), NapsterText.all(data, 0..<data.count, { $0 >= 0x20 && $0 != 0x7F }) else {
            return .notNapster
        }
        if type == 3 && length == 0 { return .notNapster }  // the ack carries an e-mail address
        if type >= 8 && length != 0 { return .notNapster }
        return .serverReply(type: type)
    }

    // MARK: Metaserver

    /// One or more `host:port` lines and nothing else, from a server the client said nothing to.
    /// `closed` says the server has ended the connection (the last line may lack its newline).
    static func metaserver(_ stream: UnsafeRawBufferPointer, closed: Bool) -> NapsterOpening {
        guard !stream.isEmpty else { return .needMore }
        guard stream.count <= 4096 else { return .notNapster }
        var lineStart = 0
        var lines = 0
        while lineStart < stream.count {
            guard let newline = stream.firstIndex(of: UInt8(ascii: "\n"), from: lineStart) else {
                // The last line has no newline yet.
                switch hostPortShape(stream, lineStart..<stream.count) {
                case .invalid: return .notNapster
                case .complete: return closed || lines > 0 ? .metaserver : .needMore
                case .prefix: return lines > 0 ? .metaserver : (closed ? .notNapster : .needMore)
                }
            }
            var lineEnd = newline
            if lineEnd > lineStart && stream[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            guard lines < 16, hostPortShape(stream, lineStart..<lineEnd) == .complete else { return .notNapster }
            lines += 1
            lineStart = newline + 1
        }
        return lines > 0 ? .metaserver : .needMore
    }

    enum LineShape { case complete, prefix, invalid }

    /// `host:port`: a host name or dotted quad (letters, digits, dots, hyphens), a colon, 1–5 digits.
    static func hostPortShape(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> LineShape {
        guard !range.isEmpty else { return .prefix }
        guard range.count <= 260 else { return .invalid }
        var colon: Int?
        for i in range {
            let byte = bytes[i]
            if byte == UInt8(ascii: ":") {
                guard colon == nil, i > range.lowerBound else { return .invalid }
                colon = i
            } else if colon == nil {
                let ok = NapsterText.isDigit(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
                    || ((byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z"))
                guard ok else { return .invalid }
            } else {
                guard NapsterText.isDigit(byte), i - (colon ?? 0) <= 5 else { return .invalid }
            }
        }
        guard let colon, colon + 1 < range.upperBound else { return .prefix }
        var port = 0
        for i in (colon + 1)..<range.upperBound { port = port * 10 + Int(bytes[i] - UInt8(ascii: "0")) }
        return (1...65_535).contains(port) ? .complete : .invalid
    }

    // MARK: Peer connections

    /// A transfer or browse between two clients. The acceptor sends `1`; the connector sends
    /// `GET` or `SEND` (often in a packet of its own), then `nick "file" offset-or-size`; or
    /// `GETLIST`, or `SENDLIST nick\n`.
    static func peer(connector o: UnsafeRawBufferPointer, acceptor r: UnsafeRawBufferPointer) -> NapsterOpening {
        let acceptorSaidOne = r.u8(0) == UInt8(ascii: "1")
        if o.isEmpty {
            // The acceptor speaks first, one byte, and waits.
            return r.count == 1 && acceptorSaidOne ? .needMore : .notNapster
        }
        if r.count > 0 && !acceptorSaidOne { return .notNapster }
        if o.hasPrefix("GETLIST") {
            if o.count == 7 { return acceptorSaidOne ? .peer(.browse) : .needMore }
            if o[7] == UInt8(ascii: "\n") || o[7] == UInt8(ascii: "\r") { return .peer(.browse) }
        }
        if o.hasPrefix("SENDLIST") {
            if o.count == 8 { return .needMore }
            if o[8] == UInt8(ascii: " ") { return sendList(o) }
        }
        if o.hasPrefix("GET") { return request(o, after: 3, kind: .download, acceptorSaidOne: acceptorSaidOne) }
        if o.hasPrefix("SEND") { return request(o, after: 4, kind: .upload, acceptorSaidOne: acceptorSaidOne) }
        // A prefix of one of the words: wait for the rest.
        return isPrefix(o, of: "GETLIST") || isPrefix(o, of: "SENDLIST") ? .needMore : .notNapster
    }

    /// True when all of `bytes` (fewer than the word's) begin `word`.
    private static func isPrefix(_ bytes: UnsafeRawBufferPointer, of word: StaticString) -> Bool {
        guard bytes.count < word.utf8CodeUnitCount else { return false }
        let start = word.utf8Start
        for i in 0..<bytes.count where bytes[i] != start[i] { return false }
        return true
    }

    private static func isLoginFamily(_ type: UInt16) -> Bool {
        switch type {
        case 2, 4, 6, 7: return true
        default: return false
        }
    }

    /// Error (0), login ack (3), nick registration answers (8, 9, 10).
    private static func isReplyType(_ type: UInt16) -> Bool {
        switch type {
        case 0, 3, 8, 9, 10: return true
        default: return false
        }
    }

    /// `nick "file" digits` after the command word (no blank between them).
    private static func request(_ o: UnsafeRawBufferPointer, after wordLength: Int, kind: NapsterOpening.PeerKind,
                                acceptorSaidOne: Bool) -> NapsterOpening {
        let rest = o.suffix(from: wordLength)
        if rest.isEmpty { return acceptorSaidOne ? .peer(kind) : .needMore }
        // "GET /" and "GET http://" are HTTP; a Napster nick follows the word directly.
        guard NapsterText.isNickByte(rest[0]), rest[0] != UInt8(ascii: "/") else { return .notNapster }
        var tokens = NapsterTokenizer(rest)
        guard let nick = tokens.next() else { return .needMore }
        guard !nick.quoted, nick.range.count <= 64, NapsterText.all(rest, nick.range, NapsterText.isNickByte) else { return .notNapster }
        guard let file = tokens.next() else { return .needMore }
        guard file.quoted, file.range.count <= maximumFileName, NapsterText.all(rest, file.range, NapsterText.isQuotedByte) else {
            return .notNapster
        }
        guard file.terminated else { return .needMore }
        guard !file.range.isEmpty else { return .notNapster }
        guard let number = tokens.next() else { return .needMore }
        guard NapsterText.number(rest, number, maximumDigits: 20) != nil else { return .notNapster }
        return .peer(kind)
    }

    /// `SENDLIST nick\n`.
    private static func sendList(_ o: UnsafeRawBufferPointer) -> NapsterOpening {
        let rest = o.suffix(from: 9)
        var index = 0
        while index < rest.count, index <= 64 {
            let byte = rest[index]
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { return index > 0 ? .peer(.browse) : .notNapster }
            guard NapsterText.isNickByte(byte) else { return .notNapster }
            index += 1
        }
        return index > 64 ? .notNapster : .needMore
    }
}

extension Range where Bound == Int {
    func shifted(by offset: Int) -> Range<Int> { (lowerBound + offset)..<(upperBound + offset) }
}
