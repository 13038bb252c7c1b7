import EngineTestKit
import Host
import PacketKit
import PluginAPI
import PortBlockPlugin
import XCTest

final class PortBlockDetectorTests: XCTestCase {
    private let client = IPAddress(192, 168, 1, 20)
    private let server = IPAddress(203, 0, 113, 9)

    private func harness(_ configure: (inout Configuration) -> Void = { _ in }) throws -> EngineHarness {
        try EngineHarness(catalog: [PortBlockDetector.self], configure: configure)
    }

    func testDefaultPortsAreBlockedForFlowsAClientStarts() throws {
        let h = try harness()
        let cases: [(Transport, UInt16, String)] = [
            (.tcp, 1214, "portblock.fasttrack"), (.udp, 1214, "portblock.fasttrack"),
            (.tcp, 6699, "portblock.napster.transfer"), (.tcp, 6698, "portblock.napster.transfer"),
            (.tcp, 8875, "portblock.napster.metaserver"),
        ]
        for (i, (transport, port, signature)) in cases.enumerated() {
            let from = Endpoint(client, UInt16(40000 + i)), to = Endpoint(server, port)
            let packet = transport == .tcp
                ? PacketBuilder.tcp(from: from, to: to, flags: [.syn], seq: 1)
                : PacketBuilder.udp(from: from, to: to, payload: [1, 2, 3])
            XCTAssertEqual(h.send(packet).verdict, .drop, "\(transport) \(port)")
            h.advance(by: 0.1)
            XCTAssertEqual(h.events.alerts.last?.signature, signature)
        }
        h.finish()
        for flow in h.events.flows {
            XCTAssertEqual(flow.verdict, .drop)
            XCTAssertEqual(flow.appProto, "portblock")
            XCTAssertTrue(flow.reason?.hasPrefix("signature:portblock.") ?? false)
        }
        XCTAssertEqual(h.events.flows.count, cases.count)
    }

    func testLaterPacketsOfABlockedFlowStayDropped() throws {
        let h = try harness()
        var tcp = TCPConversation(client: Endpoint(client, 40100), server: Endpoint(server, 6699))
        XCTAssertEqual(h.send(tcp.syn()).verdict, .drop)
        XCTAssertEqual(h.send(tcp.syn()).verdict, .drop)  // a retransmitted SYN
        XCTAssertEqual(h.send(tcp.synAck()).verdict, .drop)
        h.finish()
        XCTAssertEqual(h.events.flows.first?.droppedPackets, 3)
        XCTAssertEqual(h.events.alerts.count, 1, "one alert per flow, not one per packet")
    }

    func testAClientWhoseOwnPortIsAListedOneBrowsesFreely() throws {
        let h = try harness()
        var web = TCPConversation(client: Endpoint(client, 1214), server: Endpoint(server, 80))
        var verdicts = h.send(web.handshake())
        verdicts += h.send(web.send(Array("GET / HTTP/1.1\r\nHost: example.org\r\n\r\n".utf8), from: .client))
        verdicts += h.send(web.send(Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8), from: .server))
        XCTAssertEqual(Set(verdicts), [.accept])
        h.finish()
        XCTAssertEqual(h.events.flows.first?.verdict, .accept)
        XCTAssertNil(h.events.flows.first?.appProto)
        XCTAssertTrue(h.events.alerts.isEmpty)
    }

    func testInboundConnectionsToAListedPortAreNotPortBlocked() throws {
        let h = try harness()
        // A WAN host connecting in to a LAN machine's port 6699: not a flow the client started.
        XCTAssertEqual(h.send(PacketBuilder.tcp(from: Endpoint(server, 50000), to: Endpoint(client, 6699), flags: [.syn], seq: 9)).verdict, .accept)
        XCTAssertTrue(h.events.alerts.isEmpty)
    }

    func testAudioGalaxyRangeIsShippedDisabled() throws {
        let h = try harness()
        XCTAssertEqual(h.send(PacketBuilder.tcp(from: Endpoint(client, 40001), to: Endpoint(server, 41500), flags: [.syn], seq: 1)).verdict, .accept)
        XCTAssertTrue(h.events.alerts.isEmpty)
    }

    func testOrdinaryTrafficIsUntouched() throws {
        let h = try harness()
        let dns = PacketBuilder.udp(from: Endpoint(client, 5353), to: Endpoint(IPAddress(198, 51, 100, 53), 53), payload: [0x12, 0x34, 1, 0])
        let https = PacketBuilder.tcp(from: Endpoint(client, 44321), to: Endpoint(server, 443), flags: [.syn], seq: 7)
        XCTAssertEqual(h.send(dns).verdict, .accept)
        XCTAssertEqual(h.send(https).verdict, .accept)
        h.finish()
        XCTAssertEqual(h.events.flows.map(\.verdict), [.accept, .accept])
    }

    func testMonitorOnlyLogsButDropsNothing() throws {
        let h = try harness { $0.monitorOnly = true }
        XCTAssertEqual(h.send(PacketBuilder.tcp(from: Endpoint(client, 40002), to: Endpoint(server, 1214), flags: [.syn], seq: 1)).verdict, .accept)
        XCTAssertEqual(h.events.alerts.first?.action, .drop)
        XCTAssertEqual(h.events.alerts.first?.verdict, .accept)
        h.finish()
        XCTAssertEqual(h.events.flows.first?.droppedPackets, 0)
        XCTAssertEqual(h.engine.statsEvent().wouldDrop, 1)
    }

    func testNeverBlockListWins() throws {
        let h = try harness { $0.neverBlock = [CIDR("192.168.1.20/32")!] }
        XCTAssertEqual(h.send(PacketBuilder.tcp(from: Endpoint(client, 40003), to: Endpoint(server, 1214), flags: [.syn], seq: 1)).verdict, .accept)
        let other = IPAddress(192, 168, 1, 21)
        XCTAssertEqual(h.send(PacketBuilder.tcp(from: Endpoint(other, 40003), to: Endpoint(server, 1214), flags: [.syn], seq: 1)).verdict, .drop)
    }

    func testIPv6FlowsAreJudgedToo() throws {
        let h = try harness()
        let v6client = IPAddress("fd00::20")!, v6server = IPAddress("2001:db8::9")!
        XCTAssertEqual(h.send(PacketBuilder.tcp(from: Endpoint(v6client, 40004), to: Endpoint(v6server, 6699), flags: [.syn], seq: 1)).verdict, .drop)
        XCTAssertEqual(h.send(PacketBuilder.tcp(from: Endpoint(v6client, 40005), to: Endpoint(v6server, 80), flags: [.syn], seq: 1)).verdict, .accept)
    }
}
