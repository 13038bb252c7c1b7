import PluginAPI

/// Napster's client-server messages as bytes: `[length u16 LE][type u16 LE][text]`, the length
/// counting the text only. Shared by the packet generators and the live server and client.
public enum NapsterWire {
    public enum MessageType: UInt16, Sendable {
        case error = 0
        case login = 2
        case loginAck = 3
        case newUserLogin = 6
        case nickCheck = 7
        case nickAvailable = 8
        case share = 100
        case search = 200
        case searchResult = 201
        case searchEnd = 202
        case downloadRequest = 203
        case downloadAck = 204
        case getError = 206
        case serverStats = 214
        case alternateDownloadRequest = 500
        case firewalledDownloadAck = 501
        case browseDirect = 640
        case browseAccept = 641
        case motd = 621
        case redirect = 821
    }

    /// A framed message with a text body.
    public static func message(_ type: MessageType, _ text: String) -> [UInt8] {
        message(rawType: type.rawValue, Array(text.utf8))
    }

    /// A framed message of any type and body; the length field says the body's true length
    /// unless `claimedLength` lies about it (for hostile scenarios).
    public static func message(rawType: UInt16, _ body: [UInt8], claimedLength: UInt16? = nil) -> [UInt8] {
        let length = claimedLength ?? UInt16(truncatingIfNeeded: body.count)
        return [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(rawType & 0xFF), UInt8(rawType >> 8)] + body
    }

    /// Napster's address form: a decimal number whose little-endian bytes are the octets, so
    /// 205.254.222.204 is 3437166285.
    public static func decimal(_ address: IPAddress) -> UInt32 {
        (address.v4 ?? 0).byteSwapped
    }

    public static func address(fromDecimal value: UInt32) -> IPAddress {
        IPAddress(v4: value.byteSwapped)
    }

    // MARK: Messages

    public static func login(nick: String, password: String, dataPort: UInt16, client: String = "nap v0.8", link: Int = 3) -> [UInt8] {
        message(.login, "\(nick) \(password) \(dataPort) \"\(client)\" \(link)")
    }

    public static func newUserLogin(nick: String, password: String, dataPort: UInt16, client: String = "nap v0.8", link: Int = 3,
                                    email: String) -> [UInt8] {
        message(.newUserLogin, "\(nick) \(password) \(dataPort) \"\(client)\" \(link) \(email)")
    }

    public static func share(file: String, md5: String, size: Int, bitrate: Int = 128, frequency: Int = 44_100, seconds: Int) -> [UInt8] {
        message(.share, "\"\(file)\" \(md5) \(size) \(bitrate) \(frequency) \(seconds)")
    }

    public static func search(_ text: String, maximum: Int = 100) -> [UInt8] {
        message(.search, "FILENAME CONTAINS \"\(text)\" MAX_RESULTS \(maximum)")
    }

    public static func searchResult(_ entry: SharedFile) -> [UInt8] {
        message(.searchResult, "\"\(entry.file)\" \(entry.md5) \(entry.size) \(entry.bitrate) \(entry.frequency) \(entry.seconds) "
                + "\(entry.nick) \(decimal(entry.owner)) \(entry.link)")
    }

    public static func downloadRequest(nick: String, file: String) -> [UInt8] {
        message(.downloadRequest, "\(nick) \"\(file)\"")
    }

    /// 204, or 501 for a firewalled uploader: `nick ip port "file" md5 speed`.
    public static func downloadAck(_ type: MessageType = .downloadAck, nick: String, address: IPAddress, port: UInt16,
                                   file: String, md5: String, link: Int = 3) -> [UInt8] {
        message(type, "\(nick) \(decimal(address)) \(port) \"\(file)\" \(md5) \(link)")
    }

    public static func browseAccept(nick: String, address: IPAddress, port: UInt16) -> [UInt8] {
        message(.browseAccept, "\(nick) \(decimal(address)) \(port)")
    }

    public static func redirect(server: String, port: UInt16) -> [UInt8] {
        message(.redirect, "\(server) \(port)")
    }

    /// What a client shares, as a server reports it.
    public struct SharedFile: Sendable, Equatable {
        public var file: String
        public var md5: String
        public var size: Int
        public var bitrate: Int
        public var frequency: Int
        public var seconds: Int
        public var nick: String
        public var owner: IPAddress
        public var dataPort: UInt16
        public var link: Int

        public init(file: String, md5: String, size: Int, bitrate: Int = 128, frequency: Int = 44_100, seconds: Int,
                    nick: String, owner: IPAddress, dataPort: UInt16, link: Int = 3) {
            self.file = file
            self.md5 = md5
            self.size = size
            self.bitrate = bitrate
            self.frequency = frequency
            self.seconds = seconds
            self.nick = nick
            self.owner = owner
            self.dataPort = dataPort
            self.link = link
        }
    }

    // MARK: Peer connections

    /// The acceptor's greeting.
    public static let acceptorHello: [UInt8] = Array("1".utf8)
    public static let get: [UInt8] = Array("GET".utf8)
    public static let send: [UInt8] = Array("SEND".utf8)

    /// `nick "file" number`: the offset for GET, the size for SEND.
    public static func peerRequest(nick: String, file: String, number: Int) -> [UInt8] {
        Array("\(nick) \"\(file)\" \(number)".utf8)
    }

    // MARK: Reading

    /// Splits a byte stream into messages; keeps the unfinished rest.
    public struct Decoder: Sendable {
        private var buffer: [UInt8] = []

        public init() {}

        public mutating func append(_ bytes: [UInt8]) { buffer += bytes }

        /// The next complete message (type and body), if any.
        public mutating func next() -> (type: UInt16, body: [UInt8])? {
            guard buffer.count >= 4 else { return nil }
            let length = Int(buffer[0]) | Int(buffer[1]) << 8
            guard buffer.count >= 4 + length else { return nil }
            let type = UInt16(buffer[2]) | UInt16(buffer[3]) << 8
            let body = Array(buffer[4..<(4 + length)])
            buffer.removeFirst(4 + length)
            return (type, body)
        }
    }

    /// The fields of a message body: blank-separated, or double-quoted.
    public static func fields(_ body: [UInt8]) -> [String] {
        var result: [String] = []
        var index = 0
        while index < body.count {
            if body[index] == UInt8(ascii: " ") {
                index += 1
                continue
            }
            if body[index] == UInt8(ascii: "\"") {
                let start = index + 1
                var end = start
                while end < body.count && body[end] != UInt8(ascii: "\"") { end += 1 }
                result.append(String(decoding: body[start..<min(end, body.count)], as: UTF8.self))
                index = end + 1
            } else {
                let start = index
                while index < body.count && body[index] != UInt8(ascii: " ") { index += 1 }
                result.append(String(decoding: body[start..<index], as: UTF8.self))
            }
        }
        return result
    }
}
