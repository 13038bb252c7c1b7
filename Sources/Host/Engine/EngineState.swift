import PluginAPI

/// What must survive a restart: the learned addresses and the time locks, each with its expiry
/// and origin. Flows are not kept: a restarted daemon sees running flows afresh.
public struct EngineState: Sendable, Equatable {
    public var learned: [LearnedPeer]
    public var locks: [SavedLock]

    public init(learned: [LearnedPeer] = [], locks: [SavedLock] = []) {
        self.learned = learned
        self.locks = locks
    }

    public var isEmpty: Bool { learned.isEmpty && locks.isEmpty }
}

/// A time lock as saved: everything needed to carry on where it stopped.
public struct SavedLock: Sendable, Equatable {
    public var client: IPAddress
    public var lockedAt: Timestamp
    /// The last arm or re-arm; the probe is due half the lock time after it.
    public var armedAt: Timestamp
    public var until: Timestamp
    public var duration: Seconds
    public var reason: String
    public var probe: ProbeRequest?
    public var probeSent: Bool
    public var arms: Int

    public init(client: IPAddress, lockedAt: Timestamp, armedAt: Timestamp, until: Timestamp, duration: Seconds,
                reason: String, probe: ProbeRequest?, probeSent: Bool, arms: Int) {
        self.client = client
        self.lockedAt = lockedAt
        self.armedAt = armedAt
        self.until = until
        self.duration = duration
        self.reason = reason
        self.probe = probe
        self.probeSent = probeSent
        self.arms = arms
    }
}

/// How many entries a restore took and refused.
public struct RestoreOutcome: Sendable, Equatable {
    public var learned = 0
    public var locks = 0
    /// Entries that had run out, or that this configuration would not accept (a learned LAN
    /// address, a lock on a never-block client).
    public var skipped = 0
}

extension Engine {
    /// The learned entries and locks still in force at `now()`.
    public func savedState() -> EngineState {
        let learnedEntries = learned.entries.values.filter { $0.expires > now }
            .sorted { ($0.address, $0.port ?? 0, $0.list) < ($1.address, $1.port ?? 0, $1.list) }
        let savedLocks = locks.locks.values.filter { $0.until > now }.sorted { $0.client < $1.client }.map {
            SavedLock(client: $0.client, lockedAt: $0.lockedAt, armedAt: $0.armedAt, until: $0.until, duration: $0.duration,
                      reason: $0.reason, probe: $0.probe, probeSent: $0.probeSent, arms: $0.arms)
        }
        return EngineState(learned: learnedEntries, locks: savedLocks)
    }

    /// Puts saved entries back, keeping their origin and expiry; entries that ran out by `time`
    /// or that this configuration refuses are skipped. Moves the engine's clock to `time`.
    @discardableResult
    public func restore(_ state: EngineState, at time: Timestamp) -> RestoreOutcome {
        _ = advance(to: time)
        var outcome = RestoreOutcome()
        for entry in state.learned {
            guard entry.expires > time, entry.address.isRoutableUnicast, !configuration.isLAN(entry.address) else {
                outcome.skipped += 1
                continue
            }
            learned.restore(entry)
            outcome.learned += 1
        }
        for saved in state.locks {
            guard saved.until > time, saved.duration > .zero, configuration.isLAN(saved.client),
                  !configuration.isNeverBlocked(saved.client) else {
                outcome.skipped += 1
                continue
            }
            locks.restore(TimeLockService.Lock(client: saved.client, lockedAt: saved.lockedAt, armedAt: saved.armedAt,
                                               until: saved.until, duration: saved.duration, reason: saved.reason,
                                               probe: saved.probe, probeSent: saved.probeSent, arms: saved.arms))
            outcome.locks += 1
        }
        lockDeadline = locks.nextDeadline()
        return outcome
    }

    // MARK: Operator queries

    /// Every lock in force, by client.
    public var activeLocks: [SavedLock] { savedState().locks }

    /// The lock on one client, if it is locked now.
    public func lock(on client: IPAddress) -> SavedLock? {
        activeLocks.first { $0.client == client }
    }

    /// Every learned entry for an address (any port) still in force.
    public func learnedEntries(for address: IPAddress) -> [LearnedPeer] {
        learned.entries(for: address).filter { $0.expires > now }
    }

    /// The number of entries per learned list.
    public var learnedListSizes: [String: Int] { learned.sizes() }

    /// The recent findings that involved a LAN client, oldest first.
    public func evidence(for client: IPAddress) -> [Evidence] { evidence[client] ?? [] }

    /// The engine's counters as a stats record.
    public var counterSnapshot: StatsEvent { statsEvent() }
}

extension Engine {
    /// The loaded plugins' ids, in catalog order.
    public var detectorIDs: [String] { detectors.ids }
    /// Each loaded plugin's signature file revision.
    public var detectorRevisions: [String: String] { detectors.revisions }
}
