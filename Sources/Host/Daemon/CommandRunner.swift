import Foundation

/// Runs a program found on PATH (or in the system directories) and collects its exit status and
/// combined output: iptables for the daemon's rules, ip and sysctl for the gateway lab.
public enum CommandRunner {
    public struct Result: Sendable {
        public let status: Int32
        public let output: String
    }

    /// Runs `program` to completion, with `input` on its standard input when given.
    @discardableResult
    public static func run(_ program: String, _ arguments: [String], input: String? = nil) -> Result {
        guard let path = locate(program) else { return Result(status: 127, output: "\(program): not found on PATH") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let feed = input.map { _ in Pipe() }
        if let feed { process.standardInput = feed }
        do {
            try process.run()
        } catch {
            return Result(status: 126, output: "\(program): \(error)")
        }
        if let feed, let input {
            feed.fileHandleForWriting.write(Data(input.utf8))
            try? feed.fileHandleForWriting.close()
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// The program's path: as given when it contains a slash, else the first on PATH, then in
    /// /usr/sbin and /sbin (often missing from PATH under sudo or systemd).
    public static func locate(_ program: String) -> String? {
        if program.contains("/") { return program }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        for directory in (path + ":/usr/sbin:/sbin").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
