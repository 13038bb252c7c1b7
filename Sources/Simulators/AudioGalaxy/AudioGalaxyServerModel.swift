import PluginAPI

/// An AudioGalaxy-like redirector and main server. Listener 0 is the redirector: it sends the
/// main server's address and closes. Listener 1 is the main server: LOGIN is answered with
/// SEND_SHARES_STAND_BY, READY_TO_SEND_SHARES with SEND_SHARES, and READY_FOR_TRANSFER with the
/// proxy test and the configured FILE_TRANSFER orders.
public final class AudioGalaxyServerModel: LiveService {
    public static let redirectorListener = 0
    public static let serverListener = 1

    /// A FILE_TRANSFER order the server gives every client that is ready.
    public struct Order: Sendable, Equatable {
        public var connect: Bool
        public var address: String
        public var port: UInt32
        public var name: String
        public var size: UInt32

        public init(connect: Bool, address: String, port: UInt32, name: String, size: UInt32) {
            self.connect = connect
            self.address = address
            self.port = port
            self.name = name
            self.size = size
        }
    }

    struct Client {
        var decoder = AudioGalaxyWire.Decoder()
        var sequence: UInt32 = 0
        var user = "?"
        var shares = 0
    }

    private var clients: [Int: Client] = [:]
    private let mainServer: String
    private let mainPort: UInt32
    private let orders: [Order]

    public init(mainServer: String, mainPort: UInt32, orders: [Order]) {
        self.mainServer = mainServer
        self.mainPort = mainPort
        self.orders = orders
    }

    public func accepted(_ connection: Int, listener: Int, from peer: Endpoint) -> [LiveOutput] {
        if listener == Self.redirectorListener {
            return [.log("redirector: \(peer) -> \(mainServer):\(mainPort)"),
                    .send(connection: connection, bytes: AudioGalaxyWire.redirect(server: mainServer, port: mainPort)),
                    .close(connection: connection)]
        }
        clients[connection] = Client()
        return [.log("server: connection from \(peer)")]
    }

    public func closed(_ connection: Int) { clients.removeValue(forKey: connection) }

    public func received(_ connection: Int, _ bytes: [UInt8]) -> [LiveOutput] {
        guard clients[connection] != nil else { return [] }
        clients[connection]?.decoder.append(bytes)
        var outputs: [LiveOutput] = []
        while let frame = clients[connection]?.decoder.next() {
            outputs += handle(connection, frame)
        }
        if clients[connection]?.decoder.broken == true {
            outputs += [.log("server: not AudioGalaxy framing; closing"), .close(connection: connection)]
        }
        return outputs
    }

    /// The next sequence number of the server's frames on this connection.
    private func nextSequence(_ connection: Int) -> UInt32 {
        let sequence = clients[connection]?.sequence ?? 0
        clients[connection]?.sequence = sequence &+ 1
        return sequence
    }

    private func send(_ connection: Int, _ type: AudioGalaxyWire.MessageType) -> LiveOutput {
        .send(connection: connection, bytes: AudioGalaxyWire.frame(sequence: nextSequence(connection), type))
    }

    private func handle(_ connection: Int, _ frame: [UInt8]) -> [LiveOutput] {
        var reader = AudioGalaxyWire.Reader(frame)
        guard reader.u32() != nil, let type = reader.u16() else { return [] }
        switch type {
        case AudioGalaxyWire.MessageType.login.rawValue:
            _ = reader.u32()
            let user = reader.string().map { String(decoding: $0, as: UTF8.self) } ?? "?"
            clients[connection]?.user = user
            return [.log("server: login \(user)"), send(connection, .sendSharesStandBy)]
        case AudioGalaxyWire.MessageType.readyToSendShares.rawValue:
            return [send(connection, .sendShares)]
        case AudioGalaxyWire.MessageType.newShare.rawValue:
            clients[connection]?.shares += 1
            return []
        case AudioGalaxyWire.MessageType.readyForTransfer.rawValue:
            var outputs: [LiveOutput] = [.log("server: \(clients[connection]?.user ?? "?") shares \(clients[connection]?.shares ?? 0) files; sending \(orders.count) orders")]
            for (index, order) in orders.enumerated() {
                let id = (0..<16).map { UInt8(truncatingIfNeeded: index &* 17 &+ $0) }
                // A connecting satellite receives the file; a listening one sends it.
                outputs.append(.send(connection: connection, bytes: AudioGalaxyWire.fileTransfer(
                    sequence: nextSequence(connection), id: id, connect: order.connect, receive: order.connect, address: order.address,
                    port: order.port, localID: UInt32(index + 1), name: order.name, size: order.size)))
            }
            return outputs
        case AudioGalaxyWire.MessageType.fileTransferState.rawValue:
            _ = reader.string()
            return [.log("server: transfer state \(reader.u32() ?? 99)")]
        default:
            return []
        }
    }
}

/// A satellite accepting a transfer: it reads the 38-byte request and answers `OK` and the file.
public final class AudioGalaxySatelliteModel: LiveService {
    private var buffers: [Int: [UInt8]] = [:]
    private let fileSize: Int

    public init(fileSize: Int = 65_536) { self.fileSize = fileSize }

    public func accepted(_ connection: Int, listener: Int, from peer: Endpoint) -> [LiveOutput] {
        buffers[connection] = []
        return [.log("satellite: connection from \(peer)")]
    }

    public func closed(_ connection: Int) { buffers.removeValue(forKey: connection) }

    public func received(_ connection: Int, _ bytes: [UInt8]) -> [LiveOutput] {
        buffers[connection, default: []] += bytes
        guard let buffer = buffers[connection], buffer.count >= 38 else { return [] }
        guard Array(buffer.prefix(8)) == AudioGalaxyWire.magic + [0, 0, 0, 0x22] else {
            return [.log("satellite: not a transfer request"), .close(connection: connection)]
        }
        var reader = AudioGalaxyWire.Reader(Array(buffer[8..<38]))
        let counter = reader.u32() ?? 0
        _ = reader.string()
        let size = min(Int(reader.u32() ?? 0), fileSize)
        let offset = min(Int(reader.u32() ?? 0), size)
        let data = AudioGalaxyWire.transferAccepted(counter: counter) + (offset..<size).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        return [.log("satellite: sending \(size - offset) bytes"), .send(connection: connection, bytes: data), .close(connection: connection)]
    }
}
