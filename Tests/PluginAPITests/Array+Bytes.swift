/// Hex text to bytes; blanks and other non-hex characters are ignored, so vectors can be grouped.
func hexBytes(_ hex: String) -> [UInt8] {
    var out = [UInt8]()
    var high: UInt8?
    for ch in hex.utf8 {
        guard let nibble = ch.hexValue else { continue }
        if let h = high {
            out.append(h << 4 | nibble)
            high = nil
        } else {
            high = nibble
        }
    }
    return out
}

private extension UInt8 {
    var hexValue: UInt8? {
        switch self {
        case 0x30...0x39: return self - 0x30
        case 0x61...0x66: return self - 0x61 + 10
        case 0x41...0x46: return self - 0x41 + 10
        default: return nil
        }
    }
}

extension Array where Element == UInt8 {
    /// Sets a big-endian 16-bit field.
    mutating func set16(_ offset: Int, _ value: UInt16) {
        self[offset] = UInt8(value >> 8)
        self[offset + 1] = UInt8(value & 0xFF)
    }

    func get16(_ offset: Int) -> UInt16 { UInt16(self[offset]) << 8 | UInt16(self[offset + 1]) }
}
