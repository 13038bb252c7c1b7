import PluginAPI

/// The `origin` text of a learned FastTrack peer: the signature that taught it, the LAN client
/// it was seen with, and for pings the client's listening port and network name:
/// `fasttrack.udp.ping from 10.0.0.5:1214 network KaZaA`.
///
/// The learned list keeps no packet bytes, so when a client later opens a connection to a peer
/// it pinged, the plugin reads the listening port and the name back from here to build the
/// lock probe (a ping like the client's own, sent to the port it pings from).
struct PeerOrigin: Equatable {
    /// The client with its listening port, when known.
    var client: Endpoint?
    var network: String?

    static func describe(signature: String, client: Endpoint, network: String?) -> String {
        var text = "\(signature) from \(client)"
        if let network { text += " network \(network)" }
        return text
    }

    static func describe(signature: String, client: IPAddress, via header: String? = nil) -> String {
        var text = "\(signature) from \(client)"
        if let header { text += " via \(header)" }
        return text
    }

    /// Reads back what `describe(signature:client:network:)` wrote; fields it cannot read are nil.
    init(parsing origin: String) {
        client = nil
        network = nil
        guard let from = origin.range(of: " from ") else { return }
        let rest = origin[from.upperBound...]
        let token = rest.prefix { $0 != " " }
        client = Endpoint(token)
        if let marker = rest.range(of: " network ") {
            let name = rest[marker.upperBound...]
            if !name.isEmpty, name.utf8.count <= 64, name.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) {
                network = String(name)
            }
        }
    }
}

private extension StringProtocol {
    func range(of needle: String) -> Range<Index>? {
        let wanted = Array(needle.utf8)
        guard !wanted.isEmpty else { return nil }
        var start = startIndex
        while start < endIndex {
            var i = start, k = 0
            while k < wanted.count, i < endIndex, utf8[i] == wanted[k] {
                i = utf8.index(after: i)
                k += 1
            }
            if k == wanted.count { return start..<i }
            start = utf8.index(after: start)
        }
        return nil
    }
}
