import Foundation
import Host
import XCTest

/// The built `peerwall run` on a real NFQUEUE: three network namespaces of its own (LAN client,
/// gateway, "Internet" server) joined by veth pairs, the daemon in the gateway namespace with
/// `--manage-rules`. Needs root; skipped otherwise. Only addresses inside these namespaces are
/// used (10.99.x.x, fd00:99::), and everything is removed afterwards, by name and by pid.
final class LiveQueueTests: XCTestCase {
    private var prefix = ""
    private var scratch = ""
    private var daemon: Process?

    private var lan: String { prefix + "-lan" }
    private var gateway: String { prefix + "-gw" }
    private var wan: String { prefix + "-wan" }

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("live NFQUEUE test needs root (network namespaces, iptables, NFQUEUE)") }
        guard CommandLineTool.locate("ip") != nil, CommandLineTool.locate("iptables") != nil else {
            throw XCTSkip("live NFQUEUE test needs iproute2 and iptables")
        }
        guard FileManager.default.isExecutableFile(atPath: LiveQueueTests.peerwallBinary) else {
            throw XCTSkip("the peerwall binary is not built at \(LiveQueueTests.peerwallBinary) (run swift build first)")
        }
        prefix = "peerwall-test-\(getpid())"
        scratch = NSTemporaryDirectory() + prefix
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        try buildNamespaces()
    }

    override func tearDown() {
        if let daemon, daemon.isRunning {
            kill(daemon.processIdentifier, SIGKILL)
            daemon.waitUntilExit()
        }
        for name in [lan, gateway, wan] where !prefix.isEmpty { _ = CommandLineTool.run("ip", ["netns", "delete", name]) }
        if !scratch.isEmpty { try? FileManager.default.removeItem(atPath: scratch) }
    }

    static var peerwallBinary: String {
        // Beside the test bundle: SwiftPM puts every product of a build in one directory.
        let testBinary = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        let candidates = [testBinary.appendingPathComponent("peerwall").path,
                          testBinary.deletingLastPathComponent().appendingPathComponent("peerwall").path,
                          TestPaths.root + "/.build/debug/peerwall"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[candidates.count - 1]
    }

    // MARK: The test

    func testFastTrackPortPingIsDroppedWhileOtherTrafficPassesAndShutdownCleansUp() throws {
        let socket = scratch + "/control.sock"
        try startDaemon(["--lan", "10.99.1.0/24", "--lan", "fd00:99:1::/64", "--signatures", TestPaths.shippedSignatures,
                         "--state-dir", scratch + "/state", "--control-socket", socket, "--event-log", scratch + "/events.log",
                         "--manage-rules", "--queue", "7"])
        try waitForControlSocket(socket)

        // UDP: a FastTrack-style ping to the FastTrack port is dropped, other UDP passes.
        let ping: [UInt8] = [0x27, 0x00, 0x00, 0x00]
        XCTAssertEqual(try udpDelivered(to: "10.99.2.2", port: 1214, payload: ping, count: 5), 0, "FastTrack ping got through")
        XCTAssertEqual(try udpDelivered(to: "10.99.2.2", port: 5000, payload: [1, 2, 3], count: 5), 5, "plain UDP was lost")
        XCTAssertEqual(try udpDelivered(to: "fd00:99:2::2", port: 1214, payload: ping, count: 3), 0, "IPv6 FastTrack ping got through")
        XCTAssertEqual(try udpDelivered(to: "fd00:99:2::2", port: 5000, payload: [1, 2, 3], count: 3), 3, "plain IPv6 UDP was lost")

        // TCP: an ordinary connection carries data both ways; one to the FastTrack port never opens.
        XCTAssertTrue(try tcpEcho(to: "10.99.2.2", port: 8080), "plain TCP did not pass")
        XCTAssertTrue(try tcpEcho(to: "fd00:99:2::2", port: 8080), "plain IPv6 TCP did not pass")
        XCTAssertFalse(try tcpEcho(to: "10.99.2.2", port: 1214), "a TCP connection to the FastTrack port opened")

        let status = try ControlClient.send(.status, socketPath: socket)
        let report = try XCTUnwrap(status.status)
        XCTAssertGreaterThanOrEqual(report.dropped, 8)
        XCTAssertEqual(report.rulesIntact, true)
        XCTAssertEqual(report.queues.map(\.queue), [7])
        XCTAssertEqual(report.queues.first?.verdictErrors, 0)
        XCTAssertGreaterThan(report.queues.first?.settled ?? 0, 0, "no flow was handed back to the kernel")

        // Someone flushes the rules: the daemon puts them back within its check interval.
        _ = CommandLineTool.run("ip", ["netns", "exec", gateway, "iptables", "-w", "-t", "mangle", "-F", "FORWARD"])
        XCTAssertTrue(waitUntil(seconds: 12) { self.gatewayRules().contains("-A FORWARD -s 10.99.1.0/24 -j PEERWALL") },
                      "flushed rules were not put back")
        XCTAssertEqual(try udpDelivered(to: "10.99.2.2", port: 1214, payload: ping, count: 3), 0, "ping got through after the repair")

        // SIGTERM: exit 0, rules gone, state saved.
        let process = try XCTUnwrap(daemon)
        kill(process.processIdentifier, SIGTERM)
        XCTAssertTrue(waitUntil(seconds: 15) { !process.isRunning }, "the daemon did not stop on SIGTERM")
        if !process.isRunning {
            XCTAssertEqual(process.terminationStatus, 0)
        }
        XCTAssertFalse(gatewayRules().contains("PEERWALL"), "rules left behind:\n\(gatewayRules())")
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch + "/state/state.json"))
        let events = (try? String(contentsOfFile: scratch + "/events.log", encoding: .utf8)) ?? ""
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
        let socket = scratch + "/control.sock"
        try startDaemon(["--lan", "10.99.1.0/24", "--lan", "fd00:99:1::/64", "--signatures", signatures,
                         "--state-dir", scratch + "/state", "--control-socket", socket, "--manage-rules"])
        try waitForControlSocket(socket)
        for server in ["10.99.2.2", "fd00:99:2::2"] {
            let client = try Namespace.socket(lan, server, type: SOCK_STREAM)
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

    // MARK: Namespaces

    private func buildNamespaces() throws {
        let short = "pw\(getpid() % 1_000_000)"
        let commands: [[String]] = [
            ["netns", "add", lan], ["netns", "add", gateway], ["netns", "add", wan],
            ["link", "add", short + "a", "type", "veth", "peer", "name", short + "b"],
            ["link", "set", short + "a", "netns", lan], ["link", "set", short + "b", "netns", gateway],
            ["link", "add", short + "c", "type", "veth", "peer", "name", short + "d"],
            ["link", "set", short + "c", "netns", gateway], ["link", "set", short + "d", "netns", wan],
            ["-n", lan, "addr", "add", "10.99.1.2/24", "dev", short + "a"],
            ["-n", lan, "addr", "add", "fd00:99:1::2/64", "dev", short + "a", "nodad"],
            ["-n", gateway, "addr", "add", "10.99.1.1/24", "dev", short + "b"],
            ["-n", gateway, "addr", "add", "fd00:99:1::1/64", "dev", short + "b", "nodad"],
            ["-n", gateway, "addr", "add", "10.99.2.1/24", "dev", short + "c"],
            ["-n", gateway, "addr", "add", "fd00:99:2::1/64", "dev", short + "c", "nodad"],
            ["-n", wan, "addr", "add", "10.99.2.2/24", "dev", short + "d"],
            ["-n", wan, "addr", "add", "fd00:99:2::2/64", "dev", short + "d", "nodad"],
            ["-n", lan, "link", "set", short + "a", "up"], ["-n", lan, "link", "set", "lo", "up"],
            ["-n", gateway, "link", "set", short + "b", "up"], ["-n", gateway, "link", "set", short + "c", "up"],
            ["-n", gateway, "link", "set", "lo", "up"],
            ["-n", wan, "link", "set", short + "d", "up"], ["-n", wan, "link", "set", "lo", "up"],
            ["-n", lan, "route", "add", "default", "via", "10.99.1.1"],
            ["-n", lan, "-6", "route", "add", "default", "via", "fd00:99:1::1"],
            ["-n", wan, "route", "add", "default", "via", "10.99.2.1"],
            ["-n", wan, "-6", "route", "add", "default", "via", "fd00:99:2::1"],
            ["netns", "exec", gateway, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
            ["netns", "exec", gateway, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"],
        ]
        for command in commands {
            let result = CommandLineTool.run("ip", command)
            guard result.status == 0 else { throw XCTSkip("cannot build the test namespaces (ip \(command.joined(separator: " "))): \(result.output)") }
        }
    }

    private func gatewayRules() -> String {
        CommandLineTool.run("ip", ["netns", "exec", gateway, "iptables", "-w", "-t", "mangle", "-S"]).output
    }

    private func startDaemon(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try XCTUnwrap(CommandLineTool.locate("ip")))
        process.arguments = ["netns", "exec", gateway, LiveQueueTests.peerwallBinary, "run"] + arguments
        let log = FileHandle(forWritingAtPath: scratch + "/daemon.log") ?? {
            _ = FileManager.default.createFile(atPath: scratch + "/daemon.log", contents: nil)
            return FileHandle(forWritingAtPath: scratch + "/daemon.log")
        }()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        daemon = process
    }

    private func waitForControlSocket(_ path: String) throws {
        let ready = waitUntil(seconds: 20) {
            guard self.daemon?.isRunning == true else { return true }
            return (try? ControlClient.send(.status, socketPath: path))?.ok == true
        }
        let log = (try? String(contentsOfFile: scratch + "/daemon.log", encoding: .utf8)) ?? ""
        guard ready, daemon?.isRunning == true else { return XCTFail("the daemon did not come up:\n\(log)") }
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
        let receiver = try Namespace.socket(wan, server, type: SOCK_DGRAM)
        defer { close(receiver.fd) }
        try receiver.bind(port: port)
        let sender = try Namespace.socket(lan, server, type: SOCK_DGRAM)
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
        let listener = try Namespace.socket(wan, server, type: SOCK_STREAM)
        defer { close(listener.fd) }
        var one: Int32 = 1
        setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        try listener.bind(port: port)
        guard listen(listener.fd, 4) == 0 else { throw Failure("listen: \(String(cString: strerror(errno)))") }
        let client = try Namespace.socket(lan, server, type: SOCK_STREAM)
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

/// A socket created inside a named network namespace: the calling thread enters the namespace
/// for the `socket()` call only, then returns to its own.
struct Namespace {
    let fd: Int32
    let family: Int32

    /// setns(2): not in Glibc's Swift overlay (a GNU extension), so looked up at run time.
    private static let setns: @convention(c) (Int32, Int32) -> Int32 = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { fatalError("setns not found in libc") }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
    }()
    private static let newNetworkNamespace: Int32 = 0x4000_0000  // CLONE_NEWNET

    static func socket(_ name: String, _ addressExample: String, type: __socket_type) throws -> Namespace {
        let family = addressExample.contains(":") ? AF_INET6 : AF_INET
        let own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        let target = open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
        defer {
            if own >= 0 { close(own) }
            if target >= 0 { close(target) }
        }
        guard own >= 0, target >= 0 else { throw Failure("cannot open namespace \(name)") }
        guard setns(target, newNetworkNamespace) == 0 else { throw Failure("setns \(name): \(String(cString: strerror(errno)))") }
        let fd = Glibc.socket(family, Int32(type.rawValue), 0)
        let error = errno
        guard setns(own, newNetworkNamespace) == 0 else { fatalError("cannot return to the test's own network namespace") }
        guard fd >= 0 else { throw Failure("socket in \(name): \(String(cString: strerror(error)))") }
        return Namespace(fd: fd, family: family)
    }

    func bind(port: UInt16) throws {
        let result = withAddress(family == AF_INET ? "0.0.0.0" : "::", port) { Glibc.bind(fd, $0, $1) }
        guard result == 0 else { throw Failure("bind \(port): \(String(cString: strerror(errno)))") }
    }

    func send(_ bytes: [UInt8], to host: String, port: UInt16) throws {
        let sent = withAddress(host, port) { address, length in
            bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, address, length) }
        }
        guard sent == bytes.count else { throw Failure("sendto: \(String(cString: strerror(errno)))") }
    }

    func connect(to host: String, port: UInt16) -> Bool {
        withAddress(host, port) { Glibc.connect(fd, $0, $1) } == 0
    }

    func setTimeout(milliseconds: Int) {
        var timeout = timeval(tv_sec: milliseconds / 1000, tv_usec: Int((milliseconds % 1000) * 1000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    private func withAddress<R>(_ host: String, _ port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if family == AF_INET {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        inet_pton(AF_INET6, host, &address.sin6_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }
}

/// Runs system tools for the live tests.
enum CommandLineTool {
    static func locate(_ program: String) -> String? {
        for directory in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(program)") {
            return "\(directory)/\(program)"
        }
        return nil
    }

    static func run(_ program: String, _ arguments: [String]) -> (status: Int32, output: String) {
        guard let path = locate(program) else { return (127, "\(program) not found") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (126, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
