import PluginAPI

/// A FILE_TRANSFER order (type 10) from the server: where the satellite is to connect, or whom it
/// is to accept a connection from.
struct AudioGalaxyTransferOrder: Equatable {
    /// True for "connect" (flag 1): the client connects to address:port. False for "listen"
    /// (flag 0): the far end connects to the client.
    var connect: Bool
    var address: IPAddress
    var port: UInt16
}

/// Reads the fields of a FILE_TRANSFER body that matter, a byte at a time: file id string
/// (`00 10` + 16 bytes), u8 connect flag, u8 direction, address string (dotted), u32 port.
struct AudioGalaxyTransferScan: Equatable {
    private var position: UInt16 = 0
    private var valid = true
    private var connect: UInt8 = 0
    private var addressLength: UInt16 = 0
    private var address = DottedQuadScan()
    private var port: UInt32 = 0

    private var end: UInt16 { 22 + addressLength + 4 }

    /// True while more bytes are wanted.
    var wantsMore: Bool { valid && position < end }

    mutating func add(_ byte: UInt8) {
        guard wantsMore else { return }
        switch position {
        case 0: valid = byte == 0x00
        case 1: valid = byte == 0x10
        case 2...17: break
        case 18:
            connect = byte
            valid = byte <= 1
        case 19: valid = byte <= 1
        case 20: valid = byte == 0
        case 21:
            addressLength = UInt16(byte)
            valid = (7...15).contains(byte)
        default:
            if position < 22 + addressLength {
                address.add(byte)
            } else {
                port = port << 8 | UInt32(byte)
            }
        }
        position += 1
    }

    /// The order, when every field arrived and holds.
    var order: AudioGalaxyTransferOrder? {
        guard valid, addressLength > 0, position >= end, let ip = address.address else { return nil }
        if connect == 1 {
            guard (1...65_535).contains(port) else { return nil }
        } else {
            guard port <= 65_535 else { return nil }
        }
        return AudioGalaxyTransferOrder(connect: connect == 1, address: ip, port: UInt16(truncatingIfNeeded: port))
    }
}

/// Reads the server's side of an AudioGalaxy server connection frame by frame, from chunks of
/// any size, and reports every FILE_TRANSFER order. It keeps only the header fields of the frame
/// under way and the scan of a FILE_TRANSFER body; other bodies are skipped in bulk.
///
/// A header that breaks the framing (wrong magic, an impossible size), or a hole in the stream,
/// sends the reader hunting for the next magic; the header checks that follow keep a magic
/// inside a file name from fooling it for long.
struct AudioGalaxyFrameReader: Equatable {
    private var headerBytes: UInt8 = 0
    private var size: UInt32 = 0
    private var type: UInt16 = 0
    private var remaining: UInt32 = 0
    private var transfer = AudioGalaxyTransferScan()
    private(set) var hunting = false
    /// Frames read, saturating.
    private(set) var frames: UInt32 = 0

    static let fileTransfer: UInt16 = 10

    init() {}

    mutating func feed(_ bytes: UnsafeRawBufferPointer, afterGap: Bool, _ deliver: (AudioGalaxyTransferOrder) -> Void) {
        if afterGap { hunt() }
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if hunting {
                // The magic has no repeated prefix, so a mismatch restarts the match.
                if byte == AudioGalaxyFrame.magic[Int(headerBytes)] {
                    headerBytes += 1
                } else {
                    headerBytes = byte == AudioGalaxyFrame.magic[0] ? 1 : 0
                }
                if headerBytes == 4 { hunting = false }
                index += 1
                continue
            }
            if headerBytes < 14 {
                readHeader(byte)
                index += 1
                if headerBytes == 14 { startFrame(deliver) }
                continue
            }
            if type == Self.fileTransfer {
                while index < count && remaining > 0 && transfer.wantsMore {
                    transfer.add(bytes[index])
                    index += 1
                    remaining -= 1
                }
            }
            let take = Int(min(UInt32(count - index), remaining))
            index += take
            remaining -= UInt32(take)
            if remaining == 0 { endFrame(deliver) }
        }
    }

    private mutating func readHeader(_ byte: UInt8) {
        switch headerBytes {
        case 0...3:
            guard byte == AudioGalaxyFrame.magic[Int(headerBytes)] else {
                hunt()
                headerBytes = byte == AudioGalaxyFrame.magic[0] ? 1 : 0
                return
            }
        case 4...7: size = size << 8 | UInt32(byte)
        case 8...11: break  // sequence number
        default: type = type << 8 | UInt16(byte)
        }
        headerBytes += 1
    }

    private mutating func startFrame(_ deliver: (AudioGalaxyTransferOrder) -> Void) {
        guard size >= 10, size <= AudioGalaxyFrame.maximumSize, type <= AudioGalaxyFrame.maximumType else {
            hunt()
            return
        }
        remaining = size - 10
        transfer = AudioGalaxyTransferScan()
        if remaining == 0 { endFrame(deliver) }
    }

    private mutating func endFrame(_ deliver: (AudioGalaxyTransferOrder) -> Void) {
        if frames < .max { frames += 1 }
        if type == Self.fileTransfer, let order = transfer.order { deliver(order) }
        reset()
    }

    private mutating func hunt() {
        reset()
        hunting = true
    }

    private mutating func reset() {
        headerBytes = 0
        size = 0
        type = 0
        remaining = 0
    }
}
