import PluginAPI

/// The in-order start of one TCP direction, up to a byte limit. Segments that arrive early are
/// held (a few of them) until the gap before them fills; retransmitted bytes are not added twice.
struct StreamBuffer {
    private(set) var data: [UInt8] = []
    /// The sequence number of the next byte expected; nil until the direction's first segment.
    private var nextSequence: UInt32?
    private var pending: [(sequence: UInt32, bytes: [UInt8])] = []
    private static let maximumPending = 8

    init() {}

    /// A stream whose SYN (at `synSequence`) was seen before any payload.
    init(synSequence: UInt32) { nextSequence = synSequence &+ 1 }

    /// Feeds one segment. `isSYN` segments consume one sequence number.
    mutating func add(sequence: UInt32, isSYN: Bool, payload: UnsafeRawBufferPointer, limit: Int) {
        if isSYN {
            if nextSequence == nil { nextSequence = sequence &+ 1 }
            if payload.isEmpty { return }
        }
        guard !payload.isEmpty, data.count < limit else { return }
        let start = isSYN ? sequence &+ 1 : sequence
        guard let expected = nextSequence else {
            nextSequence = start
            append(payload, skipping: 0, limit: limit)
            drainPending(limit: limit)
            return
        }
        let offset = Int32(bitPattern: start &- expected)
        if offset <= 0 {
            let overlap = Int(-offset)
            if overlap < payload.count { append(payload, skipping: overlap, limit: limit) }
            drainPending(limit: limit)
        } else if pending.count < StreamBuffer.maximumPending, Int(offset) < limit {
            pending.append((start, Array(payload.prefix(limit))))
        }
    }

    private mutating func append(_ payload: UnsafeRawBufferPointer, skipping overlap: Int, limit: Int) {
        let room = limit - data.count
        let available = payload.count - overlap
        let take = min(room, available)
        if take > 0 { data.append(contentsOf: payload[overlap..<(overlap + take)]) }
        // Sequence space advances by the whole segment, even past the stored limit.
        nextSequence = nextSequence.map { $0 &+ UInt32(truncatingIfNeeded: available) }
    }

    private mutating func drainPending(limit: Int) {
        var progressed = true
        while progressed, !pending.isEmpty, let expected = nextSequence {
            progressed = false
            for (i, segment) in pending.enumerated() {
                let offset = Int32(bitPattern: segment.sequence &- expected)
                if offset <= 0 {
                    pending.remove(at: i)
                    let overlap = Int(-offset)
                    if overlap < segment.bytes.count {
                        segment.bytes.withUnsafeBytes { append($0, skipping: overlap, limit: limit) }
                    }
                    progressed = true
                    break
                }
            }
        }
    }
}

/// Both directions of one flow.
struct StreamPair {
    var toServer = StreamBuffer()
    var toClient = StreamBuffer()
}
