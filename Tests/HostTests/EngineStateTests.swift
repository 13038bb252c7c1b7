@testable import Host
import PacketKit
import PluginAPI
import XCTest

final class EngineStateTests: XCTestCase {
    typealias S = DaemonTestSupport

    func testRestoredLockKeepsTheClientLockedAndIsSavedAgainUnchanged() throws {
        let (engine, _) = try S.engine()
        let state = EngineState(learned: [S.learned("198.51.100.7", port: 1214, expires: S.start + Seconds(600))],
                                locks: [S.lock("10.0.0.5", until: S.start + Seconds(90), armedAt: S.start - Seconds(30))])
        let outcome = engine.restore(state, at: S.start)
        XCTAssertEqual(outcome, RestoreOutcome(learned: 1, locks: 1, skipped: 0))
        XCTAssertTrue(engine.isLocked(IPAddress("10.0.0.5")!))
        XCTAssertEqual(engine.learnedPeer(Endpoint(IPAddress("198.51.100.7")!, 1214))?.origin, "fasttrack.udp.ping from 10.0.0.5")
        XCTAssertEqual(engine.savedState(), state)
    }

    func testRestoreSkipsExpiredEntriesLearnedLANAddressesAndNeverBlockedClients() throws {
        let (engine, _) = try S.engine { $0.neverBlock = [CIDR("10.0.0.9")!] }
        let state = EngineState(
            learned: [S.learned("198.51.100.7", expires: S.start - Seconds(1)), S.learned("10.1.2.3", expires: S.start + Seconds(60))],
            locks: [S.lock("10.0.0.9", until: S.start + Seconds(60), armedAt: S.start),
                    S.lock("192.0.2.1", until: S.start + Seconds(60), armedAt: S.start)])
        XCTAssertEqual(engine.restore(state, at: S.start), RestoreOutcome(learned: 0, locks: 0, skipped: 4))
        XCTAssertTrue(engine.savedState().isEmpty)
    }

    func testRestoredLockRunsOutAtItsSavedEndAndProbesOnItsOldSchedule() throws {
        let (engine, sink) = try S.engine { $0.gatewayAddresses = [IPAddress("10.0.0.1")!] }
        // Armed 50 s ago with a 120 s lock: the probe is due in 10 s, the end in 70 s.
        engine.restore(EngineState(locks: [S.lock("10.0.0.5", until: S.start + Seconds(70), armedAt: S.start - Seconds(50))]), at: S.start)
        XCTAssertTrue(engine.advance(to: S.start + Seconds(9)).isEmpty)
        let probes = engine.advance(to: S.start + Seconds(11))
        XCTAssertEqual(probes.map(\.destination), [Endpoint(IPAddress("10.0.0.5")!, 1214)])
        XCTAssertEqual(probes.first?.source.address, IPAddress("10.0.0.1"))
        _ = engine.advance(to: S.start + Seconds(71))
        XCTAssertFalse(engine.isLocked(IPAddress("10.0.0.5")!))
        XCTAssertEqual(sink.unlocks.map(\.reason), ["expired"])
    }

    func testAcceptedFlowNoPluginWantsIsSettledButADroppedOneNeverIs() throws {
        let (engine, _) = try S.engine()
        let client = Endpoint(IPAddress("10.0.0.5")!, 40000)
        // The port-block plugin looks at a flow's first packet only.
        let plain = PacketBuilder.udp(from: client, to: Endpoint(IPAddress("198.51.100.7")!, 5000), payload: [1, 2, 3])
        let decision = plain.withUnsafeBytes { engine.process($0, at: S.start) }
        XCTAssertEqual(decision.verdict, .accept)
        XCTAssertTrue(decision.flowSettled)
        let blocked = PacketBuilder.udp(from: client, to: Endpoint(IPAddress("198.51.100.7")!, 1214), payload: [0x27, 0, 0, 0])
        for i in 0..<3 {
            let d = blocked.withUnsafeBytes { engine.process($0, at: S.start + Seconds(i)) }
            XCTAssertEqual(d.verdict, .drop)
            XCTAssertFalse(d.flowSettled)
        }
    }

    func testMonitorOnlyNeverSettlesAFlowAPluginWantedDropped() throws {
        let (engine, _) = try S.engine { $0.monitorOnly = true }
        let packet = PacketBuilder.udp(from: Endpoint(IPAddress("10.0.0.5")!, 40000), to: Endpoint(IPAddress("198.51.100.7")!, 1214),
                                       payload: [0x27, 0, 0, 0])
        let decision = packet.withUnsafeBytes { engine.process($0, at: S.start) }
        XCTAssertEqual(decision.verdict, .accept)
        XCTAssertFalse(decision.flowSettled)
    }
}
