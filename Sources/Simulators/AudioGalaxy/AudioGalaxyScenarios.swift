import PacketKit
import PluginAPI

/// AudioGalaxy Satellite traffic: the redirector and the main server on port 21, the share
/// exchange, FILE_TRANSFER orders to connect and to listen, transfers between satellites on
/// 41xxx ports and on a port no default names, and hostile servers.
public enum AudioGalaxyScenarios {
    public static var all: [Scenario] { [session, hostile] }

    static func fileID(_ seed: UInt8) -> [UInt8] { (0..<16).map { UInt8(truncatingIfNeeded: Int(seed) &* 31 &+ $0 &* 7) } }

    // MARK: audiogalaxy-session

    /// Redirector on port 21 naming the main server (port 21 too); login; the share exchange;
    /// the proxy test and three FILE_TRANSFER orders (connect on 41009, listen for a satellite
    /// that connects in to 41010, connect on 5190), the last after more than 4 KiB of other
    /// frames; and the three transfers, each opened with the 38-byte request and the `OK`.
    public static let session = Scenario(
        name: "audiogalaxy-session",
        summary: "AudioGalaxy satellite: redirector and server on 21, shares, FILE_TRANSFER connect and listen, transfers on 41009, 41010 and 5190"
    ) {
        let client = IPAddress(192, 168, 1, 30)
        let redirector = Endpoint(IPAddress(198, 51, 100, 60), 21)
        let main = Endpoint(IPAddress(198, 51, 100, 61), 21)
        let proxyTest = Endpoint(IPAddress(198, 51, 100, 62), 41_178)
        let fetchFrom = Endpoint(IPAddress(203, 0, 113, 70), 41_009)
        let acceptFrom = IPAddress(203, 0, 113, 71)
        let listenPort: UInt16 = 41_010
        let oddPort = Endpoint(IPAddress(203, 0, 113, 72), 5190)
        var t = CaptureTimeline()

        var r = TCPConversation(client: Endpoint(client, 40_300), server: redirector, clientISN: 0x1A00_0000, serverISN: 0x5A00_0000)
        t.open(&r)
        t.send(&r, AudioGalaxyWire.redirect(server: "198.51.100.61", port: 21), from: .server)
        t.close(&r, by: .client)
        t.wait(0.2)

        var s = TCPConversation(client: Endpoint(client, 40_301), server: main, clientISN: 0x1B00_0000, serverISN: 0x5B00_0000)
        t.open(&s)
        t.send(&s, AudioGalaxyWire.login(user: "galaxyfan", password: "hunter2", clientAddress: "192.168.1.30"), from: .client)
        t.send(&s, AudioGalaxyWire.frame(sequence: 0, .sendSharesStandBy), from: .server)
        t.send(&s, AudioGalaxyWire.frame(sequence: 1, .readyToSendShares), from: .client)
        t.send(&s, AudioGalaxyWire.frame(sequence: 1, .sendShares), from: .server)
        var shares: [UInt8] = []
        for i in 0..<3 {
            shares += AudioGalaxyWire.newShare(sequence: UInt32(2 + i), id: fileID(UInt8(i)), name: "C:\\Music\\Band - Song \(i).mp3",
                                               size: UInt32(3_000_000 + i))
        }
        shares += AudioGalaxyWire.frame(sequence: 5, .readyForTransfer)
        t.send(&s, shares, from: .client)
        t.wait(1)

        var orders = AudioGalaxyWire.fileTransfer(sequence: 2, id: fileID(40), connect: true, receive: false, address: "198.51.100.62",
                                                  port: UInt32(proxyTest.port), localID: 1, name: "new proxy test", size: 1)
        orders += AudioGalaxyWire.fileTransfer(sequence: 3, id: fileID(41), connect: true, receive: true, address: "203.0.113.70",
                                               port: UInt32(fetchFrom.port), localID: 2, name: "Other Band - Hit.mp3", size: 4_100_000)
        orders += AudioGalaxyWire.fileTransfer(sequence: 4, id: fileID(1), connect: false, receive: false, address: "203.0.113.71",
                                               port: UInt32(listenPort), localID: 3, name: "C:\\Music\\Band - Song 1.mp3", size: 3_000_001)
        t.send(&s, orders, from: .server, segmentSizes: [50, 1448])

        // State reports, enough to carry the server's stream past 4 KiB, then one more order.
        var states: [UInt8] = []
        for i in 0..<200 {
            states += AudioGalaxyWire.fileTransferState(sequence: UInt32(5 + i), id: fileID(41), state: i == 199 ? 0 : 3)
        }
        t.send(&s, states, from: .server)
        t.send(&s, AudioGalaxyWire.fileTransfer(sequence: 205, id: fileID(42), connect: true, receive: true, address: "203.0.113.72",
                                                port: UInt32(oddPort.port), localID: 4, name: "Third Band - B-side.mp3", size: 2_000_000),
               from: .server, segmentSizes: [20, 25])
        t.wait(0.5)

        var random = SimulationRandom(seed: 0x4147_5346)
        // The client fetches from a satellite on 41009: it is the receiving side, so it asks.
        var fetch = TCPConversation(client: Endpoint(client, 40_302), server: fetchFrom, clientISN: 0x1C00_0000, serverISN: 0x5C00_0000)
        t.open(&fetch)
        t.send(&fetch, AudioGalaxyWire.transferRequest(counter: 1, id: fileID(41), size: 4_100_000, offset: 0), from: .client)
        t.send(&fetch, AudioGalaxyWire.transferAccepted(counter: 1) + random.bytes(1400), from: .server)
        t.close(&fetch)

        // A satellite connects in to the client's listening port and asks for a file.
        var serve = TCPConversation(client: Endpoint(acceptFrom, 3456), server: Endpoint(client, listenPort),
                                    clientISN: 0x1D00_0000, serverISN: 0x5D00_0000)
        t.open(&serve)
        t.send(&serve, AudioGalaxyWire.transferRequest(counter: 7, id: fileID(1), size: 3_000_001, offset: 0), from: .client)
        t.send(&serve, AudioGalaxyWire.transferAccepted(counter: 7) + random.bytes(1400), from: .server)
        t.close(&serve)

        // A transfer on a port no default names.
        var odd = TCPConversation(client: Endpoint(client, 40_303), server: oddPort, clientISN: 0x1E00_0000, serverISN: 0x5E00_0000)
        t.open(&odd)
        t.send(&odd, AudioGalaxyWire.transferRequest(counter: 2, id: fileID(42), size: 2_000_000, offset: 0), from: .client)
        t.send(&odd, AudioGalaxyWire.transferAccepted(counter: 2) + random.bytes(1400), from: .server)
        t.close(&odd)

        t.close(&s)
        return t.frames
    }

    // MARK: audiogalaxy-hostile

    /// Servers that lie: FILE_TRANSFER orders naming loopback, multicast, broadcast, unspecified,
    /// LAN, link-local and malformed addresses, bad ports, impossible address lengths, sizes that
    /// cut fields off or cannot be, a magic inside a file name; redirectors naming loopback and
    /// LAN servers; bytes that start like the magic and are not. Nothing here may be learned.
    public static let hostile = Scenario(
        name: "audiogalaxy-hostile",
        summary: "Hostile AudioGalaxy servers: garbage FILE_TRANSFER addresses, lying sizes, truncation; nothing learned"
    ) {
        var t = CaptureTimeline()
        let server = Endpoint(IPAddress(198, 51, 100, 63), 21)
        var s = TCPConversation(client: Endpoint(IPAddress(192, 168, 1, 31), 40_400), server: server,
                                clientISN: 0x1F00_0000, serverISN: 0x5F00_0000)
        t.open(&s)
        t.send(&s, AudioGalaxyWire.login(user: "victim", password: "pw", clientAddress: "192.168.1.31"), from: .client)
        var sequence: UInt32 = 0
        func order(_ address: String, _ port: UInt32, connect: Bool = true) -> [UInt8] {
            sequence += 1
            return AudioGalaxyWire.fileTransfer(sequence: sequence, id: fileID(9), connect: connect, receive: true, address: address,
                                                port: port, localID: sequence, name: "x.mp3", size: 10)
        }
        var frames: [UInt8] = []
        for address in ["127.0.0.1", "224.0.0.5", "255.255.255.255", "0.0.0.0", "192.168.1.50", "10.9.9.9", "172.16.0.1",
                        "100.64.1.1", "169.254.1.1", "240.0.0.1", "300.1.2.3", "1.2.3", "1.2.3.4.5", "1.2.3.4x", "1..2.3"] {
            frames += order(address, 41_000)
            frames += order(address, 41_000, connect: false)
        }
        frames += order("203.0.113.80", 0)
        frames += order("203.0.113.80", 70_000)
        frames += order("203.0.113.80", 0xFFFF_FFFF, connect: false)
        // An address string whose length says 200.
        var long = order("203.0.113.81", 41_000)
        long[14 + 20] = 0
        long[14 + 21] = 200
        frames += long
        // A connect flag of 7 and a file id of 17 bytes.
        var flag = order("203.0.113.83", 41_000)
        flag[14 + 18] = 7
        frames += flag
        var id = order("203.0.113.84", 41_000)
        id[14 + 1] = 0x11
        frames += id
        // A size that ends the frame inside the port.
        let cut = order("203.0.113.82", 41_000)
        frames += AudioGalaxyWire.frame(sequence: 90, type: 10, data: Array(cut[14..<(14 + 22 + 12 + 2)]))
        t.send(&s, frames, from: .server)
        // Impossible sizes, then a magic inside a file name followed by garbage.
        t.send(&s, AudioGalaxyWire.frame(sequence: 91, type: 10, data: [], claimedSize: 6), from: .server)
        t.send(&s, AudioGalaxyWire.frame(sequence: 92, type: 10, data: [1, 2, 3], claimedSize: 0x7FFF_FFFF), from: .server)
        let trick = AudioGalaxyWire.magic + [0, 0, 0, 0x30, 0, 0, 0, 1, 0, 10] + Array(text: "trick")
        t.send(&s, AudioGalaxyWire.frame(sequence: 93, .newShare,
                                         data: AudioGalaxyWire.fileID(fileID(3)) + AudioGalaxyWire.string(trick) + AudioGalaxyWire.u32(1))
               + AudioGalaxyWire.magic + [0xFF, 0xFF, 0xFF, 0xFF], from: .server)
        t.close(&s, by: .server)

        // Redirectors naming loopback and LAN servers.
        for (index, address) in ["127.0.0.1", "10.0.0.1", "0.0.0.0"].enumerated() {
            var r = TCPConversation(client: Endpoint(IPAddress(192, 168, 1, 32), UInt16(40_500 + index)),
                                    server: Endpoint(IPAddress(198, 51, 100, 64), 21),
                                    clientISN: 0x2000_0000 &+ UInt32(index) << 16, serverISN: 0x6000_0000)
            t.open(&r)
            t.send(&r, AudioGalaxyWire.redirect(server: address, port: 21), from: .server)
            t.close(&r)
        }

        // Bytes that start like the magic and then are not AudioGalaxy.
        var fake = TCPConversation(client: Endpoint(IPAddress(192, 168, 1, 33), 40_600), server: Endpoint(IPAddress(198, 51, 100, 65), 21),
                                   clientISN: 0x2100_0000, serverISN: 0x6100_0000)
        t.open(&fake)
        t.send(&fake, [0x45, 0x5F, 0x00, 0x01] + Array(text: "not a frame"), from: .server)
        t.close(&fake)
        return t.frames
    }
}
