import Foundation

/// A value of a flat JSON object: what the simulators' summaries hold.
public enum LabValue: Equatable, Sendable {
    case number(Double)
    case text(String)

    public var integer: Int? { if case .number(let value) = self { return Int(value) } else { return nil } }
    public var string: String? { if case .text(let value) = self { return value } else { return nil } }

    /// The top-level scalar fields of a JSON object line; nil when it is not one.
    public static func object(_ line: String) -> [String: LabValue]? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { return nil }
        var values: [String: LabValue] = [:]
        for (key, value) in object {
            if let text = value as? String {
                values[key] = .text(text)
            } else if let number = value as? NSNumber {
                values[key] = .number(number.doubleValue)
            }
        }
        return values
    }
}
