import PacketKit
import PluginAPI

/// Scenarios that belong to no one protocol: the port-block defaults against ordinary traffic,
/// hostile packets, and the benchmark's traffic mix.
public enum CoreScenarios {
    static let start = Timestamp(seconds: 1_700_000_000)

    public static var all: [Scenario] {
        [
            Scenario(name: "portblock-basics",
                     summary: "IPv4 and IPv6 web, DNS and TLS, and connections to the well-known P2P ports (Ethernet)") {
                portBlockBasics()
            },
            Scenario(name: "portblock-basics-raw", summary: "The same traffic as portblock-basics, in raw-IP frames",
                     linkType: .raw) {
                portBlockBasics()
            },
            Scenario(name: "portblock-session",
                     summary: "One client trying each well-known P2P port, another whose own port is 1214 browsing") {
                portBlockAttempts(from: start)
            },
            Scenario(name: "hostile-packets",
                     summary: "Truncated headers, lying lengths, fragments, unknown protocols, between ordinary packets") {
                hostilePackets()
            },
            Scenario(name: "mixed", summary: "Benchmark mix: ordinary web, DNS and TLS with every P2P session scenario woven in",
                     defaultSize: 20_000) { size in
                mixed(packets: size)
            },
        ]
    }

    static let lanClients = [IPAddress(192, 168, 1, 10), IPAddress(192, 168, 1, 11), IPAddress(192, 168, 1, 12)]
    static let lanClientsV6 = [IPAddress("fd00:1::10")!, IPAddress("fd00:1::11")!]

    /// Ordinary browsing from several clients, plus one client reaching each default port-block
    /// port, one reaching the (disabled) AudioGalaxy range, and one whose own port is 1214.
    static func portBlockBasics() -> [CaptureFrame] {
        var traffic = OrdinaryTraffic(seed: 1, clients: lanClients, clientsV6: lanClientsV6)
        var time = start
        for i in 0..<4 {
            time = traffic.dnsLookup(at: time, v6: i % 2 == 1)
            time = traffic.webPage(at: time, responseSize: 3000, v6: i % 2 == 1)
            time = traffic.tlsSession(at: time, records: 3, v6: i == 3)
        }
        return (traffic.frames + portBlockAttempts(from: time + Seconds(1))).sorted { $0.time < $1.time }
    }

    /// One client reaching each default port-block port and the (disabled) AudioGalaxy range,
    /// each SYN retransmitted once; a UDP datagram to 1214; and a client whose own port is 1214
    /// browsing a web server.
    static func portBlockAttempts(from start: Timestamp) -> [CaptureFrame] {
        var frames: [CaptureFrame] = []
        let p2pClient = IPAddress(192, 168, 1, 50), p2pClientV6 = IPAddress("fd00:1::50")!
        let peer = IPAddress(198, 51, 100, 20), peerV6 = IPAddress("2001:db8:20::20")!
        var clock = start
        func add(_ packet: [UInt8]) {
            frames.append(CaptureFrame(time: clock, packet: packet))
            clock = clock + Seconds(0.01)
        }
        for (port, v6) in [(UInt16(1214), false), (6699, false), (6698, true), (8875, false), (41500, false)] {
            let from = Endpoint(v6 ? p2pClientV6 : p2pClient, 50000 + port % 1000), to = Endpoint(v6 ? peerV6 : peer, port)
            add(PacketBuilder.tcp(from: from, to: to, flags: [.syn], seq: 1000, mss: 1460))
            add(PacketBuilder.tcp(from: from, to: to, flags: [.syn], seq: 1000, mss: 1460))
        }
        add(PacketBuilder.udp(from: Endpoint(p2pClient, 1214), to: Endpoint(peer, 1214), payload: Array("hello".utf8)))
        var web = TCPConversation(client: Endpoint(IPAddress(192, 168, 1, 11), 1214), server: Endpoint(IPAddress(203, 0, 113, 80), 80))
        for packet in web.handshake() + web.send(Array("GET / HTTP/1.1\r\nHost: example.org\r\n\r\n".utf8), from: .client)
            + web.send(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8), from: .server) + web.close() {
            add(packet)
        }
        return frames
    }

    /// Malformed packets of every kind, each between two ordinary ones.
    static func hostilePackets() -> [CaptureFrame] {
        let client = Endpoint(lanClients[0], 40000), server = Endpoint(IPAddress(203, 0, 113, 5), 80)
        let good = PacketBuilder.tcp(from: client, to: server, flags: [.syn], seq: 1)
        let udp = PacketBuilder.udp(from: client, to: Endpoint(IPAddress(198, 51, 100, 20), 1214), payload: [0x27, 0, 0, 0, 0x29, 0x80])
        var hostile: [[UInt8]] = []
        hostile.append([])
        hostile.append([0x45])
        hostile.append(Array(good.prefix(30)))                                 // TCP header cut short
        var badIHL = good; badIHL[0] = 0x44; hostile.append(badIHL)             // IHL below 5
        var longTotal = good; longTotal[2] = 0xFF; longTotal[3] = 0xFF; hostile.append(longTotal)
        var shortTotal = good; shortTotal[2] = 0; shortTotal[3] = 10; hostile.append(shortTotal)
        var badUDPLength = udp; badUDPLength[24] = 0; badUDPLength[25] = 3; hostile.append(badUDPLength)
        var hugeUDPLength = udp; hugeUDPLength[24] = 0xFF; hugeUDPLength[25] = 0xFF; hostile.append(hugeUDPLength)
        var badOffset = good; badOffset[32] = 0x20; hostile.append(badOffset)   // TCP data offset 2
        var fragment = udp; fragment[6] = 0x00; fragment[7] = 0x10; hostile.append(fragment)  // non-first fragment
        hostile.append(PacketBuilder.ip(source: client.address, destination: server.address, protocolNumber: 47, payload: [0, 0, 0x08, 0],
                                        fields: PacketBuilder.IPFields()))   // GRE
        hostile.append([0x55] + Array(good.dropFirst()))                        // version 5
        hostile.append([0x60, 0, 0, 0, 0, 0, 17, 64] + [UInt8](repeating: 0, count: 20))  // IPv6 header cut short
        var frames: [CaptureFrame] = []
        var time = start
        for packet in hostile {
            frames.append(CaptureFrame(time: time, packet: good))
            frames.append(CaptureFrame(time: time + Seconds(0.001), packet: packet))
            time = time + Seconds(0.01)
        }
        return frames
    }

    /// Ordinary traffic with every P2P session scenario woven in at regular intervals.
    static func mixed(packets: Int) -> [CaptureFrame] {
        var traffic = OrdinaryTraffic(seed: 7, clients: (10...250).map { IPAddress(10, 1, UInt8($0 / 100), UInt8($0)) },
                                      clientsV6: (1...20).map { IPAddress(high: 0xFD00_0001_0000_0000, low: UInt64($0)) })
        let sessions = ScenarioCatalog.all.filter { $0.name.hasSuffix("-session") }.map { $0.make() }
        let p2pShare = sessions.reduce(0) { $0 + $1.count }
        traffic.fill(packets: max(0, packets - p2pShare * max(1, packets / 50_000)), from: start)
        var frames = traffic.sortedFrames()
        guard !sessions.isEmpty, let first = frames.first?.time, let last = frames.last?.time else { return frames }
        let repeats = max(1, packets / 50_000)
        let span = last - first
        for r in 0..<repeats {
            for (i, session) in sessions.enumerated() {
                guard let sessionStart = session.first?.time else { continue }
                let slot = r * sessions.count + i
                let offset = first + Seconds(microseconds: span.microseconds * Int64(slot) / Int64(repeats * sessions.count))
                for frame in session {
                    frames.append(CaptureFrame(time: offset + (frame.time - sessionStart), packet: frame.packet))
                }
            }
        }
        return frames.enumerated().sorted { $0.element.time != $1.element.time ? $0.element.time < $1.element.time : $0.offset < $1.offset }.map(\.element)
    }
}
