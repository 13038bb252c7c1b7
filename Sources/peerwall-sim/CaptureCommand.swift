import ArgumentParser
import PacketKit
import PluginAPI
import Simulators

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the scenarios a capture can be written from.")

    func run() {
        for scenario in ScenarioCatalog.all { print("\(scenario.name)\t\(scenario.summary)") }
    }
}

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Write a scenario's packets to a capture file.",
        discussion: "The output depends only on the scenario: the same command writes the same bytes on every machine."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case pcap, pcapng }
    enum Link: String, ExpressibleByArgument, CaseIterable { case ethernet, raw, sll, sll2 }

    @Argument(help: "The scenario's name (see `peerwall-sim list`).")
    var scenario: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The capture file to write.", valueName: "FILE"))
    var out: String

    @Option(help: "The file format.")
    var format: Format = .pcap

    @Option(help: "The link layer; the scenario's own when not given.")
    var link: Link?

    @Option(help: "For scenarios that take a size: how many packets to generate.")
    var packets: Int?

    func run() throws {
        guard let found = ScenarioCatalog.named(scenario) else {
            throw ValidationError("no scenario named '\(scenario)'; `peerwall-sim list` shows them")
        }
        let frames = packets.map { found.make(sized: $0) } ?? found.make()
        let linkType: LinkType
        switch link {
        case nil: linkType = found.linkType
        case .ethernet?: linkType = .ethernet
        case .raw?: linkType = .raw
        case .sll?: linkType = .linuxSLL
        case .sll2?: linkType = .linuxSLL2
        }
        var writer = CaptureWriter(format: format == .pcap ? .pcap : .pcapng, linkType: linkType)
        for frame in frames where !writer.append(ipPacket: frame.packet, at: frame.time) {
            throw ValidationError("cannot frame packets for link type \(linkType)")
        }
        try writer.write(toFile: out)
        print("\(out): \(writer.frameCount) packets from scenario '\(found.name)'")
    }
}
