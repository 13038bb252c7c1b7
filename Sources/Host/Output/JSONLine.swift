import PluginAPI

/// Builds one JSON object as text, fields in the order they are added. Hand-written so that
/// event output needs no reflection and keeps a stable field order for golden files.
struct JSONLine {
    private(set) var text = "{"
    private var first = true

    private mutating func key(_ name: String) {
        if !first { text += "," }
        first = false
        text += "\""
        text += name
        text += "\":"
    }

    mutating func add(_ name: String, _ value: String?) {
        key(name)
        if let value { text += JSONLine.quote(value) } else { text += "null" }
    }

    mutating func add<T: BinaryInteger>(_ name: String, _ value: T?) {
        key(name)
        text += value.map { String($0) } ?? "null"
    }

    mutating func add(_ name: String, _ value: Bool) {
        key(name)
        text += value ? "true" : "false"
    }

    mutating func add(_ name: String, _ value: Double) {
        key(name)
        text += value.isFinite ? String(value) : "null"
    }

    /// A nested object, already built.
    mutating func add(_ name: String, object: JSONLine) {
        key(name)
        text += object.finished
    }

    mutating func add(_ name: String, counts: [String: UInt64]) {
        var object = JSONLine()
        for (k, v) in counts.sorted(by: { $0.key < $1.key }) { object.add(k, v) }
        add(name, object: object)
    }

    var finished: String { text + "}" }

    static func quote(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
