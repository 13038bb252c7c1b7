import Host
import PacketKit
import PluginAPI
import Simulators
import XCTest

/// The Napster, AudioGalaxy and FTP scenarios replayed through the engine with the shipped
/// signatures: what each must teach, drop and let through.
final class SimulatorScenarioTests: XCTestCase {
    private func replay(_ scenario: Scenario, monitorOnly: Bool = false) throws -> (ProtocolBench, [FlowEvent]) {
        let bench = try ProtocolBench(monitorOnly: monitorOnly)
        bench.replay(scenario.make())
        return (bench, bench.finish())
    }

    func testScenariosAreDeterministicAndInTimeOrder() {
        for scenario in NapsterScenarios.all + AudioGalaxyScenarios.all + FTPScenarios.all {
            let frames = scenario.make()
            XCTAssertEqual(frames, scenario.make(), scenario.name)
            XCTAssertFalse(frames.isEmpty, scenario.name)
            XCTAssertEqual(frames.map(\.time), frames.map(\.time).sorted(), scenario.name)
            XCTAssertNotNil(ScenarioCatalog.named(scenario.name), scenario.name)
        }
    }

    func testNapsterSessionTeachesTheServerAndEveryAnnouncedPeerAndDropsTheTransfer() throws {
        let (bench, flows) = try replay(NapsterScenarios.session)
        XCTAssertNotNil(bench.learned(IPAddress(198, 51, 100, 20), 8888), "from the metaserver")
        XCTAssertNotNil(bench.learned(IPAddress(203, 0, 113, 7), 5555), "from the 204, past the 4 KiB stream")
        XCTAssertNotNil(bench.learned(IPAddress(203, 0, 113, 7), nil), "from the search results")
        XCTAssertNotNil(bench.learned(IPAddress(203, 0, 113, 11), 6699), "from the split 641, seconds later")
        for i in 0..<8 where i != 7 { XCTAssertNotNil(bench.learned(IPAddress(203, 0, 113, UInt8(20 + i)), nil)) }
        let transfer = try XCTUnwrap(flows.first { $0.destination == Endpoint(IPAddress(203, 0, 113, 7), 5555) })
        XCTAssertEqual(transfer.verdict, .drop)
        XCTAssertEqual(transfer.reason, "learned-peer")
        XCTAssertEqual(transfer.appProto, "napster")
        XCTAssertEqual(transfer.droppedPackets, transfer.packetsToServer + transfer.packetsToClient)
        let metaserver = try XCTUnwrap(flows.first { $0.destination.port == 8875 })
        XCTAssertEqual(metaserver.appProto, "portblock", "port-block decided first, at the SYN")
        XCTAssertEqual(flows.count, 3)
        XCTAssertTrue(flows.allSatisfy { $0.verdict == .drop })
        XCTAssertEqual(bench.alerts.filter { $0.plugin == "portblock" }.count, 1)
    }

    func testNapsterSessionInMonitorModeLearnsTheSameAndDropsNothing() throws {
        let (enforced, _) = try replay(NapsterScenarios.session)
        let (bench, flows) = try replay(NapsterScenarios.session, monitorOnly: true)
        func entries(_ learns: [LearnEvent]) -> Set<String> { Set(learns.map { "\($0.address)/\($0.port.map(String.init) ?? "*")" }) }
        XCTAssertEqual(entries(bench.learns), entries(enforced.learns))
        XCTAssertGreaterThan(bench.learns.count, 8)
        XCTAssertTrue(flows.allSatisfy { $0.droppedPackets == 0 })
        XCTAssertEqual(bench.alerts("napster.peer.download").count, 1, "the transfer itself is recognised too")
    }

    func testNapsterFirewalledTransfersAreDropped() throws {
        let (bench, flows) = try replay(NapsterScenarios.firewalled)
        XCTAssertNotNil(bench.learned(IPAddress(203, 0, 113, 30), 6699))
        XCTAssertNotNil(bench.learned(IPAddress(203, 0, 113, 40), nil))
        let push = try XCTUnwrap(flows.first { $0.destination == Endpoint(IPAddress(203, 0, 113, 30), 6699) })
        XCTAssertEqual(push.reason, "learned-peer")
        let incoming = try XCTUnwrap(flows.first { $0.source.address == IPAddress(203, 0, 113, 40) })
        XCTAssertEqual(incoming.reason, "learned-peer")
        XCTAssertEqual(incoming.appProto, "napster")
    }

    func testNapsterOnOtherPortsIsRecognisedAndTheRedirectTargetDropped() throws {
        let (bench, flows) = try replay(NapsterScenarios.otherPorts)
        XCTAssertEqual(Set(bench.alerts.map(\.signature)).intersection(["napster.nick-check", "napster.login.new-user"]).count, 2)
        XCTAssertNotNil(bench.learned(IPAddress(198, 51, 100, 22), 7777))
        XCTAssertNotNil(bench.learned(IPAddress(203, 0, 113, 50), 7000))
        XCTAssertEqual(flows.first { $0.destination.port == 7777 }?.reason, "learned-peer")
        XCTAssertEqual(flows.first { $0.destination.port == 7000 }?.reason, "learned-peer")
        XCTAssertTrue(flows.filter { $0.destination.port == 4444 }.allSatisfy { $0.appProto == "napster" && $0.verdict == .drop })
    }

    func testHostileScenariosNeverLearnAnything() throws {
        for scenario in [NapsterScenarios.hostile, AudioGalaxyScenarios.hostile] {
            for monitorOnly in [false, true] {
                let (bench, _) = try replay(scenario, monitorOnly: monitorOnly)
                XCTAssertEqual(bench.learns, [], "\(scenario.name): \(bench.learns)")
            }
        }
        let (bench, flows) = try replay(NapsterScenarios.hostile)
        XCTAssertEqual(bench.alerts("napster.metaserver").count, 4, "recognised, but naming nothing learnable")
        XCTAssertEqual(flows.first { $0.source.address == IPAddress(192, 168, 1, 22) }?.verdict, .accept, "binary noise is not Napster")
        XCTAssertEqual(flows.first { $0.source.address == IPAddress(192, 168, 1, 23) }?.verdict, .accept, "a malformed GET is not Napster")
    }

    func testAudioGalaxySessionTeachesTheServerAndSatellitesAndDropsTheTransfers() throws {
        let (bench, flows) = try replay(AudioGalaxyScenarios.session)
        XCTAssertNotNil(bench.learned(IPAddress(198, 51, 100, 61), 21), "from the redirector")
        XCTAssertNotNil(bench.learned(IPAddress(198, 51, 100, 62), 41_178), "the proxy test")
        XCTAssertNotNil(bench.learned(IPAddress(203, 0, 113, 70), 41_009))
        XCTAssertNotNil(bench.learned(IPAddress(203, 0, 113, 71), nil), "listen: the whole address")
        XCTAssertNotNil(bench.learned(IPAddress(203, 0, 113, 72), 5190), "past the 4 KiB stream")
        for (address, port) in [(IPAddress(203, 0, 113, 70), UInt16(41_009)), (IPAddress(203, 0, 113, 72), 5190)] {
            let flow = try XCTUnwrap(flows.first { $0.destination == Endpoint(address, port) })
            XCTAssertEqual(flow.reason, "learned-peer")
            XCTAssertEqual(flow.appProto, "audiogalaxy")
        }
        let incoming = try XCTUnwrap(flows.first { $0.source.address == IPAddress(203, 0, 113, 71) })
        XCTAssertEqual(incoming.reason, "learned-peer")
        XCTAssertTrue(flows.allSatisfy { $0.verdict == .drop })
        XCTAssertTrue(bench.alerts.allSatisfy { $0.plugin == "audiogalaxy" })
    }

    func testFTPSessionPassesUntouched() throws {
        let (bench, flows) = try replay(FTPScenarios.session)
        XCTAssertEqual(bench.alerts, [])
        XCTAssertTrue(flows.allSatisfy { $0.verdict == .accept })
    }
}
