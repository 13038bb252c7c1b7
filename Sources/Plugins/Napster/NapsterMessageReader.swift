import PluginAPI

/// The server messages that name another host, and where in their fields it is.
enum NapsterAnnouncement: UInt16, CaseIterable, Sendable {
    /// `"file" md5 size bitrate freq secs nick ip link-type [weight]`: a sharer, without its port.
    case searchResult = 201
    /// `nick ip port "file" md5 linespeed`: the uploader the client will connect to.
    case downloadAck = 204
    /// `user ip port file checksum size speed`: a sharer of a file being resumed.
    case resumeResult = 216
    /// `nick ip port "file" md5 speed`, sent to a firewalled uploader: the downloader it will connect to.
    case firewalledDownloadAck = 501
    /// `nick ip port`, sent to a firewalled client being browsed: the browser it will connect to.
    case browseRequest = 640
    /// `nick ip port`: the host the client will connect to for a direct browse.
    case browseAccept = 641
    /// `server port`: another server the client is sent to.
    case redirect = 821

    var addressField: UInt8 {
        switch self {
        case .searchResult: return 7
        case .redirect: return 0
        default: return 1
        }
    }

    var portField: UInt8 {
        switch self {
        case .searchResult: return NapsterFields.none
        case .redirect: return 1
        default: return 2
        }
    }

    /// The announced endpoint, when the message has the shape its type calls for. A port of 0
    /// (a firewalled uploader, who will connect in) and a search result give a whole address.
    func peer(_ fields: NapsterFields) -> (address: IPAddress, port: UInt16?)? {
        guard fields.clean, let address = fields.ipAddress else { return nil }
        switch self {
        case .searchResult:
            guard fields.count >= 9, fields.isQuoted(0), fields.addressKind == .decimal else { return nil }
            return (address, nil)
        case .downloadAck, .firewalledDownloadAck:
            guard fields.count >= 4, fields.isQuoted(3), fields.addressKind == .decimal, fields.hasPort else { return nil }
            return (address, fields.port == 0 ? nil : fields.port)
        case .resumeResult:
            guard fields.count >= 4, fields.addressKind == .decimal, fields.hasPort else { return nil }
            return (address, fields.port == 0 ? nil : fields.port)
        case .browseRequest, .browseAccept:
            guard fields.count == 3, fields.addressKind == .decimal, fields.hasPort else { return nil }
            return (address, fields.port == 0 ? nil : fields.port)
        case .redirect:
            guard fields.count == 2, fields.hasPort, fields.port != 0 else { return nil }
            return (address, fields.port)
        }
    }
}

/// Reads the server's side of a Napster client-server connection message by message
/// (`[length u16 LE][type u16 LE][length bytes of text]`), from chunks of any size, and reports
/// each complete announcement. State is a few dozen bytes, whatever the message sizes.
///
/// A lying length swallows what follows as its body; a body with control bytes is never
/// reported. After a hole in the stream, the reader waits for a chunk that starts on a message
/// boundary (its headers tile it, starting with a known type and a text body) before it reads on.
struct NapsterMessageReader: Equatable {
    private var header: UInt32 = 0
    private var headerBytes: UInt8 = 0
    private var remaining: UInt16 = 0
    private var announcement: NapsterAnnouncement?
    private var fields = NapsterFields()
    /// True after a hole, until a message boundary is found again.
    private(set) var lost = false
    /// Messages read, saturating: for facts and tests.
    private(set) var messages: UInt32 = 0

    /// Types above this are not Napster (OpenNap's server-to-server types end near 10200).
    static let highestType: UInt16 = 12_000

    init() {}

    mutating func feed(_ bytes: UnsafeRawBufferPointer, afterGap: Bool,
                       _ deliver: (NapsterAnnouncement, NapsterFields) -> Void) {
        if afterGap { loseTrack() }
        if lost {
            guard Self.tiles(bytes) else { return }
            lost = false
        }
        var index = 0
        let count = bytes.count
        while index < count {
            if headerBytes < 4 {
                header |= UInt32(bytes[index]) << (8 * UInt32(headerBytes))
                headerBytes += 1
                index += 1
                if headerBytes == 4 && !startMessage(deliver) { return }
                continue
            }
            let take = min(Int(remaining), count - index)
            if announcement != nil, let body = bytes.slice(index, take) { fields.scan(body) }
            index += take
            remaining -= UInt16(take)
            if remaining == 0 { endMessage(deliver) }
        }
    }

    /// Begins the message whose header is complete. False when the header is not Napster's.
    private mutating func startMessage(_ deliver: (NapsterAnnouncement, NapsterFields) -> Void) -> Bool {
        let length = UInt16(truncatingIfNeeded: header)
        let type = UInt16(truncatingIfNeeded: header >> 16)
        guard type <= Self.highestType else {
            loseTrack()
            return false
        }
        remaining = length
        announcement = NapsterAnnouncement(rawValue: type)
        if let announcement {
            fields = NapsterFields(addressField: announcement.addressField, portField: announcement.portField)
        }
        if length == 0 { endMessage(deliver) }
        return true
    }

    private mutating func endMessage(_ deliver: (NapsterAnnouncement, NapsterFields) -> Void) {
        if messages < .max { messages += 1 }
        if let announcement {
            fields.finish()
            deliver(announcement, fields)
        }
        header = 0
        headerBytes = 0
        remaining = 0
        announcement = nil
    }

    private mutating func loseTrack() {
        lost = true
        header = 0
        headerBytes = 0
        remaining = 0
        announcement = nil
    }

    /// True when `bytes` plausibly starts on a message boundary: headers tile it (the last
    /// message may run past its end), the first has a known server type, and every body that
    /// lies wholly inside is text.
    static func tiles(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let firstType = bytes.u16le(2), NapsterServerTypes.isKnown(firstType) else { return false }
        var offset = 0
        var frames = 0
        while offset + 4 <= bytes.count, frames < 64 {
            guard let length = bytes.u16le(offset), let type = bytes.u16le(offset + 2), type <= highestType else { return false }
            let end = offset + 4 + Int(length)
            if end <= bytes.count, let body = bytes.slice(offset + 4, Int(length)) {
                for byte in body where byte < 0x20 || byte == 0x7F { return false }
            }
            offset = end
            frames += 1
        }
        return true
    }
}

/// Message types a Napster server sends its clients, from the protocol documents.
enum NapsterServerTypes {
    static func isKnown(_ type: UInt16) -> Bool {
        switch type {
        case 0, 3, 5, 8, 9, 10, 12, 201...217, 301, 302, 310, 316, 320...326, 403...410, 501, 601, 604, 605, 607,
             613, 616...621, 626...629, 640...642, 748, 750...752, 821, 822, 824, 825, 827, 828, 830:
            return true
        default:
            return false
        }
    }
}
