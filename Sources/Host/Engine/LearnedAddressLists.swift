import PluginAPI

/// The host's learned lists: peer and server addresses the plugins found, each with the list it
/// belongs to, where it was learned, and an expiry. One capacity bounds all lists together; at
/// capacity the entry closest to expiry makes room.
struct LearnedAddressLists {
    struct Key: Hashable {
        let address: IPAddress
        /// -1 for a whole-address entry.
        let port: Int32

        func hash(into hasher: inout Hasher) {
            hasher.combine(address.low ^ address.high ^ UInt64(UInt32(bitPattern: port)) << 32)
        }
    }

    enum Outcome: Equatable {
        case added
        case refreshed
        /// Not an address that may be learned: loopback, multicast, LAN, ...
        case refused(String)
    }

    let capacity: Int
    private(set) var entries: [Key: LearnedPeer] = [:]
    /// Bumped on every change, so callers can cache look-ups.
    private(set) var generation: UInt64 = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    /// Adds or refreshes an entry. The expiry only moves later, never earlier.
    mutating func learn(_ request: LearnRequest, at now: Timestamp, isLAN: (IPAddress) -> Bool) -> (Outcome, LearnedPeer?) {
        let address = request.address
        guard address.isRoutableUnicast else { return (.refused("not a routable unicast address"), nil) }
        guard !isLAN(address) else { return (.refused("a LAN address"), nil) }
        guard request.timeToLive > .zero else { return (.refused("no time to live"), nil) }
        let key = Key(address: address, port: request.port.map(Int32.init) ?? -1)
        let expires = now + request.timeToLive
        if let existing = entries[key], existing.expires > now {
            // A refresh keeps the first origin; the blocked transports only widen.
            let refreshed = LearnedPeer(address: address, port: request.port, list: existing.list, origin: existing.origin,
                                        learnedAt: existing.learnedAt, expires: max(existing.expires, expires),
                                        transports: existing.transports.union(request.transports))
            entries[key] = refreshed
            generation &+= 1
            return (.refreshed, refreshed)
        }
        if entries.count >= capacity { evictSoonestExpiring() }
        let entry = LearnedPeer(address: address, port: request.port, list: request.list, origin: request.origin,
                                learnedAt: now, expires: expires, transports: request.transports)
        entries[key] = entry
        generation &+= 1
        return (.added, entry)
    }

    /// The entry for this endpoint: exact address and port first, then the whole address.
    func lookup(_ endpoint: Endpoint, at now: Timestamp) -> LearnedPeer? {
        if let exact = entries[Key(address: endpoint.address, port: Int32(endpoint.port))], exact.expires > now { return exact }
        if let whole = entries[Key(address: endpoint.address, port: -1)], whole.expires > now { return whole }
        return nil
    }

    /// Every entry for an address (any port), for `explain`.
    func entries(for address: IPAddress) -> [LearnedPeer] {
        entries.values.filter { $0.address == address }.sorted { ($0.port ?? 0) < ($1.port ?? 0) }
    }

    /// Drops expired entries; returns how many.
    @discardableResult
    mutating func expire(at now: Timestamp) -> Int {
        let before = entries.count
        entries = entries.filter { $0.value.expires > now }
        if entries.count != before { generation &+= 1 }
        return before - entries.count
    }

    /// Removes every entry for an address; returns how many.
    @discardableResult
    mutating func forget(_ address: IPAddress) -> Int {
        let keys = entries.keys.filter { $0.address == address }
        for key in keys { entries.removeValue(forKey: key) }
        if !keys.isEmpty { generation &+= 1 }
        return keys.count
    }

    /// Restores an entry as saved, keeping its origin and expiry.
    mutating func restore(_ entry: LearnedPeer) {
        if entries.count >= capacity { evictSoonestExpiring() }
        entries[Key(address: entry.address, port: entry.port.map(Int32.init) ?? -1)] = entry
        generation &+= 1
    }

    func sizes() -> [String: Int] {
        var sizes = [String: Int]()
        for entry in entries.values { sizes[entry.list, default: 0] += 1 }
        return sizes
    }

    private mutating func evictSoonestExpiring() {
        guard let victim = entries.min(by: { $0.value.expires < $1.value.expires })?.key else { return }
        entries.removeValue(forKey: victim)
    }
}
