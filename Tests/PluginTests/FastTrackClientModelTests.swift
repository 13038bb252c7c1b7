import PluginAPI
import Simulators
import XCTest

/// The simulated FastTrack client's behaviour, without any network: what it does when told
/// what happened.
final class FastTrackClientModelTests: XCTestCase {
    let t0 = Timestamp(seconds: 1_000_000)
    let peers = (1...5).map { Endpoint(IPAddress(203, 0, 113, UInt8($0)), UInt16(2000 + $0)) }
    let hidden = [Endpoint(IPAddress(198, 51, 100, 9), 3000)]

    private func client(_ configure: (inout FastTrackClient.Configuration) -> Void = { _ in }) -> FastTrackClient {
        var configuration = FastTrackClient.Configuration()
        configuration.listenPort = 2949
        configuration.peers = peers
        configuration.hiddenPeers = hidden
        configuration.parallelConnections = 2
        configure(&configuration)
        return FastTrackClient(configuration)
    }

    private func datagrams(_ actions: [FastTrackClient.Action]) -> [(Endpoint, [UInt8])] {
        actions.compactMap { if case let .datagram(to, payload) = $0 { return (to, payload) } else { return nil } }
    }

    private func connects(_ actions: [FastTrackClient.Action]) -> [(Int, Endpoint)] {
        actions.compactMap { if case let .connect(id, to, _) = $0 { return (id, to) } else { return nil } }
    }

    func testStartUpPingsTheWholeListInABurst() {
        var c = client()
        _ = c.start(at: t0)
        let pings = datagrams(c.runTimers(at: t0 + Seconds(1)))
        XCTAssertEqual(pings.map(\.0), peers)
        XCTAssertTrue(pings.allSatisfy { $0.1 == [0x27, 0, 0, 0, 0x29, 0x80] + Array("KaZaA".utf8) + [0] })
        XCTAssertEqual(c.mode, .discovery)
    }

    func testASupernodePongGetsAConnectionWithTheTwelveByteOpening() {
        var c = client()
        _ = c.start(at: t0)
        _ = c.runTimers(at: t0 + Seconds(0.1))
        let actions = c.handle(.datagram(from: peers[2], payload: FastTrackWire.supernodePong(network: "KaZaA")), at: t0 + Seconds(0.2))
        let connect = connects(actions)
        XCTAssertEqual(connect.map(\.1), [peers[2]])
        let opening = c.handle(.connected(id: connect[0].0), at: t0 + Seconds(0.3))
        guard case let .send(_, bytes)? = opening.first else { return XCTFail("no opening") }
        XCTAssertEqual(bytes.count, 12)
        _ = c.handle(.received(id: connect[0].0, bytes: [1, 2, 3, 4, 5, 6, 7, 8]), at: t0 + Seconds(0.4))
        XCTAssertEqual(c.mode, .session)
    }

    func testPlainPongsKeepItInUDPModeAndItPingsAgain() {
        var c = client { $0.repingInterval = Seconds(60) }
        _ = c.start(at: t0)
        _ = c.runTimers(at: t0 + Seconds(0.1))
        for peer in peers { XCTAssertTrue(c.handle(.datagram(from: peer, payload: FastTrackWire.pong(id: 7)), at: t0 + Seconds(0.2)).isEmpty) }
        XCTAssertTrue(connects(c.runTimers(at: t0 + Seconds(16))).isEmpty)
        XCTAssertEqual(c.mode, .udpOnly)
        XCTAssertTrue(datagrams(c.runTimers(at: t0 + Seconds(74))).isEmpty)
        XCTAssertEqual(datagrams(c.runTimers(at: t0 + Seconds(76))).count, peers.count, "the list is pinged again a minute later")
    }

    func testAFlaggedPongGetsTheUDPFollowUp() {
        var c = client()
        _ = c.start(at: t0)
        let pong = FastTrackWire.pong(id: 0xDEAD_BEEF, flaggedWith: peers[0])
        XCTAssertEqual(pong.count, 21)
        let follow = datagrams(c.handle(.datagram(from: peers[0], payload: pong), at: t0))
        XCTAssertEqual(follow.map(\.1), [[0x2A, 0xDE, 0xAD, 0xBE, 0xEF]])
    }

    func testSilenceLeadsToParallelThenSerialConnections() {
        var c = client()
        _ = c.start(at: t0)
        _ = c.runTimers(at: t0 + Seconds(1))
        let parallel = connects(c.runTimers(at: t0 + Seconds(15)))
        XCTAssertEqual(c.mode, .parallelTCP)
        XCTAssertEqual(parallel.map(\.1), Array(peers.prefix(2)))
        // Each failure brings the next address, the never-pinged one included.
        var tried = parallel.map(\.1)
        var pending = parallel.map(\.0)
        var guardCount = 0
        while let id = pending.first, c.mode == .parallelTCP, guardCount < 20 {
            guardCount += 1
            pending.removeFirst()
            let next = connects(c.handle(.connectFailed(id: id), at: t0 + Seconds(40)))
            tried += next.map(\.1)
            pending += next.map(\.0)
        }
        XCTAssertEqual(Array(tried.prefix(6)), peers + hidden)
        XCTAssertEqual(c.mode, .serialTCP)
        XCTAssertEqual(pending.count, 1, "one connection at a time")
    }

    func testWithUDPDisabledItGoesStraightToTCP() {
        var c = client { $0.udpEnabled = false }
        let actions = c.start(at: t0)
        XCTAssertTrue(datagrams(actions).isEmpty)
        XCTAssertEqual(connects(actions).count, 2)
    }

    func testItAnswersEveryPingUntilItQuits() {
        var c = client()
        _ = c.start(at: t0)
        let gateway = Endpoint(IPAddress(192, 168, 1, 1), 1214)
        let answer = datagrams(c.handle(.datagram(from: gateway, payload: FastTrackWire.ping(network: "KaZaA")), at: t0))
        XCTAssertEqual(answer.map(\.0), [gateway])
        XCTAssertEqual(answer.first?.1.count, 13)
        XCTAssertEqual(answer.first?.1.first, 0x29)
        _ = c.stop(at: t0 + Seconds(1))
        XCTAssertTrue(c.handle(.datagram(from: gateway, payload: FastTrackWire.ping(network: "KaZaA")), at: t0 + Seconds(2)).isEmpty)
        XCTAssertNil(c.nextDeadline)
    }

    func testDownloadsAndPushesCarryKazaaHeaders() {
        let hash = [UInt8](repeating: 0xAB, count: 20)
        var c = client { c in
            c.downloads = [FastTrackClient.Download(after: Seconds(2), peer: self.peers[0], hash: hash, title: "Song")]
            c.pushes = [FastTrackClient.Push(after: Seconds(3), requester: self.peers[1], pushID: 99)]
        }
        _ = c.start(at: t0)
        let download = connects(c.runTimers(at: t0 + Seconds(2))).first { $0.1 == peers[0] }
        guard let download, case let .send(_, request)? = c.handle(.connected(id: download.0), at: t0 + Seconds(2.1)).first else {
            return XCTFail("no download")
        }
        let text = String(decoding: request, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("GET /.hash=" + String(repeating: "ab", count: 20) + " HTTP/1.1\r\n"))
        for header in ["UserAgent: KazaaClient", "X-Kazaa-Network: KaZaA", "X-Kazaa-Username: defaultuser", "Range: bytes=0-262143"] {
            XCTAssertTrue(text.contains("\r\n" + header), header)
        }
        let push = connects(c.runTimers(at: t0 + Seconds(3))).first { $0.1 == peers[1] }
        guard let push, case let .send(_, give)? = c.handle(.connected(id: push.0), at: t0 + Seconds(3.1)).first else {
            return XCTFail("no push")
        }
        XCTAssertEqual(give, Array("GIVE 99\r\n".utf8))
        let served = c.handle(.received(id: push.0, bytes: Array("GET /.hash=00 HTTP/1.1\r\nHost: x\r\n\r\n".utf8)), at: t0 + Seconds(3.2))
        guard case let .send(_, reply)? = served.first else { return XCTFail("the push is not served") }
        XCTAssertTrue(String(decoding: reply.prefix(200), as: UTF8.self).hasPrefix("HTTP/1.1 206 Partial Content\r\n"))
    }
}
