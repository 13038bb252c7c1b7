import Foundation
import Host
import PluginAPI
import XCTest

/// The base of the lab tests: one gateway lab (namespaces, web server) per test class, built in
/// the class's `setUp` and removed in its `tearDown`; each test gets a freshly started daemon
/// with no saved state and a short lock time, and its simulators are stopped after it.
/// Needs root and the built `peerwall` and `peerwall-sim`; skipped with the reason otherwise.
class LabTestCase: XCTestCase {
    /// The lock time of the tests' daemon: short, so a lock's end is seen within the test.
    static let lockSeconds = 4
    static let root: String = {
        var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(3)
        return components.joined(separator: "/")
    }()
    static let signatures = root + "/signatures"

    nonisolated(unsafe) private static var shared: Lab?
    nonisolated(unsafe) private static var unavailable: String?

    var lab: Lab { LabTestCase.shared! }
    var daemon: LabDaemon { lab.daemon }
    private var started: [LabSimulator] = []
    private var loops: [RepeatingTask<LabBrowser.Result>] = []
    private var servers: [LabServer] = []
    private var fileSharing: [Lab.FileSharingServers] = []

    let kazaa4 = LabNetwork.address4(Lab.kazaa)
    let browser4 = LabNetwork.address4(Lab.browser)

    override class func setUp() {
        super.setUp()
        unavailable = nil
        if let missing = LabNetwork.missingPrerequisite() { return unavailable = "the gateway lab \(missing)" }
        let peerwall = BuiltProducts.beside("peerwall"), simulator = BuiltProducts.beside("peerwall-sim")
        for program in [peerwall, simulator] where !FileManager.default.isExecutableFile(atPath: program) {
            return unavailable = "\(program) is not built (run swift build first)"
        }
        let lab = Lab(base: "pwlabtest", peerwall: peerwall, simulator: simulator, signatures: signatures, lockSeconds: lockSeconds)
        do {
            try lab.up(startingDaemon: false)
            shared = lab
        } catch {
            unavailable = "cannot build the gateway lab: \(error)"
        }
    }

    override class func tearDown() {
        shared?.down()
        shared = nil
        super.tearDown()
    }

    /// Subcommands of `peerwall-sim` the test needs; it is skipped when one is missing.
    var requiredSimulators: [String] { ["fasttrack-client", "fasttrack-peer"] }

    override func setUpWithError() throws {
        if let unavailable = LabTestCase.unavailable { throw XCTSkip(unavailable) }
        for name in requiredSimulators where !LabSimulator.supports(lab.simulatorExecutable, name) {
            throw XCTSkip("peerwall-sim has no \(name) subcommand in this build")
        }
        if daemon.isRunning { daemon.stop() }
        daemon.removeFiles()
        daemon.settings.lockSeconds = LabTestCase.lockSeconds
        daemon.settings.failOpen = false
        daemon.settings.signatures = LabTestCase.signatures
        daemon.settings.extraArguments = []
    }

    override func tearDown() {
        for loop in loops { loop.stop() }
        for simulator in started { simulator.process.stop(grace: 2) }
        for server in servers { server.stop() }
        for set in fileSharing { set.stop() }
        loops = []
        started = []
        servers = []
        fileSharing = []
        if daemon.isRunning {
            daemon.stop()
        } else if daemon.starts > 0 {
            // A daemon killed by the test left its rules; the next test's daemon replaces them.
            CommandRunner.run("ip", ["netns", "exec", lab.network.gateway, "iptables", "-w", "-t", "mangle", "-F"])
            CommandRunner.run("ip", ["netns", "exec", lab.network.gateway, "ip6tables", "-w", "-t", "mangle", "-F"])
        }
        super.tearDown()
    }

    // MARK: Simulators

    /// The stand-in supernodes on `Lab.supernodes`, for `seconds`.
    func startSupernodes(seconds: Double) throws -> LabSimulator {
        let peers = try start(role: "supernodes", namespace: lab.network.outside,
                              ["fasttrack-peer"] + Lab.supernodes.flatMap { ["--listen", $0] } + ["--duration", String(seconds)])
        // Listening before the client's first ping.
        XCTAssertTrue(waitUntil(seconds: 5) { self.lab.listening(on: Lab.supernodes) }, "the supernodes did not come up")
        return peers
    }

    /// The Kazaa client pinging `Lab.supernodes`, with `arguments` and `--duration seconds`.
    func startKazaa(seconds: Double, _ arguments: [String]) throws -> LabSimulator {
        try start(role: "kazaa", namespace: lab.namespace(Lab.kazaa),
                  ["fasttrack-client"] + Lab.supernodes.flatMap { ["--peer", $0] } + arguments + ["--duration", String(seconds)])
    }

    func start(role: String, namespace: String, _ arguments: [String]) throws -> LabSimulator {
        track(try lab.startSimulator(role: "\(name)-\(role)", namespace: namespace, arguments: arguments))
    }

    /// Stops `simulator` when the test ends.
    @discardableResult
    func track(_ simulator: LabSimulator) -> LabSimulator {
        started.append(simulator)
        return simulator
    }


    /// The Napster, AudioGalaxy and FTP servers outside, for this test only, once they listen.
    func startFileSharingServers(seconds: Double) throws -> Lab.FileSharingServers {
        let set = try lab.startFileSharingServers(seconds: seconds)
        fileSharing.append(set)
        XCTAssertTrue(waitUntil(seconds: 10) { self.lab.listening(on: Lab.FileSharingServers.endpoints) }, "the servers did not come up")
        return set
    }

    /// Waits for the simulator to finish its run and returns its summary.
    func summary(of simulator: LabSimulator, within seconds: Double) throws -> [String: LabValue] {
        XCTAssertTrue(simulator.process.wait(seconds: seconds), "\(simulator.role) did not finish in \(seconds) s")
        _ = simulator.newLines()
        guard !simulator.summary.isEmpty else {
            throw LabError("no summary from \(simulator.role):\n\(simulator.process.output())")
        }
        return simulator.summary
    }

    // MARK: The daemon

    func startDaemon(lockSeconds: Int = LabTestCase.lockSeconds, failOpen: Bool = false) throws {
        daemon.settings.lockSeconds = lockSeconds
        daemon.settings.failOpen = failOpen
        try daemon.start()
    }

    /// The daemon's events so far.
    func events() -> [DaemonEvent] {
        let text = (try? String(contentsOfFile: daemon.eventLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { DaemonEvent.parse(String($0)) }
    }

    func events(_ type: String) -> [DaemonEvent] { events().filter { $0.eventType == type } }

    func isLocked(_ client: String) -> Bool {
        ((try? daemon.status())?.lockedClients ?? []).contains { $0.client == client }
    }

    func explain(_ address: String) throws -> ExplainReport {
        let response = try ControlClient.send(.explain(try XCTUnwrap(IPAddress(address))), socketPath: daemon.controlSocket)
        return try XCTUnwrap(response.explain, response.error ?? "no explain report")
    }

    // MARK: Traffic

    /// One page load from `client`.
    func get(from client: LabNetwork.Client, _ host: String = Lab.web4, timeout: Double = 1.5) -> LabBrowser.Outcome {
        LabBrowser.get(from: lab.namespace(client), host: host, timeout: timeout).outcome
    }

    /// Page loads from `client` every `interval` seconds until the test ends (or `stop()`).
    func browse(from client: LabNetwork.Client, interval: Double = 0.5) -> RepeatingTask<LabBrowser.Result> {
        let loop = RepeatingTask.browsing(from: lab.namespace(client), targets: [Lab.web4, Lab.web6], interval: interval, timeout: 1.5)
        loop.start()
        loops.append(loop)
        return loop
    }

    /// Polls `condition` every 100 ms for at most `seconds`.
    func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }
}
