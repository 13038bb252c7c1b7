import ArgumentParser

@main
struct PeerwallSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peerwall-sim",
        abstract: "Protocol simulators: generated captures and live clients and servers for the gateway lab.",
        subcommands: [
            ListCommand.self,
            CaptureCommand.self,
            FastTrackClientCommand.self,
            FastTrackPeerCommand.self,
            NapsterServerCommand.self,
            NapsterClientCommand.self,
            AudioGalaxyServerCommand.self,
            AudioGalaxyClientCommand.self,
            PeerCommand.self,
        ]
    )
}
