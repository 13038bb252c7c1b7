import Foundation
import Host
import XCTest

/// Napster and AudioGalaxy clients behind the real daemon, in the gateway lab, next to an FTP
/// session on port 21 (AudioGalaxy's redirector port too) and ordinary browsing.
final class NapsterAudioGalaxyLabTests: LabTestCase {
    override var requiredSimulators: [String] { Lab.fileSharingSimulators }

    func testNapsterDownloadAndAudioGalaxyTransferAreCutOffWhileFTPAndBrowsingGoThrough() throws {
        try startDaemon()
        let servers = try startFileSharingServers(seconds: 30)
        let browsing = browse(from: Lab.browser)
        let napster = track(try lab.startNapsterClient())
        let galaxy = track(try lab.startGalaxyClient())

        XCTAssertEqual(LabFTP.fetch(from: lab.namespace(Lab.browser), server: Lab.ftpServer), .ok(bytes: LabFTP.fileSize), "the FTP session did not go through")
        XCTAssertTrue(napster.process.wait(seconds: 20), "the Napster client did not finish")
        XCTAssertTrue(galaxy.process.wait(seconds: 20), "the AudioGalaxy client did not finish")
        XCTAssertEqual(napster.process.exitStatus, 1, "the Napster session was not cut off:\n\(napster.process.output())")
        XCTAssertEqual(galaxy.process.exitStatus, 1, "the AudioGalaxy session was not cut off:\n\(galaxy.process.output())")
        XCTAssertFalse(napster.process.output().contains("received"), "a Napster download arrived")
        XCTAssertFalse(galaxy.process.output().contains("received"), "an AudioGalaxy transfer arrived")
        XCTAssertFalse(servers.satellite.process.output().contains("10.99.1."), "the satellite heard from the LAN:\n\(servers.satellite.process.output())")
        XCTAssertFalse(servers.napsterPeer.process.output().contains("10.99.1."), "the Napster peer heard from the LAN:\n\(servers.napsterPeer.process.output())")

        let alerts = events("alert")
        let napsterClient = LabNetwork.address4(Lab.napster), galaxyClient = LabNetwork.address4(Lab.audiogalaxy)
        XCTAssertTrue(alerts.contains { $0.client == napsterClient && $0.alert?.signatureID == "napster.login" && $0.alert?.verdict == "dropped" },
                      "the Napster login was not dropped")
        XCTAssertTrue(alerts.contains { $0.client == galaxyClient && $0.alert?.plugin == "audiogalaxy" && $0.alert?.verdict == "dropped" },
                      "the AudioGalaxy plugin dropped nothing")
        XCTAssertFalse(alerts.contains { $0.client == browser4 }, "the FTP or web client raised an alert")
        XCTAssertEqual(LabFTP.fetch(from: lab.namespace(Lab.browser), server: Lab.ftpServer), .ok(bytes: LabFTP.fileSize), "a second FTP session failed")
        browsing.stop()
        XCTAssertGreaterThanOrEqual(browsing.results.count, 4)
        XCTAssertEqual(browsing.results.filter { !$0.result.outcome.isSuccess }.count, 0, "page loads failed")
    }

    func testTheSameSessionsGoThroughWhenTheDaemonOnlyWatches() throws {
        daemon.settings.extraArguments = ["--monitor-only"]
        try startDaemon()
        let servers = try startFileSharingServers(seconds: 30)
        let napster = track(try lab.startNapsterClient())
        let galaxy = track(try lab.startGalaxyClient())
        XCTAssertTrue(napster.process.wait(seconds: 20) && galaxy.process.wait(seconds: 20), "the clients did not finish")
        XCTAssertEqual(napster.process.exitStatus, 0, "the Napster session failed without blocking:\n\(napster.process.output())")
        XCTAssertEqual(galaxy.process.exitStatus, 0, "the AudioGalaxy session failed without blocking:\n\(galaxy.process.output())")
        XCTAssertTrue(napster.process.output().contains("received"))
        XCTAssertTrue(galaxy.process.output().contains("received"))
        // The far ends log who reached them: the enforcing test's "heard nothing" can fail.
        XCTAssertTrue(servers.napsterPeer.process.output().contains(LabNetwork.lanPrefix4), servers.napsterPeer.process.output())
        XCTAssertTrue(servers.satellite.process.output().contains(LabNetwork.lanPrefix4), servers.satellite.process.output())
        // Recognised all the same, the transfers included: what enforcing would have dropped.
        var signatures: Set<String> = []
        XCTAssertTrue(waitUntil(seconds: 5) {
            signatures = Set(self.events("alert").compactMap(\.alert?.signatureID))
            return signatures.isSuperset(of: ["napster.login", "napster.peer.download", "audiogalaxy.transfer.request"])
        }, "recognised: \(signatures.sorted())")
    }
}
