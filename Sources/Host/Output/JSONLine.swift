import PluginAPI

/// Builds one JSON object as UTF-8 bytes, fields in the order they are added. Hand-written so
/// that event output needs no reflection, allocates one buffer per event, and keeps a stable
/// field order for golden files.
struct JSONLine {
    private(set) var bytes: [UInt8] = []
    private var first = true

    init() {
        bytes.reserveCapacity(384)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Builds the object at the end of `buffer`, which is borrowed until `finish(into:)`.
    init(appendingTo buffer: inout [UInt8]) {
        swap(&bytes, &buffer)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Closes the object and hands the buffer back.
    mutating func finish(into buffer: inout [UInt8]) {
        bytes.append(UInt8(ascii: "}"))
        swap(&bytes, &buffer)
    }

    private mutating func key(_ name: StaticString) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func key(_ name: String) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func add(_ name: StaticString, _ value: String?) {
        key(name)
        if let value { appendQuoted(value) } else { appendNull() }
    }

    mutating func add(_ name: StaticString, _ value: IPAddress) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        value.appendText(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func add(_ name: StaticString, _ value: Timestamp) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        value.appendISO8601(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func add<T: BinaryInteger>(_ name: StaticString, _ value: T?) {
        key(name)
        if let value { appendInteger(value) } else { appendNull() }
    }

    mutating func add(_ name: StaticString, _ value: Bool) {
        key(name)
        value ? append("true") : append("false")
    }

    /// A nested object, already built.
    mutating func add(_ name: StaticString, object: JSONLine) {
        key(name)
        bytes.append(contentsOf: object.finishedBytes)
    }

    /// An object of string keys and string values, in the given order.
    mutating func add(_ name: StaticString, pairs: [(String, String)]) {
        var object = JSONLine()
        for (k, v) in pairs {
            object.key(k)
            object.appendQuoted(v)
        }
        add(name, object: object)
    }

    mutating func add(_ name: StaticString, counts: [String: UInt64]) {
        var object = JSONLine()
        for (k, v) in counts.sorted(by: { $0.key < $1.key }) {
            object.key(k)
            object.appendInteger(v)
        }
        add(name, object: object)
    }

    var finishedBytes: [UInt8] { bytes + [UInt8(ascii: "}")] }
    var finished: String { String(decoding: finishedBytes, as: UTF8.self) }

    private mutating func append(_ text: StaticString) { text.withUTF8Buffer { bytes.append(contentsOf: $0) } }
    private mutating func appendNull() { append("null") }

    private mutating func appendInteger<T: BinaryInteger>(_ value: T) {
        if value == 0 { bytes.append(UInt8(ascii: "0")); return }
        var magnitude = value.magnitude
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude > 0 && count < 20 {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            bytes.append(contentsOf: buffer[(20 - count)...])
        }
    }

    private mutating func appendQuoted(_ string: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
            case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0..<0x20, 0x7F:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                          hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
