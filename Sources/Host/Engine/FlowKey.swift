import PluginAPI

/// The 5-tuple of a flow, in a canonical order so that both directions find the same entry.
struct FlowKey: Hashable, Sendable {
    let lowAddress: IPAddress
    let highAddress: IPAddress
    let lowPort: UInt16
    let highPort: UInt16
    let transport: UInt8

    /// Builds the key for a packet; `senderIsLow` tells which canonical side sent it.
    @inline(__always)
    init(_ packet: PacketView, senderIsLow: inout Bool) {
        let s = packet.source, d = packet.destination
        if s < d || (s == d && packet.sourcePort <= packet.destinationPort) {
            lowAddress = s; highAddress = d; lowPort = packet.sourcePort; highPort = packet.destinationPort
            senderIsLow = true
        } else {
            lowAddress = d; highAddress = s; lowPort = packet.destinationPort; highPort = packet.sourcePort
            senderIsLow = false
        }
        transport = packet.transport.rawValue
    }

    /// Two words into the hasher instead of seven fields: the table hashes on every packet.
    func hash(into hasher: inout Hasher) {
        hasher.combine(lowAddress.low ^ (highAddress.low << 1 | highAddress.low >> 63) ^ lowAddress.high ^ highAddress.high &* 31)
        hasher.combine(UInt64(lowPort) << 40 | UInt64(highPort) << 16 | UInt64(transport))
    }

    var low: Endpoint { Endpoint(lowAddress, lowPort) }
    var high: Endpoint { Endpoint(highAddress, highPort) }
}
