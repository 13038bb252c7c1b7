import ArgumentParser
import PluginAPI
import Simulators

extension Endpoint: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

/// The failure of a live client step: printed, and the exit code says the client was stopped.
struct StepFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct NapsterServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "napster-server",
        abstract: "An OpenNap-like index server (and metaserver) on real sockets.",
        discussion: """
            Answers logins (2, 6) and nick registrations (7), keeps shared-file lists (100), answers searches (200) with \
            201 results from connected clients and the --library entries, download requests (203) with 204, firewalled \
            download requests (500) with 501 to the uploader, and direct browses (640). With --metaserver, that port \
            answers "--advertise" and closes, as a Napster metaserver does.
            """)

    @Option(help: "Address and port to listen on.")
    var listen: Endpoint = Endpoint(IPAddress(v4: 0), 8888)

    @Option(help: "Also run a metaserver on this address and port (8875 is Napster's).")
    var metaserver: Endpoint?

    @Option(help: "The server address:port the metaserver names (its public address).")
    var advertise: String?

    @Option(help: ArgumentHelp("A file shared by a peer that is not connected: nick@ip:port=file name (repeatable).",
                               valueName: "entry"))
    var library: [String] = []

    @Option(help: "Stop after this many seconds (default: run until stopped).")
    var duration: Double?

    func run() throws {
        let files = try library.map(Self.parseLibraryEntry)
        let model = NapsterServerModel(advertised: advertise ?? listen.description, library: files)
        let runner = LiveRunner(service: model)
        try runner.listen(on: listen, tag: NapsterServerModel.serverListener)
        if let metaserver { try runner.listen(on: metaserver, tag: NapsterServerModel.metaserverListener) }
        runner.run(duration: duration)
    }

    static func parseLibraryEntry(_ text: String) throws -> NapsterWire.SharedFile {
        guard let at = text.firstIndex(of: "@"), let equals = text.firstIndex(of: "="), at < equals,
              let owner = Endpoint(text[text.index(after: at)..<equals]) else {
            throw ValidationError("library entry '\(text)' is not nick@ip:port=file name")
        }
        let file = String(text[text.index(after: equals)...])
        return NapsterWire.SharedFile(file: file, md5: "10fe9e623b1962da85eea61df7ac1f69", size: 65_536, seconds: 180,
                                      nick: String(text[..<at]), owner: owner.address, dataPort: owner.port)
    }
}

struct NapsterClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "napster-client",
        abstract: "A Napster client on real sockets: metaserver, login, shares, search, download.",
        discussion: """
            Asks the metaserver (if given) for a server, logs in, shares the --share files, searches, and with \
            --download fetches the first result from the peer the server's 204 names (1, GET, the request, the file). \
            When the 204 names a firewalled uploader (port 0) it asks for a push (500) and waits on its data port. \
            Exits 0 when every step worked, 1 when one failed or was blocked (the gateway lab's check).
            """)

    @Option(help: "The metaserver to ask for a server.")
    var metaserver: Endpoint?

    @Option(help: "The server, when no metaserver is asked.")
    var server: Endpoint?

    @Option var nick = "simclient"
    @Option var password = "simpass"

    @Option(help: "The data port announced at login (0: firewalled); downloads pushed to us arrive there.")
    var dataPort: UInt16 = 6699

    @Option(help: "A file name to share (repeatable).")
    var share: [String] = []

    @Option(help: "What to search for.")
    var search: String?

    @Flag(help: "Download the first search result.")
    var download = false

    @Option(help: "Seconds to wait at each step.")
    var timeout: Double = 10

    @Option(help: "After the other steps, stay logged in this many seconds and push files the server asks for (501).")
    var serve: Double?

    func run() throws {
        do {
            try session()
            Output.line("done")
        } catch let failure as StepFailure {
            Output.line("failed: \(failure)")
            throw ExitCode.failure
        } catch {
            Output.line("failed: \(error)")
            throw ExitCode.failure
        }
    }

    private func session() throws {
        let target: Endpoint
        if let metaserver {
            let socket = try StreamSocket.connect(to: metaserver, timeout: timeout)
            let line = socket.receive(until: { $0.contains(UInt8(ascii: "\n")) }, timeout: timeout)
            let text = String(decoding: line, as: UTF8.self).trimmingBlanks
            guard let named = Endpoint(text) else { throw StepFailure("the metaserver answered '\(text)'") }
            Output.line("metaserver names \(named)")
            target = named
        } else if let server {
            target = server
        } else {
            throw ValidationError("give --metaserver or --server")
        }

        let socket = try StreamSocket.connect(to: target, timeout: timeout)
        var decoder = NapsterWire.Decoder()
        try socket.sendAll(NapsterWire.login(nick: nick, password: password, dataPort: dataPort, client: "peerwall-sim 1.0", link: 7))
        let ack = try next(socket, &decoder, types: [3, 0])
        guard ack.type == 3 else { throw StepFailure("login refused: \(String(decoding: ack.body, as: UTF8.self))") }
        Output.line("logged in to \(target) as \(nick)")
        for (index, file) in share.enumerated() {
            try socket.sendAll(NapsterWire.share(file: file, md5: "b92870e0d41bc8e698cf2f0a1ddfeac7", size: 100_000 + index, seconds: 180))
        }

        defer { if let serve { pushes(socket, &decoder, for: serve) } }
        guard let search else { return }
        try socket.sendAll(NapsterWire.search(search))
        var results: [[String]] = []
        while true {
            let message = try next(socket, &decoder, types: [201, 202])
            if message.type == 202 { break }
            results.append(NapsterWire.fields(message.body))
        }
        Output.line("search '\(search)': \(results.count) results")
        for result in results.prefix(10) where result.count >= 9 { Output.line("  \(result[6]): \(result[0])") }
        guard download else { return }
        guard let first = results.first, first.count >= 9 else { throw StepFailure("nothing to download") }

        try socket.sendAll(NapsterWire.downloadRequest(nick: first[6], file: first[0]))
        let answer = try next(socket, &decoder, types: [204, 206])
        let fields = NapsterWire.fields(answer.body)
        guard answer.type == 204, fields.count >= 4, let number = UInt32(fields[1]), let port = UInt16(fields[2]) else {
            throw StepFailure("download refused: \(String(decoding: answer.body, as: UTF8.self))")
        }
        let uploader = Endpoint(NapsterWire.address(fromDecimal: number), port)
        if port != 0 {
            Output.line("downloading '\(fields[3])' from \(fields[0]) at \(uploader)")
            try fetch(from: uploader, file: fields[3])
        } else {
            Output.line("\(fields[0]) is firewalled: asking for a push to port \(dataPort)")
            // Listen first: the push may come as soon as the server has relayed the request.
            let listener = try ListeningSocket(bind: Endpoint(IPAddress(v4: 0), dataPort))
            try socket.sendAll(NapsterWire.message(.alternateDownloadRequest, "\(fields[0]) \"\(fields[3])\""))
            try receivePush(on: listener)
        }
    }

    /// The next message of one of `types`, skipping others (MOTD lines, statistics).
    private func next(_ socket: StreamSocket, _ decoder: inout NapsterWire.Decoder, types: Set<UInt16>) throws -> (type: UInt16, body: [UInt8]) {
        let deadline = Clock.now + timeout
        while Clock.now < deadline {
            while let message = decoder.next() {
                if types.contains(message.type) { return message }
            }
            guard let bytes = socket.receive(timeout: deadline - Clock.now) else { throw StepFailure("the server closed the connection") }
            decoder.append(bytes)
        }
        throw StepFailure("no answer from the server within \(timeout) s (blocked?)")
    }

    private func fetch(from uploader: Endpoint, file: String) throws {
        let peer = try StreamSocket.connect(to: uploader, timeout: timeout)
        let hello = peer.receive(until: { !$0.isEmpty }, timeout: timeout)
        guard hello.first == UInt8(ascii: "1") else { throw StepFailure("the peer did not say 1") }
        try peer.sendAll(NapsterWire.get)
        try peer.sendAll(NapsterWire.peerRequest(nick: nick, file: file, number: 0))
        let data = peer.receive(until: { _ in false }, timeout: timeout)
        let digits = data.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard let size = Int(String(decoding: digits, as: UTF8.self)), data.count - digits.count == size else {
            throw StepFailure("the transfer ended after \(data.count) bytes")
        }
        Output.line("received \(size) bytes")
    }

    /// Answers firewalled download acks (501) by pushing the file: `1`, SEND, the request, the bytes.
    private func pushes(_ socket: StreamSocket, _ decoder: inout NapsterWire.Decoder, for seconds: Double) {
        let deadline = Clock.now + seconds
        Output.line("serving for \(Int(seconds)) s")
        while Clock.now < deadline {
            while let message = decoder.next() {
                guard message.type == NapsterWire.MessageType.firewalledDownloadAck.rawValue else { continue }
                let fields = NapsterWire.fields(message.body)
                guard fields.count >= 4, let number = UInt32(fields[1]), let port = UInt16(fields[2]) else { continue }
                let downloader = Endpoint(NapsterWire.address(fromDecimal: number), port)
                do {
                    let peer = try StreamSocket.connect(to: downloader, timeout: timeout)
                    let hello = peer.receive(until: { !$0.isEmpty }, timeout: timeout)
                    guard hello.first == UInt8(ascii: "1") else { throw StepFailure("\(downloader) did not say 1") }
                    let size = 65_536
                    try peer.sendAll(NapsterWire.send)
                    try peer.sendAll(NapsterWire.peerRequest(nick: nick, file: fields[3], number: size))
                    _ = peer.receive(until: { !$0.isEmpty }, timeout: timeout)
                    try peer.sendAll((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) })
                    Output.line("pushed '\(fields[3])' to \(fields[0]) at \(downloader)")
                } catch {
                    Output.line("push to \(downloader) failed: \(error)")
                }
            }
            guard let bytes = socket.receive(timeout: max(0, min(1, deadline - Clock.now))) else {
                Output.line("the server closed the connection")
                return
            }
            decoder.append(bytes)
        }
    }

    private func receivePush(on listener: ListeningSocket) throws {
        guard let peer = listener.accept(timeout: timeout) else { throw StepFailure("nobody pushed within \(timeout) s") }
        try peer.sendAll(NapsterWire.acceptorHello)
        let request = peer.receive(until: { String(decoding: $0, as: UTF8.self).last?.isNumber == true }, timeout: timeout)
        guard request.starts(with: NapsterWire.send) else { throw StepFailure("\(peer.remote) sent no SEND") }
        try peer.sendAll(Array("0".utf8))
        let data = peer.receive(until: { _ in false }, timeout: timeout)
        Output.line("received \(data.count) pushed bytes from \(peer.remote)")
    }
}

extension String {
    /// Without leading and trailing blanks and line ends.
    var trimmingBlanks: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\r" || first == "\n" || first == "\r\n" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\r" || last == "\n" || last == "\r\n" { text.removeLast() }
        return String(text)
    }
}
