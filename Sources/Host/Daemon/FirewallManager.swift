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
