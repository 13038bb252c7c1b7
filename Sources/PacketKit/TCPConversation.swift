import PluginAPI

/// Plays both ends of one TCP connection for generators and tests: it keeps each side's next
/// sequence number and what it has acknowledged, and emits the IP packets of a handshake, data in
/// either direction, and a FIN or RST teardown, so captures show sessions a real stack would send.
public struct TCPConversation: Sendable {
    public enum Side: Sendable, Hashable {
        /// The end that opens the connection.
        case client
        case server

        public var other: Side { self == .client ? .server : .client }
    }

    public let client: Endpoint
    public let server: Endpoint
    /// The next sequence number each side will send.
    public private(set) var clientNext: UInt32
    public private(set) var serverNext: UInt32
    public var window: UInt16
    /// The MSS option both SYNs carry; nil for none.
    public var mss: UInt16?
    public var ip: PacketBuilder.IPFields

    public init(client: Endpoint, server: Endpoint, clientISN: UInt32 = 0x1000_0000, serverISN: UInt32 = 0x2000_0000,
                window: UInt16 = 64_240, mss: UInt16? = 1460, ip: PacketBuilder.IPFields = PacketBuilder.IPFields()) {
        precondition(client.address.isIPv4 == server.address.isIPv4, "client and server are of different address families")
        self.client = client
        self.server = server
        clientNext = clientISN
        serverNext = serverISN
        self.window = window
        self.mss = mss
        self.ip = ip
    }

    public func endpoint(_ side: Side) -> Endpoint { side == .client ? client : server }

    /// The next sequence number `side` will send.
    public func nextSequence(_ side: Side) -> UInt32 { side == .client ? clientNext : serverNext }

    // MARK: Opening

    /// SYN, SYN-ACK, ACK.
    public mutating func handshake() -> [[UInt8]] {
        [syn(), synAck(), ack(from: .client)]
    }

    public mutating func syn() -> [UInt8] {
        let packet = segment(from: .client, flags: .syn, withAck: false, mss: mss)
        clientNext &+= 1
        return packet
    }

    public mutating func synAck() -> [UInt8] {
        let packet = segment(from: .server, flags: [.syn, .ack], mss: mss)
        serverNext &+= 1
        return packet
    }

    /// A bare ACK of everything the other side has sent.
    public mutating func ack(from side: Side) -> [UInt8] {
        segment(from: side, flags: .ack)
    }

    // MARK: Data

    /// `data` from `side`, as one segment or split into segments of `segmentSizes` in order; when
    /// the sizes run out, the rest goes in segments of the last size. The last segment has PSH.
    public mutating func send(_ data: [UInt8], from side: Side, segmentSizes: [Int] = []) -> [[UInt8]] {
        precondition(segmentSizes.allSatisfy { $0 > 0 }, "segment sizes must be positive")
        guard !data.isEmpty else { return [] }
        var packets = [[UInt8]]()
        var offset = 0
        var index = 0
        while offset < data.count {
            let size = segmentSizes.isEmpty ? data.count : segmentSizes[min(index, segmentSizes.count - 1)]
            let end = min(offset + size, data.count)
            let flags: TCPFlags = end == data.count ? [.psh, .ack] : .ack
            packets.append(segment(from: side, flags: flags, payload: Array(data[offset..<end])))
            advance(side, by: UInt32(end - offset))
            offset = end
            index += 1
        }
        return packets
    }

    /// A segment with `data` from `side` at an explicit sequence number, without changing the
    /// tracked state: for retransmissions and out-of-order delivery.
    public func segment(from side: Side, sequence: UInt32, data: [UInt8], flags: TCPFlags = [.psh, .ack]) -> [UInt8] {
        let ack = side == .client ? serverNext : clientNext
        return PacketBuilder.tcp(from: endpoint(side), to: endpoint(side.other), flags: flags, seq: sequence, ack: ack,
                                 payload: data, window: window, ip: ip)
    }

    // MARK: Closing

    /// An orderly close: FIN-ACK from `side`, the other's ACK, its FIN-ACK, and the final ACK.
    public mutating func close(initiatedBy side: Side = .client) -> [[UInt8]] {
        var packets = [fin(from: side)]
        packets.append(ack(from: side.other))
        packets.append(fin(from: side.other))
        packets.append(ack(from: side))
        return packets
    }

    /// A FIN-ACK from `side`.
    public mutating func fin(from side: Side) -> [UInt8] {
        let packet = segment(from: side, flags: [.fin, .ack])
        advance(side, by: 1)
        return packet
    }

    /// A RST-ACK from `side` at its next sequence number.
    public func reset(from side: Side) -> [UInt8] {
        PacketBuilder.tcp(from: endpoint(side), to: endpoint(side.other), flags: [.rst, .ack], seq: nextSequence(side),
                          ack: nextSequence(side.other), window: 0, ip: ip)
    }

    // MARK: Helpers

    private func segment(from side: Side, flags: TCPFlags, withAck: Bool = true, payload: [UInt8] = [], mss: UInt16? = nil) -> [UInt8] {
        PacketBuilder.tcp(from: endpoint(side), to: endpoint(side.other), flags: flags, seq: nextSequence(side),
                          ack: withAck ? nextSequence(side.other) : 0, payload: payload, window: window, mss: mss, ip: ip)
    }

    private mutating func advance(_ side: Side, by count: UInt32) {
        if side == .client { clientNext &+= count } else { serverNext &+= count }
    }
}
