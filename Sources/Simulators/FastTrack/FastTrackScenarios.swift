import PacketKit
import PluginAPI

/// The FastTrack scenarios: captures of simulated Kazaa (and Grokster, iMesh, MusicCity)
/// clients as the gateway's queue would see them. Addresses outside are from the documentation
/// ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24); the LAN is 192.168.1.0/24 with the
/// gateway at .1.
public enum FastTrackScenarios {
    public static var all: [Scenario] {
        [session, udpAnswered, udpSilent, noUDP, httpSplit, httpQuoted, names, probe, hostile]
    }

    // MARK: Cast

    static let kazaaHost = IPAddress(192, 168, 1, 20)
    static let browser = IPAddress(192, 168, 1, 30)
    static let webServer = Endpoint(IPAddress(192, 0, 2, 80), 80)
    static let otherWebServer = Endpoint(IPAddress(192, 0, 2, 81), 80)
    /// Kazaa 2 picks a random listening port.
    static let listenPort: UInt16 = 2949

    /// `count` peer addresses spread over the documentation ranges, with the scattered ports of
    /// real supernode lists (1052 to 32656, now and then 1214).
    static func peerList(_ count: Int, seed: UInt64, offset: Int = 0) -> [Endpoint] {
        var random = SimulationRandom(seed: seed)
        let networks: [UInt32] = [0xCB00_7100, 0xC633_6400, 0xC000_0200]  // 203.0.113, 198.51.100, 192.0.2
        var seen: Set<IPAddress> = []
        var list: [Endpoint] = []
        for i in 0..<(count * 4) where list.count < count {
            let network = networks[(i + offset) % networks.count]
            let host = UInt32(1 + (i * 37 + offset * 11) % 250)
            // .80 and .81 of 192.0.2 are the web servers.
            if network == 0xC000_0200 && (host == 80 || host == 81) { continue }
            let port = i % 23 == 0 ? 1214 : UInt16.random(in: 1052...32656, using: &random)
            let endpoint = Endpoint(IPAddress(v4: network | host), port)
            if seen.insert(endpoint.address).inserted { list.append(endpoint) }
        }
        return list
    }

    static func kazaa(_ configure: (inout FastTrackClient.Configuration) -> Void) -> FastTrackClient {
        var configuration = FastTrackClient.Configuration()
        configuration.listenPort = listenPort
        configuration.address = kazaaHost
        configuration.username = "defaultuser"
        configure(&configuration)
        return FastTrackClient(configuration)
    }

    static func peer(_ endpoint: Endpoint, supernode: Bool = true, busy: Bool = false, seed: UInt64) -> FastTrackPeer {
        var configuration = FastTrackPeer.Configuration(endpoint: endpoint, supernode: Endpoint(IPAddress(198, 51, 100, 214), 2093))
        configuration.isSupernode = supernode
        configuration.busy = busy
        configuration.seed = seed
        return FastTrackPeer(configuration)
    }

    /// Another LAN host browsing every `every` seconds from `from` to `to`.
    static func browsing(_ network: inout FastTrackNetwork, host: IPAddress = browser, from: Double, to: Double, every: Double) {
        var t = from
        var page = 0
        while t <= to {
            network.add(FastTrackNetwork.WebVisit(client: host, after: Seconds(t), server: page % 2 == 0 ? webServer : otherWebServer,
                                                  path: "/news/\(page).html"))
            t += every
            page += 1
        }
    }

    static func hash(_ seed: UInt64) -> [UInt8] {
        var random = SimulationRandom(seed: seed)
        return random.bytes(20)
    }

    // MARK: Scenarios

    /// A complete Kazaa session behind peerwall.
    static let session = Scenario(
        name: "fasttrack-session",
        summary: "Kazaa starts: a burst of 200 pings answered by spoofed pongs keeps it in UDP mode; a download from a pinged peer locks it; a web request during the lock is refused; it answers the probes, then quits; the lock runs out and the web works again; another LAN host browses throughout"
    ) {
        let peers = peerList(200, seed: 11)
        var network = FastTrackNetwork(gateway: .peerwall(lockSeconds: 120, spoof: 0x29), seed: 101)
        network.add(FastTrackNetwork.ClientHost(address: kazaaHost, client: kazaa { c in
            c.peers = peers
            c.repingInterval = Seconds(60)
            c.seed = 1001
            c.downloads = [FastTrackClient.Download(after: Seconds(20), peer: peers[3], hash: hash(1), title: "Song")]
        }, start: Seconds(1), quit: Seconds(145)))
        for (i, endpoint) in peers.enumerated() where i % 5 == 0 { network.add(peer(endpoint, seed: UInt64(i))) }
        network.add(FastTrackNetwork.WebVisit(client: kazaaHost, after: Seconds(60), server: webServer, path: "/during-lock.html"))
        network.add(FastTrackNetwork.WebVisit(client: kazaaHost, after: Seconds(262), server: webServer, path: "/after-lock.html"))
        browsing(&network, from: 3, to: 263, every: 30)
        return network.run(for: Seconds(270))
    }

    /// What the client does when every ping is answered with a plain pong.
    static let udpAnswered = Scenario(
        name: "fasttrack-udp-answered",
        summary: "Every ping gets a plain 0x29 pong (peerwall's spoofed reply): the client stays in UDP mode, pinging its list again every minute, and never connects; its re-pings to learned peers lock it, and it answers the probes"
    ) {
        let peers = peerList(60, seed: 12)
        var network = FastTrackNetwork(gateway: .peerwall(lockSeconds: 120, spoof: 0x29), seed: 102)
        network.add(FastTrackNetwork.ClientHost(address: kazaaHost, client: kazaa { c in
            c.peers = peers
            c.repingInterval = Seconds(60)
            c.seed = 1002
        }))
        return network.run(for: Seconds(200))
    }

    /// What the client does when no ping is answered.
    static let udpSilent = Scenario(
        name: "fasttrack-udp-silent",
        summary: "No ping is answered (peerwall without spoofed replies): after 15 s the client falls back to parallel TCP connections to its cached and never-pinged addresses, then to one connection at a time; every attempt is refused"
    ) {
        let peers = peerList(24, seed: 13)
        let hidden = peerList(8, seed: 14, offset: 5)
        var network = FastTrackNetwork(gateway: .peerwall(lockSeconds: 120, spoof: nil), seed: 103)
        network.add(FastTrackNetwork.ClientHost(address: kazaaHost, client: kazaa { c in
            c.peers = peers
            c.hiddenPeers = hidden
            c.seed = 1003
        }))
        for (i, endpoint) in (peers + hidden).enumerated() where i % 3 == 0 { network.add(peer(endpoint, seed: UInt64(100 + i))) }
        return network.run(for: Seconds(180))
    }

    /// A client with UDP disabled on an unprotected network: what the encrypted sessions, the
    /// downloads and the pushes look like on the wire.
    static let noUDP = Scenario(
        name: "fasttrack-no-udp",
        summary: "A client with UDP disabled on an open network: parallel TCP with 12-byte openings answered by 8 bytes, a session, an HTTP download (206 with Kazaa headers), a busy reply and a push (GIVE)"
    ) {
        let peers = peerList(12, seed: 15)
        var network = FastTrackNetwork(gateway: .open, seed: 104)
        network.add(FastTrackNetwork.ClientHost(address: kazaaHost, client: kazaa { c in
            c.peers = peers
            c.udpEnabled = false
            c.parallelConnections = 4
            c.seed = 1004
            c.downloads = [
                FastTrackClient.Download(after: Seconds(10), peer: peers[1], hash: hash(2), title: "Song", range: 0...262_143),
                FastTrackClient.Download(after: Seconds(14), peer: peers[2], hash: hash(3), title: "Film", range: 262_144...524_287, httpVersion: "1.0"),
            ]
            c.pushes = [FastTrackClient.Push(after: Seconds(20), requester: peers[4], pushID: 4_253_679_545)]
        }))
        for (i, endpoint) in peers.enumerated() where i != 0 {
            network.add(peer(endpoint, supernode: i % 2 == 1, busy: i == 2, seed: UInt64(200 + i)))
        }
        return network.run(for: Seconds(40))
    }

    /// Kazaa downloads whose heads arrive in pieces.
    static let httpSplit = Scenario(
        name: "fasttrack-http-split",
        summary: "Kazaa HTTP downloads on unremarkable ports, with request and reply heads split across segments at several points (one byte at a time in one of them), on HTTP/1.1 and 1.0, and a push split after GIVE"
    ) {
        var timeline = SegmentTimeline(start: FastTrackNetwork.defaultStart)
        let uploaders = peerList(6, seed: 16)
        let hashes = (0..<6).map { hash(UInt64(30 + $0)) }
        let splits: [[Int]] = [[20, 1448], [57, 2, 1448], [100, 1448], [1], [5, 5, 5, 5, 1448], [150, 1448]]
        for (i, uploader) in uploaders.enumerated() {
            let client = Endpoint(kazaaHost, UInt16(1100 + i))
            var tcp = TCPConversation(client: client, server: uploader, clientISN: 0x4000_0000 &+ UInt32(i) &* 7777, serverISN: 0x8000_0000 &+ UInt32(i))
            let request = FastTrackWire.downloadRequest(hash: hashes[i], host: uploader, username: "defaultuser", range: 0...262_143,
                                                        version: i % 2 == 0 ? "1.1" : "1.0")
            var peerModel = peer(uploader, supernode: false, seed: UInt64(300 + i))
            var connection = FastTrackPeer.Connection()
            let reply = peerModel.receive(request, on: &connection)?.bytes ?? []
            timeline.add(tcp.handshake())
            timeline.add(tcp.send(request, from: .client, segmentSizes: i == 3 ? [1] : splits[i]), gap: 0.002)
            timeline.add([tcp.ack(from: .server)])
            timeline.add(tcp.send(reply, from: .server, segmentSizes: [[7, 1448], [300, 1448], [64, 64, 1448]][i % 3]), gap: 0.001)
            timeline.add(tcp.close(initiatedBy: .server))
            timeline.wait(2)
        }
        // A push: GIVE in two pieces, then the requester's GET.
        var push = TCPConversation(client: Endpoint(kazaaHost, 1200), server: Endpoint(IPAddress(203, 0, 113, 99), 3077),
                                   clientISN: 0x5000_0000, serverISN: 0x9000_0000)
        timeline.add(push.handshake())
        timeline.add(push.send(FastTrackWire.give(pushID: 1_234_567), from: .client, segmentSizes: [3, 100]), gap: 0.002)
        timeline.add(push.send(FastTrackWire.downloadRequest(hash: hash(40), host: push.server, username: "requester"), from: .server))
        timeline.add(push.close(initiatedBy: .client))
        return timeline.frames
    }

    /// An ordinary page that quotes FastTrack's words in its body.
    static let httpQuoted = Scenario(
        name: "fasttrack-http-quoted",
        summary: "A web page about Kazaa that quotes its request line, X-Kazaa headers and GIVE in the body, and a form post quoting them: nothing is FastTrack, everything is accepted"
    ) {
        let body = """
        <html><head><title>How Kazaa downloads work</title></head><body>
        <p>A Kazaa download is plain HTTP. The client sends:</p>
        <pre>
        GET /.hash=a94a8fe5ccb19ba61c4c0873d391e987982fbbd3 HTTP/1.1
        UserAgent: KazaaClient Nov  3 2002 20:29:03
        X-Kazaa-Username: defaultuser
        X-Kazaa-Network: KaZaA
        X-Kazaa-IP: 212.8.74.24:1214
        X-Kazaa-SupernodeIP: 193.204.34.214:2093
        X-KazaaTag: 4=Title
        </pre>
        <p>A firewalled uploader pushes with <code>GIVE 4253679545</code>.</p>
        </body></html>

        """
        let page = Array("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8)
        var network = FastTrackNetwork(gateway: .peerwall(lockSeconds: 120, spoof: 0x29), seed: 105)
        network.add(FastTrackNetwork.WebVisit(client: browser, after: Seconds(1), server: webServer, path: "/articles/kazaa.html",
                                              host: "www.example.com", response: page))
        var post = FastTrackNetwork.WebVisit(client: browser, after: Seconds(3), server: otherWebServer, path: "/comments",
                                             host: "forum.example.com")
        let form = "comment=X-Kazaa-Username%3A+me%0D%0AGIVE+12%0D%0AGET+%2F.files"
        post.request = Array("POST /comments HTTP/1.1\r\nHost: forum.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\n\r\n\(form)".utf8)
        network.add(post)
        network.add(FastTrackNetwork.WebVisit(client: kazaaHost, after: Seconds(5), server: webServer, path: "/articles/kazaa.html",
                                              host: "www.example.com", response: page))
        return network.run(for: Seconds(10))
    }

    /// Pings of the other FastTrack networks.
    static let names = Scenario(
        name: "fasttrack-names",
        summary: "Grokster, iMesh (network \"fileshare\"), MusicCity and an mldonkey-style KaZaA client (encryption type 0xA9) ping their peers from four LAN hosts"
    ) {
        var network = FastTrackNetwork(gateway: .peerwall(lockSeconds: 120, spoof: 0x29), seed: 106)
        let clients: [(IPAddress, String, UInt32, UInt16)] = [
            (IPAddress(192, 168, 1, 21), "Grokster", 0x29, 1214), (IPAddress(192, 168, 1, 22), "fileshare", 0x29, 3121),
            (IPAddress(192, 168, 1, 23), "MusicCity", 0x29, 4661), (IPAddress(192, 168, 1, 24), "KaZaA", 0xA9, 1214),
        ]
        for (i, (address, name, encryption, port)) in clients.enumerated() {
            var configuration = FastTrackClient.Configuration()
            configuration.network = name
            configuration.encryption = encryption
            configuration.listenPort = port
            configuration.address = address
            configuration.peers = peerList(10, seed: UInt64(20 + i), offset: i)
            configuration.repingInterval = Seconds(1000)
            configuration.seed = UInt64(2000 + i)
            network.add(FastTrackNetwork.ClientHost(address: address, client: FastTrackClient(configuration), start: Seconds(Double(i))))
        }
        return network.run(for: Seconds(20))
    }

    /// A lock kept alive by probe answers, then let go.
    static let probe = Scenario(
        name: "fasttrack-probe",
        summary: "A client locked by a download attempt to a pinged peer answers every probe (the lock holds), quits at 150 s and stops answering; the lock runs out 120 s after its last answer; its web request during the lock is refused, the one after is served"
    ) {
        let peers = peerList(10, seed: 17)
        var network = FastTrackNetwork(gateway: .peerwall(lockSeconds: 120, spoof: 0x29), seed: 107)
        network.add(FastTrackNetwork.ClientHost(address: kazaaHost, client: kazaa { c in
            c.peers = peers
            c.repingInterval = Seconds(1000)
            c.seed = 1007
            c.downloads = [FastTrackClient.Download(after: Seconds(5), peer: peers[2], hash: hash(5), title: "Song")]
        }, quit: Seconds(150)))
        network.add(FastTrackNetwork.WebVisit(client: kazaaHost, after: Seconds(230), server: webServer, path: "/still-locked.html"))
        network.add(FastTrackNetwork.WebVisit(client: kazaaHost, after: Seconds(262), server: webServer, path: "/free-again.html"))
        browsing(&network, from: 10, to: 260, every: 50)
        return network.run(for: Seconds(270))
    }

    /// Malformed and hostile packets: none of them may lock anyone.
    static let hostile = Scenario(
        name: "fasttrack-hostile",
        summary: "Short datagrams with FastTrack type bytes, pings and pongs of the wrong length, names without their NUL, a 2 KB name, junk to port 1214, huge HTTP heads and Kazaa words in non-HTTP data: no lock, no learned address"
    ) {
        var frames: [(Double, [UInt8])] = []
        let client = Endpoint(kazaaHost, listenPort)
        var random = SimulationRandom(seed: 18)
        func udp(_ payload: [UInt8], to peer: Endpoint) -> [UInt8] { PacketBuilder.udp(from: client, to: peer, payload: payload) }
        let targets = peerList(40, seed: 19)
        var t = 0.0
        var payloads: [[UInt8]] = []
        for type: UInt8 in [0x27, 0x28, 0x29, 0x2A, 0xC0] {
            for length in 0..<7 { payloads.append(Array(([type, 0, 0, 0, 0x29, 0x80, 0x4B] as [UInt8]).prefix(length))) }
        }
        let ping = FastTrackWire.ping(network: "KaZaA")
        payloads += [
            ping + [0], Array(ping.dropLast()), Array(ping.dropLast()) + [0x41], ping + [0x41, 0x00],
            [0x27, 0, 0, 0, 0x29, 0x80] + Array(repeating: 0x41, count: 2048) + [0],
            [0x27, 0, 0, 0, 0x29, 0x80] + Array("Ka\u{1}aA".utf8) + [0],
            FastTrackWire.pong(id: 1) + [0], Array(FastTrackWire.pong(id: 1).dropLast()),
            Array(FastTrackWire.supernodePong(network: "KaZaA").dropLast()),
            Array("X-Kazaa-Username: x\r\n".utf8),
        ]
        for (i, payload) in payloads.enumerated() {
            // Each malformed ping goes to one peer twice: a well-formed one would lock on the second.
            let target = targets[i % targets.count]
            frames.append((t, udp(payload, to: target)))
            frames.append((t + 0.5, udp(payload, to: target)))
            t += 0.05
        }
        for i in 0..<20 {
            frames.append((t, udp(random.bytes(Int.random(in: 1...64, using: &random)), to: Endpoint(targets[i].address, 1214))))
            t += 0.05
        }
        // Huge heads: 200 filler headers push a Kazaa header past what is reassembled, a 20 KB
        // cookie, and a head that never ends.
        var lines = ["GET /index.html HTTP/1.1", "Host: www.example.com"]
        for i in 0..<200 { lines.append("X-Filler-\(i): " + String(repeating: "v", count: 90)) }
        lines.append("X-Kazaa-Username: late")
        let heads: [[UInt8]] = [
            Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8),
            Array(("GET / HTTP/1.1\r\nHost: www.example.com\r\nCookie: " + String(repeating: "c", count: 20_000) + "\r\n\r\n").utf8),
            Array(("GET / HTTP/1.1\r\n" + String(repeating: "X-A: b\r\n", count: 500)).utf8),
        ]
        for (i, head) in heads.enumerated() {
            var tcp = TCPConversation(client: Endpoint(browser, UInt16(1300 + i)), server: webServer,
                                      clientISN: 0x6000_0000 &+ UInt32(i), serverISN: 0xA000_0000 &+ UInt32(i))
            for packet in tcp.handshake() + tcp.send(head, from: .client, segmentSizes: [1448]) {
                frames.append((t, packet))
                t += 0.001
            }
            t += 0.5
        }
        // Kazaa words inside a binary protocol's data, and an SMTP exchange quoting them.
        var smtp = TCPConversation(client: Endpoint(browser, 1400), server: Endpoint(IPAddress(192, 0, 2, 25), 25),
                                   clientISN: 0x7000_0000, serverISN: 0xB000_0000)
        for packet in smtp.handshake() + smtp.send(Array("220 mail.example.com ESMTP\r\n".utf8), from: .server)
            + smtp.send(Array("EHLO pc\r\nX-Kazaa-Username: spam\r\n".utf8), from: .client) {
            frames.append((t, packet))
            t += 0.001
        }
        // Garbage that is not even IP.
        for length in [0, 1, 19, 20, 39] { frames.append((t, random.bytes(length))) }
        return frames.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }
            .map { CaptureFrame(time: FastTrackNetwork.defaultStart + Seconds($0.element.0), packet: $0.element.1) }
    }
}

/// Frames laid out one after another, for the scripted scenarios.
struct SegmentTimeline {
    private(set) var frames: [CaptureFrame] = []
    private(set) var now: Timestamp

    init(start: Timestamp) { now = start }

    mutating func add(_ packets: [[UInt8]], gap: Double = 0.001) {
        for packet in packets {
            frames.append(CaptureFrame(time: now, packet: packet))
            now = now + Seconds(gap)
        }
    }

    mutating func wait(_ seconds: Double) { now = now + Seconds(seconds) }
}
