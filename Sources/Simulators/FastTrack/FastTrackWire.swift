import PluginAPI

/// FastTrack messages as the real clients put them on the wire (see the research notes on
/// FastTrack): UDP discovery, the clear-text session opening, and HTTP transfers and pushes.
/// Written from the protocol facts, independently of the plugin, so that the two check each other.
public enum FastTrackWire {
    // MARK: UDP discovery

    public enum DatagramKind: Sendable, Equatable {
        case ping(network: String)
        case supernodePong(network: String)
        case pong(flagged: Bool, id: UInt32)
        case followUp(id: UInt32)
        case other
    }

    /// `27 | min-encryption(4) | 80 | name | 00`.
    public static func ping(network: String, encryption: UInt32 = 0x29) -> [UInt8] {
        [0x27] + bigEndian(encryption) + [0x80] + Array(network.utf8) + [0x00]
    }

    /// `28 | min-encryption(4) | 00 | counter | 2 bytes | load | 1 byte | name | 00`.
    public static func supernodePong(network: String, encryption: UInt32 = 0x29, counter: UInt8 = 0x36,
                                     children: (UInt8, UInt8) = (0x5D, 0x06), load: UInt8 = 39, unknown: UInt8 = 0x08) -> [UInt8] {
        [0x28] + bigEndian(encryption) + [0x00, counter, children.0, children.1, load, unknown] + Array(network.utf8) + [0x00]
    }

    /// `29 | min-encryption(4) | 01 | flag | 00 00 | id(4)`, and with the flag the sender's
    /// address, port and two unknown bytes: 13 or 21 bytes.
    public static func pong(encryption: UInt32 = 0x29, id: UInt32, flaggedWith address: Endpoint? = nil) -> [UInt8] {
        var bytes: [UInt8] = [0x29] + bigEndian(encryption) + [0x01, address == nil ? 0x00 : 0x01, 0x00, 0x00] + bigEndian(id)
        if let address, let v4 = address.address.v4 {
            bytes += bigEndian(v4) + [UInt8(address.port >> 8), UInt8(address.port & 0xFF), 0x00, 0x00]
        }
        return bytes
    }

    /// The 5-byte `2A | id` follow-up a client sends after a flagged pong.
    public static func followUp(id: UInt32) -> [UInt8] { [0x2A] + bigEndian(id) }

    public static func classify(_ payload: [UInt8]) -> DatagramKind {
        guard payload.count >= 5 else { return .other }
        func name(from offset: Int) -> String? {
            guard payload.count > offset + 1, payload.last == 0 else { return nil }
            let bytes = payload[offset..<(payload.count - 1)]
            guard bytes.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
        switch payload[0] {
        case 0x27:
            return name(from: 6).map { .ping(network: $0) } ?? .other
        case 0x28:
            return name(from: 11).map { .supernodePong(network: $0) } ?? .other
        case 0x29 where payload.count == 13 || payload.count == 21:
            return .pong(flagged: payload[6] == 1 && payload.count == 21, id: readUInt32(payload, 9))
        case 0x2A where payload.count == 5:
            return .followUp(id: readUInt32(payload, 1))
        default:
            return .other
        }
    }

    // MARK: TCP session opening

    /// The client's 12 clear bytes: 4 random bytes, its cipher seed, and the requested
    /// encryption type encoded with a key from the seed. The encoding is not reproduced; the
    /// bytes look as random on the wire as the real ones.
    public static func sessionOpening(using random: inout SimulationRandom) -> [UInt8] {
        random.bytes(12)
    }

    /// The peer's 8 clear bytes: its seed and its encoded encryption type.
    public static func sessionReply(using random: inout SimulationRandom) -> [UInt8] {
        random.bytes(8)
    }

    // MARK: HTTP

    /// A download request by content hash, with the headers Kazaa sends.
    public static func downloadRequest(hash: [UInt8], host: Endpoint, username: String, network: String = "KaZaA",
                                       range: ClosedRange<Int>? = nil, version: String = "1.1",
                                       userAgent: String = "KazaaClient Nov  3 2002 20:29:03") -> [UInt8] {
        var lines = [
            "GET /.hash=\(hex(hash)) HTTP/\(version)",
            "Host: \(host)",
            "UserAgent: \(userAgent)",
            "X-Kazaa-Network: \(network)",
            "X-Kazaa-Username: \(username)",
        ]
        if let range { lines.append("Range: bytes=\(range.lowerBound)-\(range.upperBound)") }
        lines.append("Connection: close")
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    /// The head of Kazaa's reply to a ranged download, headers in the order of a 2003 capture.
    public static func partialContentHead(range: ClosedRange<Int>, total: Int, username: String, network: String = "KaZaA",
                                          ip: Endpoint, supernode: Endpoint, title: String, contentType: String = "audio/mpeg") -> [UInt8] {
        let lines = [
            "HTTP/1.1 206 Partial Content",
            "Content-Range: bytes \(range.lowerBound)-\(range.upperBound)/\(total)",
            "Content-Length: \(range.count)",
            "Accept-Ranges: bytes",
            "Date: Mon, 14 Apr 2003 10:00:00 GMT",
            "Server: KazaaClient Nov  3 2002 20:29:03",
            "Connection: close",
            "Last-Modified: Sun, 13 Apr 2003 18:21:40 GMT",
            "X-Kazaa-Username: \(username)",
            "X-Kazaa-Network: \(network)",
            "X-Kazaa-IP: \(ip)",
            "X-Kazaa-SupernodeIP: \(supernode)",
            "X-KazaaTag: 5=239",
            "X-KazaaTag: 4=\(title)",
            "Content-Type: \(contentType)",
        ]
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    /// Kazaa's busy reply: the status line ends in a bare LF, the headers in CRLF.
    public static func busyHead(username: String, network: String = "KaZaA", ip: Endpoint, supernode: Endpoint) -> [UInt8] {
        Array(("HTTP/1.0 503 Service Unavailable\nRetry-After: 300\r\nX-Kazaa-Username: \(username)\r\n"
            + "X-Kazaa-Network: \(network)\r\nX-Kazaa-IP: \(ip)\r\nX-Kazaa-SupernodeIP: \(supernode)\r\n\r\n").utf8)
    }

    /// The line a firewalled uploader sends after connecting out to the requester.
    public static func give(pushID: UInt32) -> [UInt8] { Array("GIVE \(pushID)\r\n".utf8) }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The length of an HTTP head at the start of `bytes` (through its blank line), or nil.
    public static func headLength(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x0A {
                if bytes[i + 1] == 0x0A { return i + 2 }
                if i + 2 < bytes.count, bytes[i + 1] == 0x0D, bytes[i + 2] == 0x0A { return i + 3 }
            }
            i += 1
        }
        return nil
    }

    /// The first line of `bytes`, without its line end, when one is complete.
    public static func firstLine(_ bytes: [UInt8]) -> String? {
        guard let end = bytes.firstIndex(of: 0x0A) else { return nil }
        let line = end > 0 && bytes[end - 1] == 0x0D ? bytes[0..<(end - 1)] : bytes[0..<end]
        return String(decoding: line, as: UTF8.self)
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    static func readUInt32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        guard offset + 4 <= bytes.count else { return 0 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}
