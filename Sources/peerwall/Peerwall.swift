import ArgumentParser
import Host

@main
struct Peerwall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peerwall",
        abstract: "Keeps peer-to-peer file sharing off a network, from the Linux gateway.",
        version: PeerwallVersion.current,
        subcommands: [
            ReplayCommand.self,
            CheckCommand.self,
            RunCommand.self,
            RulesCommand.self,
            StatusCommand.self,
            ExplainCommand.self,
            UnlockCommand.self,
            ForgetCommand.self,
            ReloadCommand.self,
            LabCommand.self,
        ]
    )
}
