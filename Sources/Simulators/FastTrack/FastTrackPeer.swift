import PluginAPI

/// A FastTrack node on the far side, without I/O: it answers pings (a supernode with a 0x28
/// pong, an ordinary node with a flagged 0x29), opens encrypted sessions with the 8-byte reply,
/// serves HTTP downloads with Kazaa's reply headers (or its busy reply), and requests the file
/// when a firewalled uploader pushes to it. The packet generator and `peerwall-sim
/// fasttrack-peer` both use it.
public struct FastTrackPeer: Sendable {
    public struct Configuration: Sendable {
        /// The node's own address and port, as announced in `X-Kazaa-IP`.
        public var endpoint: Endpoint
        public var network = "KaZaA"
        public var isSupernode = true
        /// Load in percent, sent in supernode pongs.
        public var load: UInt8 = 39
        public var username = "kazaauser"
        /// Its supernode, as announced in `X-Kazaa-SupernodeIP`.
        public var supernode: Endpoint
        /// Answer downloads with the busy reply (503) instead of data.
        public var busy = false
        /// Largest body served for one request (keeps generated captures small).
        public var bodyLimit = 8192
        public var seed: UInt64 = 2

        public init(endpoint: Endpoint, supernode: Endpoint) {
            self.endpoint = endpoint
            self.supernode = supernode
        }
    }

    /// What a connection to the peer says back.
    public struct Reply: Sendable, Equatable {
        public var bytes: [UInt8]
        /// The peer closes the connection after these bytes.
        public var close: Bool
    }

    /// One TCP connection, accepted by the peer or opened by a client pushing to it.
    public struct Connection: Sendable {
        var received: [UInt8] = []
        var stage = 0
        /// Opened by the other side with GIVE: the peer requests the file.
        var pushed = false
        public init() {}
    }

    public let configuration: Configuration
    private var random: SimulationRandom

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        random = SimulationRandom(seed: configuration.seed)
    }

    /// The answer to a datagram, if any.
    public mutating func answer(_ payload: [UInt8]) -> [UInt8]? {
        switch FastTrackWire.classify(payload) {
        case let .ping(network):
            let encryption = FastTrackWire.readUInt32(payload, 1)
            if configuration.isSupernode {
                return FastTrackWire.supernodePong(network: network, encryption: encryption, load: configuration.load)
            }
            return FastTrackWire.pong(encryption: encryption, id: UInt32(truncatingIfNeeded: random.next()),
                                      flaggedWith: configuration.endpoint)
        default:
            return nil
        }
    }

    /// Bytes arriving on `connection`: returns what the peer sends back.
    public mutating func receive(_ bytes: [UInt8], on connection: inout Connection) -> Reply? {
        connection.received += bytes
        let data = connection.received
        if connection.stage == 0 {
            if data.starts(with: Array("GIVE ".utf8)) {
                guard FastTrackWire.firstLine(data) != nil else { return nil }
                connection.stage = 10
                connection.pushed = true
                // The requester asks for the file on the connection the uploader opened.
                let request = FastTrackWire.downloadRequest(hash: random.bytes(20), host: configuration.endpoint,
                                                            username: configuration.username, network: configuration.network,
                                                            range: 0...262_143)
                return Reply(bytes: request, close: false)
            }
            if data.starts(with: Array("GET ".utf8)) || data.starts(with: Array("HEAD ".utf8)) {
                guard FastTrackWire.headLength(data) != nil else { return nil }
                connection.stage = 20
                return Reply(bytes: serve(data), close: true)
            }
            // The encrypted session: 12 clear bytes, answered by 8.
            guard data.count >= 12 else { return nil }
            connection.stage = 1
            return Reply(bytes: FastTrackWire.sessionReply(using: &random), close: false)
        }
        if connection.stage == 1, data.count > 12 {
            // The client's encrypted network name: our own, then a node list (8 bytes a node).
            connection.stage = 2
            return Reply(bytes: random.bytes(configuration.network.utf8.count + 1) + random.bytes(8 * 25), close: false)
        }
        return nil
    }

    private mutating func serve(_ request: [UInt8]) -> [UInt8] {
        if configuration.busy {
            return FastTrackWire.busyHead(username: configuration.username, network: configuration.network,
                                          ip: configuration.endpoint, supernode: configuration.supernode)
        }
        let requested = FastTrackPeer.range(in: request) ?? 0...262_143
        let length = min(requested.count, configuration.bodyLimit)
        let range = requested.lowerBound...(requested.lowerBound + length - 1)
        let head = FastTrackWire.partialContentHead(range: range, total: 6_128_453, username: configuration.username,
                                                    network: configuration.network, ip: configuration.endpoint,
                                                    supernode: configuration.supernode, title: "Song")
        return head + random.bytes(length)
    }

    /// The byte range of a `Range: bytes=a-b` header.
    static func range(in request: [UInt8]) -> ClosedRange<Int>? {
        let text = String(decoding: request, as: UTF8.self)
        for line in text.split(separator: "\n") {
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            guard trimmed.lowercased().hasPrefix("range: bytes=") else { continue }
            let bounds = trimmed.dropFirst("range: bytes=".count).split(separator: "-")
            if bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]), low <= high { return low...high }
        }
        return nil
    }
}
