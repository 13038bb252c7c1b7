import Foundation

/// Small text helpers shared by the lab's reports.
enum LabText {
    static func endpoint(_ ip: String?, _ port: Int?) -> String {
        guard let ip else { return "?" }
        guard let port else { return ip }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    static func milliseconds(_ value: Double) -> String {
        value < 10 ? String(format: "%.1f ms", value) : "\(Int(value.rounded())) ms"
    }
}
