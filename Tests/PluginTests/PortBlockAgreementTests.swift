import AudioGalaxyPlugin
import Host
import NapsterPlugin
import PacketKit
import PluginAPI
import PortBlockPlugin
import Simulators
import XCTest

/// The port-block plugin and the Napster and AudioGalaxy plugins agree on ports, and a flow is
/// counted once: by the plugin that decided first.
final class PortBlockAgreementTests: XCTestCase {
    static let client = IPAddress(192, 168, 1, 10)

    private func ports(_ set: SignatureSet?, _ id: String) -> PortSet? {
        guard let signature = set?.signature(id) else { return nil }
        for case let .ports(ports, side) in signature.elements where side == .responder { return ports }
        return nil
    }

    func testPortBlockDefaultsCoverTheNapsterAndAudioGalaxyPorts() throws {
        let portblock = ProtocolBench.shipped["portblock"]
        let transfer = try XCTUnwrap(ports(portblock, "portblock.napster.transfer"))
        XCTAssertTrue(transfer.contains(6699) && transfer.contains(6698))
        XCTAssertEqual(portblock?.signature("portblock.napster.transfer")?.enabled, true)
        // The metaserver: the same ports in both files.
        XCTAssertEqual(ports(portblock, "portblock.napster.metaserver"), ports(ProtocolBench.shipped["napster"], "napster.metaserver"))
        // AudioGalaxy transfers: listed, off by default, and covering the captured ports.
        let satellites = try XCTUnwrap(ports(portblock, "portblock.audiogalaxy.transfer"))
        XCTAssertTrue(satellites.contains(41_009) && satellites.contains(41_178))
        XCTAssertEqual(portblock?.signature("portblock.audiogalaxy.transfer")?.enabled, false)
        // The index servers' ports are not port-blocked: the plugins find them on any port.
        for port: UInt16 in [8888, 7777, 21] {
            XCTAssertFalse(portblock?.signatures.contains { $0.enabled && self.ports(portblock, $0.id)?.contains(port) == true } ?? true)
        }
    }

    func testAFlowToALearnedPeerOnAPortBlockPortIsNamedByThePluginThatLearnedItAndAlertedOnce() throws {
        let bench = try ProtocolBench()
        let session = bench.connection(from: Endpoint(Self.client, 40_002), to: Endpoint(IPAddress(198, 51, 100, 20), 8888))
        session.open()
        session.send(NapsterWire.login(nick: "lefty", password: "pw", dataPort: 6699), from: .client)
        session.send(NapsterWire.downloadAck(nick: "mred", address: IPAddress(203, 0, 113, 7), port: 6699, file: "a.mp3", md5: "m"),
                     from: .server)
        let alertsBefore = bench.alerts.count
        let transfer = bench.connection(from: Endpoint(Self.client, 40_003), to: Endpoint(IPAddress(203, 0, 113, 7), 6699))
        XCTAssertEqual(transfer.syn(), .drop)
        XCTAssertEqual(bench.alerts.count, alertsBefore, "no port-block alert for a flow the learned list already names")
        let flow = try XCTUnwrap(bench.finish().first { $0.destination.port == 6699 })
        XCTAssertEqual(flow.appProto, "napster")
        XCTAssertEqual(flow.reason, "learned-peer")
    }

    func testAFlowNapsterIdentifiesOnItsFirstPacketIsNotAlsoPortBlocked() throws {
        // A connection already open when the gateway started: its first packet seen is the request.
        let bench = try ProtocolBench()
        var tcp = TCPConversation(client: Endpoint(Self.client, 40_003), server: Endpoint(IPAddress(203, 0, 113, 8), 6699))
        _ = tcp.handshake()
        let request = NapsterWire.get + NapsterWire.peerRequest(nick: "lefty", file: "C:\\a.mp3", number: 0)
        XCTAssertEqual(bench.deliver(tcp.send(request, from: .client)), [.drop])
        XCTAssertEqual(bench.alerts.map(\.plugin), ["napster"])
        XCTAssertEqual(bench.finish().first?.appProto, "napster")
    }

    func testAnUnknownPeerOnPort6699IsPortBlockedAtItsSYNAndNamedByPortBlock() throws {
        let bench = try ProtocolBench()
        let transfer = bench.connection(from: Endpoint(Self.client, 40_003), to: Endpoint(IPAddress(203, 0, 113, 9), 6699))
        XCTAssertEqual(transfer.syn(), .drop)
        XCTAssertEqual(bench.alerts.map(\.signature), ["portblock.napster.transfer"])
        let flow = try XCTUnwrap(bench.finish().first)
        XCTAssertEqual(flow.appProto, "portblock")
        XCTAssertEqual(flow.reason, "signature:portblock.napster.transfer")
    }

    func testAnAudioGalaxySatelliteOnTheDisabledRangeIsNamedByAudioGalaxyEvenWithTheRangeEnabled() throws {
        let bench = try ProtocolBench { sets in
            guard let set = sets["portblock"] else { return }
            let signatures = set.signatures.map {
                Signature(id: $0.id, transport: $0.transport, direction: $0.direction, action: $0.action, enabled: true, summary: $0.summary,
                          elements: $0.elements, exceptions: $0.exceptions, exceptedPorts: $0.exceptedPorts, file: $0.file, line: $0.line)
            }
            sets["portblock"] = SignatureSet(detector: set.detector, revision: set.revision, file: set.file, signatures: signatures,
                                             parameters: set.parameters)
        }
        let session = bench.connection(from: Endpoint(IPAddress(192, 168, 1, 30), 40_301), to: Endpoint(IPAddress(198, 51, 100, 61), 21))
        session.open()
        session.send(AudioGalaxyWire.login(user: "u", password: "p", clientAddress: "192.168.1.30"), from: .client)
        session.send(AudioGalaxyWire.fileTransfer(sequence: 1, id: Array(0..<16), connect: true, receive: true, address: "203.0.113.70",
                                                  port: 41_009, localID: 1, name: "a.mp3", size: 1), from: .server)
        let satellite = bench.connection(from: Endpoint(IPAddress(192, 168, 1, 30), 40_302), to: Endpoint(IPAddress(203, 0, 113, 70), 41_009))
        XCTAssertEqual(satellite.syn(), .drop)
        XCTAssertFalse(bench.alerts.contains { $0.plugin == "portblock" })
        XCTAssertEqual(bench.finish().first { $0.destination.port == 41_009 }?.appProto, "audiogalaxy")
        // An unknown host on the range is the port-block plugin's.
        let stranger = bench.connection(from: Endpoint(IPAddress(192, 168, 1, 31), 40_303), to: Endpoint(IPAddress(203, 0, 113, 99), 41_500))
        XCTAssertEqual(stranger.syn(), .drop)
        XCTAssertEqual(bench.alerts.last?.signature, "portblock.audiogalaxy.transfer")
    }
}
