import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The live Napster and AudioGalaxy simulators on loopback: the clients log in, search, are sent
/// to peers and fetch from them, and exit 0 only when every step worked.
final class NapsterAudioGalaxyLiveSimulatorTests: XCTestCase {
    private var processes: [Process] = []

    override func tearDown() {
        for process in processes where process.isRunning { process.terminate() }
        for process in processes { process.waitUntilExit() }
        processes = []
    }

    private func start(_ arguments: [String]) throws -> (Process, Pipe) {
        let binary = FastTrackLiveSimulatorTests.simulatorBinary
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw XCTSkip("peerwall-sim is not built at \(binary) (run swift build first)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        processes.append(process)
        return (process, pipe)
    }

    /// Waits for the process (each is started with its own duration or timeout) and returns its
    /// exit status and output.
    private func finish(_ started: (Process, Pipe)) -> (status: Int32, output: String) {
        let output = String(decoding: started.1.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        started.0.waitUntilExit()
        return (started.0.terminationStatus, output)
    }

    /// Ports unlikely to clash with another test run on the same machine.
    private var basePort: Int { 40_000 + Int(getpid()) % 20_000 }

    func testNapsterClientFindsTheServerDownloadsAndGetsAPush() throws {
        let server = "127.0.0.1:\(basePort)", metaserver = "127.0.0.1:\(basePort + 1)", peer = "127.0.0.2:\(basePort + 2)"
        let peerProcess = try start(["peer", "--protocol", "napster", "--listen", peer, "--duration", "6"])
        let serverProcess = try start(["napster-server", "--listen", server, "--metaserver", metaserver, "--advertise", server,
                                       "--library", "mred@\(peer)=Generic Band - Song.mp3", "--duration", "6"])
        usleep(600_000)
        let hider = try start(["napster-client", "--server", server, "--nick", "hider", "--data-port", "0",
                               "--share", "Hidden Song.mp3", "--serve", "3"])
        usleep(300_000)
        let download = finish(try start(["napster-client", "--metaserver", metaserver, "--nick", "lefty", "--search", "generic band",
                                         "--download", "--timeout", "3"]))
        XCTAssertEqual(download.status, 0, download.output)
        XCTAssertTrue(download.output.contains("metaserver names \(server)"), download.output)
        XCTAssertTrue(download.output.contains("received 65536 bytes"), download.output)
        let pushed = finish(try start(["napster-client", "--server", server, "--nick", "taker", "--data-port", "\(basePort + 3)",
                                       "--search", "hidden", "--download", "--timeout", "3"]))
        XCTAssertEqual(pushed.status, 0, pushed.output)
        XCTAssertTrue(pushed.output.contains("received 65536 pushed bytes"), pushed.output)
        XCTAssertTrue(finish(hider).output.contains("pushed 'Hidden Song.mp3' to taker"))
        let serverLog = finish(serverProcess).output
        XCTAssertTrue(serverLog.contains("push: hider to push Hidden Song.mp3 to taker"), serverLog)
        XCTAssertTrue(finish(peerProcess).output.contains("peer: lefty downloads"))
    }

    func testNapsterClientFailsWhenTheServerIsUnreachable() throws {
        let result = finish(try start(["napster-client", "--server", "127.0.0.1:\(basePort + 9)", "--timeout", "1"]))
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("failed:"), result.output)
    }

    func testAudioGalaxyClientFollowsTheRedirectorAndMakesTheOrderedTransfers() throws {
        let redirector = "127.0.0.1:\(basePort + 10)", server = "127.0.0.1:\(basePort + 11)"
        let satellite = "127.0.0.2:\(basePort + 12)", listenPort = basePort + 13
        let satelliteProcess = try start(["peer", "--protocol", "audiogalaxy", "--listen", satellite, "--duration", "6"])
        let serverProcess = try start(["audiogalaxy-server", "--redirector", redirector, "--listen", server, "--advertise", server,
                                       "--order", "connect:\(satellite)", "--order", "listen:127.0.0.3:\(listenPort)", "--duration", "6"])
        usleep(600_000)
        let client = try start(["audiogalaxy-client", "--redirector", redirector, "--user", "galaxyfan", "--transfers", "2",
                                "--timeout", "3"])
        usleep(1_200_000)
        let incoming = finish(try start(["peer", "--protocol", "audiogalaxy", "--connect", "127.0.0.1:\(listenPort)", "--duration", "3"]))
        XCTAssertEqual(incoming.status, 0, incoming.output)
        let result = finish(client)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("redirector names \(server)"), result.output)
        XCTAssertTrue(result.output.contains("received 65536 bytes from \(satellite)"), result.output)
        XCTAssertTrue(finish(serverProcess).output.contains("sending 2 orders"))
        XCTAssertTrue(finish(satelliteProcess).output.contains("satellite: sending 65536 bytes"))
    }
}
