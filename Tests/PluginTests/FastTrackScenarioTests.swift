import EngineTestKit
import Host
import PacketKit
import PluginAPI
import Simulators
import XCTest

/// The FastTrack simulator's scenarios, judged by the real engine with every shipped plugin:
/// what the captures hold, and what peerwall makes of them.
final class FastTrackScenarioTests: XCTestCase {
    static let kazaa = IPAddress(192, 168, 1, 20)
    static let browser = IPAddress(192, 168, 1, 30)

    private func replay(_ name: String) throws -> (EngineHarness, [CaptureFrame]) {
        let scenario = try XCTUnwrap(ScenarioCatalog.named(name), name)
        let frames = scenario.make()
        XCTAssertEqual(frames, scenario.make(), "\(name) is deterministic")
        XCTAssertEqual(frames.map(\.time), frames.map(\.time).sorted(), "\(name) is in time order")
        let h = try EngineHarness { $0.gatewayAddresses = [FastTrackNetwork.gatewayAddress] }
        for frame in frames { h.send(frame.packet, at: frame.time) }
        return (h, frames)
    }

    private func udpPayloads(_ frames: [CaptureFrame], from source: IPAddress) -> [[UInt8]] {
        frames.compactMap { frame in
            frame.packet.withUnsafeBytes { bytes -> [UInt8]? in
                guard case .packet(let view) = PacketView.parse(bytes), view.isUDP, view.source == source else { return nil }
                return Array(view.payload)
            }
        }
    }

    func testEveryFastTrackScenarioIsCatalogued() {
        let names = Set(ScenarioCatalog.all.map(\.name))
        for name in ["fasttrack-session", "fasttrack-udp-answered", "fasttrack-udp-silent", "fasttrack-no-udp", "fasttrack-http-split",
                     "fasttrack-http-quoted", "fasttrack-names", "fasttrack-probe", "fasttrack-hostile"] {
            XCTAssertTrue(names.contains(name), name)
        }
    }

    func testSessionLocksTheKazaaClientOnlyWhileItRuns() throws {
        let (h, frames) = try replay("fasttrack-session")
        let pings = udpPayloads(frames, from: Self.kazaa).filter { $0.first == 0x27 }
        XCTAssertEqual(pings.count, 400, "the start-up burst and one re-ping of the whole list")
        XCTAssertTrue(pings.allSatisfy { $0.count == 12 })
        let e = h.events
        XCTAssertEqual(e.learns.filter { !$0.refreshed }.count, 200)
        XCTAssertEqual(e.injections.filter { $0.kind == "reply" }.count, 400)
        XCTAssertEqual(Set(e.locks.map(\.client)), [Self.kazaa])
        XCTAssertFalse(e.injections.filter { $0.kind == "probe" }.isEmpty)
        XCTAssertTrue(e.locks.contains { $0.rearmed && $0.reason.hasPrefix("fasttrack.udp.") }, "a probe answer re-armed the lock")
        XCTAssertEqual(e.unlocks.map(\.client), [Self.kazaa])
        h.finish()
        let web = h.events.flows.filter { $0.destination.port == 80 }
        let kazaaWeb = web.filter { $0.source.address == Self.kazaa }
        XCTAssertEqual(kazaaWeb.map(\.reason), ["time-lock", nil], "refused during the lock, served after it")
        XCTAssertTrue(web.filter { $0.source.address == Self.browser }.allSatisfy { $0.verdict == .accept })
        XCTAssertGreaterThanOrEqual(web.filter { $0.source.address == Self.browser }.count, 8)
        let download = h.events.flows.first { $0.transport == .tcp && $0.source.address == Self.kazaa && $0.destination.port != 80 }
        XCTAssertEqual(download?.appProto, "fasttrack")
        XCTAssertEqual(download?.reason, "learned-peer")
    }

    func testAnsweredClientStaysInUDPModeAndIsHeldByTheLock() throws {
        let (h, frames) = try replay("fasttrack-udp-answered")
        XCTAssertFalse(frames.contains { frame in
            frame.packet.withUnsafeBytes { bytes in
                guard case .packet(let view) = PacketView.parse(bytes) else { return false }
                return view.isConnectionRequest
            }
        }, "a client answered by plain pongs opens no connection")
        XCTAssertGreaterThan(h.events.locks.count, 1)
        XCTAssertTrue(h.events.unlocks.isEmpty, "held for the whole capture")
    }

    func testSilentClientFallsBackToTCPAndEveryAttemptIsRefused() throws {
        let (h, frames) = try replay("fasttrack-udp-silent")
        let syns = frames.filter { frame in
            frame.packet.withUnsafeBytes { bytes in
                guard case .packet(let view) = PacketView.parse(bytes) else { return false }
                return view.isConnectionRequest
            }
        }
        XCTAssertGreaterThan(syns.count, 30)
        XCTAssertGreaterThan(syns.first.map { $0.time - frames[0].time }?.value ?? 0, 14, "TCP only after the discovery timeout")
        h.finish()
        let tcp = h.events.flows.filter { $0.transport == .tcp }
        XCTAssertTrue(tcp.allSatisfy { $0.verdict == .drop })
        XCTAssertTrue(tcp.contains { $0.reason == "learned-peer" })
        XCTAssertTrue(tcp.contains { $0.reason == "time-lock" }, "never-pinged addresses are refused by the lock")
        XCTAssertTrue(h.events.injections.filter { $0.kind == "reply" }.isEmpty == false)
    }

    func testNoUDPClientShowsOpeningsDownloadsAndPushes() throws {
        let (h, _) = try replay("fasttrack-no-udp")
        let signatures = Set(h.events.alerts.map(\.signature))
        XCTAssertTrue(signatures.contains("fasttrack.tcp.session-open"), "\(signatures)")
        XCTAssertTrue(signatures.contains("fasttrack.http.hash-request"), "\(signatures)")
        XCTAssertTrue(signatures.contains("fasttrack.http.give"), "\(signatures)")
        XCTAssertTrue(h.events.learns.contains { $0.origin.contains("via X-Kazaa-SupernodeIP") } || h.events.learns.count >= 2)
    }

    func testSplitHeadsAreAllCaught() throws {
        let (h, _) = try replay("fasttrack-http-split")
        h.finish()
        let flows = h.events.flows.filter { $0.transport == .tcp }
        XCTAssertEqual(flows.count, 7)
        for flow in flows {
            // On port 1214 the port-block plugin, which decides on the SYN, names the flow first.
            XCTAssertEqual(flow.appProto, flow.destination.port == 1214 ? "portblock" : "fasttrack", "\(flow.source) > \(flow.destination)")
            XCTAssertEqual(flow.verdict, .drop)
            XCTAssertTrue(h.events.alerts.contains { $0.signature.hasPrefix("fasttrack.http.") && $0.client == flow.source.address
                && ($0.source == flow.source || $0.destination == flow.source) }, "\(flow.source) > \(flow.destination)")
        }
        XCTAssertTrue(h.events.alerts.contains { $0.signature == "fasttrack.http.give" })
    }

    func testQuotedPageIsAccepted() throws {
        let (h, _) = try replay("fasttrack-http-quoted")
        h.finish()
        XCTAssertTrue(h.events.alerts.isEmpty, "\(h.events.alerts.map(\.signature))")
        XCTAssertTrue(h.events.locks.isEmpty)
        XCTAssertTrue(h.events.flows.allSatisfy { $0.verdict == .accept && $0.appProto == nil })
        XCTAssertEqual(h.events.flows.count, 3)
    }

    func testEveryNetworkNameIsRecognised() throws {
        let (h, _) = try replay("fasttrack-names")
        let networks = Set(h.events.alerts.compactMap { $0.facts.first { $0.key == "network" }?.value })
        XCTAssertEqual(networks, ["Grokster", "fileshare", "MusicCity", "KaZaA"])
        XCTAssertEqual(Set(h.events.alerts.map(\.client)).count, 4)
        XCTAssertEqual(h.events.learns.count, 40)
        XCTAssertTrue(h.events.locks.isEmpty)
    }

    func testProbeAnswersKeepTheLockUntilTheClientQuits() throws {
        let (h, _) = try replay("fasttrack-probe")
        let e = h.events
        let probes = e.injections.filter { $0.kind == "probe" }
        XCTAssertEqual(probes.count, 3, "two answered, the last one not")
        XCTAssertEqual(e.locks.filter { $0.reason == "fasttrack.udp.pong" }.count, 2, "each answer re-armed the lock")
        let unlock = try XCTUnwrap(e.unlocks.first)
        XCTAssertEqual(unlock.client, Self.kazaa)
        let lastAnswer = try XCTUnwrap(e.locks.last)
        XCTAssertEqual(lastAnswer.reason, "fasttrack.udp.pong")
        XCTAssertEqual(unlock.timestamp, lastAnswer.timestamp + Seconds(120), "the lock ran out a lock time after the last answer")
        h.finish()
        let web = h.events.flows.filter { $0.source.address == Self.kazaa && $0.destination.port == 80 }
        XCTAssertEqual(web.map(\.reason), ["time-lock", nil])
    }

    func testHostileTrafficLocksNoOne() throws {
        let (h, _) = try replay("fasttrack-hostile")
        XCTAssertTrue(h.events.locks.isEmpty)
        XCTAssertTrue(h.events.learns.isEmpty)
        XCTAssertTrue(h.events.alerts.allSatisfy { !$0.signature.hasPrefix("fasttrack.") }, "\(h.events.alerts.map(\.signature))")
    }
}
