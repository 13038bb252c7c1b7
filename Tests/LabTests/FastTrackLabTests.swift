import Foundation
import Host
import XCTest

/// The simulated Kazaa client behind the real daemon, in the gateway lab: discovery, learned
/// peers, the time lock and its probes, and the ordinary client next to it.
final class FastTrackLabTests: LabTestCase {
    private var lock: Double { Double(LabTestCase.lockSeconds) }
    /// Learned from the first pings, on a port no port rule covers: what drops a connection
    /// to it can only be the learned list.
    private let unusualPeer = Lab.supernodes[2]

    func testPingsAreDroppedAndTheClientReceivesSpoofedPongs() throws {
        try startDaemon()
        let peers = try startSupernodes(seconds: 4)
        let client = try startKazaa(seconds: 3, ["--reping", "600", "--discovery-timeout", "2"])
        let clientSummary = try summary(of: client, within: 10)
        let peerSummary = try summary(of: peers, within: 10)

        XCTAssertEqual(clientSummary["pings_sent"]?.integer, 3)
        XCTAssertEqual(peerSummary["pings_answered"]?.integer, 0, "a ping reached a supernode")
        XCTAssertEqual(clientSummary["pongs"]?.integer, 3, "not one spoofed pong per ping")
        XCTAssertEqual(clientSummary["supernode_pongs"]?.integer, 0)
        let replies = events("inject").filter { $0.kind == "reply" && $0.destinationIP == kazaa4 }
        XCTAssertEqual(Set(replies.map(\.source)), Set(Lab.supernodes), "the pongs did not come as if from the pinged peers")
        let learned = Set(events("learn").map(\.ip))
        XCTAssertEqual(learned, Set(Lab.supernodes.map { String($0.split(separator: ":")[0]) }))
    }

    func testTCPToLearnedPeersIsDropped() throws {
        try startDaemon()
        let peers = try startSupernodes(seconds: 7)
        let client = try startKazaa(seconds: 6, ["--reping", "600", "--download", "\(Lab.supernodes[0])@2.5", "--connect-timeout", "3"])
        XCTAssertTrue(waitUntil(seconds: 5) { self.events("learn").count >= 3 }, "the supernodes were not learned")

        // Before any contact with a learned peer, a connection to a port nothing listens on is
        // answered by a reset from outside: TCP from this client passes.
        let host = String(unusualPeer.split(separator: ":")[0]), port = UInt16(unusualPeer.split(separator: ":")[1])!
        let probe = try NamespaceSocket.open(in: lab.namespace(Lab.kazaa), for: host, type: SOCK_STREAM)
        XCTAssertEqual(probe.connect(to: host, port: port + 1, milliseconds: 1500), .refused)
        probe.close()
        let socket = try NamespaceSocket.open(in: lab.namespace(Lab.kazaa), for: host, type: SOCK_STREAM)
        XCTAssertEqual(socket.connect(to: host, port: port, milliseconds: 1500), .timedOut, "a connection to a learned peer opened")
        socket.close()

        let clientSummary = try summary(of: client, within: 12)
        let peerSummary = try summary(of: peers, within: 12)
        XCTAssertEqual(clientSummary["tcp_attempts"]?.integer, 1)
        XCTAssertEqual(clientSummary["tcp_connected"]?.integer, 0, "the client's download connected")
        XCTAssertEqual(peerSummary["tcp_accepted"]?.integer, 0, "a supernode accepted a connection")
        let dropped = Set(events("alert").filter { $0.alert?.signatureID == "fasttrack.learned-peer" && $0.proto == "tcp" }.map(\.destination))
        XCTAssertTrue(dropped.isSuperset(of: [unusualPeer, Lab.supernodes[0]]), "learned-peer drops: \(dropped)")
    }

    func testLockedClientLosesTheWebUntilTheLockEndsWhileTheOtherClientBrowsesThroughout() throws {
        try startDaemon()
        let browsing = browse(from: Lab.browser)
        XCTAssertEqual(get(from: Lab.kazaa), .ok(200), "no web before any lock")
        _ = try startSupernodes(seconds: 3)
        // The client contacts a learned peer once, then is gone: nothing answers the probes.
        let client = try startKazaa(seconds: 2, ["--reping", "600", "--download", "\(unusualPeer)@0.5", "--connect-timeout", "1"])
        XCTAssertTrue(waitUntil(seconds: 5) { self.isLocked(self.kazaa4) }, "the client was not locked")
        XCTAssertEqual(get(from: Lab.kazaa), .noAnswer, "a locked client loaded a page")
        XCTAssertEqual(get(from: Lab.kazaa, Lab.web6), .ok(200), "the lock is on the client's IPv4 address only")
        _ = try summary(of: client, within: 6)

        XCTAssertTrue(waitUntil(seconds: 3 * lock + 2) { self.events("unlock").contains { $0.client == self.kazaa4 } }, "the lock did not end")
        XCTAssertEqual(get(from: Lab.kazaa), .ok(200), "the web did not come back after the lock")
        browsing.stop()
        let results = browsing.results
        XCTAssertGreaterThanOrEqual(results.count, 8)
        XCTAssertEqual(results.filter { !$0.result.outcome.isSuccess }.map { "\($0.result.url): \($0.result.outcome)" }, [],
                       "the other client's page loads failed")
    }

    func testAnsweredProbesKeepTheLockAndSilenceEndsIt() throws {
        try startDaemon()
        _ = try startSupernodes(seconds: 25)
        // One contact with a learned peer, then the client only answers the gateway's probes,
        // until it quits at 11 s (it keeps its port open, silently).
        _ = try startKazaa(seconds: 25, ["--reping", "600", "--download", "\(unusualPeer)@0.5", "--connect-timeout", "1", "--quit-after", "11"])
        XCTAssertTrue(waitUntil(seconds: 5) { self.isLocked(self.kazaa4) }, "the client was not locked")
        let locked = Date()

        // Well past two lock times after its last contact, only answered probes can have kept it.
        usleep(useconds_t(max(0, 2.25 * lock + 0.5 - Date().timeIntervalSince(locked)) * 1_000_000))
        XCTAssertTrue(isLocked(kazaa4), "the lock ran out although the client answered its probes")
        let answers = events("alert").filter { $0.client == kazaa4 && $0.alert?.facts?["probe_answer"] == "true" }
        XCTAssertGreaterThanOrEqual(answers.count, 2, "probes answered")
        XCTAssertTrue(events("inject").contains { $0.kind == "probe" && $0.destinationIP == kazaa4 })

        XCTAssertTrue(waitUntil(seconds: 11 + 2 * lock) { self.events("unlock").contains { $0.client == self.kazaa4 } },
                      "the lock did not end once the client stopped answering")
    }
}
