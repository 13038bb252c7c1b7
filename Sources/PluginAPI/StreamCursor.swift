/// Follows one direction of a TCP flow in order, for plugins that parse a long-lived connection
/// message by message (a server connection that announces peers for hours).
///
/// The host reassembles only the start of each direction (`DetectionInput.stream`, 4 KiB by
/// default). The cursor hands out that reassembled start first, then, once the stream has reached
/// its cap, the payload of each later packet that continues it, so a streaming parser sees every
/// byte of the direction once and in order, whatever the cap. It keeps no bytes and never
/// allocates: the parser carries its own state between chunks.
///
/// Before the cap, out-of-order segments wait in the host's reassembly. Past it, a segment that
/// arrives ahead of a missing one is a hole nobody will fill: the cursor hands out the segment
/// marked `afterGap`, and the parser must find its footing again (or give up).
public struct StreamCursor: Sendable, Equatable {
    /// Bytes of the direction handed out so far, or skipped over a hole.
    public private(set) var consumed: UInt32 = 0
    /// The sequence number of the direction's first stream byte, once known.
    private var base: UInt32 = 0
    private var hasBase = false
    /// True once packets are read past the end of the host's stream.
    private var pastStream = false
    /// Packets seen ahead of the stream's end without progress, before the cap.
    private var stalls: UInt8 = 0

    /// How many packets may arrive ahead of the stream's end, before the cap, before the hole is
    /// taken as permanent. The host holds at most 8 early segments and drops the rest.
    static let stallLimit: UInt8 = 12

    public init() {}

    /// True when the cursor knows where packets fall in the direction and can read past the cap.
    public var isAnchored: Bool { hasBase }

    /// Hands `body` the new in-order bytes of this packet's direction that this packet makes
    /// available: none, or one or two chunks. Call it only with packets of the one direction the
    /// cursor follows. `afterGap` is true when bytes before the chunk were lost for good.
    public mutating func advance(_ input: DetectionInput, _ body: (_ bytes: UnsafeRawBufferPointer, _ afterGap: Bool) -> Void) {
        let stream = input.stream
        let payload = input.packet.payload
        let count = payload.count
        let sequence = input.packet.tcpFlags.contains(.syn) ? input.packet.sequenceNumber &+ 1 : input.packet.sequenceNumber

        if !hasBase && count > 0 && !pastStream { anchor(stream: stream, payload: payload, sequence: sequence) }

        // 1. What the host has reassembled and we have not read yet.
        if !pastStream && Int(consumed) < stream.count {
            body(stream.suffix(from: Int(consumed)), false)
            consumed = UInt32(truncatingIfNeeded: stream.count)
            stalls = 0
        }

        // 2. The part of this packet past the stream's end.
        guard hasBase, count > 0 else { return }
        let start = sequence &- base
        let distance = Int32(bitPattern: start &- consumed)
        if distance <= 0 {
            let overlap = -Int(distance)
            guard overlap < count else { return }  // a retransmission of bytes already read
            // An in-order segment the host did not store: the stream has reached its cap.
            pastStream = true
            stalls = 0
            body(payload.suffix(from: overlap), false)
            consumed = start &+ UInt32(truncatingIfNeeded: count)
        } else if pastStream || stalls >= StreamCursor.stallLimit {
            pastStream = true
            stalls = 0
            body(payload, true)
            consumed = start &+ UInt32(truncatingIfNeeded: count)
        } else {
            stalls += 1
        }
    }

    /// Learns the sequence number of stream byte 0 from a packet whose payload is the end of the
    /// stream (the usual in-order case), or its start (a first segment larger than the cap).
    private mutating func anchor(stream: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, sequence: UInt32) {
        let count = payload.count
        if stream.count >= count, Self.equal(stream.suffix(from: stream.count - count), payload) {
            base = sequence &- UInt32(truncatingIfNeeded: stream.count - count)
            hasBase = true
        } else if stream.count > 0, stream.count < count, let head = payload.slice(0, stream.count), Self.equal(head, stream) {
            base = sequence
            hasBase = true
        }
    }

    private static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }
}
