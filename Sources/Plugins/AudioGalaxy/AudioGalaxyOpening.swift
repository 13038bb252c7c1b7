import PluginAPI

/// What the first frame of one direction of a flow says.
enum AudioGalaxyOpening: Equatable {
    case needMore
    case notAudioGalaxy
    /// LOGIN (0) or NEW_USER (23) from the connecting side.
    case login
    /// Any other typed frame of a server connection.
    case message(type: UInt16)
    /// The redirector's single message: the main server's port and dotted address.
    case redirect(address: IPAddress, port: UInt16)
    /// Satellite to satellite: the 38-byte request of the receiving side.
    case transferRequest
    /// Satellite to satellite: the sender's 16-byte `OK` answer.
    case transferAccepted
}

/// AudioGalaxy Satellite framing: magic `45 5F D0 D5`, a big-endian u32 size (the frame's total
/// length minus 4), a big-endian u32 sequence number counted per sender from 0, then, on server
/// connections, a big-endian u16 type and the data. Strings are a u16 length and the bytes.
enum AudioGalaxyFrame {
    static let magic: [UInt8] = [0x45, 0x5F, 0xD0, 0xD5]
    /// Size of magic + size + sequence + type.
    static let typedHeaderLength = 14
    /// The largest frame we follow; share lists come in many small frames.
    static let maximumSize: UInt32 = 1 << 20
    /// Sequence numbers restart at 0 on each connection: an opening frame has a small one.
    static let maximumOpeningSequence: UInt32 = 16
    /// The message types the protocol documents use (LOGIN 0 … LOGIN_HASH_PREFIX 55).
    static let maximumType: UInt16 = 63

    /// False when the bytes present cannot be the start of a frame. Empty bytes may still be.
    static func beginsLikeFrame(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let n = min(4, bytes.count)
        for i in 0..<n where bytes[i] != magic[i] { return false }
        return true
    }

    /// Reads the first frame of one direction.
    static func opening(_ stream: UnsafeRawBufferPointer, fromConnectingSide: Bool) -> AudioGalaxyOpening {
        guard beginsLikeFrame(stream) else { return .notAudioGalaxy }
        guard let size = stream.u32be(4), let sequence = stream.u32be(8) else { return .needMore }
        guard size >= 8, size <= maximumSize, sequence <= maximumOpeningSequence else { return .notAudioGalaxy }
        let total = Int(size) + 4

        // Satellite transfer: the request carries a file id string (`00 10` + 16 bytes) at 12.
        if size == 34, let idLength = stream.u16be(12), idLength == 16 {
            return stream.count >= total ? .transferRequest : .needMore
        }
        if size == 12, stream.count >= 16, stream.matches([0x00, 0x02, 0x4F, 0x4B], at: 12) {
            return .transferAccepted
        }
        // The redirector's answer: u32 port, then the address string, filling the frame exactly.
        if !fromConnectingSide, (21...29).contains(size), let high = stream.u16be(12), high == 0 {
            guard stream.count >= total else { return .needMore }
            if let redirect = redirect(stream, size: Int(size)) { return redirect }
        }
        guard size >= 10, let type = stream.u16be(12) else { return stream.count < typedHeaderLength ? .needMore : .notAudioGalaxy }
        guard type <= maximumType else { return .notAudioGalaxy }
        if fromConnectingSide && (type == 0 || type == 23) { return .login }
        return .message(type: type)
    }

    private static func redirect(_ stream: UnsafeRawBufferPointer, size: Int) -> AudioGalaxyOpening? {
        guard let port = stream.u32be(12), (1...65_535).contains(port),
              let length = stream.u16be(16), Int(length) + 14 == size,
              let text = stream.slice(18, Int(length)), let address = dottedQuad(text) else { return nil }
        return .redirect(address: address, port: UInt16(port))
    }

    /// A strict dotted quad: four decimal octets of 1 to 3 digits, nothing else.
    static func dottedQuad(_ bytes: UnsafeRawBufferPointer) -> IPAddress? {
        var scan = DottedQuadScan()
        for byte in bytes { scan.add(byte) }
        return scan.address
    }
}

/// Reads a dotted quad a byte at a time (it may arrive split across segments).
struct DottedQuadScan: Equatable {
    private var value: UInt32 = 0
    private var octet: UInt16 = 0
    private var digits: UInt8 = 0
    private var dots: UInt8 = 0
    private var valid = true

    mutating func add(_ byte: UInt8) {
        guard valid else { return }
        if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
            octet = octet * 10 + UInt16(byte - UInt8(ascii: "0"))
            digits += 1
            if digits > 3 || octet > 255 { valid = false }
        } else if byte == UInt8(ascii: "."), digits > 0, dots < 3 {
            value = value << 8 | UInt32(octet)
            dots += 1
            octet = 0
            digits = 0
        } else {
            valid = false
        }
    }

    var address: IPAddress? {
        guard valid, dots == 3, digits > 0 else { return nil }
        return IPAddress(v4: value << 8 | UInt32(octet))
    }
}
