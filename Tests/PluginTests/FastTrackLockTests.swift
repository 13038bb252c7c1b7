import FastTrackPlugin
import Host
import PacketKit
import PluginAPI
import XCTest

/// Contact with learned peers, the time lock, its probes and its expiry.
final class FastTrackLockTests: XCTestCase {
    typealias B = FastTrackBench

    /// A bench where the client has pinged the peer at t=0 and opened a TCP connection to it at t=1.
    private func lockedBench(parameters: [String: String] = [:], lockSecondsOverride: Int? = nil) throws -> FastTrackBench {
        let b = try bench(parameters: parameters, lockSecondsOverride: lockSecondsOverride)
        b.udp(FastTrackBytes.ping(), at: 0)
        b.connect(to: B.peer, at: 1)
        return b
    }

    func testConnectionToALearnedPeerIsDroppedAsFastTrackAndLocksTheClient() throws {
        let b = try bench()
        b.udp(FastTrackBytes.ping(), at: 0)
        XCTAssertEqual(b.connect(to: B.peer, at: 1).verdict, .drop)
        XCTAssertEqual(b.alerts.map(\.signature), ["fasttrack.udp.ping", "fasttrack.learned-peer"])
        let lock = try XCTUnwrap(b.locks.first)
        XCTAssertEqual(b.locks.count, 1)
        XCTAssertEqual(lock.client, B.client)
        XCTAssertEqual(lock.until, B.time(121))
        XCTAssertEqual(lock.reason, "fasttrack.learned-peer")
        XCTAssertFalse(lock.rearmed)
        let tcp = try XCTUnwrap(b.flows().first { $0.transport == .tcp })
        XCTAssertEqual(tcp.appProto, "fasttrack")
        XCTAssertEqual(tcp.verdict, .drop)
        XCTAssertEqual(tcp.reason, "learned-peer")
        XCTAssertEqual(tcp.destination, B.peer)
    }

    func testDatagramToALearnedPeerIsDroppedAndLocksTheClient() throws {
        let b = try bench()
        b.udp(FastTrackBytes.ping(), at: 0)
        // A 0x2A follow-up from another socket of the client: not a ping, but to a learned peer.
        let followUp: [UInt8] = [0x2A, 0xDE, 0xAD, 0xBE, 0xEF]
        XCTAssertEqual(b.udp(followUp, from: Endpoint(B.client, 50_000), at: 2).verdict, .drop)
        XCTAssertEqual(b.alerts.last?.signature, "fasttrack.learned-peer")
        XCTAssertEqual(b.locks.map(\.until), [B.time(122)])
        let flow = try XCTUnwrap(b.flows().first { $0.source.port == 50_000 })
        XCTAssertEqual(flow.appProto, "fasttrack")
        XCTAssertEqual(flow.reason, "learned-peer")
    }

    func testAContactFromAnotherLANClientLocksThatClientToo() throws {
        let b = try bench()
        b.udp(FastTrackBytes.ping(), at: 0)
        XCTAssertEqual(b.connect(from: B.otherClient, to: B.peer, at: 1).verdict, .drop)
        XCTAssertEqual(b.locks.map(\.client), [B.otherClient])
        // That client's listening port is unknown (the peer was learned from someone else's
        // ping), so no probe is sent: its lock simply runs its course.
        b.advance(to: 70)
        XCTAssertTrue(b.probes.isEmpty)
        XCTAssertFalse(b.isLocked(B.client, at: B.time(70)))
    }

    func testLockEndsExactlyAtItsTime() throws {
        let b = try lockedBench()
        let until = B.time(121)
        XCTAssertTrue(b.isLocked(at: Timestamp(microseconds: until.microseconds - 1)))
        XCTAssertFalse(b.isLocked(at: until))
        b.advance(to: 300)
        XCTAssertEqual(b.unlocks.count, 1)
        XCTAssertEqual(b.unlocks.first?.timestamp, until)
        XCTAssertEqual(b.unlocks.first?.reason, "expired")
        XCTAssertEqual(b.unlocks.first?.lockedAt, B.time(1))
    }

    func testEachFurtherAttemptReArmsTheLock() throws {
        let b = try lockedBench()
        XCTAssertEqual(b.connect(to: B.peer, at: 31).verdict, .drop)
        XCTAssertEqual(b.locks.map(\.rearmed), [false, true])
        XCTAssertEqual(b.locks.last?.until, B.time(151))
        XCTAssertTrue(b.isLocked(at: Timestamp(microseconds: B.time(151).microseconds - 1)))
        XCTAssertFalse(b.isLocked(at: B.time(151)))
    }

    func testRepeatedDatagramsOfOneFlowReArmAtMostOnceASecond() throws {
        let b = try bench()
        b.udp(FastTrackBytes.ping(), at: 0)
        let other = Endpoint(B.client, 50_001)
        for t in [1.0, 1.4, 1.9, 2.0, 2.5, 3.1] { b.udp([0xC1, 0, 0, 203, 0, 113, 9], from: other, at: t) }
        XCTAssertEqual(b.locks.map(\.timestamp), [B.time(1), B.time(2), B.time(3.1)])
    }

    func testAPingToALearnedPeerLocksWithACopyOfThatPingAsProbe() throws {
        let b = try bench()
        let ping = FastTrackBytes.ping("Grokster", encryption: 0xA9)
        b.udp(ping, at: 0)
        XCTAssertTrue(b.locks.isEmpty)
        XCTAssertEqual(b.udp(ping, at: 10).verdict, .drop)
        XCTAssertEqual(b.replies.count, 2, "the second ping is answered too")
        XCTAssertEqual(b.locks.map(\.until), [B.time(130)])
        XCTAssertEqual(b.alerts.last?.signature, "fasttrack.learned-peer")
        b.advance(to: 70)
        let probe = try XCTUnwrap(b.probes.first)
        XCTAssertEqual(probe.packet.payload, ping)
        XCTAssertEqual(probe.packet.source, Endpoint(B.gateway, 1214))
        XCTAssertEqual(probe.packet.destination, B.clientEndpoint, "to the port the client pings from")
        XCTAssertEqual(probe.timestamp, B.time(70))
    }

    func testAConnectionLockProbesWithAPingLikeTheOneThatTaughtThePeer() throws {
        let b = try bench()
        b.udp(FastTrackBytes.ping("fileshare"), at: 0)
        b.connect(to: B.peer, at: 1)
        b.advance(to: 61)
        let probe = try XCTUnwrap(b.probes.first)
        XCTAssertEqual(probe.packet.payload, FastTrackBytes.ping("fileshare"))
        XCTAssertEqual(probe.packet.destination, B.clientEndpoint)
        XCTAssertEqual(probe.packet.source, Endpoint(B.gateway, 1214))
    }

    func testProbeGoesOutExactlyAtHalfTheLockTime() throws {
        let b = try lockedBench()
        b.advance(toTime: Timestamp(microseconds: B.time(61).microseconds - 1))
        XCTAssertTrue(b.probes.isEmpty)
        b.advance(to: 61)
        XCTAssertEqual(b.probes.count, 1)
        XCTAssertEqual(b.probes.first?.timestamp, B.time(61))
        b.advance(to: 100)
        XCTAssertEqual(b.probes.count, 1, "one probe per arming")
    }

    func testProbeSourcePortComesFromTheFile() throws {
        let b = try lockedBench(parameters: ["probe-source-port": "3999"])
        b.advance(to: 61)
        XCTAssertEqual(b.probes.first?.packet.source, Endpoint(B.gateway, 3999))
    }

    func testAnAnswerToTheProbeReArmsTheLockAndSilenceLetsItRunOut() throws {
        let b = try lockedBench()
        b.advance(to: 61)
        XCTAssertEqual(b.probes.count, 1)
        // The client answers the gateway with a pong from its listening port.
        let answer = b.udp(FastTrackBytes.pong(), from: B.clientEndpoint, to: Endpoint(B.gateway, 1214), at: 61.2)
        XCTAssertEqual(answer.verdict, .accept, "the answer is addressed to the gateway itself")
        XCTAssertEqual(b.locks.map(\.rearmed), [false, true])
        XCTAssertEqual(b.locks.last?.until, B.time(181.2))
        XCTAssertEqual(b.alerts.last?.facts.first { $0.key == "probe_answer" }?.value, "true")

        // The next probe comes half a lock time after that answer; nothing answers it.
        b.advance(to: 121.2)
        XCTAssertEqual(b.probes.count, 2)
        XCTAssertEqual(b.probes.last?.timestamp, B.time(121.2))
        XCTAssertTrue(b.isLocked(at: B.time(150)))
        XCTAssertTrue(b.isLocked(at: Timestamp(microseconds: B.time(181.2).microseconds - 1)))
        XCTAssertFalse(b.isLocked(at: B.time(181.2)))
        b.advance(to: 200)
        XCTAssertEqual(b.unlocks.map(\.timestamp), [B.time(181.2)])
        XCTAssertEqual(b.probes.count, 2)
    }

    func testASupernodePongAnswersTheProbeToo() throws {
        let b = try lockedBench()
        b.advance(to: 61)
        b.udp(FastTrackBytes.supernodePong(), from: B.clientEndpoint, to: Endpoint(B.gateway, 1214), at: 61.5)
        XCTAssertEqual(b.locks.last?.until, B.time(181.5))
    }

    func testAPongToTheGatewayFromAnUnlockedClientArmsNothing() throws {
        let b = try bench()
        XCTAssertEqual(b.udp(FastTrackBytes.pong(), from: B.clientEndpoint, to: Endpoint(B.gateway, 1214), at: 1).verdict, .accept)
        XCTAssertTrue(b.locks.isEmpty)
        // Nor does it after the lock ran out.
        let c = try lockedBench()
        c.advance(to: 130)
        c.udp(FastTrackBytes.pong(), from: B.clientEndpoint, to: Endpoint(B.gateway, 1214), at: 130)
        XCTAssertEqual(c.locks.count, 1)
    }

    func testWebRequestsDuringTheLockAreRefusedAndAfterItAccepted() throws {
        let b = try lockedBench()
        XCTAssertEqual(b.connect(to: B.webServer, at: 50).verdict, .drop)
        // Another LAN client browses throughout.
        let other = b.exchange(from: B.otherClient, to: B.webServer, request: FastTrackBytes.text("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
                               response: FastTrackBytes.text("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"), at: 51)
        XCTAssertTrue(other.allSatisfy { $0.verdict == .accept })
        let after = b.exchange(to: B.webServer, request: FastTrackBytes.text("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
                               response: FastTrackBytes.text("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"), at: 121)
        XCTAssertTrue(after.allSatisfy { $0.verdict == .accept })
        let web = b.flows().filter { $0.destination == B.webServer }
        XCTAssertEqual(web.count, 3)
        XCTAssertEqual(web.filter { $0.reason == "time-lock" }.map(\.source.address), [B.client])
        XCTAssertEqual(web.filter { $0.verdict == .accept }.count, 2)
        XCTAssertTrue(web.allSatisfy { $0.appProto == nil })
    }

    func testLockSecondsZeroDisablesLocking() throws {
        let b = try lockedBench(parameters: ["lock-seconds": "0"])
        XCTAssertTrue(b.locks.isEmpty)
        XCTAssertEqual(b.alerts.last?.signature, "fasttrack.learned-peer", "the contact is still named and dropped")
        XCTAssertEqual(b.connect(to: B.webServer, at: 2).verdict, .accept)
    }

    func testTheDaemonsLockSecondsOverrideTheFile() throws {
        let b = try lockedBench(lockSecondsOverride: 30)
        XCTAssertEqual(b.locks.first?.until, B.time(31))
        b.advance(to: 16)
        XCTAssertEqual(b.probes.count, 1)
        let off = try lockedBench(lockSecondsOverride: 0)
        XCTAssertTrue(off.locks.isEmpty)
    }

    func testAnAlertOnlyLearnedPeerRuleNamesTheFlowButLocksNoOne() throws {
        let b = try bench(signatures: { list in list.map { $0.id == "fasttrack.learned-peer" ? $0.with(action: .alert) : $0 } })
        b.udp(FastTrackBytes.ping(), at: 0)
        XCTAssertEqual(b.connect(to: B.peer, at: 1).verdict, .drop, "the host still drops flows to learned peers")
        XCTAssertTrue(b.locks.isEmpty)
        XCTAssertEqual(b.flows().first { $0.transport == .tcp }?.appProto, "fasttrack")
    }

    func testLearnedPeersExpireAfterTheirTimeToLive() throws {
        let b = try bench(parameters: ["learn-seconds": "100"])
        b.udp(FastTrackBytes.ping(), at: 0)
        XCTAssertEqual(b.learns.first?.expires, B.time(100))
        XCTAssertEqual(b.connect(to: B.peer, at: 101).verdict, .accept)
        XCTAssertTrue(b.locks.isEmpty)
    }
}
