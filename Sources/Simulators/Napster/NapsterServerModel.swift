import PluginAPI

/// An OpenNap-like index server, and its metaserver: logins and nick registration, shared-file
/// lists, searches, download requests (204, or 206 when the sharer is unknown), firewalled
/// download requests (501 to the uploader), direct browses (641, or 640 to a firewalled
/// browsee). Listener 0 is the server, listener 1 the metaserver, which answers `host:port`
/// and closes.
public final class NapsterServerModel: LiveService {
    public static let serverListener = 0
    public static let metaserverListener = 1

    struct Client {
        var address: IPAddress
        var decoder = NapsterWire.Decoder()
        var nick: String?
        var dataPort: UInt16 = 0
        var link = 0
        var shares: [NapsterWire.SharedFile] = []
    }

    private var clients: [Int: Client] = [:]
    /// Files shared by users who are not connected (the lab's peers), always found by searches.
    private let library: [NapsterWire.SharedFile]
    private let motd: [String]
    /// What the metaserver names: this server's public address and port.
    private let advertised: String

    public init(advertised: String, library: [NapsterWire.SharedFile] = [],
                motd: [String] = ["Welcome to the peerwall-sim OpenNap server.", "This server exists for gateway tests."]) {
        self.advertised = advertised
        self.library = library
        self.motd = motd
    }

    public func accepted(_ connection: Int, listener: Int, from peer: Endpoint) -> [LiveOutput] {
        if listener == Self.metaserverListener {
            return [.log("metaserver: \(peer) -> \(advertised)"), .send(connection: connection, bytes: Array("\(advertised)\n".utf8)),
                    .close(connection: connection)]
        }
        clients[connection] = Client(address: peer.address)
        return [.log("server: connection from \(peer)")]
    }

    public func closed(_ connection: Int) {
        clients.removeValue(forKey: connection)
    }

    public func received(_ connection: Int, _ bytes: [UInt8]) -> [LiveOutput] {
        guard clients[connection] != nil else { return [] }
        clients[connection]?.decoder.append(bytes)
        var outputs: [LiveOutput] = []
        while let message = clients[connection]?.decoder.next() {
            outputs += handle(connection, type: message.type, body: message.body)
        }
        return outputs
    }

    // MARK: Messages

    private func reply(_ connection: Int, _ bytes: [UInt8]) -> LiveOutput { .send(connection: connection, bytes: bytes) }

    private func handle(_ connection: Int, type: UInt16, body: [UInt8]) -> [LiveOutput] {
        guard let client = clients[connection] else { return [] }
        let fields = NapsterWire.fields(body)
        switch type {
        case NapsterWire.MessageType.login.rawValue, NapsterWire.MessageType.newUserLogin.rawValue:
            guard fields.count >= 5, let port = UInt16(fields[2]), !fields[0].isEmpty else {
                return [reply(connection, NapsterWire.message(.error, "Invalid login")), .close(connection: connection)]
            }
            if nickInUse(fields[0], except: connection) {
                return [reply(connection, NapsterWire.message(.error, "\(fields[0]) is already logged in")), .close(connection: connection)]
            }
            clients[connection]?.nick = fields[0]
            clients[connection]?.dataPort = port
            clients[connection]?.link = Int(fields[4]) ?? 0
            let email = type == NapsterWire.MessageType.newUserLogin.rawValue && fields.count > 5 ? fields[5] : "anon@napster.com"
            var outputs: [LiveOutput] = [.log("login: \(fields[0]) from \(client.address), data port \(port)"),
                                         reply(connection, NapsterWire.message(.loginAck, email)),
                                         reply(connection, NapsterWire.message(.serverStats, "\(clients.count) \(fileCount) 1"))]
            outputs += motd.map { reply(connection, NapsterWire.message(.motd, $0)) }
            return outputs

        case NapsterWire.MessageType.nickCheck.rawValue:
            let taken = fields.first.map { nickInUse($0, except: connection) } ?? true
            return [reply(connection, NapsterWire.message(rawType: taken ? 9 : 8, []))]

        case NapsterWire.MessageType.share.rawValue:
            guard let nick = client.nick, fields.count >= 6, let size = Int(fields[2]) else { return [] }
            clients[connection]?.shares.append(NapsterWire.SharedFile(
                file: fields[0], md5: fields[1], size: size, bitrate: Int(fields[3]) ?? 128, frequency: Int(fields[4]) ?? 44_100,
                seconds: Int(fields[5]) ?? 0, nick: nick, owner: client.address, dataPort: client.dataPort, link: client.link))
            return []

        case NapsterWire.MessageType.search.rawValue:
            return search(connection, fields)

        case NapsterWire.MessageType.downloadRequest.rawValue:
            guard fields.count >= 2 else { return [] }
            guard let file = sharedFile(nick: fields[0], file: fields[1]) else {
                return [reply(connection, NapsterWire.message(.getError, "\(fields[0]) \"\(fields[1])\""))]
            }
            return [.log("download: \(client.nick ?? "?") wants \(file.file) from \(file.nick) at \(file.owner):\(file.dataPort)"),
                    reply(connection, NapsterWire.downloadAck(nick: file.nick, address: file.owner, port: file.dataPort, file: file.file,
                                                              md5: file.md5, link: file.link))]

        case NapsterWire.MessageType.alternateDownloadRequest.rawValue:
            guard fields.count >= 2, let requester = client.nick,
                  let (uploader, file) = connectedSharer(nick: fields[0], file: fields[1]) else {
                return [reply(connection, NapsterWire.message(.getError, "\(fields.first ?? "") \"\(fields.count > 1 ? fields[1] : "")\""))]
            }
            return [.log("push: \(file.nick) to push \(file.file) to \(requester) at \(client.address):\(client.dataPort)"),
                    reply(uploader, NapsterWire.downloadAck(.firewalledDownloadAck, nick: requester, address: client.address,
                                                            port: client.dataPort, file: file.file, md5: file.md5, link: client.link))]

        case NapsterWire.MessageType.browseDirect.rawValue:
            guard let requester = client.nick, let nick = fields.first,
                  let (target, browsee) = clients.first(where: { $0.value.nick == nick }).map({ ($0.key, $0.value) }) else {
                return [reply(connection, NapsterWire.message(rawType: 642, Array("\(fields.first ?? "") \"not online\"".utf8)))]
            }
            if browsee.dataPort != 0 {
                return [reply(connection, NapsterWire.browseAccept(nick: nick, address: browsee.address, port: browsee.dataPort))]
            }
            guard client.dataPort != 0 else {
                return [reply(connection, NapsterWire.message(rawType: 642, Array("\(nick) \"both are firewalled\"".utf8)))]
            }
            return [reply(target, NapsterWire.message(.browseDirect, "\(requester) \(NapsterWire.decimal(client.address)) \(client.dataPort)"))]

        default:
            return []
        }
    }

    private var fileCount: Int { library.count + clients.values.reduce(0) { $0 + $1.shares.count } }

    private func nickInUse(_ nick: String, except connection: Int) -> Bool {
        clients.contains { $0.key != connection && $0.value.nick == nick }
    }

    private func search(_ connection: Int, _ fields: [String]) -> [LiveOutput] {
        var words: [String] = []
        var maximum = 100
        var index = 0
        while index < fields.count {
            if fields[index] == "FILENAME", index + 2 < fields.count, fields[index + 1] == "CONTAINS" {
                words += fields[index + 2].lowercased().split(separator: " ").map(String.init)
                index += 3
            } else if fields[index] == "MAX_RESULTS", index + 1 < fields.count {
                maximum = min(100, Int(fields[index + 1]) ?? 100)
                index += 2
            } else {
                index += 1
            }
        }
        let others = clients.filter { $0.key != connection }.values.flatMap(\.shares)
        let found = (library + others).filter { file in
            let name = file.file.lowercased()
            return !words.isEmpty && words.allSatisfy { name.contains($0) }
        }.prefix(maximum)
        return [.log("search: \(words.joined(separator: " ")): \(found.count) results")]
            + found.map { reply(connection, NapsterWire.searchResult($0)) }
            + [reply(connection, NapsterWire.message(.searchEnd, ""))]
    }

    private func sharedFile(nick: String, file: String) -> NapsterWire.SharedFile? {
        let all = library + clients.values.flatMap(\.shares)
        return all.first { $0.nick == nick && $0.file == file }
    }

    private func connectedSharer(nick: String, file: String) -> (Int, NapsterWire.SharedFile)? {
        for (id, client) in clients where client.nick == nick {
            if let shared = client.shares.first(where: { $0.file == file }) { return (id, shared) }
        }
        return nil
    }
}

/// The other end of a Napster transfer or browse: a client's data port. It sends `1` on accept,
/// then serves `GET nick "file" offset` (the size, then the bytes), accepts `SEND nick "file" size`
/// pushes (answering offset 0 and reading to the end), and answers `GETLIST` with its file list.
public final class NapsterPeerModel: LiveService {
    private var buffers: [Int: [UInt8]] = [:]
    private var receiving: Set<Int> = []
    private let nick: String
    private let files: [String]
    private let fileSize: Int

    public init(nick: String = "peer", files: [String] = ["Generic Band - Generic Song.mp3"], fileSize: Int = 65_536) {
        self.nick = nick
        self.files = files
        self.fileSize = fileSize
    }

    public func accepted(_ connection: Int, listener: Int, from peer: Endpoint) -> [LiveOutput] {
        buffers[connection] = []
        return [.log("peer: connection from \(peer)"), .send(connection: connection, bytes: NapsterWire.acceptorHello)]
    }

    public func closed(_ connection: Int) {
        receiving.remove(connection)
        buffers.removeValue(forKey: connection)
    }

    public func received(_ connection: Int, _ bytes: [UInt8]) -> [LiveOutput] {
        guard !receiving.contains(connection) else { return [] }  // a push's file bytes
        buffers[connection, default: []] += bytes
        let text = String(decoding: buffers[connection] ?? [], as: UTF8.self)
        if text.hasPrefix("GETLIST") {
            let list = ([nick] + files.map { "\"\($0)\" 10fe9e623b1962da85eea61df7ac1f69 \(fileSize) 128 44100 180" } + [""]).joined(separator: "\n")
            return [.log("peer: browse"), .send(connection: connection, bytes: Array((list + "\n").utf8)), .close(connection: connection)]
        }
        for word in ["GET", "SEND"] where text.hasPrefix(word) {
            let request = NapsterWire.fields(Array((buffers[connection] ?? []).dropFirst(word.count)))
            guard request.count >= 3, Int(request[2]) != nil, text.last.map({ $0.isNumber }) == true else { return [] }
            if word == "GET" {
                let offset = min(Int(request[2]) ?? 0, fileSize)
                var data = Array(String(fileSize).utf8)
                data += (offset..<fileSize).map { UInt8(truncatingIfNeeded: $0 &* 31) }
                return [.log("peer: \(request[0]) downloads \"\(request[1])\" from offset \(offset)"), .send(connection: connection, bytes: data),
                        .close(connection: connection)]
            }
            receiving.insert(connection)
            return [.log("peer: \(request[0]) pushes \"\(request[1])\" (\(request[2]) bytes)"), .send(connection: connection, bytes: Array("0".utf8))]
        }
        if text.count > 2048 { return [.log("peer: unrecognised request"), .close(connection: connection)] }
        return []
    }
}
