import PacketKit
import PluginAPI

/// Napster and OpenNap traffic: what a client on the LAN does from the metaserver lookup to a
/// transfer, the firewalled variants, a server on a port no default names, and hostile servers.
/// Addresses are documentation ranges (198.51.100.0/24, 203.0.113.0/24) and a 192.168.1.0/24 LAN.
public enum NapsterScenarios {
    public static var all: [Scenario] { [session, firewalled, otherPorts, hostile] }

    static let metaserver = Endpoint(IPAddress(198, 51, 100, 5), 8875)
    static let server = Endpoint(IPAddress(198, 51, 100, 20), 8888)
    static let song = "Generic Band - Generic Cowboy Song.mp3"
    static let md5 = "10fe9e623b1962da85eea61df7ac1f69"

    // MARK: napster-session

    /// Metaserver lookup, login, a search whose results run past the host's 4 KiB stream, a
    /// download request answered by a 204 naming a peer on port 5555, the client's transfer to
    /// that peer (`1`, `GET`, the request, the file), and a later browse accept split in two.
    public static let session = Scenario(
        name: "napster-session",
        summary: "Napster client: metaserver, login, search, 204 download ack, GET transfer on port 5555, browse accept"
    ) {
        let client = IPAddress(192, 168, 1, 10)
        let uploader = Endpoint(IPAddress(203, 0, 113, 7), 5555)
        var t = CaptureTimeline()

        // The metaserver names the server and closes.
        var meta = TCPConversation(client: Endpoint(client, 40_001), server: metaserver, clientISN: 0x1100_0000, serverISN: 0x5100_0000)
        t.open(&meta)
        t.send(&meta, Array(text: "198.51.100.20:8888\n"), from: .server)
        t.close(&meta, by: .server)
        t.wait(0.3)

        var session = TCPConversation(client: Endpoint(client, 40_002), server: server, clientISN: 0x1200_0000, serverISN: 0x5200_0000)
        t.open(&session)
        t.send(&session, NapsterWire.login(nick: "lefty", password: "badpass", dataPort: 6699, client: "nap v0.8", link: 7), from: .client)
        t.send(&session, NapsterWire.message(.loginAck, "lefty@example.net")
               + NapsterWire.message(.serverStats, "553 64692 254")
               + NapsterWire.message(.motd, "Welcome to the example OpenNap server.")
               + NapsterWire.message(.motd, "Please share your files."), from: .server)
        t.send(&session, NapsterWire.share(file: "C:\\MP3\\Other Band - Other Song.mp3", md5: "b92870e0d41bc8e698cf2f0a1ddfeac7",
                                           size: 443_332, seconds: 60)
               + NapsterWire.share(file: "C:\\MP3\\Third Band - Third Song.mp3", md5: "7d733c1e7419674744768db71bff8bcd",
                                   size: 2_558_199, seconds: 159), from: .client)
        t.wait(1.5)

        t.send(&session, NapsterWire.search("generic band"), from: .client)
        var results: [UInt8] = []
        for i in 0..<40 {
            let sharer = i == 7 ? uploader.address : IPAddress(203, 0, 113, UInt8(20 + i % 8))
            let entry = NapsterWire.SharedFile(
                file: "C:\\Shared\\Music\\Generic Band\\\(i == 7 ? song : "Generic Band - Track \(i).mp3")", md5: md5,
                size: 3_000_000 + i * 1000, seconds: 180 + i, nick: i == 7 ? "mred" : "sharer\(i % 8)", owner: sharer,
                dataPort: 6699)
            results += NapsterWire.searchResult(entry)
        }
        results += NapsterWire.message(.searchEnd, "")
        // Segments that do not fall on message boundaries.
        t.send(&session, results, from: .server, segmentSizes: [1000, 1448])
        t.wait(2)

        t.send(&session, NapsterWire.downloadRequest(nick: "mred", file: "C:\\Shared\\Music\\Generic Band\\\(song)"), from: .client)
        t.send(&session, NapsterWire.downloadAck(nick: "mred", address: uploader.address, port: uploader.port,
                                                 file: "C:\\Shared\\Music\\Generic Band\\\(song)", md5: md5), from: .server)
        t.wait(0.2)

        // The transfer, on a port no default names.
        var transfer = TCPConversation(client: Endpoint(client, 40_003), server: uploader, clientISN: 0x1300_0000, serverISN: 0x5300_0000)
        t.open(&transfer)
        t.send(&transfer, NapsterWire.acceptorHello, from: .server)
        t.send(&transfer, NapsterWire.get, from: .client)
        t.send(&transfer, NapsterWire.peerRequest(nick: "lefty", file: "C:\\Shared\\Music\\Generic Band\\\(song)", number: 0), from: .client)
        var file = Array(text: "3007000")
        var random = SimulationRandom(seed: 0x4E41_5053)
        file += [0xFF, 0xFB, 0x90, 0x64] + random.bytes(2000)
        t.send(&transfer, file, from: .server)
        t.close(&transfer, by: .client)
        t.send(&session, NapsterWire.message(rawType: 218, []), from: .client)
        t.wait(5)

        // A later announcement, split inside its header and its body.
        let browse = NapsterWire.browseAccept(nick: "sharer3", address: IPAddress(203, 0, 113, 11), port: 6699)
        t.send(&session, browse, from: .server, segmentSizes: [3, 9])
        t.close(&session, by: .client)
        return t.frames
    }

    // MARK: napster-firewalled

    /// A firewalled client (data port 0) told by a 501 to push a file to a downloader, which it
    /// does with `SEND`; and a client whose 204 names a firewalled uploader (port 0), which then
    /// connects in to the client's data port and pushes the file.
    public static let firewalled = Scenario(
        name: "napster-firewalled",
        summary: "Napster firewalled transfers: 501 then an outgoing SEND push; 204 with port 0 then an incoming SEND push"
    ) {
        let pusher = IPAddress(192, 168, 1, 12)
        let downloader = Endpoint(IPAddress(203, 0, 113, 30), 6699)
        let receiver = IPAddress(192, 168, 1, 13)
        let hiddenUploader = IPAddress(203, 0, 113, 40)
        var t = CaptureTimeline()

        // The firewalled uploader's server connection.
        var a = TCPConversation(client: Endpoint(pusher, 41_001), server: server, clientISN: 0x2100_0000, serverISN: 0x6100_0000)
        t.open(&a)
        t.send(&a, NapsterWire.login(nick: "walled", password: "pw1234", dataPort: 0, client: "WinMX v2.6", link: 8), from: .client)
        t.send(&a, NapsterWire.message(.loginAck, "anon@napster.com"), from: .server)
        t.wait(3)
        t.send(&a, NapsterWire.downloadAck(.firewalledDownloadAck, nick: "getter", address: downloader.address, port: downloader.port,
                                           file: "D:\\share\\\(song)", md5: md5, link: 4), from: .server)
        t.wait(0.1)
        var push = TCPConversation(client: Endpoint(pusher, 41_002), server: downloader, clientISN: 0x2200_0000, serverISN: 0x6200_0000)
        t.open(&push)
        t.send(&push, NapsterWire.acceptorHello, from: .server)
        // SEND and the request in one segment.
        t.send(&push, NapsterWire.send + NapsterWire.peerRequest(nick: "walled", file: "D:\\share\\\(song)", number: 3_007_000), from: .client)
        t.send(&push, Array(text: "0"), from: .server)
        var random = SimulationRandom(seed: 0x4649_5245)
        t.send(&push, [0xFF, 0xFB] + random.bytes(1500), from: .client)
        t.close(&push, by: .client)
        t.close(&a, by: .client)
        t.wait(1)

        // A client downloading from a firewalled uploader: the 204 carries port 0.
        var b = TCPConversation(client: Endpoint(receiver, 41_101), server: server, clientISN: 0x2300_0000, serverISN: 0x6300_0000)
        t.open(&b)
        t.send(&b, NapsterWire.login(nick: "taker", password: "pw5678", dataPort: 6699, client: "nap v1.5.4", link: 6), from: .client)
        t.send(&b, NapsterWire.message(.loginAck, "anon@napster.com"), from: .server)
        t.send(&b, NapsterWire.downloadRequest(nick: "hider", file: "E:\\mp3\\\(song)"), from: .client)
        t.send(&b, NapsterWire.downloadAck(nick: "hider", address: hiddenUploader, port: 0, file: "E:\\mp3\\\(song)", md5: md5), from: .server)
        t.send(&b, NapsterWire.message(.alternateDownloadRequest, "hider \"E:\\mp3\\\(song)\""), from: .client)
        t.wait(0.5)
        var incoming = TCPConversation(client: Endpoint(hiddenUploader, 3312), server: Endpoint(receiver, 6699),
                                       clientISN: 0x2400_0000, serverISN: 0x6400_0000)
        t.open(&incoming)
        t.send(&incoming, NapsterWire.acceptorHello, from: .server)
        t.send(&incoming, NapsterWire.send, from: .client)
        t.send(&incoming, NapsterWire.peerRequest(nick: "hider", file: "E:\\mp3\\\(song)", number: 3_007_000), from: .client)
        t.send(&incoming, Array(text: "0"), from: .server)
        t.close(&incoming, by: .client)
        t.close(&b, by: .client)
        return t.frames
    }

    // MARK: napster-other-ports

    /// A server on port 4444 (not 8888 or 7777): nick registration (7 then 8), a new-user login
    /// (6), a redirect (821) to another server, the client's attempt there, and a direct browse
    /// (641, then `GETLIST`) on port 7000.
    public static let otherPorts = Scenario(
        name: "napster-other-ports",
        summary: "Napster server on port 4444: nick check, new-user login, 821 redirect, 641 browse with GETLIST on port 7000"
    ) {
        let client = IPAddress(192, 168, 1, 14)
        let odd = Endpoint(IPAddress(198, 51, 100, 21), 4444)
        let next = Endpoint(IPAddress(198, 51, 100, 22), 7777)
        let browsed = Endpoint(IPAddress(203, 0, 113, 50), 7000)
        var t = CaptureTimeline()

        var check = TCPConversation(client: Endpoint(client, 42_001), server: odd, clientISN: 0x3100_0000, serverISN: 0x7100_0000)
        t.open(&check)
        t.send(&check, NapsterWire.message(.nickCheck, "newbie"), from: .client)
        t.send(&check, NapsterWire.message(.nickAvailable, ""), from: .server)
        t.close(&check, by: .client)

        var s = TCPConversation(client: Endpoint(client, 42_002), server: odd, clientISN: 0x3200_0000, serverISN: 0x7200_0000)
        t.open(&s)
        t.send(&s, NapsterWire.newUserLogin(nick: "newbie", password: "s3cret", dataPort: 6699, client: "Napigator 1.3", link: 8,
                                           email: "newbie@example.org"), from: .client)
        t.send(&s, NapsterWire.message(.loginAck, "newbie@example.org"), from: .server)
        t.send(&s, NapsterWire.message(.browseDirect, "sharer9"), from: .client)
        t.send(&s, NapsterWire.browseAccept(nick: "sharer9", address: browsed.address, port: browsed.port), from: .server)

        var browse = TCPConversation(client: Endpoint(client, 42_003), server: browsed, clientISN: 0x3300_0000, serverISN: 0x7300_0000)
        t.open(&browse)
        t.send(&browse, NapsterWire.acceptorHello, from: .server)
        t.send(&browse, Array(text: "GETLIST"), from: .client)
        t.send(&browse, Array(text: "sharer9\n\"C:\\mp3\\a.mp3\" b92870e0d41bc8e698cf2f0a1ddfeac7 443332 128 44100 60\n\n"), from: .server)
        t.close(&browse, by: .server)
        t.wait(4)

        t.send(&s, NapsterWire.redirect(server: "198.51.100.22", port: next.port), from: .server)
        t.close(&s, by: .server)
        // The client tries the server it was sent to, and tries again.
        var moved = TCPConversation(client: Endpoint(client, 42_004), server: next, clientISN: 0x3400_0000, serverISN: 0x7400_0000)
        let syn = moved.syn()
        t.add(syn)
        t.wait(3)
        t.add(syn)
        return t.frames
    }

    // MARK: napster-hostile

    /// Servers and peers that lie: lengths longer than the body, truncated messages, a 60,000-byte
    /// field, announced addresses that are loopback, multicast, broadcast, unspecified, LAN or
    /// above 2³², bad ports, a metaserver naming loopback and LAN servers, binary noise on 8888.
    /// Nothing here may be learned.
    public static let hostile = Scenario(
        name: "napster-hostile",
        summary: "Hostile Napster servers and peers: lying lengths, truncation, huge fields, garbage addresses; nothing learned"
    ) {
        var t = CaptureTimeline()
        let lan = IPAddress(192, 168, 1, 99)
        func ack(_ nick: String, _ address: String, _ port: String) -> [UInt8] {
            NapsterWire.message(rawType: 204, Array(text: "\(nick) \(address) \(port) \"x.mp3\" \(md5) 3"))
        }

        var s = TCPConversation(client: Endpoint(IPAddress(192, 168, 1, 20), 43_001), server: Endpoint(IPAddress(198, 51, 100, 30), 8888),
                                clientISN: 0x4100_0000, serverISN: 0x8100_0000)
        t.open(&s)
        t.send(&s, NapsterWire.login(nick: "victim", password: "pw", dataPort: 6699), from: .client)
        t.send(&s, NapsterWire.message(.loginAck, "victim@example.net"), from: .server)
        let garbage: [[UInt8]] = [
            ack("lo", String(NapsterWire.decimal(IPAddress(127, 0, 0, 1))), "6699"),
            ack("mc", String(NapsterWire.decimal(IPAddress(224, 0, 0, 1))), "6699"),
            ack("bc", "4294967295", "6699"),
            ack("zero", "0", "6699"),
            ack("lan", String(NapsterWire.decimal(lan)), "6699"),
            ack("cgnat", String(NapsterWire.decimal(IPAddress(100, 64, 0, 9))), "6699"),
            ack("linklocal", String(NapsterWire.decimal(IPAddress(169, 254, 3, 4))), "6699"),
            ack("big", "4877911892", "6699"),
            ack("huge", "98765432109876543210", "6699"),
            ack("neg", "-1", "6699"),
            ack("hex", "0x0A0B0C0D", "6699"),
            ack("port", String(NapsterWire.decimal(IPAddress(203, 0, 113, 99))), "70000"),
            ack("portx", String(NapsterWire.decimal(IPAddress(203, 0, 113, 98))), "66a9"),
            NapsterWire.message(rawType: 821, Array(text: "127.0.0.1 8888")),
            NapsterWire.message(rawType: 821, Array(text: "10.0.0.1 8888")),
            NapsterWire.message(rawType: 821, Array(text: "203.0.113.97 0")),
            NapsterWire.message(rawType: 641, Array(text: "x \(NapsterWire.decimal(IPAddress(10, 1, 2, 3))) 6699")),
            NapsterWire.message(rawType: 641, Array(text: "x \(NapsterWire.decimal(IPAddress(255, 255, 255, 255))) 6699")),
            NapsterWire.message(rawType: 201, Array(text: "\"f.mp3\" \(md5) 1 128 44100 60 n 0 3")),
            NapsterWire.message(rawType: 201, Array(text: "\"f.mp3\" \(md5) 1 128 44100 60 n \(NapsterWire.decimal(IPAddress(239, 1, 1, 1))) 3")),
            // Control bytes in an otherwise good announcement.
            NapsterWire.message(rawType: 204, Array(text: "ctl \(NapsterWire.decimal(IPAddress(203, 0, 113, 96))) 6699 \"x\u{01}.mp3\" \(md5) 3")),
            // An address in a quoted field where a number belongs.
            NapsterWire.message(rawType: 641, Array(text: "q \"\(NapsterWire.decimal(IPAddress(203, 0, 113, 95)))\" 6699")),
        ]
        t.send(&s, garbage.flatMap { $0 }, from: .server, segmentSizes: [700, 1448])

        // A length that claims 40 bytes more than the body: it swallows the next message.
        let good = ack("next", String(NapsterWire.decimal(IPAddress(203, 0, 113, 94))), "6699")
        let lie = Array(text: "liar \(NapsterWire.decimal(IPAddress(203, 0, 113, 93))) 6699 \"y.mp3\" \(md5) 3")
        let liar = NapsterWire.message(rawType: 204, lie, claimedLength: UInt16(lie.count + 40))
        t.send(&s, liar + good, from: .server)

        // A 60,000-byte file name in a search result naming a LAN sharer, in 42 segments.
        let name = String(repeating: "A", count: 60_000)
        let huge = NapsterWire.message(rawType: 201, Array(text: "\"\(name)\" \(md5) 1 128 44100 60 n \(NapsterWire.decimal(lan)) 3"))
        t.send(&s, huge, from: .server)
        // A type number no server sends, then a message cut off by the server's close.
        t.send(&s, NapsterWire.message(rawType: 0xFFFF, Array(text: "junk")), from: .server)
        let cut = ack("cut", String(NapsterWire.decimal(IPAddress(203, 0, 113, 92))), "6699")
        t.send(&s, Array(cut.prefix(20)), from: .server)
        t.close(&s, by: .server)

        // A metaserver naming loopback and LAN servers.
        for (index, line) in ["127.0.0.1:8888\n", "10.0.0.1:8888\n", "0.0.0.0:8888\n", "224.0.0.9:8888\n"].enumerated() {
            var meta = TCPConversation(client: Endpoint(IPAddress(192, 168, 1, 21), UInt16(43_100 + index)), server: metaserver,
                                       clientISN: 0x4200_0000 &+ UInt32(index) << 16, serverISN: 0x8200_0000)
            t.open(&meta)
            t.send(&meta, Array(text: line), from: .server)
            t.close(&meta, by: .server)
        }

        // Binary noise to a server port.
        var noise = TCPConversation(client: Endpoint(IPAddress(192, 168, 1, 22), 43_200), server: Endpoint(IPAddress(198, 51, 100, 31), 8888),
                                    clientISN: 0x4300_0000, serverISN: 0x8300_0000)
        var random = SimulationRandom(seed: 0x4E4F_4953)
        t.open(&noise)
        t.send(&noise, random.bytes(600), from: .client)
        t.send(&noise, random.bytes(300), from: .server)
        t.close(&noise)

        // A peer request with a nick too long and an unterminated file name.
        var peer = TCPConversation(client: Endpoint(IPAddress(192, 168, 1, 23), 43_300), server: Endpoint(IPAddress(203, 0, 113, 91), 6600),
                                   clientISN: 0x4400_0000, serverISN: 0x8400_0000)
        t.open(&peer)
        t.send(&peer, Array(text: "GET" + String(repeating: "n", count: 300) + " \"file.mp3\" 0"), from: .client)
        t.close(&peer)
        return t.frames
    }
}
