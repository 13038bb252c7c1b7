import Foundation
import PluginAPI

/// The learned lists and time locks on disk (`state.json` in the state directory), so they
/// survive a restart and a `kill -9`.
///
/// Written crash-safely: a temporary file is written and fsynced, renamed over the old one and
/// the directory fsynced, so a reader finds either the old file or the new one, never a mix.
/// Each entry records its absolute expiry and the time it had left when saved; a restore gives
/// it the smaller of "expiry minus now" and "time left when saved", so downtime counts against
/// a lock and a clock set backwards never lengthens one.
public struct StateFile: Sendable {
    public static let fileName = "state.json"
    static let formatVersion = 1

    public let directory: String
    public var path: String { directory + "/" + StateFile.fileName }

    public init(directory: String) { self.directory = directory }

    public enum LoadResult: Equatable, Sendable {
        /// No file: a first start.
        case missing
        case loaded(EngineState, skipped: Int)
        /// The file exists but cannot be read as a state file; it was moved aside to `movedTo`.
        case unreadable(reason: String, movedTo: String?)
    }

    // MARK: Writing

    /// Writes `state`, saved at `time`. Throws with errno text on any failure; the old file
    /// stays in place then.
    public func save(_ state: EngineState, at time: Timestamp) throws {
        let data = try StateFile.encode(state, at: time)
        try StateFile.createDirectory(directory)
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateFileError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var ok = true
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    ok = false
                    return
                }
                offset += written
            }
        }
        let error = errno
        if !ok || fsync(fd) != 0 {
            close(fd)
            unlink(temporary)
            throw StateFileError("cannot write \(temporary): \(String(cString: strerror(ok ? errno : error)))")
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temporary)
            throw StateFileError("cannot rename \(temporary) to \(path): \(message)")
        }
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    // MARK: Reading

    /// Reads the file and works out each entry's remaining time at `now`. A file that cannot be
    /// parsed is moved aside (`state.json.bad`) and reported; the daemon then starts empty.
    public func load(now: Timestamp) -> LoadResult {
        guard let data = FileManager.default.contents(atPath: path) else {
            return access(path, F_OK) == 0 ? moveAside("cannot read the file") : .missing
        }
        switch StateFile.decode(data, now: now) {
        case .success(let (state, skipped)):
            return .loaded(state, skipped: skipped)
        case .failure(let error):
            return moveAside(error.message)
        }
    }

    private func moveAside(_ reason: String) -> LoadResult {
        let aside = path + ".bad"
        return .unreadable(reason: reason, movedTo: rename(path, aside) == 0 ? aside : nil)
    }

    // MARK: Format

    struct Document: Codable {
        var version: Int
        var savedAt: String
        var savedAtMicroseconds: Int64
        var learned: [Learned]
        var locks: [Lock]

        enum CodingKeys: String, CodingKey {
            case version, learned, locks
            case savedAt = "saved_at"
            case savedAtMicroseconds = "saved_at_us"
        }
    }

    struct Learned: Codable {
        var ip: String
        var port: UInt16?
        var list: String
        var origin: String
        var learnedAt: Int64
        var expires: Int64
        var remainingSeconds: Double
        /// Absent in files written before entries could be TCP-only: both.
        var transports: [String]?

        enum CodingKeys: String, CodingKey {
            case ip, port, list, origin, transports
            case learnedAt = "learned_at_us"
            case expires = "expires_us"
            case remainingSeconds = "remaining_seconds"
        }
    }

    struct Probe: Codable {
        var payload: String
        var clientPort: UInt16
        var sourcePort: UInt16

        enum CodingKeys: String, CodingKey {
            case payload
            case clientPort = "client_port"
            case sourcePort = "source_port"
        }
    }

    struct Lock: Codable {
        var client: String
        var reason: String
        var lockedAt: Int64
        var armedAt: Int64
        var until: Int64
        var durationMicroseconds: Int64
        var remainingSeconds: Double
        var arms: Int
        var probe: Probe?
        var probeSent: Bool

        enum CodingKeys: String, CodingKey {
            case client, reason, arms, probe
            case lockedAt = "locked_at_us"
            case armedAt = "armed_at_us"
            case until = "until_us"
            case durationMicroseconds = "duration_us"
            case remainingSeconds = "remaining_seconds"
            case probeSent = "probe_sent"
        }
    }

    static func encode(_ state: EngineState, at time: Timestamp) throws -> Data {
        let document = Document(
            version: formatVersion, savedAt: time.iso8601, savedAtMicroseconds: time.microseconds,
            learned: state.learned.map {
                Learned(ip: $0.address.description, port: $0.port, list: $0.list, origin: $0.origin,
                        learnedAt: $0.learnedAt.microseconds, expires: $0.expires.microseconds,
                        remainingSeconds: ($0.expires - time).value, transports: $0.transports.map(\.description).sorted())
            },
            locks: state.locks.map {
                Lock(client: $0.client.description, reason: $0.reason, lockedAt: $0.lockedAt.microseconds,
                     armedAt: $0.armedAt.microseconds, until: $0.until.microseconds,
                     durationMicroseconds: $0.duration.microseconds, remainingSeconds: ($0.until - time).value,
                     arms: $0.arms,
                     probe: $0.probe.map { Probe(payload: hex($0.payload), clientPort: $0.clientPort, sourcePort: $0.sourcePort) },
                     probeSent: $0.probeSent)
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var data = try encoder.encode(document)
        data.append(0x0A)
        return data
    }

    struct DecodeError: Error {
        let message: String
    }

    /// The state in `data` as of `now`, and how many entries were dropped (bad or expired).
    static func decode(_ data: Data, now: Timestamp) -> Result<(EngineState, Int), DecodeError> {
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: data)
        } catch {
            return .failure(DecodeError(message: "not a peerwall state file: \(error)"))
        }
        guard document.version == formatVersion else {
            return .failure(DecodeError(message: "state file version \(document.version), this peerwall reads \(formatVersion)"))
        }
        var skipped = 0
        var state = EngineState()
        for entry in document.learned {
            guard let address = IPAddress(entry.ip), entry.remainingSeconds.isFinite,
                  let expires = remaining(until: entry.expires, left: entry.remainingSeconds, now: now) else {
                skipped += 1
                continue
            }
            let transports = Set((entry.transports ?? ["tcp", "udp"]).compactMap { $0 == "tcp" ? Transport.tcp : $0 == "udp" ? .udp : nil })
            state.learned.append(LearnedPeer(address: address, port: entry.port, list: entry.list, origin: entry.origin,
                                             learnedAt: Timestamp(microseconds: entry.learnedAt), expires: expires,
                                             transports: transports.isEmpty ? [.tcp, .udp] : transports))
        }
        for entry in document.locks {
            guard let client = IPAddress(entry.client), entry.durationMicroseconds > 0, entry.remainingSeconds.isFinite,
                  let until = remaining(until: entry.until, left: entry.remainingSeconds, now: now) else {
                skipped += 1
                continue
            }
            var probe: ProbeRequest?
            if let saved = entry.probe {
                guard let payload = unhex(saved.payload) else {
                    skipped += 1
                    continue
                }
                probe = ProbeRequest(payload: payload, clientPort: saved.clientPort, sourcePort: saved.sourcePort)
            }
            // A lock cut short by the clock keeps its probe schedule relative to the new end.
            let shift = Timestamp(microseconds: entry.until) - until
            let armedAt = Timestamp(microseconds: entry.armedAt) - shift
            state.locks.append(SavedLock(client: client, lockedAt: Timestamp(microseconds: entry.lockedAt), armedAt: armedAt,
                                         until: until, duration: Seconds(microseconds: entry.durationMicroseconds),
                                         reason: entry.reason, probe: probe, probeSent: entry.probeSent, arms: max(1, entry.arms)))
        }
        return .success((state, skipped))
    }

    /// The restored expiry: the sooner of the saved expiry and now plus the time left at the
    /// save; nil when nothing is left.
    static func remaining(until: Int64, left: Double, now: Timestamp) -> Timestamp? {
        guard left > 0 else { return nil }
        let byClock = Timestamp(microseconds: until)
        let byRemaining = now + Seconds(left)
        let expires = min(byClock, byRemaining)
        return expires > now ? expires : nil
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func unhex(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let high = nibble(utf8[i]), let low = nibble(utf8[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    static func createDirectory(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw StateFileError("cannot create state directory \(directory): \(error.localizedDescription)")
        }
    }
}

public struct StateFileError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
