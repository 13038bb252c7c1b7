import PluginAPI

/// The UDP discovery messages of FastTrack: their layout, the checks a fixed-offset signature
/// rule cannot express, and the bytes of the replies and probes the plugin asks the host to send.
///
/// Layouts (integers big-endian):
/// - ping `27 | min-encryption(4) | 80 | name | 00`: 6 + name + 1 bytes (12 for "KaZaA").
/// - supernode pong `28 | min-encryption(4) | 00 | 5 unknown bytes | name | 00`: 11 + name + 1 (17 for "KaZaA").
/// - pong `29 | min-encryption(4) | 01 | flag | 00 00 | id(4) [| ip(4) port(2) 2 bytes]`: 13, or 21 with the flag.
enum DiscoveryMessage {
    enum Kind: UInt8, Sendable {
        case ping = 0x27
        case supernodePong = 0x28
        case pong = 0x29

        /// Where the NUL-terminated network name starts, for the kinds that carry one.
        var nameOffset: Int? {
            switch self {
            case .ping: return 6
            case .supernodePong: return 11
            case .pong: return nil
            }
        }

        var isPong: Bool { self != .ping }
    }

    /// The range of the network name when `payload[offset...]` is a printable name ending with
    /// the datagram's last byte, a NUL; nil otherwise. Its length is what fixes the datagram's.
    static func networkName(in payload: UnsafeRawBufferPointer, from offset: Int) -> Range<Int>? {
        let last = payload.count - 1
        guard offset >= 0, last > offset, payload[last] == 0 else { return nil }
        var i = offset
        while i < last {
            let byte = payload[i]
            if byte < 0x20 || byte > 0x7E { return nil }
            i += 1
        }
        return offset..<last
    }

    /// A ping carrying `name`, as a FastTrack client sends it.
    static func ping(encryption: UInt32, name: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [Kind.ping.rawValue]
        bytes.reserveCapacity(7 + name.count)
        bytes += bigEndian(encryption)
        bytes.append(0x80)
        bytes += name
        bytes.append(0)
        return bytes
    }

    /// A 13-byte pong without the address flag: tells the client the peer is alive and that UDP
    /// works, without inviting a TCP connection to it.
    static func pong(encryption: [UInt8], id: UInt32) -> [UInt8] {
        var bytes: [UInt8] = [Kind.pong.rawValue]
        bytes.reserveCapacity(13)
        bytes += encryption
        bytes += [0x01, 0x00, 0x00, 0x00]
        bytes += bigEndian(id)
        return bytes
    }

    /// A supernode pong carrying `name`. The unknown fields take values seen on the wire: a
    /// time counter of 0x36, `3C 13`, a load of 39 % and 5.
    static func supernodePong(encryption: [UInt8], name: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [Kind.supernodePong.rawValue]
        bytes.reserveCapacity(12 + name.count)
        bytes += encryption
        bytes += [0x00, 0x36, 0x3C, 0x13, 0x27, 0x05]
        bytes += name
        bytes.append(0)
        return bytes
    }

    /// A stable 4-byte id for a spoofed pong, derived from the peer it pretends to come from,
    /// so that repeated replies from one peer agree with each other.
    static func pongID(for peer: Endpoint) -> UInt32 {
        // FNV-1a over the address and port.
        var hash: UInt32 = 0x811C_9DC5
        for byte in peer.address.bytes + [UInt8(peer.port >> 8), UInt8(peer.port & 0xFF)] {
            hash = (hash ^ UInt32(byte)) &* 0x0100_0193
        }
        return hash
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }
}
