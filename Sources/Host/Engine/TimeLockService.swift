import PluginAPI

/// Per-LAN-client time locks. A locked client's new TCP connections are refused until the lock
/// runs out; every further attempt re-arms it. When half the lock time has passed without a
/// re-arm, the client is probed once: an answer re-arms the lock, silence lets it run out.
/// The clock is whatever `now` the caller passes: the capture's time in replay, a test's in tests.
struct TimeLockService {
    struct Lock: Equatable {
        let client: IPAddress
        var lockedAt: Timestamp
        /// The last arm or re-arm.
        var armedAt: Timestamp
        var until: Timestamp
        var duration: Seconds
        var reason: String
        var probe: ProbeRequest?
        var probeSent: Bool
        /// How many times the lock was armed (1 for a fresh lock).
        var arms: Int
    }

    enum Change: Equatable {
        case locked(Lock)
        case rearmed(Lock)
    }

    private(set) var locks: [IPAddress: Lock] = [:]

    var count: Int { locks.count }

    /// True while `client` is locked: from the arm time up to, not including, `until`.
    func isLocked(_ client: IPAddress, at now: Timestamp) -> Bool {
        guard let lock = locks[client] else { return false }
        return now < lock.until
    }

    func lock(for client: IPAddress) -> Lock? { locks[client] }

    /// Locks a client or re-arms its lock. A zero duration does nothing (locking disabled).
    mutating func arm(_ request: LockRequest, at now: Timestamp) -> Change? {
        guard request.duration > .zero else { return nil }
        let until = now + request.duration
        if var lock = locks[request.client], now < lock.until {
            lock.armedAt = now
            lock.until = max(lock.until, until)
            lock.duration = request.duration
            lock.reason = request.reason
            if let probe = request.probe { lock.probe = probe }
            lock.probeSent = false
            lock.arms += 1
            locks[request.client] = lock
            return .rearmed(lock)
        }
        let lock = Lock(client: request.client, lockedAt: now, armedAt: now, until: until, duration: request.duration,
                        reason: request.reason, probe: request.probe, probeSent: false, arms: 1)
        locks[request.client] = lock
        return .locked(lock)
    }

    /// Locks whose probe is due at `now`: half the lock time after the last arm, once per arm.
    /// Each comes with the time it fell due, which may be earlier than `now`.
    mutating func takeDueProbes(at now: Timestamp) -> [(client: IPAddress, probe: ProbeRequest, due: Timestamp)] {
        var due: [(IPAddress, ProbeRequest, Timestamp)] = []
        for (client, lock) in locks where !lock.probeSent && now < lock.until {
            let dueAt = lock.armedAt + lock.duration / 2
            guard let probe = lock.probe, now >= dueAt else { continue }
            locks[client]?.probeSent = true
            due.append((client, probe, dueAt))
        }
        return due.sorted { ($0.2, $0.0) < ($1.2, $1.0) }
    }

    /// Removes and returns the locks that have run out at `now`, in expiry order.
    mutating func takeExpired(at now: Timestamp) -> [Lock] {
        let expired = locks.values.filter { $0.until <= now }.sorted { ($0.until, $0.client) < ($1.until, $1.client) }
        for lock in expired { locks.removeValue(forKey: lock.client) }
        return expired
    }

    /// The time of the next event (a probe or an expiry), so a daemon can sleep until then.
    func nextDeadline() -> Timestamp? {
        var next: Timestamp?
        for lock in locks.values {
            var candidate = lock.until
            if lock.probe != nil && !lock.probeSent { candidate = min(candidate, lock.armedAt + lock.duration / 2) }
            next = next.map { min($0, candidate) } ?? candidate
        }
        return next
    }

    /// Lifts a lock by hand. Returns it if there was one.
    mutating func unlock(_ client: IPAddress) -> Lock? { locks.removeValue(forKey: client) }

    /// Restores a saved lock with its remaining time.
    mutating func restore(_ lock: Lock) { locks[lock.client] = lock }
}
