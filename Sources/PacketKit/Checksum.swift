import PluginAPI

/// The Internet checksum (RFC 1071) and the TCP/UDP pseudo-header sums (RFC 793, RFC 768, RFC 8200).
///
/// Sums are kept unfolded in a `UInt64` so several parts (pseudo-header, header, payload) can be
/// added before folding once; each part but the last must have an even length, because the
/// checksum pairs bytes across the whole sequence.
public enum Checksum {
    /// The unfolded one's-complement sum of `bytes` taken as big-endian 16-bit words, added to
    /// `initial`. An odd trailing byte is padded with zero.
    public static func sum(_ bytes: UnsafeRawBufferPointer, initial: UInt64 = 0) -> UInt64 {
        var total = initial
        var i = 0
        let pairs = bytes.count & ~1
        while i < pairs {
            total &+= UInt64(bytes[i]) << 8 | UInt64(bytes[i + 1])
            i += 2
        }
        if bytes.count & 1 == 1 { total &+= UInt64(bytes[bytes.count - 1]) << 8 }
        return total
    }

    public static func sum(_ bytes: [UInt8], initial: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { sum($0, initial: initial) }
    }

    /// Folds an unfolded sum to 16 bits and complements it: the value to store in a checksum field.
    public static func finish(_ sum: UInt64) -> UInt16 {
        var s = sum
        while s >> 16 != 0 { s = (s & 0xFFFF) + (s >> 16) }
        return ~UInt16(s)
    }

    /// The checksum of `bytes` alone, as stored in an IPv4 header.
    public static func internet(_ bytes: [UInt8]) -> UInt16 { finish(sum(bytes)) }

    public static func internet(_ bytes: UnsafeRawBufferPointer) -> UInt16 { finish(sum(bytes)) }

    /// The unfolded sum of the pseudo-header for a TCP or UDP segment of `length` bytes.
    /// The family follows the addresses: both IPv4 (the 12-byte form) or both IPv6 (the 40-byte form).
    public static func pseudoHeaderSum(source: IPAddress, destination: IPAddress, protocolNumber: UInt8, length: Int) -> UInt64 {
        var total = addressSum(source) &+ addressSum(destination)
        total &+= UInt64(protocolNumber)
        // IPv4 carries a 16-bit length, IPv6 a 32-bit one; added as words both give the same sum.
        total &+= UInt64(UInt32(truncatingIfNeeded: length) >> 16) + UInt64(UInt32(truncatingIfNeeded: length) & 0xFFFF)
        return total
    }

    /// The address's words summed straight from its integers, without building its bytes.
    private static func addressSum(_ address: IPAddress) -> UInt64 {
        if let v4 = address.v4 { return UInt64(v4 >> 16) + UInt64(v4 & 0xFFFF) }
        var total: UInt64 = 0
        for half in [address.high, address.low] {
            total &+= (half >> 48) + (half >> 32 & 0xFFFF) + (half >> 16 & 0xFFFF) + (half & 0xFFFF)
        }
        return total
    }

    /// The checksum of a TCP or UDP segment (header with a zero checksum field, and payload).
    /// For UDP a result of zero is sent as 0xFFFF (RFC 768: zero means "no checksum").
    public static func transport(source: IPAddress, destination: IPAddress, protocolNumber: UInt8, segment: UnsafeRawBufferPointer) -> UInt16 {
        let pseudo = pseudoHeaderSum(source: source, destination: destination, protocolNumber: protocolNumber, length: segment.count)
        let value = finish(sum(segment, initial: pseudo))
        return protocolNumber == Transport.udp.rawValue && value == 0 ? 0xFFFF : value
    }

    public static func transport(source: IPAddress, destination: IPAddress, protocolNumber: UInt8, segment: [UInt8]) -> UInt16 {
        segment.withUnsafeBytes { transport(source: source, destination: destination, protocolNumber: protocolNumber, segment: $0) }
    }

    /// True when a segment's stored checksum is right: the sum over pseudo-header and segment,
    /// checksum field included, folds to 0xFFFF. A UDP checksum of zero (none sent) is accepted.
    public static func isValidTransport(source: IPAddress, destination: IPAddress, protocolNumber: UInt8, segment: UnsafeRawBufferPointer) -> Bool {
        if protocolNumber == Transport.udp.rawValue, segment.u16be(6) == 0 { return true }
        let pseudo = pseudoHeaderSum(source: source, destination: destination, protocolNumber: protocolNumber, length: segment.count)
        return finish(sum(segment, initial: pseudo)) == 0
    }

    /// True when an IPv4 header's checksum is right.
    public static func isValidIPv4Header(_ header: UnsafeRawBufferPointer) -> Bool {
        finish(sum(header)) == 0
    }
}
