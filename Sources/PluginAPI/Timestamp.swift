/// A point in time in microseconds since the Unix epoch. The host's clock is injected:
/// live it is the system clock, in replay the capture's timestamps, in tests whatever a test sets.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }
    public init(seconds: Double) { microseconds = Int64((seconds * 1_000_000).rounded()) }

    public static let zero = Timestamp(microseconds: 0)

    public var seconds: Double { Double(microseconds) / 1_000_000 }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.microseconds < rhs.microseconds }

    public static func + (lhs: Timestamp, rhs: Seconds) -> Timestamp {
        Timestamp(microseconds: lhs.microseconds &+ rhs.microseconds)
    }

    public static func - (lhs: Timestamp, rhs: Seconds) -> Timestamp {
        Timestamp(microseconds: lhs.microseconds &- rhs.microseconds)
    }

    public static func - (lhs: Timestamp, rhs: Timestamp) -> Seconds {
        Seconds(microseconds: lhs.microseconds &- rhs.microseconds)
    }

    /// ISO 8601 in UTC with microseconds, the form Suricata's EVE uses: `2026-11-21T10:00:00.000000+0000`.
    public var iso8601: String {
        var bytes: [UInt8] = []
        appendISO8601(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the ISO 8601 form to a byte buffer, for writers that avoid building strings.
    public func appendISO8601(to bytes: inout [UInt8]) {
        let totalSeconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let micros = microseconds - totalSeconds * 1_000_000
        var days = totalSeconds >= 0 ? totalSeconds / 86_400 : (totalSeconds - 86_399) / 86_400
        let secondOfDay = totalSeconds - days * 86_400
        // Civil-from-days (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func digits(_ value: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            let v = value
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: (v / divisor) % 10))
                divisor /= 10
            }
        }
        digits(year, 4); bytes.append(UInt8(ascii: "-")); digits(month, 2); bytes.append(UInt8(ascii: "-")); digits(day, 2)
        bytes.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2); bytes.append(UInt8(ascii: ":")); digits(secondOfDay / 60 % 60, 2); bytes.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2); bytes.append(UInt8(ascii: ".")); digits(micros, 6)
        bytes.append(contentsOf: "+0000".utf8)
    }

    public var description: String { iso8601 }
}

/// A length of time, in microseconds.
public struct Seconds: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }
    public init(_ seconds: Double) { microseconds = Int64((seconds * 1_000_000).rounded()) }
    public init(_ seconds: Int) { microseconds = Int64(seconds) * 1_000_000 }

    public var value: Double { Double(microseconds) / 1_000_000 }

    public static let zero = Seconds(microseconds: 0)

    public static func < (lhs: Seconds, rhs: Seconds) -> Bool { lhs.microseconds < rhs.microseconds }
    public static func / (lhs: Seconds, rhs: Int64) -> Seconds { Seconds(microseconds: lhs.microseconds / rhs) }

    public var description: String {
        microseconds % 1_000_000 == 0 ? "\(microseconds / 1_000_000)s" : "\(value)s"
    }
}
