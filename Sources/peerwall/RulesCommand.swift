import ArgumentParser
import Host

/// `peerwall rules`: the iptables/ip6tables commands for the current configuration.
struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Print the iptables and ip6tables commands that send LAN traffic to peerwall.",
        discussion: "Pipe the output to sh to install them, or let `peerwall run --manage-rules` do it.")

    @OptionGroup var options: DaemonOptions

    @Flag(name: .customLong("remove"), help: "Print the commands that remove the rules instead.")
    var remove = false

    func run() throws {
        let configuration: Configuration
        do {
            configuration = try options.loadConfiguration()
        } catch {
            printError("\(error)")
            throw PeerwallExit.configError
        }
        let problems = configuration.daemonProblems()
        guard problems.isEmpty else {
            for problem in problems { printError(problem) }
            throw PeerwallExit.configError
        }
        let rules = FirewallRules(configuration)
        if remove {
            print(rules.removeCommands().map { $0.line + " 2>/dev/null" }.joined(separator: "\n"))
        } else {
            print(rules.script())
        }
    }
}
