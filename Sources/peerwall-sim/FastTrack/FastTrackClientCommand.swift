import ArgumentParser
import PluginAPI
import Simulators

#if canImport(Glibc)
import Glibc
#endif

/// The simulated FastTrack client on real sockets, for the gateway lab.
struct FastTrackClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fasttrack-client",
        abstract: "Run a simulated Kazaa client on real sockets.",
        discussion: """
            Behaves like a FastTrack client: pings its peer list from its listening port, connects \
            to peers that answer with a supernode pong, falls back to parallel and then serial TCP \
            connections (with the 12-byte session opening) when no ping is answered, answers every \
            ping sent to its UDP port (the gateway's probes too), and downloads and pushes over HTTP \
            with Kazaa's headers. Prints what it does, one line per event, then a JSON summary line.
            """
    )

    @Option(help: "The UDP port it pings from and answers on.")
    var listenPort: UInt16 = 1214

    @Option(help: ArgumentHelp("The local address to bind.", valueName: "ADDRESS"))
    var bind: String = "0.0.0.0"

    @Option(help: ArgumentHelp("A file of peers, one ip:port a line ('#' starts a comment).", valueName: "FILE"))
    var peers: String?

    @Option(name: .customLong("peer"), help: ArgumentHelp("A peer to ping (repeatable).", valueName: "IP:PORT"))
    var peerList: [String] = []

    @Option(name: .customLong("hidden-peer"), help: ArgumentHelp("An address only tried over TCP (repeatable).", valueName: "IP:PORT"))
    var hiddenPeers: [String] = []

    @Option(help: ArgumentHelp("A download: ip:port@seconds after start (repeatable).", valueName: "IP:PORT@S"))
    var download: [String] = []

    @Option(help: ArgumentHelp("A push (GIVE) to a requester: ip:port@seconds after start (repeatable).", valueName: "IP:PORT@S"))
    var push: [String] = []

    @Option(help: "The network name: KaZaA, Grokster, fileshare (iMesh), MusicCity.")
    var network = "KaZaA"

    @Option(help: "The minimum-encryption value of its pings (hex).")
    var encryption = "29"

    @Flag(help: "Disable UDP discovery (go straight to TCP).")
    var noUdp = false

    @Option(help: "Seconds to wait for any pong before falling back to TCP.")
    var discoveryTimeout: Double = 15

    @Option(help: "Seconds between re-pings while kept in UDP mode.")
    var reping: Double = 60

    @Option(help: "Parallel TCP attempts in the fallback.")
    var parallel = 8

    @Option(help: "Seconds a parallel attempt waits.")
    var connectTimeout: Double = 21

    @Option(help: "Seconds a serial attempt waits.")
    var serialTimeout: Double = 4

    @Option(help: "Seconds to run.")
    var duration: Double = 60

    @Option(help: "Stop acting (quit the client) after this many seconds, but keep listening silently until the end.")
    var quitAfter: Double?

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    func validate() throws {
        guard IPAddress(bind) != nil else { throw ValidationError("--bind '\(bind)' is not an address") }
        for text in peerList + hiddenPeers where Endpoint(text) == nil { throw ValidationError("'\(text)' is not ip:port") }
        for text in download + push where FastTrackClientCommand.scheduled(text) == nil {
            throw ValidationError("'\(text)' is not ip:port@seconds")
        }
        guard UInt32(encryption, radix: 16) != nil else { throw ValidationError("--encryption '\(encryption)' is not hex") }
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
    }

    static func scheduled(_ text: String) -> (Endpoint, Seconds)? {
        let parts = text.split(separator: "@")
        guard parts.count == 2, let endpoint = Endpoint(parts[0]), let seconds = Double(parts[1]), seconds >= 0 else { return nil }
        return (endpoint, Seconds(seconds))
    }

    static func readPeers(_ path: String) throws -> [Endpoint] {
        guard let file = fopen(path, "r") else { throw ValidationError("cannot read '\(path)': \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        var endpoints: [Endpoint] = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        var number = 0
        while getline(&line, &capacity, file) > 0, let line {
            number += 1
            let text = String(cString: line).split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = text.trimmingCharacters(in: " \t\r\n")
            if trimmed.isEmpty { continue }
            guard let endpoint = Endpoint(trimmed) else { throw ValidationError("\(path):\(number): '\(trimmed)' is not ip:port") }
            endpoints.append(endpoint)
        }
        free(line)
        return endpoints
    }

    func run() throws {
        var configuration = FastTrackClient.Configuration()
        configuration.listenPort = listenPort
        configuration.network = network
        configuration.encryption = UInt32(encryption, radix: 16) ?? 0x29
        configuration.peers = try (peers.map(FastTrackClientCommand.readPeers) ?? []) + peerList.compactMap { Endpoint($0) }
        configuration.hiddenPeers = hiddenPeers.compactMap { Endpoint($0) }
        configuration.udpEnabled = !noUdp
        configuration.discoveryTimeout = Seconds(discoveryTimeout)
        configuration.repingInterval = Seconds(reping)
        configuration.parallelConnections = max(1, parallel)
        configuration.parallelConnectTimeout = Seconds(connectTimeout)
        configuration.serialConnectTimeout = Seconds(serialTimeout)
        configuration.seed = seed
        let bindAddress = IPAddress(bind) ?? IPAddress(0, 0, 0, 0)
        configuration.address = bindAddress
        configuration.downloads = download.enumerated().compactMap { index, text in
            FastTrackClientCommand.scheduled(text).map { endpoint, after in
                var random = SimulationRandom(seed: seed &+ UInt64(index))
                return FastTrackClient.Download(after: after, peer: endpoint, hash: random.bytes(20), title: "Track \(index + 1)")
            }
        }
        configuration.pushes = push.enumerated().compactMap { index, text in
            FastTrackClientCommand.scheduled(text).map { FastTrackClient.Push(after: $1, requester: $0, pushID: 4_000_000_000 &+ UInt32(index)) }
        }
        let hasTargets = !(configuration.peers + configuration.hiddenPeers).isEmpty || !configuration.downloads.isEmpty
            || !configuration.pushes.isEmpty
        guard hasTargets else { throw ValidationError("give peers with --peers or --peer") }
        var runner = try LiveFastTrackClient(configuration: configuration, bind: bindAddress)
        let summary = runner.run(for: Seconds(duration), quitAfter: quitAfter.map { Seconds($0) })
        Output.line(summary)
    }
}

private extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let blanks = Set(set)
        var start = startIndex, end = endIndex
        while start < end, blanks.contains(self[start]) { start = index(after: start) }
        while end > start, blanks.contains(self[index(before: end)]) { end = index(before: end) }
        return String(self[start..<end])
    }
}
