import PluginAPI

/// Idle-timeout classes. Each has its own least-recently-seen list, so expiry pops list heads
/// instead of scanning the table.
enum FlowTimeoutClass: UInt8, CaseIterable {
    case tcpOpening, tcpEstablished, tcpClosing, udp
}

/// One tracked flow. Kept small: the table holds up to `capacity` of these in one array.
struct FlowRecord {
    var key: FlowKey
    /// True when the canonical low end sent the flow's first packet.
    var originatorIsLow: Bool
    var originatorIsLAN: Bool
    var timeoutClass: FlowTimeoutClass
    /// Bit i set: plugin i is still shown this flow.
    var activeDetectors: UInt32
    /// Bit i set: plugin i asked to keep inspecting past its packet limit.
    var keepInspecting: UInt32
    /// Bit i set: plugin i has a stored state for this flow.
    var detectorStates: UInt32
    /// The learned lists' generation (+1; 0 = never looked) when the far end was last found
    /// on no list: until the lists change, the flow needs no look-up.
    var notLearnedAtGeneration: UInt32
    /// 0 = none; else 1 + the index of the plugin that identified the flow.
    var appProto: UInt8
    var verdict: Verdict
    /// True when a drop of this flow applies to its later packets too (plugin or learned-peer drops).
    var stickyDrop: Bool
    var sawFIN: Bool
    /// Bit 0: the originator's SYN was seen; bit 1: the responder's. Their sequence numbers
    /// start the streams, which are only allocated once there is payload.
    var sawSYN: UInt8
    var synSequenceToServer: UInt32
    var synSequenceToClient: UInt32
    var reason: ReasonCode
    var start: Timestamp
    var lastSeen: Timestamp
    var packetsToServer: UInt32
    var packetsToClient: UInt32
    var bytesToServer: UInt64
    var bytesToClient: UInt64
    var droppedPackets: UInt32
    // Intrusive links of the timeout-class list; `FlowTable.none` ends a list.
    var previous: UInt32
    var next: UInt32

    var originator: Endpoint { originatorIsLow ? key.low : key.high }
    var responder: Endpoint { originatorIsLow ? key.high : key.low }
    var packetCount: Int { Int(packetsToServer) + Int(packetsToClient) }
}

/// A verdict reason packed into 32 bits: the kind in the top byte, a signature index below.
struct ReasonCode: Equatable {
    var raw: UInt32

    static let none = ReasonCode(raw: 0)
    static let learnedPeer = ReasonCode(raw: 1 << 24)
    static let timeLock = ReasonCode(raw: 2 << 24)
    static func signature(_ index: Int) -> ReasonCode { ReasonCode(raw: 3 << 24 | UInt32(index & 0xFF_FFFF)) }

    var signatureIndex: Int? { raw >> 24 == 3 ? Int(raw & 0xFF_FFFF) : nil }
}

/// The flow table: a slab of records, a hash index on the canonical 5-tuple, idle expiry per
/// timeout class and a hard capacity. Memory is bounded by `capacity`; at capacity the flow
/// idle the longest is evicted to make room.
struct FlowTable {
    static let none = UInt32.max

    let capacity: Int
    private(set) var records: [FlowRecord] = []
    private var index: [FlowKey: UInt32] = [:]
    private var freeSlots: [UInt32] = []
    private var heads: [UInt32]
    private var tails: [UInt32]
    private var timeouts: [Seconds]

    init(capacity: Int, timeouts: FlowTimeouts) {
        self.capacity = max(1, capacity)
        heads = Array(repeating: FlowTable.none, count: FlowTimeoutClass.allCases.count)
        tails = heads
        self.timeouts = [timeouts.tcpOpening, timeouts.tcpEstablished, timeouts.tcpClosing, timeouts.udp]
    }

    var count: Int { index.count }

    func slot(for key: FlowKey) -> UInt32? { index[key] }

    subscript(slot: UInt32) -> FlowRecord {
        get { records[Int(slot)] }
        _modify { yield &records[Int(slot)] }
    }

    func timeout(of timeoutClass: FlowTimeoutClass) -> Seconds { timeouts[Int(timeoutClass.rawValue)] }

    /// Inserts a new record. The caller must first make room (`isFull` / `oldestIdle`).
    mutating func insert(_ record: FlowRecord) -> UInt32 {
        var record = record
        record.previous = FlowTable.none
        record.next = FlowTable.none
        let slot: UInt32
        if let free = freeSlots.popLast() {
            slot = free
            records[Int(slot)] = record
        } else {
            slot = UInt32(records.count)
            records.append(record)
        }
        index[record.key] = slot
        append(slot, to: record.timeoutClass)
        return slot
    }

    var isFull: Bool { index.count >= capacity }

    /// Marks the flow as seen now, moving it to the tail of its (possibly new) class list.
    mutating func touch(_ slot: UInt32, at time: Timestamp, timeoutClass: FlowTimeoutClass) {
        unlink(slot)
        records[Int(slot)].lastSeen = time
        records[Int(slot)].timeoutClass = timeoutClass
        append(slot, to: timeoutClass)
    }

    /// Removes a flow and returns its final record.
    @discardableResult
    mutating func remove(_ slot: UInt32) -> FlowRecord {
        unlink(slot)
        let record = records[Int(slot)]
        index.removeValue(forKey: record.key)
        freeSlots.append(slot)
        return record
    }

    /// The slot of a flow whose idle timeout has passed at `now`, if any.
    func expired(at now: Timestamp) -> UInt32? {
        for timeoutClass in FlowTimeoutClass.allCases {
            let head = heads[Int(timeoutClass.rawValue)]
            if head != FlowTable.none, records[Int(head)].lastSeen + timeout(of: timeoutClass) <= now { return head }
        }
        return nil
    }

    /// The flow idle the longest, across all classes: the one evicted at capacity.
    func oldestIdle() -> UInt32? {
        var best: UInt32?
        for head in heads where head != FlowTable.none {
            if let current = best, records[Int(current)].lastSeen <= records[Int(head)].lastSeen { continue }
            best = head
        }
        return best
    }

    /// Every live slot, for the end of input.
    var liveSlots: [UInt32] { index.values.sorted() }

    private mutating func append(_ slot: UInt32, to timeoutClass: FlowTimeoutClass) {
        let c = Int(timeoutClass.rawValue)
        records[Int(slot)].previous = tails[c]
        records[Int(slot)].next = FlowTable.none
        if tails[c] != FlowTable.none { records[Int(tails[c])].next = slot } else { heads[c] = slot }
        tails[c] = slot
    }

    private mutating func unlink(_ slot: UInt32) {
        let c = Int(records[Int(slot)].timeoutClass.rawValue)
        let previous = records[Int(slot)].previous, next = records[Int(slot)].next
        if previous != FlowTable.none { records[Int(previous)].next = next } else if heads[c] == slot { heads[c] = next }
        if next != FlowTable.none { records[Int(next)].previous = previous } else if tails[c] == slot { tails[c] = previous }
        records[Int(slot)].previous = FlowTable.none
        records[Int(slot)].next = FlowTable.none
    }
}
