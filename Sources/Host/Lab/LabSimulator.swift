import Foundation

/// A `peerwall-sim` live client or server running in one of the lab's namespaces. Its output is
/// one line per event (`<seconds> <text>`) and a last JSON line, `{"summary":...}`, which the lab
/// keeps for its own summary.
public final class LabSimulator: @unchecked Sendable {
    /// Who it plays, for the lab's lines ("kazaa 10.99.1.10", "supernodes").
    public let role: String
    public let process: LabProcess
    private let follower: LineFollower
    public private(set) var summary: [String: LabValue] = [:]

    public init(role: String, namespace: String, executable: String, arguments: [String], logPath: String) throws {
        self.role = role
        process = try LabProcess(name: role, namespace: namespace, program: executable, arguments: arguments, logPath: logPath)
        follower = LineFollower(path: logPath)
    }

    /// The lines written since the last call, without their time stamps; the summary line is
    /// kept, not returned.
    public func newLines() -> [String] {
        var lines: [String] = []
        for line in follower.newLines() {
            if line.hasPrefix("{") {
                if let values = LabValue.object(line), values["summary"] != nil {
                    summary = values
                    continue
                }
            }
            let fields = line.split(separator: " ", maxSplits: 1)
            if fields.count == 2, Double(fields[0]) != nil {
                lines.append(String(fields[1]))
            } else if !line.isEmpty {
                lines.append(line)
            }
        }
        return lines
    }

    /// A number from the summary, or nil when the summary has not come (or lacks it).
    public func count(_ key: String) -> Int? { summary[key]?.integer }

    /// Whether `peerwall-sim` at `executable` has the subcommand (the live faces arrive one
    /// protocol at a time): its help names it in its usage line.
    public static func supports(_ executable: String, _ subcommand: String) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: executable) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [subcommand, "--help"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        let help = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return process.terminationStatus == 0 && help.contains("peerwall-sim \(subcommand) ")
    }
}
