import AudioGalaxyPlugin
import Host
import PacketKit
import PluginAPI
import Simulators
import XCTest

/// The AudioGalaxy plugin through the real engine: the redirector, server connections and their
/// FILE_TRANSFER orders, satellite transfers, FTP on port 21, and hostile input.
final class AudioGalaxyDetectorTests: XCTestCase {
    typealias W = AudioGalaxyWire

    static let client = IPAddress(192, 168, 1, 30)
    static let redirector = Endpoint(IPAddress(198, 51, 100, 60), 21)
    static let main = Endpoint(IPAddress(198, 51, 100, 61), 21)
    static let id: [UInt8] = Array(0..<16)

    private func loggedIn(_ bench: ProtocolBench, port: UInt16 = 40_301) -> BenchConnection {
        let session = bench.connection(from: Endpoint(Self.client, port), to: Self.main)
        session.open()
        session.send(W.login(user: "galaxyfan", password: "hunter2", clientAddress: "192.168.1.30"), from: .client)
        session.send(W.frame(sequence: 0, .sendSharesStandBy), from: .server)
        return session
    }

    private func order(_ address: String, _ port: UInt32, connect: Bool, sequence: UInt32 = 2) -> [UInt8] {
        W.fileTransfer(sequence: sequence, id: Self.id, connect: connect, receive: connect, address: address, port: port, localID: 1,
                       name: "Band - Song.mp3", size: 4_000_000)
    }

    // MARK: The signature file

    func testShippedSignatureFileBuildsThePlugin() throws {
        let set = try XCTUnwrap(ProtocolBench.shipped["audiogalaxy"])
        for id in ["audiogalaxy.login", "audiogalaxy.message", "audiogalaxy.redirect", "audiogalaxy.transfer.request",
                   "audiogalaxy.transfer.accepted", "audiogalaxy.server.file-transfer.connect", "audiogalaxy.server.file-transfer.listen"] {
            XCTAssertEqual(set.signature(id)?.enabled, true, id)
            XCTAssertEqual(set.signature(id)?.action, .drop, id)
        }
        XCTAssertNoThrow(try AudioGalaxyDetector(signatures: set, settings: DetectorSettings()))
        var parameters = set.parameters
        parameters["learn-search-results"] = SignatureParameter(name: "learn-search-results", value: "true", line: 4)
        XCTAssertThrowsError(try AudioGalaxyDetector(
            signatures: SignatureSet(detector: set.detector, revision: set.revision, file: set.file, signatures: set.signatures,
                                     parameters: parameters), settings: DetectorSettings()))
    }

    // MARK: Redirector and server

    func testRedirectorOnPort21IsRecognisedAndTheMainServerLearned() throws {
        let bench = try ProtocolBench()
        let lookup = bench.connection(from: Endpoint(Self.client, 40_300), to: Self.redirector)
        lookup.open()
        // The layout of the captured redirect (mldonkey's notes): 30 bytes for a 12-character address.
        XCTAssertEqual(W.redirect(server: "64.245.59.82", port: 21),
                       [0x45, 0x5F, 0xD0, 0xD5, 0, 0, 0, 0x1A, 0, 0, 0, 1, 0, 0, 0, 0x15, 0, 0x0C] + Array("64.245.59.82".utf8))
        let redirect = W.redirect(server: "198.51.100.61", port: 21)
        XCTAssertEqual(lookup.send(redirect, from: .server), [.drop])
        XCTAssertEqual(bench.alerts.map(\.signature), ["audiogalaxy.redirect"])
        XCTAssertEqual(bench.alerts.first?.facts, [Fact("server", "198.51.100.61:21")])
        let learn = try XCTUnwrap(bench.learned(Self.main.address, 21))
        XCTAssertEqual(learn.list, "audiogalaxy")
        XCTAssertEqual(learn.expires, learn.timestamp + Seconds(86_400))
        bench.wait(300)
        let session = bench.connection(from: Endpoint(Self.client, 40_301), to: Self.main)
        XCTAssertEqual(session.syn(), .drop)
        let flow = try XCTUnwrap(bench.finish().first { $0.destination == Self.main })
        XCTAssertEqual(flow.reason, "learned-peer")
        XCTAssertEqual(flow.appProto, "audiogalaxy")
    }

    func testLoginIsRecognisedOnAnyPortAndLocksTheClient() throws {
        for port: UInt16 in [21, 4000, 41_000] {
            let bench = try ProtocolBench()
            let session = bench.connection(from: Endpoint(Self.client, 40_301), to: Endpoint(Self.main.address, port))
            session.open()
            XCTAssertEqual(session.send(W.login(user: "u", password: "p", clientAddress: "192.168.1.30"), from: .client), [.drop], "\(port)")
            XCTAssertEqual(bench.alerts.map(\.signature), ["audiogalaxy.login"])
            XCTAssertEqual(bench.locks.map(\.client), [Self.client])
            XCTAssertEqual(bench.finish().first?.appProto, "audiogalaxy")
        }
    }

    func testServerSpeakingFirstIsRecognised() throws {
        let bench = try ProtocolBench()
        let session = bench.connection(from: Endpoint(Self.client, 40_301), to: Self.main)
        session.open()
        // 0.606W: the server opens with LOGIN_HASH_PREFIX (55).
        XCTAssertEqual(session.send(W.frame(sequence: 0, type: 55, data: W.string("a1b2c3")), from: .server), [.drop])
        XCTAssertEqual(bench.alerts.map(\.signature), ["audiogalaxy.message"])
        XCTAssertEqual(bench.alerts.first?.facts, [Fact("message", "55")])
    }

    func testFileTransferOrdersTeachTheSatellites() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        XCTAssertEqual(session.send(order("203.0.113.70", 41_009, connect: true), from: .server), [.drop])
        XCTAssertEqual(session.send(order("203.0.113.71", 41_010, connect: false, sequence: 3), from: .server), [.drop])
        let connect = try XCTUnwrap(bench.learned(IPAddress(203, 0, 113, 70), 41_009))
        XCTAssertEqual(connect.origin, "audiogalaxy.server.file-transfer.connect from 192.168.1.30")
        XCTAssertEqual(connect.expires, connect.timestamp + Seconds(3600))
        let listen = try XCTUnwrap(bench.learned(IPAddress(203, 0, 113, 71), nil), "a listen order lists the whole address")
        XCTAssertEqual(listen.origin, "audiogalaxy.server.file-transfer.listen from 192.168.1.30")
        XCTAssertEqual(bench.alerts.map(\.signature), ["audiogalaxy.login", "audiogalaxy.server.file-transfer.connect",
                                                      "audiogalaxy.server.file-transfer.listen"])
        XCTAssertEqual(bench.alerts[1].facts, [Fact("connect", "203.0.113.70:41009")])
        XCTAssertEqual(bench.alerts[2].facts, [Fact("listen", "203.0.113.71")])

        // Long after the lock: the client's connection out, and the satellite's connection in.
        bench.wait(300)
        let out = bench.connection(from: Endpoint(Self.client, 40_302), to: Endpoint(IPAddress(203, 0, 113, 70), 41_009))
        XCTAssertEqual(out.syn(), .drop)
        let inbound = bench.connection(from: Endpoint(IPAddress(203, 0, 113, 71), 3456), to: Endpoint(Self.client, 41_010))
        XCTAssertEqual(inbound.syn(), .drop)
        let flows = bench.finish()
        XCTAssertEqual(flows.first { $0.destination.port == 41_009 }?.reason, "learned-peer")
        XCTAssertEqual(flows.first { $0.destination.port == 41_010 }?.appProto, "audiogalaxy")
    }

    func testOrdersSplitAcrossSegmentsSharingThemAndPastTheStreamCapAreRead() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        var frames: [UInt8] = []
        for i in 0..<6 { frames += order("203.0.113.\(100 + i)", UInt32(41_100 + i), connect: true, sequence: UInt32(2 + i)) }
        session.send(frames, from: .server, sizes: [1, 5, 13, 40])
        XCTAssertEqual(bench.learns.count, 6)
        var states: [UInt8] = []
        for i in 0..<300 { states += W.fileTransferState(sequence: UInt32(10 + i), id: Self.id, state: 3) }
        session.send(states, from: .server, sizes: [1448])
        XCTAssertGreaterThan(states.count, 4096 * 2)
        session.send(order("203.0.113.120", 5190, connect: true, sequence: 400), from: .server, sizes: [7])
        XCTAssertNotNil(bench.learned(IPAddress(203, 0, 113, 120), 5190))
        XCTAssertEqual(bench.learns.count, 7)
    }

    func testAHolePastTheCapIsSkippedUntilTheNextMagic() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        var states: [UInt8] = []
        for i in 0..<300 { states += W.fileTransferState(sequence: UInt32(10 + i), id: Self.id, state: 3) }
        session.send(states, from: .server, sizes: [1448])
        let lost = order("203.0.113.130", 41_130, connect: true)
        session.skip(20, from: .server)
        session.send(Array(lost.dropFirst(20)) + order("203.0.113.131", 41_131, connect: true), from: .server)
        XCTAssertEqual(bench.learns.map(\.address), [IPAddress(203, 0, 113, 131)])
    }

    // MARK: Satellite transfers

    func testTransferOpeningIsRecognisedOnAnyPortFromEitherSide() throws {
        for port: UInt16 in [41_009, 5190, 443] {
            let bench = try ProtocolBench()
            let satellite = Endpoint(IPAddress(203, 0, 113, 72), port)
            let fetch = bench.connection(from: Endpoint(Self.client, 40_303), to: satellite)
            fetch.open()
            let request = W.transferRequest(counter: 2, id: Self.id, size: 2_000_000, offset: 0)
            XCTAssertEqual(request.count, 38)
            XCTAssertEqual(fetch.send(request, from: .client), [.drop], "\(port)")
            XCTAssertEqual(bench.alerts.map(\.signature), ["audiogalaxy.transfer.request"])
            XCTAssertNotNil(bench.learned(satellite.address, port))
        }
        // The sender's OK alone is enough, and an incoming transfer lists the whole address.
        let bench = try ProtocolBench()
        let incoming = bench.connection(from: Endpoint(IPAddress(203, 0, 113, 73), 3456), to: Endpoint(Self.client, 41_010))
        incoming.open()
        let accepted = W.transferAccepted(counter: 7)
        XCTAssertEqual(accepted.count, 16)
        XCTAssertEqual(incoming.send(accepted, from: .server), [.drop])
        XCTAssertEqual(bench.alerts.map(\.signature), ["audiogalaxy.transfer.accepted"])
        XCTAssertNotNil(bench.learned(IPAddress(203, 0, 113, 73), nil))
        XCTAssertEqual(bench.locks.map(\.client), [Self.client])
    }

    // MARK: FTP and other traffic

    func testFTPOnPort21IsNeverFlagged() throws {
        let bench = try ProtocolBench()
        bench.replay(FTPScenarios.session.make())
        XCTAssertEqual(bench.alerts, [])
        XCTAssertEqual(bench.learns, [])
        let flows = bench.finish()
        XCTAssertEqual(flows.count, 2)
        XCTAssertTrue(flows.allSatisfy { $0.verdict == .accept && $0.appProto == nil && $0.droppedPackets == 0 })
    }

    func testFTPBannersAndCommandsOnAnyPortAreNotAudioGalaxy() throws {
        let bench = try ProtocolBench()
        for (index, (banner, command)) in [("220 (vsFTPd 3.0.3)\r\n", "USER ftp\r\n"), ("220-Welcome\r\n", "AUTH TLS\r\n"),
                                           ("E_ not a frame", "")].enumerated() {
            let c = bench.connection(from: Endpoint(Self.client, UInt16(41_000 + index)), to: Endpoint(IPAddress(198, 51, 100, 80), 21))
            c.open()
            c.send(banner, from: .server)
            if !command.isEmpty { c.send(command, from: .client) }
        }
        XCTAssertEqual(bench.alerts, [])
    }

    // MARK: Hostile input

    func testGarbageAddressesAndBadFieldsAreNeverLearned() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        var frames: [UInt8] = []
        for address in ["127.0.0.1", "224.0.0.5", "255.255.255.255", "0.0.0.0", "192.168.1.50", "10.9.9.9", "172.16.0.1", "169.254.1.1",
                        "240.0.0.1", "192.168.1.1", "300.1.2.3", "1.2.3", "1.2.3.4.5", "1.2.3.4x", "1..2.3", " 1.2.3.4", "01234.1.1.1"] {
            frames += order(address, 41_000, connect: true)
            frames += order(address, 41_000, connect: false)
        }
        frames += order("203.0.113.80", 0, connect: true)
        frames += order("203.0.113.80", 70_000, connect: true)
        frames += order("203.0.113.80", 0x1_0000, connect: false)
        var badFlag = order("203.0.113.83", 41_000, connect: true)
        badFlag[14 + 18] = 2
        frames += badFlag
        var badID = order("203.0.113.84", 41_000, connect: true)
        badID[14 + 1] = 0x0F
        frames += badID
        var longAddress = order("203.0.113.85", 41_000, connect: true)
        longAddress[14 + 21] = 16
        frames += longAddress
        let full = order("203.0.113.82", 41_000, connect: true)
        frames += W.frame(sequence: 90, type: 10, data: Array(full[14..<(14 + 36)]))
        session.send(frames, from: .server, sizes: [333])
        XCTAssertEqual(bench.learns, [], "\(bench.learns)")
    }

    func testLyingSizesTruncationAndMagicInsideNamesNeverCrashOrLearn() throws {
        let bench = try ProtocolBench()
        let session = loggedIn(bench)
        // A size smaller than a header, one larger than any frame, one that swallows the next order.
        session.send(W.frame(sequence: 1, type: 10, data: [], claimedSize: 6), from: .server)
        session.send(W.frame(sequence: 2, type: 10, data: [1, 2, 3], claimedSize: 0x7FFF_FFFF), from: .server)
        let name = W.magic + [0, 0, 0, 0x40, 0, 0, 0, 1, 0, 10] + Array("bait".utf8)
        session.send(W.frame(sequence: 3, type: 2, data: W.fileID(Self.id) + W.string(name) + W.u32(1)), from: .server)
        let swallowed = W.frame(sequence: 4, type: 11, data: [0, 0], claimedSize: 10 + 2 + 200)
        session.send(swallowed + order("203.0.113.86", 41_000, connect: true), from: .server)
        // A 900 KB frame of zeros, then an order cut off by the close.
        session.send(W.frame(sequence: 5, type: 9, data: [UInt8](repeating: 0, count: 900_000)), from: .server, sizes: [1448])
        session.send(Array(order("203.0.113.87", 41_000, connect: true).prefix(40)), from: .server)
        session.close(by: .server)
        XCTAssertEqual(bench.learns, [])
    }

    func testRedirectsNamingGarbageAreRecognisedButNothingIsLearned() throws {
        for address in ["127.0.0.1", "10.0.0.1", "0.0.0.0", "224.1.1.1", "255.255.255.255"] {
            let bench = try ProtocolBench()
            let lookup = bench.connection(from: Endpoint(Self.client, 40_300), to: Self.redirector)
            lookup.open()
            lookup.send(W.redirect(server: address, port: 21), from: .server)
            XCTAssertEqual(bench.alerts.map(\.signature), ["audiogalaxy.redirect"], address)
            XCTAssertEqual(bench.learns, [], address)
        }
    }

    func testRandomBytesNeverCrash() throws {
        var random = SimulationRandom(seed: 0xA6A6_0001)
        for round in 0..<40 {
            let bench = try ProtocolBench()
            let session = loggedIn(bench, port: UInt16(30_000 + round))
            for _ in 0..<20 {
                var bytes = random.bytes(Int.random(in: 0...400, using: &random))
                if bytes.count > 20 && Bool.random(using: &random) {
                    bytes.replaceSubrange(0..<4, with: W.magic)
                    bytes[12] = 0
                    bytes[13] = 10
                }
                session.send(bytes, from: Bool.random(using: &random) ? .server : .client, sizes: [Int.random(in: 1...80, using: &random)])
            }
            let other = bench.connection(from: Endpoint(Self.client, UInt16(20_000 + round)), to: Endpoint(IPAddress(203, 0, 113, 9), 41_001))
            other.open()
            other.send(W.magic + random.bytes(Int.random(in: 0...60, using: &random)), from: round % 2 == 0 ? .client : .server)
            for learn in bench.learns {
                XCTAssertTrue(learn.address.isRoutableUnicast && !Configuration().isLAN(learn.address), "\(learn)")
            }
        }
    }
}
