import Foundation
import PluginAPI
import Simulators
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The live faces of the FastTrack simulator, on loopback: `peerwall-sim fasttrack-peer`
/// answers `peerwall-sim fasttrack-client`, and the client answers a probe sent to its port.
final class FastTrackLiveSimulatorTests: XCTestCase {
    static var simulatorBinary: String {
        // Beside the test bundle: SwiftPM puts every product of a build in one directory.
        let directory = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        let candidates = [directory.appendingPathComponent("peerwall-sim").path,
                          directory.deletingLastPathComponent().appendingPathComponent("peerwall-sim").path]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    private var processes: [Process] = []

    override func tearDown() {
        for process in processes where process.isRunning { process.terminate() }
        for process in processes { process.waitUntilExit() }
        processes = []
    }

    private func start(_ arguments: [String]) throws -> Pipe {
        guard FileManager.default.isExecutableFile(atPath: Self.simulatorBinary) else {
            throw XCTSkip("peerwall-sim is not built at \(Self.simulatorBinary) (run swift build first)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.simulatorBinary)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        processes.append(process)
        return pipe
    }

    /// The JSON summary line a live simulator prints last.
    private func summary(_ pipe: Pipe) throws -> [String: Any] {
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let line = try XCTUnwrap(output.split(separator: "\n").last { $0.hasPrefix("{\"summary\"") }, output)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], output)
    }

    /// Ports unlikely to clash with another test run on the same machine.
    private var basePort: UInt16 { UInt16(20_000 + Int(getpid()) % 20_000) }

    func testTheClientPingsConnectsDownloadsAndPushesToTheLivePeers() throws {
        let supernode = "127.0.0.2:\(basePort)", uploader = "127.0.0.3:\(basePort + 1)"
        let peer = try start(["fasttrack-peer", "--listen", supernode, "--listen", uploader, "--duration", "4"])
        usleep(500_000)
        let client = try start(["fasttrack-client", "--bind", "127.0.0.1", "--listen-port", "\(basePort + 2)",
                                "--peer", supernode, "--peer", "127.0.0.4:\(basePort + 3)",
                                "--download", "\(uploader)@0.5", "--push", "\(supernode)@1", "--duration", "2"])
        let clientSummary = try summary(client)
        XCTAssertEqual(clientSummary["pings_sent"] as? Int, 2)
        XCTAssertEqual(clientSummary["supernode_pongs"] as? Int, 1)
        XCTAssertEqual(clientSummary["mode"] as? String, "session")
        XCTAssertEqual(clientSummary["tcp_connected"] as? Int, 3, "the session, the download and the push")
        XCTAssertGreaterThan(clientSummary["bytes_received"] as? Int ?? 0, 8192)
        let peerSummary = try summary(peer)
        XCTAssertEqual(peerSummary["pings_answered"] as? Int, 1)
        XCTAssertEqual(peerSummary["http_requests"] as? Int, 2, "the download's GET and the push's GIVE")
    }

    func testTheClientAnswersAProbeOnItsListeningPort() throws {
        let port = basePort + 10
        let client = try start(["fasttrack-client", "--bind", "127.0.0.1", "--listen-port", "\(port)",
                                "--peer", "127.0.0.5:\(port + 1)", "--duration", "2"])
        usleep(500_000)
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        let probe = FastTrackWire.ping(network: "KaZaA")
        let sent = probe.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        XCTAssertEqual(sent, probe.count)
        var buffer = [UInt8](repeating: 0, count: 64)
        let received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        XCTAssertEqual(received, 13, "a 13-byte pong")
        XCTAssertEqual(buffer.first, 0x29)
        let clientSummary = try summary(client)
        XCTAssertEqual(clientSummary["probes_answered"] as? Int, 1)
    }
}
