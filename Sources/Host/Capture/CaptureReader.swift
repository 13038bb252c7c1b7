import CPcap
import Foundation
import PluginAPI

/// Reads the IP packets of a pcap or pcapng file through libpcap, for offline replay.
///
/// Packets are handed out zero-copy: `Packet.bytes` points into libpcap's buffer and is valid only
/// until the next call to `next()` (or until the reader is released). Frames that carry no IP
/// packet are skipped and counted in `statistics`. When the file is damaged part-way, `next()`
/// first returns every packet before the damage and then throws, so a replay keeps what it read.
public final class CaptureReader {
    /// One IP packet of the capture.
    public struct Packet {
        public let timestamp: Timestamp
        /// The IP packet: the captured frame without its link-layer header.
        public let bytes: UnsafeRawBufferPointer
        /// The frame's length on the wire, link-layer header included; more than the captured
        /// bytes when the capture was snapped.
        public let wireLength: Int
        /// The captured frame's length, link-layer header included.
        public let capturedLength: Int
        public let linkHeaderLength: Int

        /// The IP packet's length on the wire.
        public var ipWireLength: Int { max(0, wireLength - linkHeaderLength) }
        /// True when the capture holds fewer bytes of the frame than were on the wire.
        public var isSnapped: Bool { wireLength > capturedLength }
    }

    public struct Statistics: Sendable, Hashable {
        /// Every frame read, IP or not.
        public var frames = 0
        public var ipPackets = 0
        /// Frames of other protocols (ARP, LLDP, ...).
        public var nonIPFrames = 0
        /// Frames that end inside their link-layer header.
        public var truncatedFrames = 0

        public init() {}
    }

    public let path: String
    public let linkLayer: LinkLayer
    /// libpcap's data-link type for the file.
    public let dataLinkType: Int32
    public private(set) var statistics = Statistics()

    private let handle: OpaquePointer
    private var finished = false
    /// Classic pcap stores seconds in 32 bits, unsigned by its specification.
    private let hasUnsigned32BitSeconds: Bool

    /// Opens a capture. `-` reads standard input, as libpcap does.
    public init(path: String) throws(CaptureError) {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        // Microseconds whatever the file holds: libpcap scales nanosecond captures down.
        guard let handle = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_MICRO), &errorBuffer) else {
            throw Self.openingError(path: path, libpcapMessage: Self.string(errorBuffer))
        }
        let dataLinkType = pcap_datalink(handle)
        guard let linkLayer = LinkLayer(dataLinkType: dataLinkType) else {
            let name = pcap_datalink_val_to_name(dataLinkType).map { String(cString: $0) } ?? "unknown"
            pcap_close(handle)
            throw CaptureError(path: path, kind: .unsupportedLinkType(dataLinkType),
                               message: "unsupported link type \(dataLinkType) (\(name)); supported: Ethernet, raw IP, IPv4, IPv6, Linux cooked (SLL, SLL2), loopback")
        }
        self.path = path
        self.handle = handle
        self.dataLinkType = dataLinkType
        self.linkLayer = linkLayer
        hasUnsigned32BitSeconds = pcap_major_version(handle) == 2
    }

    deinit {
        pcap_close(handle)
    }

    /// The next IP packet, or nil at the end of the file. Throws once, at the point of damage;
    /// after the end or an error it returns nil.
    public func next() throws(CaptureError) -> Packet? {
        guard !finished else { return nil }
        while true {
            var header: UnsafeMutablePointer<pcap_pkthdr>?
            var data: UnsafePointer<UInt8>?
            let status = pcap_next_ex(handle, &header, &data)
            guard status == 1 else {
                finished = true
                if status == PCAP_ERROR_BREAK || status == 0 { return nil }
                let message = pcap_geterr(handle).map { String(cString: $0) } ?? "read error"
                throw CaptureError(path: path, kind: .corrupt(framesRead: statistics.frames),
                                   message: "\(message) (after \(statistics.frames) frames)")
            }
            guard let header, let data else { continue }
            statistics.frames += 1
            let captured = Int(header.pointee.caplen)
            let frame = UnsafeRawBufferPointer(start: data, count: captured)
            switch linkLayer.locateIP(in: frame) {
            case .ip(let offset):
                statistics.ipPackets += 1
                var time = header.pointee.ts
                // libpcap sign-extends the field for files in the host's byte order (not for
                // swapped ones), which would put dates after January 2038 back in 1901.
                if hasUnsigned32BitSeconds && time.tv_sec < 0 { time.tv_sec = Int(UInt32(truncatingIfNeeded: time.tv_sec)) }
                return Packet(timestamp: Self.timestamp(time),
                              bytes: UnsafeRawBufferPointer(rebasing: frame[offset...]),
                              wireLength: Int(header.pointee.len), capturedLength: captured, linkHeaderLength: offset)
            case .notIP:
                statistics.nonIPFrames += 1
            case .truncated:
                statistics.truncatedFrames += 1
            }
        }
    }

    /// Calls `body` with every IP packet in order. A damaged file throws after the packets
    /// before the damage were delivered.
    public func forEach(_ body: (Packet) throws -> Void) throws {
        while let packet = try next() { try body(packet) }
    }

    // MARK: Helpers

    /// Saturates instead of trapping: a pcapng timestamp can be any 64-bit count.
    static func timestamp(_ time: timeval) -> Timestamp {
        let (scaled, overflow) = Int64(time.tv_sec).multipliedReportingOverflow(by: 1_000_000)
        if overflow { return Timestamp(microseconds: time.tv_sec < 0 ? .min : .max) }
        let (sum, overflowSum) = scaled.addingReportingOverflow(Int64(time.tv_usec))
        return Timestamp(microseconds: overflowSum ? .max : sum)
    }

    private static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// libpcap says only that opening failed; the file system tells a missing or unreadable
    /// file (the caller's mistake) from one that is there but is no capture.
    private static func openingError(path: String, libpcapMessage: String) -> CaptureError {
        if path != "-" {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                return CaptureError(path: path, kind: .cannotOpen, message: "no such file")
            }
            if isDirectory.boolValue {
                return CaptureError(path: path, kind: .cannotOpen, message: "is a directory, not a capture file")
            }
            if !FileManager.default.isReadableFile(atPath: path) {
                return CaptureError(path: path, kind: .cannotOpen, message: "permission denied")
            }
        }
        // libpcap often puts the path in front of its message; the error names the file itself.
        var message = libpcapMessage
        if message.hasPrefix(path + ": ") { message.removeFirst(path.count + 2) }
        if message.isEmpty { message = "cannot be opened" }
        return CaptureError(path: path, kind: .notACapture, message: "not a readable pcap or pcapng capture: \(message)")
    }
}
