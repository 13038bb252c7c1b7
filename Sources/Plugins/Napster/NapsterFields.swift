import PluginAPI

/// Reads the space-separated fields of one Napster message body a byte at a time, so a body
/// split across any number of segments is read without keeping its bytes. It counts fields
/// (a double-quoted field may hold spaces; Napster has no escaping) and captures the two it was
/// told to: an address (a decimal number whose little-endian bytes are the octets, or a dotted
/// quad) and a port.
struct NapsterFields: Equatable {
    /// Which field holds the address and which the port; `none` for neither.
    var addressField: UInt8 = NapsterFields.none
    var portField: UInt8 = NapsterFields.none
    static let none: UInt8 = 0xFF

    /// Fields started so far (saturates).
    private(set) var count: UInt8 = 0
    /// False once a control byte appeared: Napster bodies are text.
    private(set) var clean = true
    /// Bit i: field i (i < 16) was double-quoted.
    private(set) var quotedMask: UInt16 = 0
    private(set) var address: UInt32 = 0
    private(set) var addressKind: AddressKind = .none
    private(set) var port: UInt16 = 0
    private(set) var hasPort = false

    private var inField = false
    private var inQuotes = false
    // The current field read as a decimal number and as a dotted quad.
    private var digits: UInt8 = 0
    private var value: UInt64 = 0
    private var dotted: UInt32 = 0
    private var octet: UInt16 = 0
    private var octetDigits: UInt8 = 0
    private var dots: UInt8 = 0
    private var dottedOK = true
    private static let notNumeric: UInt8 = 0xFF

    enum AddressKind: UInt8, Equatable {
        case none
        /// Napster's own form: ip = a + b·2⁸ + c·2¹⁶ + d·2²⁴ for a.b.c.d.
        case decimal
        case dotted
    }

    init() {}

    init(addressField: UInt8, portField: UInt8) {
        self.addressField = addressField
        self.portField = portField
    }

    /// The captured address, when its field was a number or a dotted quad.
    var ipAddress: IPAddress? {
        switch addressKind {
        case .none: return nil
        case .decimal: return IPAddress(v4: address.byteSwapped)
        case .dotted: return IPAddress(v4: address)
        }
    }

    func isQuoted(_ field: Int) -> Bool { field < 16 && quotedMask & (1 << UInt16(field)) != 0 }

    mutating func scan(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { scan(byte) }
    }

    @inline(__always)
    mutating func scan(_ byte: UInt8) {
        if byte < 0x20 || byte == 0x7F { clean = false }
        if inField {
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    inQuotes = false
                    endField()
                }
                return
            }
            if byte == UInt8(ascii: " ") {
                endField()
                return
            }
            accumulate(byte)
            return
        }
        if byte == UInt8(ascii: " ") { return }
        inField = true
        if count < 0xFE { count += 1 }
        if byte == UInt8(ascii: "\"") {
            inQuotes = true
            if count <= 16 { quotedMask |= 1 << UInt16(count - 1) }
        } else {
            accumulate(byte)
        }
    }

    /// Ends the body: an unterminated quote makes it unclean.
    mutating func finish() {
        if inQuotes { clean = false }
        if inField { endField() }
    }

    private mutating func accumulate(_ byte: UInt8) {
        let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
        if digits != Self.notNumeric {
            if isDigit {
                if digits < 11 { value = value * 10 + UInt64(byte - UInt8(ascii: "0")) }
                if digits < 200 { digits += 1 }
            } else {
                digits = Self.notNumeric
            }
        }
        guard dottedOK else { return }
        if isDigit {
            octet = octet * 10 + UInt16(byte - UInt8(ascii: "0"))
            octetDigits += 1
            if octetDigits > 3 || octet > 255 { dottedOK = false }
        } else if byte == UInt8(ascii: "."), octetDigits > 0, dots < 3 {
            dotted = dotted << 8 | UInt32(octet)
            dots += 1
            octet = 0
            octetDigits = 0
        } else {
            dottedOK = false
        }
    }

    private mutating func endField() {
        inField = false
        let index = count &- 1
        if index == addressField {
            if digits != Self.notNumeric, (1...10).contains(digits), value <= UInt64(UInt32.max) {
                address = UInt32(value)
                addressKind = .decimal
            } else if dottedOK, dots == 3, octetDigits > 0 {
                address = dotted << 8 | UInt32(octet)
                addressKind = .dotted
            }
        }
        if index == portField, digits != Self.notNumeric, (1...5).contains(digits), value <= 65_535 {
            port = UInt16(value)
            hasPort = true
        }
        digits = 0
        value = 0
        dotted = 0
        octet = 0
        octetDigits = 0
        dots = 0
        dottedOK = true
    }
}
