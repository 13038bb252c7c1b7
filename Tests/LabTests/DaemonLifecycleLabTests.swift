import Foundation
import Host
import XCTest

/// The daemon's life in the gateway lab: restarts and crashes keep the locks, fail-open keeps
/// traffic flowing while no daemon runs, and a bad signature file sent by SIGHUP changes nothing.
final class DaemonLifecycleLabTests: LabTestCase {
    /// Long enough that no lock runs out during a restart.
    private let longLock = 60

    /// Locks the Kazaa client (one contact with a learned peer) and waits until the lock is in
    /// the state file.
    private func lockKazaa() throws {
        _ = try startSupernodes(seconds: 3)
        let client = try startKazaa(seconds: 2, ["--reping", "600", "--download", "\(Lab.supernodes[2])@0.3", "--connect-timeout", "1"])
        XCTAssertTrue(waitUntil(seconds: 5) { self.isLocked(self.kazaa4) }, "the client was not locked")
        let stateFile = daemon.stateDirectory + "/state.json"
        XCTAssertTrue(waitUntil(seconds: 5) {
            ((try? String(contentsOfFile: stateFile, encoding: .utf8)) ?? "").contains(self.kazaa4)
        }, "the lock never reached the state file")
        client.process.wait(seconds: 5)
    }

    private func assertStillLockedAndListed(_ when: String) throws {
        XCTAssertTrue(isLocked(kazaa4), "the lock was lost \(when)")
        let report = try explain(kazaa4)
        XCTAssertGreaterThan(report.lock?.remainingSeconds ?? 0, Double(longLock) / 2, "the lock lost its time \(when)")
        let peer = try explain("10.99.3.7")
        XCTAssertEqual(peer.learned.map(\.list), ["fasttrack"], "the learned peer was lost \(when)")
        XCTAssertEqual(get(from: Lab.kazaa), .noAnswer, "the locked client loaded a page \(when)")
        XCTAssertEqual(get(from: Lab.browser), .ok(200), "the other client could not load a page \(when)")
    }

    func testRestartedDaemonKeepsTheLocksAndLearnedPeers() throws {
        try startDaemon(lockSeconds: longLock)
        try lockKazaa()
        XCTAssertEqual(daemon.stop(), 0)
        XCTAssertFalse(daemon.rules().contains("PEERWALL"), "rules left after SIGTERM")
        try startDaemon(lockSeconds: longLock)
        try assertStillLockedAndListed("across a restart")
    }

    func testDaemonKilledHardKeepsTheLocksAndStopsTrafficWhileDown() throws {
        try startDaemon(lockSeconds: longLock)
        try lockKazaa()
        daemon.kill()
        XCTAssertTrue(daemon.rules().contains("NFQUEUE"), "a killed daemon's rules are expected to stay")
        XCTAssertEqual(get(from: Lab.browser), .noAnswer, "without fail-open, traffic passed while no daemon ran")
        try startDaemon(lockSeconds: longLock)
        try assertStillLockedAndListed("after kill -9")
    }

    func testFailOpenLetsTrafficThroughWhileTheDaemonIsDown() throws {
        try startDaemon(failOpen: true)
        XCTAssertTrue(daemon.rules().contains("--queue-bypass"), "fail-open rules without --queue-bypass")
        XCTAssertEqual(get(from: Lab.browser), .ok(200))
        daemon.kill()
        XCTAssertEqual(get(from: Lab.browser), .ok(200), "with fail-open, traffic stopped with the daemon")
        XCTAssertEqual(get(from: Lab.browser, Lab.web6), .ok(200), "with fail-open, IPv6 traffic stopped with the daemon")
        // Everything the rules would queue passes unjudged, FastTrack pings included.
        let peers = try startSupernodes(seconds: 3)
        _ = try startKazaa(seconds: 2, ["--reping", "600"])
        XCTAssertEqual(try summary(of: peers, within: 8)["pings_answered"]?.integer, 3, "pings did not pass with no daemon")
    }

    func testBadSignatureFileSentBySIGHUPChangesNothing() throws {
        let signatures = lab.directory + "/signatures-\(getpid())"
        try? FileManager.default.removeItem(atPath: signatures)
        try FileManager.default.copyItem(atPath: LabTestCase.signatures, toPath: signatures)
        defer { try? FileManager.default.removeItem(atPath: signatures) }
        daemon.settings.signatures = signatures
        try startDaemon()
        let before = try daemon.status()

        let file = signatures + "/fasttrack.xml"
        let good = try String(contentsOfFile: file, encoding: .utf8)
        let bad = good.replacingOccurrences(of: "</signatures>", with: "<signature id=\"fasttrack.broken\"></signatures>")
        XCTAssertNotEqual(bad, good)
        try bad.write(toFile: file, atomically: true, encoding: .utf8)
        daemon.hangUp()
        XCTAssertTrue(waitUntil(seconds: 10) { self.daemon.process?.output().contains("reload failed") == true }, "no reload error logged")
        let log = daemon.process?.output() ?? ""
        XCTAssertTrue(log.contains("fasttrack.xml:"), "the error does not name the file and line:\n\(log)")

        let after = try daemon.status()
        XCTAssertEqual(after.reloads, before.reloads, "a bad file was loaded")
        XCTAssertEqual(after.signatureRevisions, before.signatureRevisions)
        XCTAssertTrue(after.lastReloadError?.contains("fasttrack.xml:") == true, "status: \(after.lastReloadError ?? "no error")")

        // The running set still judges: pings dropped and answered with spoofed pongs.
        let peers = try startSupernodes(seconds: 3)
        let client = try startKazaa(seconds: 2, ["--reping", "600"])
        XCTAssertEqual(try summary(of: client, within: 8)["pongs"]?.integer, 3)
        XCTAssertEqual(try summary(of: peers, within: 8)["pings_answered"]?.integer, 0, "a ping got through after the failed reload")

        // The same file made good again is taken: the failed reload was the file's fault.
        try good.write(toFile: file, atomically: true, encoding: .utf8)
        daemon.hangUp()
        XCTAssertTrue(waitUntil(seconds: 10) { ((try? self.daemon.status())?.reloads ?? 0) == before.reloads + 1 }, "a good file was not reloaded")
    }
}
