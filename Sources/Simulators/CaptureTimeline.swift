import PacketKit
import PluginAPI

/// Lays a scenario's packets out in time: each packet a small step after the one before, with
/// explicit pauses where the protocol waits. Timestamps come from the timeline, never the clock.
public struct CaptureTimeline: Sendable {
    /// 2026-11-21T10:00:00Z: every scenario starts here unless it says otherwise.
    public static let defaultStart = Timestamp(microseconds: 1_795_255_200_000_000)

    public private(set) var frames: [CaptureFrame] = []
    public private(set) var now: Timestamp
    /// The gap between consecutive packets.
    public var step: Seconds

    public init(start: Timestamp = CaptureTimeline.defaultStart, step: Seconds = Seconds(microseconds: 1_500)) {
        now = start
        self.step = step
    }

    public mutating func add(_ packet: [UInt8]) {
        frames.append(CaptureFrame(time: now, packet: packet))
        now = now + step
    }

    public mutating func add(_ packets: [[UInt8]]) {
        for packet in packets { add(packet) }
    }

    public mutating func wait(_ seconds: Double) {
        now = now + Seconds(seconds)
    }

    // MARK: TCP

    /// SYN, SYN-ACK, ACK.
    public mutating func open(_ connection: inout TCPConversation) {
        add(connection.handshake())
    }

    /// `data` from `side` in segments of at most `segmentSizes` (1448 bytes by default), then the
    /// other side's ACK unless `acknowledged` is false.
    public mutating func send(_ connection: inout TCPConversation, _ data: [UInt8], from side: TCPConversation.Side,
                              segmentSizes: [Int] = [1448], acknowledged: Bool = true) {
        guard !data.isEmpty else { return }
        add(connection.send(data, from: side, segmentSizes: segmentSizes))
        if acknowledged { add(connection.ack(from: side.other)) }
    }

    /// An orderly close started by `side`.
    public mutating func close(_ connection: inout TCPConversation, by side: TCPConversation.Side = .client) {
        add(connection.close(initiatedBy: side))
    }
}

extension Array where Element == UInt8 {
    /// ASCII or UTF-8 text as bytes.
    init(text: String) { self = Array(text.utf8) }
}
