/// An IPv4 or IPv6 address in 16 bytes. IPv4 is kept in its IPv4-mapped IPv6 form
/// (`::ffff:a.b.c.d`), so one type serves both families in flow keys and address lists.
public struct IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Bytes 0...7 of the 16-byte form, big-endian.
    public var high: UInt64
    /// Bytes 8...15 of the 16-byte form, big-endian.
    public var low: UInt64

    private static let mappedPrefix: UInt64 = 0x0000_FFFF_0000_0000

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// An IPv4 address from its value in host order (`0x0A000001` is 10.0.0.1).
    public init(v4 value: UInt32) {
        high = 0
        low = Self.mappedPrefix | UInt64(value)
    }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        self.init(v4: UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d))
    }

    /// Reads 4 (IPv4) or 16 (IPv6) bytes in network order.
    public init?(bytes: some Collection<UInt8>) {
        let array = Array(bytes)
        switch array.count {
        case 4:
            self.init(array[0], array[1], array[2], array[3])
        case 16:
            var h: UInt64 = 0, l: UInt64 = 0
            for i in 0..<8 { h = h << 8 | UInt64(array[i]) }
            for i in 8..<16 { l = l << 8 | UInt64(array[i]) }
            self.init(high: h, low: l)
        default:
            return nil
        }
    }

    public var isIPv4: Bool { high == 0 && (low & 0xFFFF_FFFF_0000_0000) == Self.mappedPrefix }

    /// The IPv4 value in host order, when this is an IPv4 address.
    public var v4: UInt32? { isIPv4 ? UInt32(truncatingIfNeeded: low) : nil }

    /// The address in network order: 4 bytes for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        if let v4 {
            return [UInt8(v4 >> 24), UInt8(truncatingIfNeeded: v4 >> 16), UInt8(truncatingIfNeeded: v4 >> 8), UInt8(truncatingIfNeeded: v4)]
        }
        var out = [UInt8]()
        out.reserveCapacity(16)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: high >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: low >> UInt64(shift))) }
        return out
    }

    // MARK: Classification

    public var isUnspecified: Bool {
        if let v4 { return v4 == 0 }
        return high == 0 && low == 0
    }

    public var isLoopback: Bool {
        if let v4 { return v4 >> 24 == 127 }
        return high == 0 && low == 1
    }

    public var isMulticast: Bool {
        if let v4 { return v4 >> 28 == 0xE }
        return high >> 56 == 0xFF
    }

    /// The IPv4 limited broadcast address. Directed broadcasts depend on the netmask and are
    /// not knowable from the address alone.
    public var isBroadcast: Bool { v4 == 0xFFFF_FFFF }

    public var isLinkLocal: Bool {
        if let v4 { return v4 >> 16 == 0xA9FE }
        return high >> 54 == 0x3FA  // fe80::/10
    }

    /// True for an address that can be a peer on the Internet: not unspecified, loopback,
    /// multicast, broadcast, link-local, or in 0.0.0.0/8 or 240.0.0.0/4.
    public var isRoutableUnicast: Bool {
        if isUnspecified || isLoopback || isMulticast || isBroadcast || isLinkLocal { return false }
        if let v4 { return v4 >> 24 != 0 && v4 >> 28 != 0xF }
        return true
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        lhs.high != rhs.high ? lhs.high < rhs.high : lhs.low < rhs.low
    }

    // MARK: Text form

    /// Appends the text form to a byte buffer; IPv4 without building a string, since event
    /// writers print addresses for every flow.
    public func appendText(to bytes: inout [UInt8]) {
        guard let v4 else {
            bytes.append(contentsOf: description.utf8)
            return
        }
        for shift in [UInt32(24), 16, 8, 0] {
            let octet = UInt8(truncatingIfNeeded: v4 >> shift)
            if octet >= 100 { bytes.append(UInt8(ascii: "0") + octet / 100) }
            if octet >= 10 { bytes.append(UInt8(ascii: "0") + octet / 10 % 10) }
            bytes.append(UInt8(ascii: "0") + octet % 10)
            if shift != 0 { bytes.append(UInt8(ascii: ".")) }
        }
    }

    public var description: String {
        if let v4 {
            return "\(v4 >> 24).\((v4 >> 16) & 0xFF).\((v4 >> 8) & 0xFF).\(v4 & 0xFF)"
        }
        var groups = [UInt16]()
        for shift in stride(from: 48, through: 0, by: -16) { groups.append(UInt16(truncatingIfNeeded: high >> UInt64(shift))) }
        for shift in stride(from: 48, through: 0, by: -16) { groups.append(UInt16(truncatingIfNeeded: low >> UInt64(shift))) }
        // RFC 5952: compress the longest run (of two or more) of zero groups.
        var bestStart = -1, bestLength = 0, runStart = -1
        for i in 0...8 {
            if i < 8 && groups[i] == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength { bestStart = runStart; bestLength = i - runStart }
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        var text = ""
        var i = 0
        while i < 8 {
            if i == bestStart {
                text += "::"
                i += bestLength
                continue
            }
            if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
            text += String(groups[i], radix: 16)
            i += 1
        }
        return text
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (with `::` and an embedded IPv4 tail).
    public init?(_ text: some StringProtocol) {
        if let v4 = Self.parseV4(Substring(text)) {
            self.init(v4: v4)
            return
        }
        guard let (h, l) = Self.parseV6(Substring(text)) else { return nil }
        self.init(high: h, low: l)
    }

    static func parseV4(_ text: Substring) -> UInt32? {
        var value: UInt32 = 0
        var parts = 0
        var current: UInt32 = 0
        var digits = 0
        for ch in text.utf8 {
            if ch == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                value = value << 8 | current
                parts += 1
                current = 0
                digits = 0
            } else if ch >= 48 && ch <= 57 {
                current = current * 10 + UInt32(ch - 48)
                digits += 1
                guard digits <= 3, current <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard parts == 3, digits > 0 else { return nil }
        return value << 8 | current
    }

    static func parseV6(_ text: Substring) -> (UInt64, UInt64)? {
        guard !text.isEmpty, text.utf8.count <= 45 else { return nil }
        var head = [UInt16](), tail = [UInt16]()
        let pieces = text.components(separatedBy: "::")
        guard pieces.count <= 2 else { return nil }

        func parseGroups(_ part: Substring, allowV4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var groups = [UInt16]()
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, field) in fields.enumerated() {
                if allowV4Tail && index == fields.count - 1 && field.contains(".") {
                    guard let v4 = parseV4(field) else { return nil }
                    groups.append(UInt16(v4 >> 16))
                    groups.append(UInt16(v4 & 0xFFFF))
                } else {
                    // UInt16(_:radix:) would also take a sign ("+1"), which no address has.
                    guard (1...4).contains(field.utf8.count), field.utf8.allSatisfy(\.isASCIIHexDigit),
                          let g = UInt16(field, radix: 16) else { return nil }
                    groups.append(g)
                }
            }
            return groups
        }

        if pieces.count == 2 {
            guard let h = parseGroups(Substring(pieces[0]), allowV4Tail: false),
                  let t = parseGroups(Substring(pieces[1]), allowV4Tail: true),
                  h.count + t.count <= 7 else { return nil }
            head = h
            tail = t
        } else {
            guard let all = parseGroups(text, allowV4Tail: true), all.count == 8 else { return nil }
            head = all
        }
        let groups = head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<4 { h = h << 16 | UInt64(groups[i]) }
        for i in 4..<8 { l = l << 16 | UInt64(groups[i]) }
        return (h, l)
    }
}

/// Digits only: Int and UInt16 parsing would also accept a sign.
private func decimal(_ text: Substring) -> Int? {
    guard (1...5).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
    return Int(text)
}

private extension UInt8 {
    var isASCIIHexDigit: Bool { (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self) }
}

private extension StringProtocol {
    func components(separatedBy separator: String) -> [Substring] {
        var result = [Substring]()
        var rest = Substring(self)
        while let range = rest.range(of: separator) {
            result.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        result.append(rest)
        return result
    }
}

private extension Substring {
    func range(of needle: String) -> Range<Index>? {
        let n = Array(needle.utf8)
        guard !n.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            var j = i, k = 0
            while k < n.count, j < endIndex, self.utf8[j] == n[k] {
                j = self.utf8.index(after: j)
                k += 1
            }
            if k == n.count { return i..<j }
            i = self.utf8.index(after: i)
        }
        return nil
    }
}

/// An address and a transport port.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(_ address: IPAddress, _ port: UInt16) {
        self.address = address
        self.port = port
    }

    public var description: String {
        address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }

    /// Parses `a.b.c.d:port` or `[v6]:port`.
    public init?(_ text: some StringProtocol) {
        let s = Substring(text)
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]"),
                  let address = IPAddress(s[s.index(after: s.startIndex)..<close]) else { return nil }
            let rest = s[s.index(after: close)...]
            guard rest.hasPrefix(":"), let port = decimal(rest.dropFirst()).flatMap(UInt16.init(exactly:)) else { return nil }
            self.init(address, port)
        } else {
            guard let colon = s.lastIndex(of: ":"), let address = IPAddress(s[..<colon]), address.isIPv4,
                  let port = decimal(s[s.index(after: colon)...]).flatMap(UInt16.init(exactly:)) else { return nil }
            self.init(address, port)
        }
    }
}

/// An address prefix such as `10.0.0.0/8` or `fc00::/7`.
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    public let network: IPAddress
    /// Prefix length in the 128-bit form (an IPv4 /8 is stored as /104).
    public let prefixLength128: Int

    public init?(_ text: some StringProtocol) {
        let s = Substring(text)
        let parts = s.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let address = IPAddress(first) else { return nil }
        let maxLength = address.isIPv4 ? 32 : 128
        var length = maxLength
        if parts.count == 2 {
            guard let l = decimal(parts[1]), (0...maxLength).contains(l) else { return nil }
            length = l
        }
        self.init(address: address, prefixLength: length)
    }

    /// `prefixLength` is in the address's own family (0...32 for IPv4).
    public init(address: IPAddress, prefixLength: Int) {
        let length128 = address.isIPv4 ? prefixLength + 96 : prefixLength
        prefixLength128 = length128
        network = CIDR.mask(address, length128)
    }

    private static func mask(_ address: IPAddress, _ length: Int) -> IPAddress {
        let highMask: UInt64 = length >= 64 ? .max : (length == 0 ? 0 : ~(UInt64.max >> UInt64(length)))
        let lowLength = max(0, length - 64)
        let lowMask: UInt64 = lowLength >= 64 ? .max : (lowLength == 0 ? 0 : ~(UInt64.max >> UInt64(lowLength)))
        return IPAddress(high: address.high & highMask, low: address.low & lowMask)
    }

    public func contains(_ address: IPAddress) -> Bool {
        CIDR.mask(address, prefixLength128) == network
    }

    public var description: String {
        network.isIPv4 && prefixLength128 >= 96 ? "\(network)/\(prefixLength128 - 96)" : "\(network)/\(prefixLength128)"
    }
}
