/// Bounds-checked reads from packet bytes. Every read returns nil (or false) past the end:
/// packet bytes come from the network and are never trusted.
extension UnsafeRawBufferPointer {
    @inlinable public func u8(_ offset: Int) -> UInt8? {
        offset >= 0 && offset < count ? self[offset] : nil
    }

    @inlinable public func u16be(_ offset: Int) -> UInt16? {
        guard offset >= 0, offset + 2 <= count else { return nil }
        return UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    @inlinable public func u16le(_ offset: Int) -> UInt16? {
        guard offset >= 0, offset + 2 <= count else { return nil }
        return UInt16(self[offset + 1]) << 8 | UInt16(self[offset])
    }

    @inlinable public func u32be(_ offset: Int) -> UInt32? {
        guard offset >= 0, offset + 4 <= count else { return nil }
        return UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }

    @inlinable public func u32le(_ offset: Int) -> UInt32? {
        guard offset >= 0, offset + 4 <= count else { return nil }
        return UInt32(self[offset + 3]) << 24 | UInt32(self[offset + 2]) << 16 | UInt32(self[offset + 1]) << 8 | UInt32(self[offset])
    }

    /// The bytes `offset..<offset+length`, or nil when they are not all present.
    @inlinable public func slice(_ offset: Int, _ length: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, length >= 0, offset + length <= count else { return nil }
        return UnsafeRawBufferPointer(rebasing: self[offset..<(offset + length)])
    }

    /// The bytes from `offset` to the end (empty when `offset` is past the end).
    @inlinable public func suffix(from offset: Int) -> UnsafeRawBufferPointer {
        guard offset < count else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: self[Swift.max(0, offset)...])
    }

    @inlinable public func matches(_ expected: [UInt8], at offset: Int) -> Bool {
        guard offset >= 0, offset + expected.count <= count else { return false }
        for i in 0..<expected.count where self[offset + i] != expected[i] { return false }
        return true
    }

    @inlinable public func hasPrefix(_ expected: [UInt8]) -> Bool { matches(expected, at: 0) }

    /// ASCII prefix test, case-sensitive.
    @inlinable public func hasPrefix(_ ascii: StaticString) -> Bool {
        let n = ascii.utf8CodeUnitCount
        guard n <= count else { return false }
        let p = ascii.utf8Start
        for i in 0..<n where self[i] != p[i] { return false }
        return true
    }

    /// The offset of the first occurrence of `byte` at or after `from`.
    @inlinable public func firstIndex(of byte: UInt8, from: Int = 0) -> Int? {
        var i = Swift.max(0, from)
        while i < count {
            if self[i] == byte { return i }
            i += 1
        }
        return nil
    }

    /// The offset of the first occurrence of `needle` at or after `from`.
    public func firstRange(of needle: [UInt8], from: Int = 0) -> Range<Int>? {
        guard let first = needle.first, needle.count <= count else { return nil }
        var i = Swift.max(0, from)
        let last = count - needle.count
        while i <= last {
            if self[i] == first && matches(needle, at: i) { return i..<(i + needle.count) }
            i += 1
        }
        return nil
    }

    /// Decodes the bytes as Latin-1 text, so any byte sequence gives a string.
    public func latin1String() -> String {
        allSatisfy({ $0 < 0x80 })
            ? String(decoding: self, as: UTF8.self)
            : String(String.UnicodeScalarView(map { Unicode.Scalar($0) }))
    }
}
