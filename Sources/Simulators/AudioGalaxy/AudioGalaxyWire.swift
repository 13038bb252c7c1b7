import PluginAPI

/// AudioGalaxy Satellite frames as bytes: magic `45 5F D0 D5`, big-endian u32 size (total − 4),
/// big-endian u32 sequence number, and on server connections a big-endian u16 type; strings are
/// a u16 length and the bytes. Shared by the packet generators and the live server and client.
public enum AudioGalaxyWire {
    public static let magic: [UInt8] = [0x45, 0x5F, 0xD0, 0xD5]

    public enum MessageType: UInt16, Sendable {
        case login = 0
        case newShare = 2
        case readyForTransfer = 5
        case fileTransferState = 6
        case readyToSendShares = 7
        case sendSharesStandBy = 8
        case sendShares = 9
        case fileTransfer = 10
        case wrongLogin = 14
    }

    /// A frame; `claimedSize` lies about the size when given (hostile scenarios).
    public static func frame(sequence: UInt32, type: UInt16?, data: [UInt8], claimedSize: UInt32? = nil) -> [UInt8] {
        var body = u32(sequence)
        if let type { body += u16(type) }
        body += data
        return magic + u32(claimedSize ?? UInt32(body.count + 4)) + body
    }

    public static func frame(sequence: UInt32, _ type: MessageType, data: [UInt8] = []) -> [UInt8] {
        frame(sequence: sequence, type: type.rawValue, data: data)
    }

    public static func string(_ text: String) -> [UInt8] { string(Array(text.utf8)) }

    public static func string(_ bytes: [UInt8]) -> [UInt8] { u16(UInt16(truncatingIfNeeded: bytes.count)) + bytes }

    public static func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    public static func u32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    /// A 16-byte file id as the protocol sends it: `00 10` and the bytes.
    public static func fileID(_ id: [UInt8]) -> [UInt8] {
        precondition(id.count == 16, "a file id has 16 bytes")
        return string(id)
    }

    // MARK: Messages

    /// The redirector's one message (no type field): the main server's port as a u32, then its
    /// address as a string. The captured one is 30 bytes with sequence number 1.
    public static func redirect(server: String, port: UInt32, sequence: UInt32 = 1) -> [UInt8] {
        frame(sequence: sequence, type: nil, data: u32(port) + string(server))
    }

    /// LOGIN as client 0.520L sends it: 4 zero bytes, user, password, version, the client's own
    /// address, three u16 zeros.
    public static func login(user: String, password: String, version: String = "0.520L", clientAddress: String,
                             sequence: UInt32 = 0) -> [UInt8] {
        frame(sequence: sequence, .login,
              data: [0, 0, 0, 0] + string(user) + string(password) + string(version) + string(clientAddress) + [0, 0, 0, 0, 0, 0])
    }

    /// NEW_SHARE: file id, name, size (the layout generators use; detectors do not read it).
    public static func newShare(sequence: UInt32, id: [UInt8], name: String, size: UInt32) -> [UInt8] {
        frame(sequence: sequence, .newShare, data: fileID(id) + string(name) + u32(size))
    }

    /// FILE_TRANSFER: file id, connect flag (1 connect, 0 listen), direction (0 send,
    /// 1 receive), the address to connect to or accept from, u32 port, u32 local id, file name, u32 size.
    public static func fileTransfer(sequence: UInt32, id: [UInt8], connect: Bool, receive: Bool, address: String, port: UInt32,
                                    localID: UInt32, name: String, size: UInt32) -> [UInt8] {
        frame(sequence: sequence, .fileTransfer,
              data: fileID(id) + [connect ? 1 : 0, receive ? 1 : 0] + string(address) + u32(port) + u32(localID) + string(name) + u32(size))
    }

    /// FILE_TRANSFER_STATE: file id and a u32 state (0 complete … 9 reset).
    public static func fileTransferState(sequence: UInt32, id: [UInt8], state: UInt32) -> [UInt8] {
        frame(sequence: sequence, .fileTransferState, data: fileID(id) + u32(state))
    }

    /// The receiving satellite's 38-byte transfer request: counter, file id, size, offset.
    public static func transferRequest(counter: UInt32, id: [UInt8], size: UInt32, offset: UInt32) -> [UInt8] {
        magic + u32(34) + u32(counter) + fileID(id) + u32(size) + u32(offset)
    }

    /// The sending satellite's 16-byte answer: 4 bytes, then the string "OK".
    public static func transferAccepted(counter: UInt32) -> [UInt8] {
        magic + u32(12) + u32(counter) + string("OK")
    }

    // MARK: Reading

    /// Splits a byte stream into frames (without the magic and size); keeps the unfinished rest.
    /// A stream that does not start with the magic ends in `broken`.
    public struct Decoder: Sendable {
        private var buffer: [UInt8] = []
        public private(set) var broken = false

        public init() {}

        public mutating func append(_ bytes: [UInt8]) { buffer += bytes }

        /// The next whole frame's bytes after the size field (sequence, type, data).
        public mutating func next() -> [UInt8]? {
            guard !broken, buffer.count >= 8 else { return nil }
            guard Array(buffer[0..<4]) == magic else {
                broken = true
                return nil
            }
            let size = Int(buffer[4]) << 24 | Int(buffer[5]) << 16 | Int(buffer[6]) << 8 | Int(buffer[7])
            guard size >= 4, size <= 1 << 20 else {
                broken = true
                return nil
            }
            guard buffer.count >= size + 4 else { return nil }
            let frame = Array(buffer[8..<(size + 4)])
            buffer.removeFirst(size + 4)
            return frame
        }
    }

    /// A reader over a frame's bytes for the live tools.
    public struct Reader {
        public let bytes: [UInt8]
        public private(set) var offset = 0

        public init(_ bytes: [UInt8]) { self.bytes = bytes }

        public mutating func u8() -> UInt8? {
            guard offset < bytes.count else { return nil }
            defer { offset += 1 }
            return bytes[offset]
        }

        public mutating func u16() -> UInt16? {
            guard offset + 2 <= bytes.count else { return nil }
            defer { offset += 2 }
            return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        }

        public mutating func u32() -> UInt32? {
            guard offset + 4 <= bytes.count else { return nil }
            defer { offset += 4 }
            return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
        }

        public mutating func string() -> [UInt8]? {
            guard let length = u16(), offset + Int(length) <= bytes.count else { return nil }
            defer { offset += Int(length) }
            return Array(bytes[offset..<(offset + Int(length))])
        }
    }
}
