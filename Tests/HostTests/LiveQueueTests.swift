import Foundation
import Host
import XCTest

/// The built `peerwall run` on a real NFQUEUE, in the gateway lab's network namespaces (a LAN
/// client, the gateway, an "Internet" server; see `LabNetwork`), the daemon in the gateway
/// namespace with `--manage-rules`. Needs root; skipped otherwise. Only addresses inside these
/// namespaces are used (10.99.x.x, fd00:99::), and everything is removed afterwards, by name and by pid.
final class LiveQueueTests: XCTestCase {
    private static let client = LabNetwork.Client("lan", host: 2)
    private static let serverHost: UInt8 = 2
    private let server4 = LabNetwork.outside4(LiveQueueTests.serverHost)
    private let server6 = LabNetwork.outside6(LiveQueueTests.serverHost)
    private var network: LabNetwork?
    private var scratch = ""
    private var daemon: LabDaemon?

    private var lan: String { network?.namespace(of: LiveQueueTests.client) ?? "" }
    private var wan: String { network?.outside ?? "" }

    override func setUpWithError() throws {
        if let missing = LabNetwork.missingPrerequisite() { throw XCTSkip("live NFQUEUE test \(missing)") }
        guard FileManager.default.isExecutableFile(atPath: TestPaths.peerwallBinary) else {
            throw XCTSkip("the peerwall binary is not built at \(TestPaths.peerwallBinary) (run swift build first)")
        }
        let network = LabNetwork(base: "pwtest", clients: [LiveQueueTests.client], outsideHosts: [LiveQueueTests.serverHost])
        LabNetwork.removeStale(base: network.base)
        scratch = NSTemporaryDirectory() + network.prefix
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        do {
            try network.build()
        } catch {
            throw XCTSkip("cannot build the test namespaces: \(error)")
        }
        self.network = network
    }

    override func tearDown() {
        if let daemon, daemon.isRunning { daemon.kill() }
        network?.destroy()
        if !scratch.isEmpty { try? FileManager.default.removeItem(atPath: scratch) }
    }

    // MARK: The test

    func testFastTrackPortPingIsDroppedWhileOtherTrafficPassesAndShutdownCleansUp() throws {
        let daemon = try startDaemon(signatures: TestPaths.shippedSignatures, queue: 7)
        let socket = daemon.controlSocket

        // UDP: a FastTrack-style ping to the FastTrack port is dropped, other UDP passes.
        let ping: [UInt8] = [0x27, 0x00, 0x00, 0x00]
        XCTAssertEqual(try udpDelivered(to: server4, port: 1214, payload: ping, count: 5), 0, "FastTrack ping got through")
        XCTAssertEqual(try udpDelivered(to: server4, port: 5000, payload: [1, 2, 3], count: 5), 5, "plain UDP was lost")
        XCTAssertEqual(try udpDelivered(to: server6, port: 1214, payload: ping, count: 3), 0, "IPv6 FastTrack ping got through")
        XCTAssertEqual(try udpDelivered(to: server6, port: 5000, payload: [1, 2, 3], count: 3), 3, "plain IPv6 UDP was lost")

        // TCP: an ordinary connection carries data both ways; one to the FastTrack port never opens.
        XCTAssertTrue(try tcpEcho(to: server4, port: 8080), "plain TCP did not pass")
        XCTAssertTrue(try tcpEcho(to: server6, port: 8080), "plain IPv6 TCP did not pass")
        XCTAssertFalse(try tcpEcho(to: server4, port: 1214), "a TCP connection to the FastTrack port opened")

        let status = try ControlClient.send(.status, socketPath: socket)
        let report = try XCTUnwrap(status.status)
        XCTAssertGreaterThanOrEqual(report.dropped, 8)
        XCTAssertEqual(report.rulesIntact, true)
        XCTAssertEqual(report.queues.map(\.queue), [7])
        XCTAssertEqual(report.queues.first?.verdictErrors, 0)
        XCTAssertGreaterThan(report.queues.first?.settled ?? 0, 0, "no flow was handed back to the kernel")

        // Someone flushes the rules: the daemon puts them back within its check interval.
        _ = CommandRunner.run("ip", ["netns", "exec", try XCTUnwrap(network).gateway, "iptables", "-w", "-t", "mangle", "-F", "FORWARD"])
        XCTAssertTrue(waitUntil(seconds: 12) { daemon.rules().contains("-A FORWARD -s 10.99.1.0/24 -j PEERWALL") },
                      "flushed rules were not put back")
        XCTAssertEqual(try udpDelivered(to: server4, port: 1214, payload: ping, count: 3), 0, "ping got through after the repair")

        // SIGTERM: exit 0, rules gone, state saved.
        let process = try XCTUnwrap(daemon.process)
        process.send(SIGTERM)
        XCTAssertTrue(process.wait(seconds: 15), "the daemon did not stop on SIGTERM")
        XCTAssertEqual(process.exitStatus, 0)
        XCTAssertFalse(daemon.rules().contains("PEERWALL"), "rules left behind:\n\(daemon.rules())")
        XCTAssertTrue(FileManager.default.fileExists(atPath: daemon.stateDirectory + "/state.json"))
        let events = (try? String(contentsOfFile: daemon.eventLog, encoding: .utf8)) ?? ""
        XCTAssertTrue(events.contains(#""reason":"signature:portblock.fasttrack""#), "no dropped flow in the event log")
    }

    func testRejectedConnectionIsRefusedAtOnceByAnInjectedReset() throws {
        // The shipped signature files, with the port-block file's FastTrack entry turned from
        // drop into reject. Every catalog plugin needs its file, so all of them are copied.
        let signatures = scratch + "/signatures"
        try FileManager.default.createDirectory(atPath: signatures, withIntermediateDirectories: true)
        let shipped = try FileManager.default.contentsOfDirectory(atPath: TestPaths.shippedSignatures)
            .filter { $0.hasSuffix(".xml") || $0.hasSuffix(".xsd") }
        XCTAssertTrue(shipped.contains("portblock.xml"))
        for name in shipped {
            var text = try String(contentsOfFile: TestPaths.shippedSignatures + "/" + name, encoding: .utf8)
            if name == "portblock.xml" {
                text = text.replacingOccurrences(of: #"id="portblock.fasttrack" transport="any" direction="any" action="drop""#,
                                                 with: #"id="portblock.fasttrack" transport="any" direction="any" action="reject""#)
                XCTAssertTrue(text.contains(#"action="reject""#), "the shipped port-block file changed shape")
            }
            try text.write(toFile: signatures + "/" + name, atomically: true, encoding: .utf8)
        }
        let socket = try startDaemon(signatures: signatures).controlSocket
        for server in [server4, server6] {
            let client = try NamespaceSocket.open(in: lan, for: server, type: SOCK_STREAM)
            defer { close(client.fd) }
            client.setTimeout(milliseconds: 3000)
            XCTAssertFalse(client.connect(to: server, port: 1214))
            XCTAssertEqual(errno, ECONNREFUSED, "\(server): expected a reset, got \(String(cString: strerror(errno)))")
        }
        // The reset reaches the client inside the daemon's sendto: the counter follows a moment later.
        XCTAssertTrue(waitUntil(seconds: 5) { ((try? ControlClient.send(.status, socketPath: socket))?.status?.injected ?? 0) >= 2 },
                      "fewer than two resets counted as sent")
        XCTAssertEqual(try XCTUnwrap(try ControlClient.send(.status, socketPath: socket).status).injectFailures, 0)
    }

    func testBurstsOfAcceptedAndDroppedPacketsEachKeepTheirOwnVerdict() throws {
        // Bursts make the daemon answer many packets at once (runs of equal verdicts as one batch
        // verdict): every dropped datagram must stay dropped, every accepted one arrive.
        _ = try startDaemon(signatures: TestPaths.shippedSignatures)
        var receivers: [UInt16: NamespaceSocket] = [:]
        defer { for receiver in receivers.values { receiver.close() } }
        for port: UInt16 in [5000, 1214] {
            let receiver = try NamespaceSocket.open(in: wan, for: server4, type: SOCK_DGRAM)
            var size: Int32 = 8 << 20
            setsockopt(receiver.fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
            try receiver.bind(port: port)
            receivers[port] = receiver
        }
        let sender = try NamespaceSocket.open(in: lan, for: server4, type: SOCK_DGRAM)
        defer { sender.close() }
        let groups = 60, perGroup = 10
        for group in 0..<groups {
            for index in 0..<perGroup { try sender.send([UInt8(group), UInt8(index), 1, 2, 3], to: server4, port: 5000) }
            try sender.send([0x27, 0x00, 0x00, 0x00], to: server4, port: 1214)
        }
        func count(_ port: UInt16, expecting: Int) -> Int {
            guard let receiver = receivers[port] else { return -1 }
            receiver.setTimeout(milliseconds: 1500)
            var buffer = [UInt8](repeating: 0, count: 64)
            var received = 0
            for _ in 0..<(expecting + 10) {
                guard buffer.withUnsafeMutableBytes({ recv(receiver.fd, $0.baseAddress, $0.count, 0) }) >= 0 else { break }
                received += 1
            }
            return received
        }
        XCTAssertEqual(count(5000, expecting: groups * perGroup), groups * perGroup, "accepted datagrams were lost")
        XCTAssertEqual(count(1214, expecting: 0), 0, "dropped datagrams got through")
        let status = try XCTUnwrap(try daemon.map { try $0.status() })
        XCTAssertEqual(status.queues.first?.verdictErrors, 0)
        XCTAssertGreaterThanOrEqual(status.queues.first?.dropped ?? 0, UInt64(groups), "fewer drops than dropped datagrams")
    }

    // MARK: The daemon

    /// `peerwall run` on the gateway, the way the lab runs it; waits until it answers.
    private func startDaemon(signatures: String, queue: UInt16 = 0) throws -> LabDaemon {
        var settings = LabDaemon.Settings(signatures: signatures)
        settings.queue = queue
        let daemon = LabDaemon(executable: TestPaths.peerwallBinary, network: try XCTUnwrap(network), directory: scratch, settings: settings)
        self.daemon = daemon
        try daemon.start()
        return daemon
    }

    private func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }

    // MARK: Traffic, from sockets opened inside the namespaces

    /// Sends `count` datagrams from the LAN client and returns how many reached the server.
    private func udpDelivered(to server: String, port: UInt16, payload: [UInt8], count: Int) throws -> Int {
        let receiver = try NamespaceSocket.open(in: wan, for: server, type: SOCK_DGRAM)
        defer { close(receiver.fd) }
        try receiver.bind(port: port)
        let sender = try NamespaceSocket.open(in: lan, for: server, type: SOCK_DGRAM)
        defer { close(sender.fd) }
        for _ in 0..<count {
            try sender.send(payload, to: server, port: port)
            usleep(20_000)
        }
        var delivered = 0
        var buffer = [UInt8](repeating: 0, count: 2048)
        receiver.setTimeout(milliseconds: 700)
        for _ in 0..<count {
            let n = buffer.withUnsafeMutableBytes { recv(receiver.fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { break }
            delivered += 1
        }
        return delivered
    }

    /// Opens a TCP connection from the LAN client, sends a line and reads it back from the server.
    private func tcpEcho(to server: String, port: UInt16) throws -> Bool {
        let listener = try NamespaceSocket.open(in: wan, for: server, type: SOCK_STREAM)
        defer { close(listener.fd) }
        var one: Int32 = 1
        setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        try listener.bind(port: port)
        guard listen(listener.fd, 4) == 0 else { throw Failure("listen: \(String(cString: strerror(errno)))") }
        let client = try NamespaceSocket.open(in: lan, for: server, type: SOCK_STREAM)
        defer { close(client.fd) }
        client.setTimeout(milliseconds: 2000)
        guard client.connect(to: server, port: port) else { return false }
        var poller = pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 2000) == 1 else { return false }
        let accepted = accept(listener.fd, nil, nil)
        guard accepted >= 0 else { return false }
        defer { close(accepted) }
        let message = Array("hello through the gateway\n".utf8)
        _ = message.withUnsafeBytes { send(client.fd, $0.baseAddress, $0.count, 0) }
        var buffer = [UInt8](repeating: 0, count: 256)
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(accepted, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let n = buffer.withUnsafeMutableBytes { recv(accepted, $0.baseAddress, $0.count, 0) }
        return n == message.count && Array(buffer[0..<n]) == message
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
