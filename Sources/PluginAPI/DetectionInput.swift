/// Direction of a packet relative to the flow's originator.
public enum FlowDirection: Sendable, Hashable {
    /// From the originator (the side that sent the first packet) to the responder.
    case toServer
    /// From the responder back to the originator.
    case toClient
}

/// What the host knows of the flow a packet belongs to.
public struct FlowInfo: Sendable {
    public let transport: Transport
    /// The side that sent the flow's first packet.
    public let originator: Endpoint
    public let responder: Endpoint
    /// True when the originator is the LAN side (the usual case: a LAN client opened the flow).
    public let originatorIsLAN: Bool
    /// 0 for the flow's first packet.
    public let packetIndex: Int
    public let startTime: Timestamp

    public init(transport: Transport, originator: Endpoint, responder: Endpoint, originatorIsLAN: Bool,
                packetIndex: Int, startTime: Timestamp) {
        self.transport = transport
        self.originator = originator
        self.responder = responder
        self.originatorIsLAN = originatorIsLAN
        self.packetIndex = packetIndex
        self.startTime = startTime
    }

    /// The LAN end of the flow.
    public var client: Endpoint { originatorIsLAN ? originator : responder }
    /// The far end of the flow.
    public var remote: Endpoint { originatorIsLAN ? responder : originator }
}

/// An address entry in one of the host's learned lists.
public struct LearnedPeer: Sendable, Hashable {
    public let address: IPAddress
    /// nil when the whole address is listed.
    public let port: UInt16?
    /// The list's name; by convention the id of the plugin that fills it.
    public let list: String
    /// Where it was learned, e.g. `fasttrack.udp.ping from 10.0.0.5`.
    public let origin: String
    public let learnedAt: Timestamp
    public let expires: Timestamp
    /// The transports the host blocks towards this entry.
    public let transports: Set<Transport>

    public init(address: IPAddress, port: UInt16?, list: String, origin: String, learnedAt: Timestamp, expires: Timestamp,
                transports: Set<Transport> = [.tcp, .udp]) {
        self.address = address
        self.port = port
        self.list = list
        self.origin = origin
        self.learnedAt = learnedAt
        self.expires = expires
        self.transports = transports
    }
}

/// Read-only questions a plugin may ask the host while it inspects a packet.
public protocol HostQueries {
    /// The learned entry for this endpoint: an exact address-and-port entry first, else a
    /// whole-address entry; nil when the endpoint is on no list.
    func learnedPeer(_ endpoint: Endpoint) -> LearnedPeer?
    /// True while the LAN client is under a time lock.
    func isLocked(_ client: IPAddress) -> Bool
    /// True for addresses in the configured LAN ranges.
    func isLAN(_ address: IPAddress) -> Bool
    /// True for the gateway's own addresses (where probe answers arrive).
    func isGatewayAddress(_ address: IPAddress) -> Bool
}

/// Everything a plugin sees for one packet. Valid only during the `inspect` call.
public struct DetectionInput {
    public let packet: PacketView
    public let flow: FlowInfo
    public let direction: FlowDirection
    /// The host clock: the capture's timestamp in replay.
    public let time: Timestamp
    /// The in-order reassembled start of this packet's direction, up to and including this
    /// packet (TCP; for UDP, the payload). Bounded by the host (4 KiB by default).
    public let stream: UnsafeRawBufferPointer
    /// The same for the opposite direction, as far as it has arrived.
    public let reverseStream: UnsafeRawBufferPointer
    public let host: any HostQueries
    /// An HTTP message view over this direction's stream, when it starts like one. Parsed once
    /// per packet, however many signatures look at it.
    public let http: HTTPMessageView?

    public init(packet: PacketView, flow: FlowInfo, direction: FlowDirection, time: Timestamp,
                stream: UnsafeRawBufferPointer, reverseStream: UnsafeRawBufferPointer, host: any HostQueries) {
        self.packet = packet
        self.flow = flow
        self.direction = direction
        self.time = time
        self.stream = stream
        self.reverseStream = reverseStream
        self.host = host
        http = HTTPMessageView(stream)
    }

    /// True when this packet was sent by the LAN end of the flow.
    public var fromClient: Bool { (direction == .toServer) == flow.originatorIsLAN }
    /// The LAN end of the flow.
    public var client: Endpoint { flow.client }
    /// The far end of the flow.
    public var remote: Endpoint { flow.remote }

    /// The bytes a signature element with this scope looks at.
    public func bytes(_ scope: MatchScope) -> UnsafeRawBufferPointer {
        scope == .payload ? packet.payload : stream
    }
}

public extension HostQueries {
    /// True for an address a plugin may put on a learned list: a unicast Internet address, never
    /// loopback, multicast, broadcast, unspecified, link-local, a LAN address or the gateway.
    func mayLearn(_ address: IPAddress) -> Bool {
        address.isRoutableUnicast && !isLAN(address) && !isGatewayAddress(address)
    }

    /// True when a learned list already holds this entry (the whole address when `port` is nil)
    /// until at least `time`: learning it again would only refresh it. Plugins use it to keep
    /// a server that repeats the same peers from filling the log.
    func isLearned(_ address: IPAddress, port: UInt16?, until time: Timestamp) -> Bool {
        guard let entry = learnedPeer(Endpoint(address, port ?? 0)), entry.port == port else { return false }
        return entry.expires >= time
    }
}
