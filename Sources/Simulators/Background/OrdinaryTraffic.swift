import PacketKit
import PluginAPI

/// Ordinary traffic of a LAN behind a gateway: web page loads, DNS look-ups, TLS sessions and
/// some IPv6, built as real TCP conversations. It is what every detector must leave alone, and
/// the bulk of the benchmark mix.
public struct OrdinaryTraffic {
    public var random: SimulationRandom
    public var clients: [IPAddress]
    public var clientsV6: [IPAddress]
    public private(set) var frames: [CaptureFrame] = []
    private var nextPort: UInt16 = 32768

    public init(seed: UInt64, clients: [IPAddress], clientsV6: [IPAddress] = []) {
        random = SimulationRandom(seed: seed)
        self.clients = clients
        self.clientsV6 = clientsV6
    }

    private mutating func ephemeralPort() -> UInt16 {
        nextPort = nextPort >= 60999 ? 32768 : nextPort + 1
        return nextPort
    }

    private mutating func add(_ packets: [[UInt8]], from start: Timestamp, step: Seconds) -> Timestamp {
        var time = start
        for packet in packets {
            frames.append(CaptureFrame(time: time, packet: packet))
            time = time + step
        }
        return time
    }

    private mutating func pickClient(v6: Bool) -> IPAddress {
        let pool = v6 && !clientsV6.isEmpty ? clientsV6 : clients
        return pool[Int.random(in: 0..<pool.count, using: &random)]
    }

    private mutating func server(v6: Bool) -> IPAddress {
        if v6 { return IPAddress(high: 0x2001_0DB8_0000_0000, low: UInt64.random(in: 1...0xFFFF, using: &random)) }
        return IPAddress(203, 0, 113, UInt8.random(in: 1...254, using: &random))
    }

    /// A DNS query and its answer.
    @discardableResult
    public mutating func dnsLookup(at time: Timestamp, v6: Bool = false) -> Timestamp {
        let client = Endpoint(pickClient(v6: v6), ephemeralPort())
        let resolver = Endpoint(v6 ? IPAddress(high: 0x2001_0DB8_0000_0053, low: 0x53) : IPAddress(198, 51, 100, 53), 53)
        let id = UInt16.random(in: 0...UInt16.max, using: &random)
        let name: [UInt8] = [3] + Array("www".utf8) + [7] + Array("example".utf8) + [3] + Array("org".utf8) + [0]
        let query: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0] + name + [0, 1, 0, 1]
        var answer = query
        answer[2] = 0x81; answer[3] = 0x80; answer[7] = 1
        answer += [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x0E, 0x10, 0, 4, 203, 0, 113, 10]
        return add([PacketBuilder.udp(from: client, to: resolver, payload: query),
                    PacketBuilder.udp(from: resolver, to: client, payload: answer)], from: time, step: Seconds(0.002))
    }

    /// A plain HTTP page load: handshake, request, a response of `responseSize` bytes, close.
    @discardableResult
    public mutating func webPage(at time: Timestamp, responseSize: Int = 4000, v6: Bool = false, path: String = "/index.html") -> Timestamp {
        var tcp = TCPConversation(client: Endpoint(pickClient(v6: v6), ephemeralPort()), server: Endpoint(server(v6: v6), 80),
                                  clientISN: UInt32.random(in: 0...UInt32.max, using: &random),
                                  serverISN: UInt32.random(in: 0...UInt32.max, using: &random))
        let request = "GET \(path) HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
        let body = [UInt8](repeating: 0x61, count: max(0, responseSize))
        let response = Array("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        var packets = tcp.handshake()
        packets += tcp.send(Array(request.utf8), from: .client)
        packets += tcp.send(response, from: .server, segmentSizes: [1448])
        packets.append(tcp.ack(from: .client))
        packets += tcp.close(initiatedBy: .server)
        return add(packets, from: time, step: Seconds(0.001))
    }

    /// A TLS session: a ClientHello-shaped opening, a server flight, then encrypted records.
    @discardableResult
    public mutating func tlsSession(at time: Timestamp, records: Int = 6, v6: Bool = false) -> Timestamp {
        var tcp = TCPConversation(client: Endpoint(pickClient(v6: v6), ephemeralPort()), server: Endpoint(server(v6: v6), 443),
                                  clientISN: UInt32.random(in: 0...UInt32.max, using: &random),
                                  serverISN: UInt32.random(in: 0...UInt32.max, using: &random))
        var hello: [UInt8] = [0x16, 0x03, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0xFC, 0x03, 0x03]
        hello += random.bytes(32) + [0x20] + random.bytes(32) + [0x00, 0x02, 0x13, 0x01, 0x01, 0x00]
        hello += [UInt8](repeating: 0, count: 260 - hello.count)
        var packets = tcp.handshake()
        packets += tcp.send(hello, from: .client)
        packets += tcp.send([0x16, 0x03, 0x03, 0x00, 0x7A] + random.bytes(2400), from: .server, segmentSizes: [1448])
        for i in 0..<records {
            let side: TCPConversation.Side = i % 3 == 0 ? .client : .server
            packets += tcp.send([0x17, 0x03, 0x03, 0x05, 0x00] + random.bytes(side == .client ? 200 : 1400), from: side, segmentSizes: [1448])
        }
        packets += tcp.close(initiatedBy: .client)
        return add(packets, from: time, step: Seconds(0.0005))
    }

    /// Roughly `packets` packets of mixed traffic starting at `start`: 60% web, 30% TLS, the rest DNS,
    /// a fifth of it over IPv6 when IPv6 clients are given.
    public mutating func fill(packets target: Int, from start: Timestamp) {
        var time = start
        while frames.count < target {
            let v6 = !clientsV6.isEmpty && Int.random(in: 0..<5, using: &random) == 0
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<6: webPage(at: time, responseSize: Int.random(in: 200...20000, using: &random), v6: v6)
            case 6..<9: tlsSession(at: time, records: Int.random(in: 2...12, using: &random), v6: v6)
            default: dnsLookup(at: time, v6: v6)
            }
            time = time + Seconds(0.003)
        }
    }

    /// The frames in time order (sessions overlap).
    public func sortedFrames() -> [CaptureFrame] {
        frames.enumerated().sorted { $0.element.time != $1.element.time ? $0.element.time < $1.element.time : $0.offset < $1.offset }.map(\.element)
    }
}
