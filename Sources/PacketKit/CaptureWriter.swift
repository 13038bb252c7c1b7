import Foundation
import PluginAPI

/// Writes capture files, classic pcap or pcapng, into memory; `write(toFile:)` saves them.
/// The output depends only on what is appended: timestamps come from the caller, never the clock,
/// so fixtures and simulator output are byte-for-byte repeatable.
public struct CaptureWriter: Sendable {
    public enum Format: Sendable, Hashable {
        /// Classic pcap with microsecond timestamps (magic 0xA1B2C3D4).
        case pcap
        /// Classic pcap with nanosecond timestamps (magic 0xA1B23C4D).
        case pcapNanoseconds
        /// pcapng: one section header, one interface description, an enhanced packet block per frame.
        case pcapng
    }

    public let format: Format
    public let linkType: LinkType
    /// Frames longer than this are cut to it, and their original length recorded.
    public let snapLength: UInt32
    /// Writes every field big-endian instead of little-endian (readers accept both).
    public let bigEndian: Bool
    /// The whole file so far.
    public private(set) var bytes: [UInt8]
    public private(set) var frameCount = 0

    public init(format: Format = .pcap, linkType: LinkType, snapLength: UInt32 = 262_144, bigEndian: Bool = false) {
        self.format = format
        self.linkType = linkType
        self.snapLength = snapLength
        self.bigEndian = bigEndian
        bytes = []
        switch format {
        case .pcap, .pcapNanoseconds:
            put32(format == .pcap ? 0xA1B2_C3D4 : 0xA1B2_3C4D)
            put16(2)  // version 2.4
            put16(4)
            put32(0)  // thiszone: timestamps are UTC
            put32(0)  // sigfigs
            put32(snapLength)
            put32(linkType.rawValue)
        case .pcapng:
            writeSectionHeader()
            writeInterfaceDescription()
        }
    }

    /// Appends one frame captured at `time`. `originalLength` is the frame's length on the wire
    /// when it was longer than the bytes given (a snapped capture); it defaults to their count.
    public mutating func append(_ frame: [UInt8], at time: Timestamp, originalLength: Int? = nil) {
        let captured = min(frame.count, Int(snapLength))
        let original = UInt32(clamping: max(originalLength ?? frame.count, captured))
        switch format {
        case .pcap, .pcapNanoseconds:
            let (seconds, fraction) = split(time)
            put32(UInt32(truncatingIfNeeded: seconds))
            put32(UInt32(truncatingIfNeeded: format == .pcap ? fraction : fraction * 1000))
            put32(UInt32(captured))
            put32(original)
            bytes += frame[0..<captured]
        case .pcapng:
            let padding = (4 - captured % 4) % 4
            let total = UInt32(32 + captured + padding)
            // Timestamps are in the interface's default resolution, microseconds.
            let units = UInt64(bitPattern: time.microseconds)
            put32(6)
            put32(total)
            put32(0)  // interface id
            put32(UInt32(truncatingIfNeeded: units >> 32))
            put32(UInt32(truncatingIfNeeded: units))
            put32(UInt32(captured))
            put32(original)
            bytes += frame[0..<captured]
            bytes.appendZeros(padding)
            put32(total)
        }
        frameCount += 1
    }

    /// Frames the IP packet for this writer's link type and appends it. Returns false, appending
    /// nothing, for a link type `LinkFrame` cannot frame.
    @discardableResult
    public mutating func append(ipPacket packet: [UInt8], at time: Timestamp, vlanTags: [LinkFrame.VLANTag] = []) -> Bool {
        guard let frame = LinkFrame.frame(packet, for: linkType, vlanTags: vlanTags) else { return false }
        append(frame, at: time)
        return true
    }

    /// Saves the file, replacing any file at `path`.
    public func write(toFile path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    // MARK: Encoding

    private func split(_ time: Timestamp) -> (seconds: Int64, microseconds: Int64) {
        let us = time.microseconds
        let seconds = us >= 0 ? us / 1_000_000 : (us - 999_999) / 1_000_000
        return (seconds, us - seconds * 1_000_000)
    }

    private mutating func put16(_ value: UInt16) {
        if bigEndian {
            bytes.append(UInt8(value >> 8))
            bytes.append(UInt8(truncatingIfNeeded: value))
        } else {
            bytes.append(UInt8(truncatingIfNeeded: value))
            bytes.append(UInt8(value >> 8))
        }
    }

    private mutating func put32(_ value: UInt32) {
        if bigEndian {
            put16(UInt16(value >> 16))
            put16(UInt16(truncatingIfNeeded: value))
        } else {
            put16(UInt16(truncatingIfNeeded: value))
            put16(UInt16(value >> 16))
        }
    }

    private mutating func writeSectionHeader() {
        put32(0x0A0D_0D0A)
        put32(28)
        put32(0x1A2B_3C4D)  // byte-order magic: tells readers which order the rest is in
        put16(1)  // version 1.0
        put16(0)
        put32(0xFFFF_FFFF)  // section length unknown
        put32(0xFFFF_FFFF)
        put32(28)
    }

    private mutating func writeInterfaceDescription() {
        // One option, if_tsresol = 6, stated although it is the default, so no reader has to guess.
        put32(1)
        put32(32)
        put16(UInt16(truncatingIfNeeded: linkType.rawValue))
        put16(0)
        put32(snapLength)
        put16(9)  // if_tsresol
        put16(1)
        bytes += [6, 0, 0, 0]
        put16(0)  // opt_endofopt
        put16(0)
        put32(32)
    }
}
