import Host
import NapsterPlugin
import PacketKit
import PluginAPI
import Simulators
import XCTest

/// The Napster plugin through the real engine: openings, learning from server messages, peer
/// connections, what must not match, and hostile input.
final class NapsterDetectorTests: XCTestCase {
    typealias W = NapsterWire

    static let client = IPAddress(192, 168, 1, 10)
    static let server = Endpoint(IPAddress(198, 51, 100, 20), 8888)
    static let uploader = Endpoint(IPAddress(203, 0, 113, 7), 5555)
    static let md5 = "10fe9e623b1962da85eea61df7ac1f69"

    /// A bench with a logged-in client on `server`; the login's verdicts are checked elsewhere.
    private func loggedIn(_ bench: ProtocolBench, port: UInt16 = 40_002, server: Endpoint = server) -> BenchConnection {
        let session = bench.connection(from: Endpoint(Self.client, port), to: server)
        session.open()
        session.send(W.login(nick: "lefty", password: "badpass", dataPort: 6699), from: .client)
        session.send(W.message(.loginAck, "lefty@example.net"), from: .server)
        return session
    }

    private func ack(_ address: IPAddress, _ port: UInt16, type: W.MessageType = .downloadAck) -> [UInt8] {
        W.downloadAck(type, nick: "mred", address: address, port: port, file: "C:\\mp3\\song.mp3", md5: Self.md5)
    }

    // MARK: The signature file

    func testShippedSignatureFileBuildsThePlugin() throws {
        let set = try XCTUnwrap(ProtocolBench.shipped["napster"])
        for id in ["napster.login", "napster.login.new-user", "napster.nick-check", "napster.server.reply", "napster.metaserver",
                   "napster.server.download-ack", "napster.server.firewalled-download-ack", "napster.server.browse-accept",
                   "napster.server.browse-request", "napster.server.resume-result", "napster.server.redirect",
                   "napster.server.search-result", "napster.peer.download", "napster.peer.upload", "napster.peer.browse"] {
            XCTAssertEqual(set.signature(id)?.enabled, true, id)
            XCTAssertEqual(set.signature(id)?.action, .drop, id)
        }
        XCTAssertNoThrow(try NapsterDetector(signatures: set, settings: DetectorSettings()))
        XCTAssertEqual(NapsterDetector.descriptor.id, "napster")
        XCTAssertEqual(NapsterDetector.descriptor.transports, [.tcp])
    }

    func testUnknownParametersAndSignaturesAreRejected() throws {
        let set = try XCTUnwrap(ProtocolBench.shipped["napster"])
        var parameters = set.parameters
        parameters["lock-secs"] = SignatureParameter(name: "lock-secs", value: "5", line: 9)
        let badParameter = SignatureSet(detector: set.detector, revision: set.revision, file: set.file, signatures: set.signatures,
                                        parameters: parameters)
        XCTAssertThrowsError(try NapsterDetector(signatures: badParameter, settings: DetectorSettings())) { error in
            XCTAssertEqual((error as? SignatureParameterError)?.line, 9)
        }
        let typo = Signature(id: "napster.logn", transport: .tcp, direction: .toServer, action: .drop, enabled: true,
                             elements: [.ports(PortSet([0...65535]), side: .responder)], line: 77)
        let badSignature = SignatureSet(detector: set.detector, revision: set.revision, file: set.file,
                                        signatures: set.signatures + [typo], parameters: set.parameters)
        XCTAssertThrowsError(try NapsterDetector(signatures: badSignature, settings: DetectorSettings())) { error in
            XCTAssertEqual((error as? SignatureParameterError)?.line, 77)
        }
        var negative = set.parameters
        negative["learn-seconds"] = SignatureParameter(name: "learn-seconds", value: "-1", line: 3)
        XCTAssertThrowsError(try NapsterDetector(signatures: SignatureSet(detector: set.detector, revision: set.revision, file: set.file,
                                                                          signatures: set.signatures, parameters: negative),
                                                 settings: DetectorSettings()))
    }

    // MARK: Client to server

    func testLoginIsRecognisedDroppedAndLocksTheClient() throws {
        let bench = try ProtocolBench()
        let session = bench.connection(from: Endpoint(Self.client, 40_002), to: Self.server)
        XCTAssertEqual(session.open(), [.accept, .accept, .accept])
        XCTAssertEqual(session.send(W.login(nick: "lefty", password: "badpass", dataPort: 6699, client: "nap v0.8", link: 3), from: .client), [.drop])
        let alert = try XCTUnwrap(bench.alerts.first)
        XCTAssertEqual(alert.signature, "napster.login")
        XCTAssertEqual(alert.plugin, "napster")
        XCTAssertEqual(alert.facts, [Fact("data-port", "6699"), Fact("client", "nap v0.8")])
        XCTAssertEqual(bench.locks.map(\.client), [Self.client])
        XCTAssertEqual(bench.locks.first?.reason, "napster.login")
        XCTAssertEqual(bench.locks.first?.until, alert.timestamp + Seconds(120))
        // The connection stays dropped, and a new connection from the locked client is refused.
        XCTAssertEqual(session.send(W.search("x"), from: .client), [.drop])
        let other = bench.connection(from: Endpoint(Self.client, 40_010), to: Endpoint(IPAddress(198, 51, 100, 99), 443))
        XCTAssertEqual(other.syn(), .drop)
        let flows = bench.finish()
        let flow = try XCTUnwrap(flows.first { $0.destination == Self.server })
        XCTAssertEqual(flow.appProto, "napster")
        XCTAssertEqual(flow.verdict, .drop)
        XCTAssertEqual(flow.reason, "signature:napster.login")
        XCTAssertEqual(flows.first { $0.destination.port == 443 }?.reason, "time-lock")
    }

    func testLoginIsRecognisedOnAnyPort() throws {
        for port: UInt16 in [8888, 7777, 4444, 80, 21, 55_123] {
            let bench = try ProtocolBench()
            let session = bench.connection(from: Endpoint(Self.client, 40_002), to: Endpoint(IPAddress(198, 51, 100, 20), port))
            session.open()
            XCTAssertEqual(session.send(W.login(nick: "u\(port)", password: "p", dataPort: 6699), from: .client), [.drop], "port \(port)")
            XCTAssertEqual(bench.alerts.map(\.signature), ["napster.login"], "port \(port)")
        }
    }

    func testNewUserLoginNickCheckAndAVersionMessageFirstAreRecognised() throws {
        let cases: [(String, [UInt8])] = [
            ("napster.login.new-user", W.newUserLogin(nick: "newbie", password: "s3cret", dataPort: 6699, client: "Napigator 1.3", link: 8,
                                                      email: "newbie@example.org")),
            ("napster.nick-check", W.message(.nickCheck, "newbie")),
            ("napster.login", W.message(rawType: 4, Array("2.0".utf8)) + W.login(nick: "lefty", password: "x", dataPort: 0)),
            ("napster.login", W.message(.login, "lefty pw 6699 \"nap v1.5.4\" 10 1 2")),
        ]
        for (signature, bytes) in cases {
            let bench = try ProtocolBench()
            let session = bench.connection(from: Endpoint(Self.client, 40_002), to: Self.server)
            session.open()
            XCTAssertEqual(session.send(bytes, from: .client).last, .drop, signature)
            XCTAssertEqual(bench.alerts.map(\.signature), [signature])
        }
    }

    func testLoginSplitInsideItsHeaderAndFieldsIsRecognisedWhenComplete() throws {
        let bench = try ProtocolBench()
        let session = bench.connection(from: Endpoint(Self.client, 40_002), to: Self.server)
        session.open()
        let verdicts = session.send(W.login(nick: "lefty", password: "badpass", dataPort: 6699), from: .client, sizes: [1, 2, 10, 100])
        XCTAssertEqual(verdicts, [.accept, .accept, .accept, .drop])
        XCTAssertEqual(bench.alerts.map(\.signature), ["napster.login"])
    }

    func testUnusualLoginIsRecognisedByTheServersAnswer() throws {
        // A link type outside 0...10: the framing holds, the fields do not convince; the ack decides.
        for answer in [W.message(.loginAck, "anon@napster.com"), W.message(.error, "Invalid nickname"), W.message(.nickAvailable, "")] {
            let bench = try ProtocolBench()
            let session = bench.connection(from: Endpoint(Self.client, 40_002), to: Self.server)
            session.open()
            XCTAssertEqual(session.send(W.message(.login, "odd pw 6699 \"strange client\" 77"), from: .client), [.accept])
            XCTAssertEqual(session.send(answer, from: .server), [.drop])
            XCTAssertEqual(bench.alerts.map(\.signature), ["napster.server.reply"])
            XCTAssertEqual(bench.locks.count, 1)
        }
    }

    // MARK: The metaserver

    func testMetaserverAnswerIsRecognisedAndTheServerItNamesIsLearned() throws {
        let bench = try ProtocolBench(catalog: [NapsterDetector.self])
        let lookup = bench.connection(from: Endpoint(Self.client, 40_001), to: Endpoint(IPAddress(198, 51, 100, 5), 8875))
        lookup.open()
        XCTAssertEqual(lookup.send("198.51.100.20:8888\n", from: .server), [.drop])
        XCTAssertEqual(bench.alerts.map(\.signature), ["napster.metaserver"])
        XCTAssertEqual(bench.alerts.first?.facts, [Fact("server", "198.51.100.20:8888")])
        let learn = try XCTUnwrap(bench.learned(Self.server.address, 8888))
        XCTAssertEqual(learn.list, "napster")
        XCTAssertEqual(learn.origin, "napster.metaserver from 192.168.1.10")
        XCTAssertEqual(learn.expires, learn.timestamp + Seconds(86_400))
        // The lock lapses; the connection to the named server is still refused as a learned peer.
        bench.wait(200)
        let session = bench.connection(from: Endpoint(Self.client, 40_002), to: Self.server)
        XCTAssertEqual(session.syn(), .drop)
        let flow = try XCTUnwrap(bench.finish().first { $0.destination == Self.server })
        XCTAssertEqual(flow.reason, "learned-peer")
        XCTAssertEqual(flow.appProto, "napster")
    }

    func testMetaserverLineWithoutNewlineCountsWhenTheServerCloses() throws {
        let bench = try ProtocolBench(catalog: [NapsterDetector.self])
        let lookup = bench.connection(from: Endpoint(Self.client, 40_001), to: Endpoint(IPAddress(198, 51, 100, 5), 8875))
        lookup.open()
        XCTAssertEqual(lookup.send("198.51.100.20:888", from: .server), [.accept])
        XCTAssertEqual(lookup.send("8", from: .server), [.accept])
        XCTAssertEqual(lookup.bench.deliver(lookup.tcp.fin(from: .server)), .drop)
        XCTAssertNotNil(bench.learned(Self.server.address, 8888))
    }

    func testServerBannersOnTheMetaserverPortAreNotAMetaserver() throws {
        for banner in ["220 mail.example.org ESMTP\r\n", "SSH-2.0-OpenSSH_9.2\r\n", "host:99999\n", ":8888\n"] {
            let bench = try ProtocolBench(catalog: [NapsterDetector.self])
            let c = bench.connection(from: Endpoint(Self.client, 40_001), to: Endpoint(IPAddress(198, 51, 100, 5), 8875))
            c.open()
            XCTAssertEqual(c.send(banner, from: .server), [.accept], banner)
            c.close(by: .server)
            XCTAssertTrue(bench.alerts.isEmpty, banner)
        }
    }

    // MARK: Learning from the server

    func testDownloadAckTeachesTheUploaderAndTheTransferOnAnotherPortIsDropped() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        session.send(W.downloadRequest(nick: "mred", file: "C:\\mp3\\song.mp3"), from: .client)
        XCTAssertEqual(session.send(ack(Self.uploader.address, Self.uploader.port), from: .server), [.drop])
        let learn = try XCTUnwrap(bench.learned(Self.uploader.address, 5555))
        XCTAssertEqual(learn.list, "napster")
        XCTAssertEqual(learn.origin, "napster.server.download-ack from 192.168.1.10")
        XCTAssertEqual(learn.expires, learn.timestamp + Seconds(3600))
        XCTAssertEqual(bench.alerts("napster.server.download-ack").first?.facts, [Fact("peer", "203.0.113.7:5555")])
        // Long after the lock, the transfer to the announced peer is still refused.
        bench.wait(300)
        let transfer = bench.connection(from: Endpoint(Self.client, 40_003), to: Self.uploader)
        XCTAssertEqual(transfer.syn(), .drop)
        let flow = try XCTUnwrap(bench.finish().first { $0.destination == Self.uploader })
        XCTAssertEqual(flow.reason, "learned-peer")
        XCTAssertEqual(flow.appProto, "napster")
        // The other ports of that host are not blocked.
        XCTAssertNil(bench.engine.learnedPeer(Endpoint(Self.uploader.address, 80)))
    }

    func testDecimalAddressesAreReadAsLittleEndianOctets() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        session.send(W.message(rawType: 204, Array("lefty 3437166285 6699 \"a.mp3\" \(Self.md5) 3".utf8)), from: .server)
        XCTAssertNotNil(bench.learned(IPAddress(205, 254, 222, 204), 6699))
        XCTAssertEqual(bench.learns.count, 1)
    }

    func testAddressesOfTwoToTheThirtySecondOrMoreAreRejected() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        for number in ["4294967296", "4877911892", "99999999999", "18446744073709551617"] {
            session.send(W.message(rawType: 204, Array("lefty \(number) 6699 \"a.mp3\" \(Self.md5) 3".utf8)), from: .server)
        }
        XCTAssertEqual(bench.learns, [])
    }

    func testFirewalledDownloadAckTeachesTheDownloaderThePusherConnectsTo() throws {
        let bench = try ProtocolBench()
        let downloader = Endpoint(IPAddress(203, 0, 113, 30), 6699)
        let session = loggedIn(bench)
        XCTAssertEqual(session.send(ack(downloader.address, downloader.port, type: .firewalledDownloadAck), from: .server), [.drop])
        XCTAssertEqual(bench.learned(downloader.address, 6699)?.origin, "napster.server.firewalled-download-ack from 192.168.1.10")
    }

    func testDownloadAckWithPortZeroTeachesTheWholeAddressAndItsIncomingPushIsDropped() throws {
        let bench = try ProtocolBench()
        let hidden = IPAddress(203, 0, 113, 40)
        let session = loggedIn(bench)
        session.send(ack(hidden, 0), from: .server)
        XCTAssertNotNil(bench.learned(hidden, nil))
        bench.wait(300)
        let push = bench.connection(from: Endpoint(hidden, 3312), to: Endpoint(Self.client, 6699))
        XCTAssertEqual(push.syn(), .drop)
        XCTAssertEqual(bench.finish().first { $0.source.address == hidden }?.reason, "learned-peer")
    }

    func testBrowseAcceptBrowseRequestResumeResultAndRedirectAreLearned() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        session.send(W.browseAccept(nick: "sharer", address: IPAddress(203, 0, 113, 50), port: 7000), from: .server)
        session.send(W.message(rawType: 640, Array("browser \(W.decimal(IPAddress(203, 0, 113, 51))) 6699".utf8)), from: .server)
        session.send(W.message(rawType: 640, Array("browser".utf8)), from: .server)  // no address: nothing to learn
        session.send(W.message(rawType: 216, Array("owner \(W.decimal(IPAddress(203, 0, 113, 52))) 6688 song.mp3 \(Self.md5) 4000 3".utf8)),
                     from: .server)
        session.send(W.redirect(server: "198.51.100.22", port: 7777), from: .server)
        session.send(W.redirect(server: "opennap.example.org", port: 7777), from: .server)  // a name: logged, not learned
        XCTAssertEqual(bench.learned(IPAddress(203, 0, 113, 50), 7000)?.origin, "napster.server.browse-accept from 192.168.1.10")
        XCTAssertEqual(bench.learned(IPAddress(203, 0, 113, 51), 6699)?.origin, "napster.server.browse-request from 192.168.1.10")
        XCTAssertEqual(bench.learned(IPAddress(203, 0, 113, 52), 6688)?.origin, "napster.server.resume-result from 192.168.1.10")
        let redirect = try XCTUnwrap(bench.learned(IPAddress(198, 51, 100, 22), 7777))
        XCTAssertEqual(redirect.expires, redirect.timestamp + Seconds(86_400))
        XCTAssertEqual(bench.learns.count, 4)
    }

    func testSearchResultsTeachWholeAddresses() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        var results: [UInt8] = []
        for i in 0..<3 {
            results += W.searchResult(W.SharedFile(file: "C:\\mp3\\track \(i).mp3", md5: Self.md5, size: 1000, seconds: 60,
                                                   nick: "s\(i)", owner: IPAddress(203, 0, 113, UInt8(60 + i)), dataPort: 6699))
        }
        XCTAssertEqual(session.send(results + W.message(.searchEnd, ""), from: .server), [.drop])
        XCTAssertEqual(bench.learns.map(\.address), [IPAddress(203, 0, 113, 60), IPAddress(203, 0, 113, 61), IPAddress(203, 0, 113, 62)])
        XCTAssertEqual(bench.learns.map(\.port), [nil, nil, nil])
        XCTAssertEqual(bench.alerts("napster.server.search-result").count, 1, "one alert for one segment of results")
    }

    func testSharersAlreadyListedAreNotAnnouncedAgain() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        let result = { (i: Int) in
            W.searchResult(W.SharedFile(file: "C:\\mp3\\track \(i).mp3", md5: Self.md5, size: 1000, seconds: 60, nick: "s",
                                        owner: IPAddress(203, 0, 113, 60), dataPort: 6699))
        }
        session.send(result(0) + result(1) + result(2), from: .server)
        XCTAssertEqual(bench.learns.count, 1, "three results from one sharer: one entry")
        XCTAssertEqual(bench.alerts("napster.server.search-result").first?.facts, [Fact("peer", "203.0.113.60")])
        session.send(result(3), from: .server)
        XCTAssertEqual(bench.learns.count, 1)
        XCTAssertEqual(bench.alerts("napster.server.search-result").count, 1, "nothing new: no second alert")
        // Past half its lifetime, the entry is refreshed.
        bench.wait(1900)
        session.send(result(4), from: .server)
        XCTAssertEqual(bench.learns.count, 2)
        XCTAssertEqual(bench.learns.last?.refreshed, true)
    }

    func testSearchResultsAreNotLearnedWhenTheFileSaysSo() throws {
        let bench = try ProtocolBench { sets in
            sets["napster"] = sets["napster"].map { Self.replacing($0, parameter: "learn-search-results", with: "false") }
        }
        let session = loggedIn(bench)
        session.send(W.searchResult(W.SharedFile(file: "a.mp3", md5: Self.md5, size: 1, seconds: 1, nick: "s",
                                                 owner: IPAddress(203, 0, 113, 60), dataPort: 6699)), from: .server)
        XCTAssertEqual(bench.learns, [])
        session.send(ack(Self.uploader.address, Self.uploader.port), from: .server)
        XCTAssertEqual(bench.learns.count, 1)
    }

    func testMessagesSharingSegmentsAndMessagesSplitAcrossThemAreAllRead() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        var stream: [UInt8] = []
        for i in 0..<12 { stream += ack(IPAddress(203, 0, 113, UInt8(100 + i)), UInt16(6000 + i)) }
        // Segments of 1, 3, 7, 50 and then 13 bytes: headers and bodies split everywhere.
        session.send(stream, from: .server, sizes: [1, 3, 7, 50, 13])
        XCTAssertEqual(bench.learns.count, 12)
        for i in 0..<12 { XCTAssertNotNil(bench.learned(IPAddress(203, 0, 113, UInt8(100 + i)), UInt16(6000 + i)), "message \(i)") }
    }

    func testAStrayByteThatBreaksTheFramingLearnsNothingUntilTheNextBoundary() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        session.send([0x00] + ack(Self.uploader.address, Self.uploader.port), from: .server)
        XCTAssertTrue(bench.learns.isEmpty, "the shifted header has an impossible type: the reader is lost")
        session.send(ack(IPAddress(203, 0, 113, 8), 6699), from: .server)
        XCTAssertEqual(bench.learns.map(\.address), [IPAddress(203, 0, 113, 8)])
    }

    func testLaterDownloadAckPastTheStreamCapIsLearned() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        var motd: [UInt8] = []
        for i in 0..<300 { motd += W.message(.motd, "Line \(i) of a long message of the day, padded to be long enough.") }
        session.send(motd, from: .server, sizes: [1448])
        bench.wait(600)
        session.send(ack(Self.uploader.address, Self.uploader.port), from: .server, sizes: [9])
        XCTAssertNotNil(bench.learned(Self.uploader.address, Self.uploader.port))
        XCTAssertGreaterThan(motd.count, 4096 * 4)
    }

    func testOutOfOrderSegmentsBeforeTheCapAreReadInOrder() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        let first = ack(IPAddress(203, 0, 113, 120), 6001)
        let second = ack(IPAddress(203, 0, 113, 121), 6002)
        // The second message arrives first; the first fills the hole.
        bench.deliver(session.segment(second, from: .server, offset: UInt32(first.count)))
        XCTAssertTrue(bench.learns.isEmpty)
        session.send(first, from: .server)
        XCTAssertEqual(bench.learns.map(\.address), [IPAddress(203, 0, 113, 120), IPAddress(203, 0, 113, 121)])
        // A retransmission teaches nothing twice.
        bench.deliver(session.segment(first, from: .server, offset: UInt32(0) &- UInt32(first.count)))
        XCTAssertEqual(bench.learns.count, 2)
    }

    func testAHolePastTheCapIsSkippedAndReadingResumesAtAMessageBoundary() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        var motd: [UInt8] = []
        for i in 0..<80 { motd += W.message(.motd, "Line \(i) of a long message of the day, padded to be long enough.") }
        session.send(motd, from: .server, sizes: [1448])
        // A segment lost before the gateway: half of a 204 that is never seen.
        let lost = ack(IPAddress(203, 0, 113, 130), 6130)
        session.skip(lost.count - 10, from: .server)
        session.send(Array(lost.suffix(10)), from: .server)
        XCTAssertTrue(bench.learns.isEmpty)
        // The next segment starts on a message: reading resumes.
        session.send(ack(IPAddress(203, 0, 113, 131), 6131), from: .server)
        XCTAssertEqual(bench.learns.map(\.address), [IPAddress(203, 0, 113, 131)])
    }

    func testMonitorOnlyDropsNothingButStillLearnsWhatTheServerSaysLater() throws {
        let bench = try ProtocolBench(monitorOnly: true)
        let session = bench.connection(from: Endpoint(Self.client, 40_002), to: Self.server)
        session.open()
        XCTAssertEqual(session.send(W.login(nick: "lefty", password: "badpass", dataPort: 6699), from: .client), [.accept])
        session.send(W.message(.loginAck, "lefty@example.net"), from: .server)
        bench.wait(1800)
        XCTAssertEqual(session.send(ack(Self.uploader.address, Self.uploader.port), from: .server), [.accept])
        XCTAssertNotNil(bench.learned(Self.uploader.address, Self.uploader.port))
        XCTAssertEqual(bench.alerts.map(\.verdict), [.accept, .accept])
        XCTAssertEqual(bench.alerts.map(\.action), [.drop, .drop])
    }

    func testAlertActionLogsWhatWouldBeLearnedButLearnsAndLocksNothing() throws {
        let bench = try ProtocolBench { sets in
            sets["napster"] = sets["napster"].map { Self.replacing($0, action: .alert) }
        }
        let session = loggedIn(bench)
        XCTAssertEqual(session.send(ack(Self.uploader.address, Self.uploader.port), from: .server), [.accept])
        XCTAssertEqual(bench.alerts.map(\.signature), ["napster.login", "napster.server.download-ack"])
        XCTAssertEqual(bench.alerts.last?.facts, [Fact("peer", "203.0.113.7:5555")])
        XCTAssertTrue(bench.learns.isEmpty)
        XCTAssertTrue(bench.locks.isEmpty)
    }

    func testLockTimeComesFromTheFileAndTheDaemonOverridesIt() throws {
        let fromFile = try ProtocolBench { sets in
            sets["napster"] = sets["napster"].map { Self.replacing($0, parameter: "lock-seconds", with: "30") }
        }
        _ = loggedIn(fromFile)
        XCTAssertEqual(fromFile.locks.first.map { $0.until - $0.timestamp }, Seconds(30))
        let overridden = try ProtocolBench(lockSecondsOverride: 0)
        _ = loggedIn(overridden)
        XCTAssertTrue(overridden.locks.isEmpty)
        XCTAssertEqual(overridden.alerts.map(\.signature), ["napster.login"])
    }

    // MARK: Between clients

    func testDownloadWithGetInItsOwnPacketIsRecognisedOnAnyPort() throws {
        for port: UInt16 in [6699, 5555, 80, 41_234] {
            let bench = try ProtocolBench(catalog: [NapsterDetector.self])
            let peer = Endpoint(IPAddress(203, 0, 113, 7), port)
            let transfer = bench.connection(from: Endpoint(Self.client, 40_003), to: peer)
            transfer.open()
            XCTAssertEqual(transfer.send(W.acceptorHello, from: .server), [.accept])
            XCTAssertEqual(transfer.send(W.get, from: .client), [.drop], "port \(port)")
            XCTAssertEqual(bench.alerts.map(\.signature), ["napster.peer.download"])
            XCTAssertEqual(bench.learned(peer.address, port)?.origin, "napster.peer.download from 192.168.1.10")
            XCTAssertEqual(bench.locks.count, 1)
        }
    }

    func testDownloadRequestWithoutTheAcceptorsOneIsRecognisedOnceComplete() throws {
        let bench = try ProtocolBench(catalog: [NapsterDetector.self])
        let transfer = bench.connection(from: Endpoint(Self.client, 40_003), to: Self.uploader)
        transfer.open()
        let request = W.get + W.peerRequest(nick: "lefty", file: "C:\\mp3\\a song.mp3", number: 0)
        XCTAssertEqual(transfer.send(request, from: .client, sizes: [3, 8, 100]), [.accept, .accept, .drop])
        XCTAssertEqual(bench.alerts.map(\.signature), ["napster.peer.download"])
    }

    func testFirewalledPushWithSendAndItsRequestInOnePacketIsRecognised() throws {
        let bench = try ProtocolBench(catalog: [NapsterDetector.self])
        let downloader = Endpoint(IPAddress(203, 0, 113, 30), 6699)
        let push = bench.connection(from: Endpoint(Self.client, 41_002), to: downloader)
        push.open()
        push.send(W.acceptorHello, from: .server)
        XCTAssertEqual(push.send(W.send + W.peerRequest(nick: "walled", file: "D:\\x.mp3", number: 3_007_000), from: .client), [.drop])
        XCTAssertEqual(bench.alerts.map(\.signature), ["napster.peer.upload"])
        XCTAssertNotNil(bench.learned(downloader.address, 6699))
    }

    func testIncomingPushIsRecognisedAndTheWholeAddressOfThePusherLearned() throws {
        let bench = try ProtocolBench(catalog: [NapsterDetector.self])
        let pusher = IPAddress(203, 0, 113, 40)
        let incoming = bench.connection(from: Endpoint(pusher, 3312), to: Endpoint(Self.client, 6699))
        incoming.open()
        incoming.send(W.acceptorHello, from: .server)
        XCTAssertEqual(incoming.send(W.send, from: .client), [.drop])
        XCTAssertNotNil(bench.learned(pusher, nil))
        XCTAssertEqual(bench.locks.map(\.client), [Self.client])
    }

    func testBrowseConnectionsAreRecognised() throws {
        let cases: [(String, [UInt8])] = [("GETLIST", Array("GETLIST".utf8)), ("SENDLIST", Array("SENDLIST lefty\n".utf8))]
        for (name, bytes) in cases {
            let bench = try ProtocolBench(catalog: [NapsterDetector.self])
            let browse = bench.connection(from: Endpoint(Self.client, 42_003), to: Endpoint(IPAddress(203, 0, 113, 50), 7000))
            browse.open()
            browse.send(W.acceptorHello, from: .server)
            XCTAssertEqual(browse.send(bytes, from: .client), [.drop], name)
            XCTAssertEqual(bench.alerts.map(\.signature), ["napster.peer.browse"], name)
        }
    }

    // MARK: What is not Napster

    func testOrdinaryWebTLSMailAndShellAreNotNapster() throws {
        let bench = try ProtocolBench()
        let web = bench.connection(from: Endpoint(Self.client, 50_001), to: Endpoint(IPAddress(93, 184, 216, 34), 80))
        web.open()
        web.send("GET / HTTP/1.1\r\nHost: example.org\r\nUser-Agent: curl/8.5\r\n\r\n", from: .client)
        web.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", from: .server)
        web.close()
        let odd = bench.connection(from: Endpoint(Self.client, 50_002), to: Endpoint(IPAddress(93, 184, 216, 34), 8888))
        odd.open()
        odd.send("GET /index.html HTTP/1.0\r\n\r\n", from: .client)
        odd.send("1", from: .server)
        let tls = bench.connection(from: Endpoint(Self.client, 50_003), to: Endpoint(IPAddress(93, 184, 216, 34), 443))
        tls.open()
        var hello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]
        var random = SimulationRandom(seed: 7)
        hello += random.bytes(505)
        tls.send(hello, from: .client)
        let shortRecord: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0x2E, 0x01, 0x00, 0x00, 0x2A] + random.bytes(46)
        let tls2 = bench.connection(from: Endpoint(Self.client, 50_004), to: Endpoint(IPAddress(93, 184, 216, 35), 443))
        tls2.open()
        tls2.send(shortRecord, from: .client)
        let ssh = bench.connection(from: Endpoint(Self.client, 50_005), to: Endpoint(IPAddress(198, 51, 100, 7), 22))
        ssh.open()
        ssh.send("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", from: .server)
        ssh.send("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", from: .client)
        let smtp = bench.connection(from: Endpoint(Self.client, 50_006), to: Endpoint(IPAddress(198, 51, 100, 8), 25))
        smtp.open()
        smtp.send("220 mail.example.org ESMTP Postfix\r\n", from: .server)
        smtp.send("EHLO client.example.org\r\n", from: .client)
        let dnsOverTCP = bench.connection(from: Endpoint(Self.client, 50_007), to: Endpoint(IPAddress(198, 51, 100, 9), 53))
        dnsOverTCP.open()
        dnsOverTCP.send([0x00, 0x1D, 0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 7] + Array("example".utf8) + [3] + Array("org".utf8)
                        + [0, 0, 1, 0, 1], from: .client)
        XCTAssertEqual(bench.alerts, [])
        XCTAssertEqual(bench.learns, [])
        XCTAssertTrue(bench.finish().allSatisfy { $0.verdict == .accept && $0.appProto == nil })
    }

    // MARK: Hostile input

    func testHostileServerMessagesNeverLearnGarbage() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        func message(_ type: UInt16, _ text: String) -> [UInt8] { W.message(rawType: type, Array(text.utf8)) }
        let decimal = { (a: UInt8, b: UInt8, c: UInt8, d: UInt8) in String(W.decimal(IPAddress(a, b, c, d))) }
        let messages: [[UInt8]] = [
            message(204, "x \(decimal(127, 0, 0, 1)) 6699 \"a\" m 3"),
            message(204, "x \(decimal(224, 0, 0, 1)) 6699 \"a\" m 3"),
            message(204, "x 4294967295 6699 \"a\" m 3"),
            message(204, "x 0 6699 \"a\" m 3"),
            message(204, "x \(decimal(192, 168, 1, 99)) 6699 \"a\" m 3"),
            message(204, "x \(decimal(10, 0, 0, 1)) 6699 \"a\" m 3"),
            message(204, "x \(decimal(169, 254, 0, 1)) 6699 \"a\" m 3"),
            message(204, "x \(decimal(192, 168, 1, 1)) 6699 \"a\" m 3"),  // the gateway
            message(204, "x \(decimal(203, 0, 113, 9)) 65536 \"a\" m 3"),
            message(204, "x \(decimal(203, 0, 113, 9)) 6a99 \"a\" m 3"),
            message(204, "x \(decimal(203, 0, 113, 9)) 6699 a m 3"),  // the file name must be quoted
            message(204, "x \(decimal(203, 0, 113, 9))"),
            message(204, "x +\(decimal(203, 0, 113, 9)) 6699 \"a\" m 3"),
            message(204, "x \(decimal(203, 0, 113, 9)) 6699 \"a\u{7F}\" m 3"),
            message(204, "x \(decimal(203, 0, 113, 9)) 6699 \"unterminated"),
            message(641, "x \(decimal(203, 0, 113, 9)) 6699 extra"),
            message(821, "127.0.0.1 8888"),
            message(821, "203.0.113.9"),
            message(821, "203.0.113.9 8888 extra"),
            message(821, "256.0.113.9 8888"),
            message(201, "\"f\" m 1 2 3 4 n \(decimal(203, 0, 113, 9))"),  // too few fields
            message(201, "f m 1 2 3 4 n \(decimal(203, 0, 113, 9)) 3"),  // unquoted file name
            [],
        ]
        session.send(messages.flatMap { $0 }, from: .server, sizes: [97])
        XCTAssertEqual(bench.learns, [], "\(bench.learns)")
    }

    func testLyingLengthsTruncationAndHugeFieldsNeverCrashOrLearn() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        let body = Array("liar \(W.decimal(IPAddress(203, 0, 113, 93))) 6699 \"y.mp3\" \(Self.md5) 3".utf8)
        // Swallows the next message's header: its body holds control bytes.
        session.send(W.message(rawType: 204, body, claimedLength: UInt16(body.count + 6)) + ack(IPAddress(203, 0, 113, 94), 6699), from: .server)
        // A 65,535-byte body of one quoted field, naming a LAN sharer.
        let name = String(repeating: "B", count: 65_535 - 60)
        let huge = W.message(rawType: 201, Array("\"\(name)\" m 1 2 3 4 n \(W.decimal(IPAddress(10, 1, 1, 1))) 3".utf8))
        session.send(Array(huge.prefix(4 + 65_535)), from: .server, sizes: [1448])
        // A message cut off by the close.
        session.send(Array(ack(IPAddress(203, 0, 113, 92), 6699).prefix(21)), from: .server)
        session.close(by: .server)
        XCTAssertEqual(bench.learns, [])
    }

    func testRandomBytesInEveryRoleNeverCrash() throws {
        var random = SimulationRandom(seed: 0x5EED_4E41)
        for round in 0..<40 {
            let bench = try ProtocolBench()
            let session = loggedIn(bench, port: UInt16(30_000 + round))
            for _ in 0..<20 {
                let size = Int.random(in: 0...300, using: &random)
                var bytes = random.bytes(size)
                // Seed some Napster-looking headers and text into the noise.
                if size > 8 && Bool.random(using: &random) {
                    bytes[2] = [0xCC, 0xF5, 0x81, 0xC9, 0x83, 0x35][Int.random(in: 0..<6, using: &random)]
                    bytes[3] = [0x00, 0x01, 0x02, 0x03][Int.random(in: 0..<4, using: &random)]
                }
                session.send(bytes, from: Bool.random(using: &random) ? .server : .client, sizes: [Int.random(in: 1...64, using: &random)])
            }
            let peer = bench.connection(from: Endpoint(Self.client, UInt16(20_000 + round)), to: Endpoint(IPAddress(203, 0, 113, 7), 5555))
            peer.open()
            peer.send(["G", "S", "1"].map { Array($0.utf8) }[round % 3] + random.bytes(Int.random(in: 0...200, using: &random)),
                      from: round % 2 == 0 ? .client : .server)
            for learn in bench.learns {
                XCTAssertTrue(learn.address.isRoutableUnicast && !Configuration().isLAN(learn.address), "\(learn)")
            }
        }
    }

    // MARK: Helpers

    static func replacing(_ set: SignatureSet, parameter name: String, with value: String) -> SignatureSet {
        var parameters = set.parameters
        parameters[name] = SignatureParameter(name: name, value: value, line: 0)
        return SignatureSet(detector: set.detector, revision: set.revision, file: set.file, signatures: set.signatures, parameters: parameters)
    }

    /// The set with every signature's action replaced.
    static func replacing(_ set: SignatureSet, action: SignatureAction) -> SignatureSet {
        let signatures = set.signatures.map {
            Signature(id: $0.id, transport: $0.transport, direction: $0.direction, action: action, enabled: $0.enabled, summary: $0.summary,
                      elements: $0.elements, exceptions: $0.exceptions, exceptedPorts: $0.exceptedPorts, file: $0.file, line: $0.line)
        }
        return SignatureSet(detector: set.detector, revision: set.revision, file: set.file, signatures: signatures, parameters: set.parameters)
    }
}
