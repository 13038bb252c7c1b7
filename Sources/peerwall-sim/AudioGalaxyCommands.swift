import ArgumentParser
import PluginAPI
import Simulators

struct AudioGalaxyServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audiogalaxy-server",
        abstract: "An AudioGalaxy-like redirector and main server that issue FILE_TRANSFER orders.",
        discussion: """
            The redirector answers every connection with the main server's address and closes. The main server \
            answers LOGIN with SEND_SHARES_STAND_BY, READY_TO_SEND_SHARES with SEND_SHARES, and READY_FOR_TRANSFER \
            with one FILE_TRANSFER per --order: connect:IP:PORT (the client connects to a satellite and fetches) or \
            listen:IP:PORT (the client accepts the satellite IP on its PORT and serves).
            """)

    @Option(help: "The redirector's address and port (AudioGalaxy used 21).")
    var redirector: Endpoint = Endpoint(IPAddress(v4: 0), 21)

    @Option(help: "The main server's address and port.")
    var listen: Endpoint = Endpoint(IPAddress(v4: 0), 2121)

    @Option(help: "The main server's public address:port, as the redirector names it.")
    var advertise: Endpoint

    @Option(help: ArgumentHelp("A FILE_TRANSFER order: connect:IP:PORT or listen:IP:PORT (repeatable).", valueName: "order"))
    var order: [String] = []

    @Option(help: "Stop after this many seconds (default: run until stopped).")
    var duration: Double?

    func run() throws {
        let orders = try order.enumerated().map { index, text -> AudioGalaxyServerModel.Order in
            let parts = text.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0] == "connect" || parts[0] == "listen", let endpoint = Endpoint(parts[1]) else {
                throw ValidationError("order '\(text)' is not connect:IP:PORT or listen:IP:PORT")
            }
            return AudioGalaxyServerModel.Order(connect: parts[0] == "connect", address: endpoint.address.description,
                                                port: UInt32(endpoint.port), name: "Simulated Band - Track \(index + 1).mp3", size: 65_536)
        }
        let model = AudioGalaxyServerModel(mainServer: advertise.address.description, mainPort: UInt32(advertise.port), orders: orders)
        let runner = LiveRunner(service: model)
        try runner.listen(on: redirector, tag: AudioGalaxyServerModel.redirectorListener)
        try runner.listen(on: listen, tag: AudioGalaxyServerModel.serverListener)
        runner.run(duration: duration)
    }
}

struct AudioGalaxyClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audiogalaxy-client",
        abstract: "An AudioGalaxy satellite on real sockets: redirector, login, shares, and the transfers it is ordered to make.",
        discussion: "Exits 0 when every step and every ordered transfer worked, 1 when one failed or was blocked.")

    @Option(help: "The redirector to ask for the main server.")
    var redirector: Endpoint?

    @Option(help: "The main server, when no redirector is asked.")
    var server: Endpoint?

    @Option var user = "simsat"
    @Option var password = "simpass"

    @Option(help: "A file name to share (repeatable).")
    var share: [String] = ["Simulated Band - Shared.mp3"]

    @Option(help: "How many FILE_TRANSFER orders to wait for.")
    var transfers = 1

    @Option(help: "Seconds to wait at each step.")
    var timeout: Double = 10

    func run() throws {
        do {
            try session()
            Output.line("done")
        } catch {
            Output.line("failed: \(error)")
            throw ExitCode.failure
        }
    }

    private func session() throws {
        let target: Endpoint
        if let redirector {
            let socket = try StreamSocket.connect(to: redirector, timeout: timeout)
            var decoder = AudioGalaxyWire.Decoder()
            guard let frame = try nextFrame(socket, &decoder) else { throw StepFailure("the redirector sent nothing") }
            var reader = AudioGalaxyWire.Reader(frame)
            _ = reader.u32()
            guard let port = reader.u32(), let text = reader.string(), let address = IPAddress(String(decoding: text, as: UTF8.self)),
                  let port16 = UInt16(exactly: port) else { throw StepFailure("the redirector's answer is not a redirection") }
            target = Endpoint(address, port16)
            Output.line("redirector names \(target)")
        } else if let server {
            target = server
        } else {
            throw ValidationError("give --redirector or --server")
        }

        let socket = try StreamSocket.connect(to: target, timeout: timeout)
        var decoder = AudioGalaxyWire.Decoder()
        var sequence: UInt32 = 0
        func send(_ type: AudioGalaxyWire.MessageType, _ data: [UInt8] = []) throws {
            try socket.sendAll(AudioGalaxyWire.frame(sequence: sequence, type, data: data))
            sequence += 1
        }
        try socket.sendAll(AudioGalaxyWire.login(user: user, password: password, clientAddress: "0.0.0.0"))
        sequence = 1
        var completed = 0
        let deadline = Clock.now + timeout * Double(max(1, transfers) + 1)
        while completed < transfers && Clock.now < deadline {
            guard let frame = try nextFrame(socket, &decoder) else { throw StepFailure("the server closed the connection or went silent") }
            var reader = AudioGalaxyWire.Reader(frame)
            _ = reader.u32()
            switch reader.u16() {
            case AudioGalaxyWire.MessageType.sendSharesStandBy.rawValue?:
                Output.line("logged in to \(target) as \(user)")
                try send(.readyToSendShares)
            case AudioGalaxyWire.MessageType.sendShares.rawValue?:
                for (index, name) in share.enumerated() {
                    let id = (0..<16).map { UInt8(truncatingIfNeeded: index &* 7 &+ $0) }
                    try send(.newShare, AudioGalaxyWire.fileID(id) + AudioGalaxyWire.string(name) + AudioGalaxyWire.u32(65_536))
                }
                try send(.readyForTransfer)
            case AudioGalaxyWire.MessageType.fileTransfer.rawValue?:
                guard let id = reader.string(), let connect = reader.u8(), reader.u8() != nil, let text = reader.string(),
                      let address = IPAddress(String(decoding: text, as: UTF8.self)), let port = reader.u32(),
                      let port16 = UInt16(exactly: port) else { throw StepFailure("a FILE_TRANSFER order does not parse") }
                let ok = connect == 1 ? fetch(from: Endpoint(address, port16), id: id) : serve(on: port16, expecting: address)
                try send(.fileTransferState, AudioGalaxyWire.string(id) + AudioGalaxyWire.u32(ok ? 0 : 4))
                guard ok else { throw StepFailure("the ordered transfer with \(address) failed (blocked?)") }
                completed += 1
            case AudioGalaxyWire.MessageType.wrongLogin.rawValue?:
                throw StepFailure("login refused")
            default:
                break
            }
        }
        guard completed >= transfers else { throw StepFailure("\(completed) of \(transfers) transfers done") }
    }

    private func nextFrame(_ socket: StreamSocket, _ decoder: inout AudioGalaxyWire.Decoder) throws -> [UInt8]? {
        let deadline = Clock.now + timeout
        while Clock.now < deadline {
            if let frame = decoder.next() { return frame }
            guard !decoder.broken, let bytes = socket.receive(timeout: deadline - Clock.now) else { return nil }
            decoder.append(bytes)
        }
        return nil
    }

    /// A "connect" order: fetch from the satellite (we receive, so we ask).
    private func fetch(from satellite: Endpoint, id: [UInt8]) -> Bool {
        do {
            let peer = try StreamSocket.connect(to: satellite, timeout: timeout)
            let fileID = id.count == 16 ? id : [UInt8](repeating: 0, count: 16)
            try peer.sendAll(AudioGalaxyWire.transferRequest(counter: 1, id: fileID, size: 65_536, offset: 0))
            let data = peer.receive(until: { _ in false }, timeout: timeout)
            guard data.count >= 16, Array(data[12..<16]) == [0, 2, 0x4F, 0x4B] else { return false }
            Output.line("received \(data.count - 16) bytes from \(satellite)")
            return true
        } catch {
            Output.line("transfer with \(satellite): \(error)")
            return false
        }
    }

    /// A "listen" order: accept the satellite on our port and serve what it asks for.
    private func serve(on port: UInt16, expecting address: IPAddress) -> Bool {
        do {
            let listener = try ListeningSocket(bind: Endpoint(IPAddress(v4: 0), port))
            Output.line("waiting on port \(port) for \(address)")
            guard let peer = listener.accept(timeout: timeout) else { return false }
            let model = AudioGalaxySatelliteModel(fileSize: 65_536)
            _ = model.accepted(1, listener: 0, from: peer.remote)
            let request = peer.receive(until: { $0.count >= 38 }, timeout: timeout)
            for case let .send(_, bytes) in model.received(1, request) { try peer.sendAll(bytes) }
            Output.line("served \(peer.remote)")
            return true
        } catch {
            Output.line("serving on port \(port): \(error)")
            return false
        }
    }
}

struct PeerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peer",
        abstract: "The far end of a transfer: a Napster client's data port or an AudioGalaxy satellite.",
        discussion: """
            With --listen it accepts transfers (Napster: says 1, serves GET, takes SEND pushes, answers GETLIST; \
            AudioGalaxy: answers the 38-byte request with OK and the file). With --connect it opens one: a Napster push \
            (SEND) or an AudioGalaxy fetch (the 38-byte request), and exits 0 when it went through, 1 when not.
            """)

    enum ProtocolName: String, ExpressibleByArgument, CaseIterable { case napster, audiogalaxy }

    @Option(name: .customLong("protocol"), help: "napster or audiogalaxy.")
    var protocolName: ProtocolName

    @Option(help: "Accept transfers on this address and port.")
    var listen: Endpoint?

    @Option(help: "Open one transfer to this address and port.")
    var connect: Endpoint?

    @Option(help: "Bytes per file served.")
    var size = 65_536

    @Option(help: "Seconds to run (listening) or wait (connecting).")
    var duration: Double?

    func validate() throws {
        guard (listen == nil) != (connect == nil) else { throw ValidationError("give one of --listen and --connect") }
    }

    func run() throws {
        if let listen {
            let model: LiveService = protocolName == .napster ? NapsterPeerModel(fileSize: size) : AudioGalaxySatelliteModel(fileSize: size)
            let runner = LiveRunner(service: model)
            try runner.listen(on: listen, tag: 0)
            runner.run(duration: duration)
            return
        }
        guard let connect else { return }
        let timeout = duration ?? 10
        do {
            let socket = try StreamSocket.connect(to: connect, timeout: timeout)
            switch protocolName {
            case .napster:
                let hello = socket.receive(until: { !$0.isEmpty }, timeout: timeout)
                guard hello.first == UInt8(ascii: "1") else { throw StepFailure("the other end did not say 1") }
                try socket.sendAll(NapsterWire.send)
                try socket.sendAll(NapsterWire.peerRequest(nick: "simpeer", file: "Simulated Band - Pushed.mp3", number: size))
                let offset = socket.receive(until: { !$0.isEmpty }, timeout: timeout)
                guard !offset.isEmpty else { throw StepFailure("no offset answer") }
                try socket.sendAll((0..<size).map { UInt8(truncatingIfNeeded: $0) })
                Output.line("pushed \(size) bytes to \(connect)")
            case .audiogalaxy:
                try socket.sendAll(AudioGalaxyWire.transferRequest(counter: 1, id: Array(0..<16), size: UInt32(size), offset: 0))
                let data = socket.receive(until: { _ in false }, timeout: timeout)
                guard data.count >= 16, Array(data[12..<16]) == [0, 2, 0x4F, 0x4B] else { throw StepFailure("no OK answer") }
                Output.line("received \(data.count - 16) bytes from \(connect)")
            }
        } catch {
            Output.line("failed: \(error)")
            throw ExitCode.failure
        }
    }
}
