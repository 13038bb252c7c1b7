import Foundation

/// Runs system tools (`ip`, `iptables`, `sysctl`) for the gateway lab and the live tests.
public enum CommandLineTool {
    /// The tool's path in the system directories, or nil when it is not installed.
    public static func locate(_ program: String) -> String? {
        for directory in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(program)") {
            return "\(directory)/\(program)"
        }
        return nil
    }

    /// Runs the tool to completion, with `input` on its standard input; returns its exit status
    /// and its standard output and error together.
    @discardableResult
    public static func run(_ program: String, _ arguments: [String], input: String? = nil) -> (status: Int32, output: String) {
        guard let path = locate(program) else { return (127, "\(program) not found") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let feed = input.map { _ in Pipe() }
        if let feed { process.standardInput = feed }
        do { try process.run() } catch { return (126, "\(error)") }
        if let feed, let input {
            feed.fileHandleForWriting.write(Data(input.utf8))
            try? feed.fileHandleForWriting.close()
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
