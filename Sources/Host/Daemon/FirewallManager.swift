import Foundation
import Logging

/// Installs, checks and removes the daemon's rules by running whichever `iptables` and
/// `ip6tables` are on PATH (nft or legacy backend alike).
final class FirewallManager: @unchecked Sendable {
    private let rules: FirewallRules
    private let logger: Logger

    init(rules: FirewallRules, logger: Logger) {
        self.rules = rules
        self.logger = logger
    }

    /// Removes any leftovers of an earlier run, then installs. Returns the commands that failed.
    @discardableResult
    func install() -> [String] {
        remove()
        var failures: [String] = []
        for command in rules.installCommands() {
            let result = CommandRunner.run(command.family.rawValue, command.arguments)
            if result.status != 0 {
                failures.append("\(command.line): \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        }
        for failure in failures { logger.error("firewall rule failed: \(failure)") }
        return failures
    }

    /// Removes every rule and chain; missing pieces are fine.
    func remove() {
        for command in rules.removeCommands() {
            // A jump rule inserted twice (an earlier run that died) needs one delete per copy.
            let repeats = command.arguments.contains("-D") ? 8 : 1
            for _ in 0..<repeats where CommandRunner.run(command.family.rawValue, command.arguments).status != 0 { break }
        }
    }

    /// True when every rule is still in place.
    func isIntact() -> Bool {
        rules.checkCommands().allSatisfy { CommandRunner.run($0.family.rawValue, $0.arguments).status == 0 }
    }

    /// Puts the rules back when someone flushed them. Returns true when it had to.
    func repairIfNeeded() -> Bool {
        guard !isIntact() else { return false }
        logger.warning("firewall rules were removed or changed by someone else; installing them again")
        install()
        return true
    }
}

/// Runs a program found on PATH and collects its exit status and combined output.
enum CommandRunner {
    struct Result {
        let status: Int32
        let output: String
    }

    static func run(_ program: String, _ arguments: [String]) -> Result {
        guard let path = locate(program) else { return Result(status: 127, output: "\(program): not found on PATH") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do {
            try process.run()
        } catch {
            return Result(status: 126, output: "\(program): \(error)")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    static func locate(_ program: String) -> String? {
        if program.contains("/") { return program }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        for directory in (path + ":/usr/sbin:/sbin").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
