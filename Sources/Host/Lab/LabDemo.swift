import Foundation
import Glibc
import Synchronization

/// `peerwall lab`: the lab with a Kazaa client and an ordinary browsing client on the LAN (and
/// Napster and AudioGalaxy clients when the simulators have them), stand-in supernodes and a
/// web server outside, and the real daemon on the gateway. It prints, as it happens, what the
/// daemon blocks and why and what each client sees, runs for a bounded time, then sums up.
public final class LabDemo: @unchecked Sendable {
    public struct Options: Sendable {
        public var duration: Double = 75
        public var lockSeconds = 20
        public var peerwall: String
        public var simulator: String
        public var signatures: String
        public var keepFiles = false
        /// Also print every alert and injected packet (not only the first of each kind).
        public var verbose = false

        public init(peerwall: String, simulator: String, signatures: String) {
            self.peerwall = peerwall
            self.simulator = simulator
            self.signatures = signatures
        }
    }

    /// The FastTrack client's schedule, derived from the duration and the lock time so that the
    /// run shows the lock, its re-arming, and its end after the client quits.
    public struct Timeline: Sendable, Equatable {
        public var reping: Double
        public var downloads: [Double]
        public var quitAfter: Double

        public init(duration: Double, lockSeconds: Int) {
            let lock = Double(max(lockSeconds, 2))
            // Pings within half a lock time keep the lock re-armed; a short run pings sooner.
            reping = max(2, min((lock / 2).rounded(), (duration / 6).rounded()))
            downloads = [reping * 1.5]
            // Quit halfway between two pings, leaving time for the lock to run out and for a
            // few page loads after it.
            let latest = duration - lock - 15
            let rounds = max(1, (latest / reping).rounded(.down))
            quitAfter = max(reping * 1.5 + 3, rounds * reping + reping / 2)
            if quitAfter > reping * 3 { downloads.append(reping * 2.5) }
        }
    }

    public let options: Options
    private let output: @Sendable (String) -> Void
    private let stopRequested = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)
    private let printLock = NSLock()
    private var started = Date()
    private var tally = LabTally()
    private var seenKinds: Set<String> = []
    /// The latest alert about each client: what a new lock is for.
    private var lastAlert: [String: DaemonEvent] = [:]

    public init(options: Options, output: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.output = output
    }

    /// Whether the run was ended early.
    public var wasInterrupted: Bool { stopped.load(ordering: .relaxed) }

    /// Ends the run early (Ctrl-C): the summary and the clean-up still happen.
    public func requestStop() {
        if !stopped.exchange(true, ordering: .relaxed) { stopRequested.signal() }
    }

    private func say(_ text: String) {
        let elapsed = Date().timeIntervalSince(started)
        printLock.withLock { output(String(format: "[%5.1f s] ", elapsed) + text) }
    }

    // MARK: Run

    /// Runs the lab; returns true when every expectation held (the P2P clients cut off, the
    /// ordinary client unaffected).
    public func run() throws -> Bool {
        started = Date()
        let lab = Lab(base: "pwlab", peerwall: options.peerwall, simulator: options.simulator, signatures: options.signatures,
                      lockSeconds: options.lockSeconds, keepFiles: options.keepFiles)
        defer {
            let status = lab.down()
            say("cleaned up: daemon stopped\(status.map { " (exit \($0))" } ?? ""), namespaces \(lab.network.prefix)-* deleted"
                + (options.keepFiles ? ", logs kept in \(lab.directory)" : ""))
        }
        say("building the lab: LAN 10.99.1.0/24 + fd00:99:1::/64 (clients in namespaces \(lab.network.prefix)-<name>), gateway \(lab.network.gateway), outside 10.99.3.0/24 + fd00:99:3::/64 (\(lab.network.outside))")
        try lab.up()
        let daemonPID = lab.daemon.process.map { String($0.pid) } ?? "?"
        say("peerwall run on the gateway (pid \(daemonPID)): rules installed, queue \(lab.daemon.settings.queue), lock \(options.lockSeconds) s, events in \(lab.daemon.eventLog)")
        say("web server on http://\(Lab.web4)/ and http://[\(Lab.web6)]/")

        let timeline = Timeline(duration: options.duration, lockSeconds: options.lockSeconds)
        let kazaaAddress = LabNetwork.address4(Lab.kazaa)
        let browserAddress = LabNetwork.address4(Lab.browser)
        var simulators: [LabSimulator] = []
        var observed = LabSummary.Observations(lockSeconds: options.lockSeconds)
        if LabSimulator.supports(options.simulator, "fasttrack-client") {
            let supernodes = try lab.startSimulator(role: "supernodes", namespace: lab.network.outside,
                                                    arguments: ["fasttrack-peer"] + Lab.supernodes.flatMap { ["--listen", $0] }
                                                        + ["--duration", String(max(1, options.duration - 1))])
            // The peers must listen before the client's first burst.
            _ = waitUntil(seconds: 5) { lab.listening(on: Lab.supernodes) }
            var arguments = ["fasttrack-client"] + Lab.supernodes.flatMap { ["--peer", $0] }
            arguments += ["--reping", String(timeline.reping), "--discovery-timeout", "5",
                          "--quit-after", String(timeline.quitAfter), "--duration", String(max(1, options.duration - 2))]
            for at in timeline.downloads { arguments += ["--download", "\(Lab.supernodes[0])@\(at)"] }
            let kazaa = try lab.startSimulator(role: "kazaa \(kazaaAddress)", namespace: lab.namespace(Lab.kazaa), arguments: arguments)
            observed.kazaa = kazaa
            observed.supernodes = supernodes
            simulators += [kazaa, supernodes]
            say("kazaa \(kazaaAddress): FastTrack client pinging \(Lab.supernodes.joined(separator: ", ")) every \(Int(timeline.reping)) s, downloads at \(timeline.downloads.map { "\(Int($0)) s" }.joined(separator: ", ")), quits at \(Int(timeline.quitAfter)) s")
        } else {
            say("peerwall-sim has no fasttrack-client here (\(options.simulator)): the lab runs without the Kazaa client")
        }

        var ftp: RepeatingTask<LabFTP.Outcome>?
        if Lab.fileSharingSimulators.allSatisfy({ LabSimulator.supports(options.simulator, $0) }) {
            let servers = try lab.startFileSharingServers(seconds: options.duration)
            _ = waitUntil(seconds: 5) { lab.listening(on: Lab.FileSharingServers.endpoints) }
            say("outside: Napster server \(Lab.napsterServer):8888 (metaserver :8875), a Napster user sharing a song at \(Lab.napsterPeer), AudioGalaxy redirector \(Lab.galaxyServer):21 ordering a fetch from \(Lab.satellite), FTP server \(Lab.ftpServer):21")
            let napster = try lab.startNapsterClient()
            let galaxy = try lab.startGalaxyClient()
            say("napster \(LabNetwork.address4(Lab.napster)): login, search, download; agalaxy \(LabNetwork.address4(Lab.audiogalaxy)): redirector, login, the ordered transfer")
            observed.napster = napster
            observed.galaxy = galaxy
            observed.fileSharing = servers
            simulators += [napster, galaxy] + servers.simulators
            let task = RepeatingTask.ftp(from: lab.namespace(Lab.browser), server: Lab.ftpServer, interval: 10) { [self] attempt in
                say("browser \(browserAddress) ftp: \(LabDemo.describe(attempt.result))")
            }
            task.start()
            ftp = task
        } else {
            say("peerwall-sim has no Napster and AudioGalaxy simulators here: the lab runs without them")
        }

        let browser = RepeatingTask.browsing(from: lab.namespace(Lab.browser), targets: [Lab.web4, Lab.web6], interval: 2) { [self] attempt in
            say("browser \(browserAddress): \(LabDemo.describe(attempt.result))")
        }
        let kazaaBrowsing = RepeatingTask.browsing(from: lab.namespace(Lab.kazaa), targets: [Lab.web4], interval: 3) { [self] attempt in
            say("kazaa \(kazaaAddress) web: \(LabDemo.describe(attempt.result))")
        }
        browser.start()
        kazaaBrowsing.start()
        say("browser \(browserAddress): loading a page every 2 s\(ftp == nil ? "" : ", an FTP session every 10 s"); the Kazaa user browses too, every 3 s")

        let events = LineFollower(path: lab.daemon.eventLog)
        let deadline = Date().addingTimeInterval(options.duration)
        // Bounded by the deadline; a stop request ends it early.
        while Date() < deadline {
            if stopRequested.wait(timeout: .now() + 0.2) == .success {
                say("stopping early (interrupted)")
                break
            }
            report(events: events, simulators: simulators)
        }
        for task in [browser, kazaaBrowsing] { task.stop() }
        ftp?.stop()
        for simulator in simulators {
            // The simulators' runs end just before the lab's; their summary lines are then written.
            simulator.process.wait(seconds: stopped.load(ordering: .relaxed) ? 0 : 3)
            simulator.process.stop(grace: 2)
        }
        report(events: events, simulators: simulators)
        observed.status = try? lab.daemon.status()
        let exit = lab.daemon.stop()
        let rulesLeft = lab.daemon.rules().contains("PEERWALL")
        report(events: events, simulators: simulators)
        say("daemon stopped with status \(exit.map(String.init) ?? "?")\(rulesLeft ? "; its rules are STILL in place" : ", its rules removed")")

        observed.tally = tally
        observed.now = Date().timeIntervalSince1970
        observed.elapsed = Date().timeIntervalSince(started)
        observed.kazaaBrowsing = kazaaBrowsing.results
        observed.browsing = browser.results
        observed.ftp = ftp?.results
        observed.interrupted = stopped.load(ordering: .relaxed)
        let summary = LabSummary(observed)
        printLock.withLock { for line in summary.lines { output(line) } }
        return summary.passed && exit == 0 && !rulesLeft
    }

    private func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }

    // MARK: Reporting

    private func report(events: LineFollower, simulators: [LabSimulator]) {
        for line in events.newLines() {
            guard let event = DaemonEvent.parse(line) else { continue }
            tally.add(event)
            if event.eventType == "alert", let client = event.client { lastAlert[client] = event }
            guard var text = event.humanLine else { continue }
            if event.eventType == "lock", event.rearmed != true, let client = event.client, let cause = lastAlert[client] {
                text += " (\(cause.proto ?? "?") \(cause.source) -> \(cause.destination))"
            }
            // Every ping gets an alert and a spoofed reply: show the first of each kind per
            // client and peer, then only the counts in the summary.
            if !options.verbose && (event.eventType == "alert" || event.eventType == "inject" || event.rearmed == true) {
                let key = [event.eventType, event.alert?.signatureID ?? event.kind ?? "", event.sourceIP ?? event.client ?? "",
                           event.destinationIP ?? ""].joined(separator: "|")
                guard seenKinds.insert(key).inserted else { continue }
                say(text + " (further ones counted in the summary)")
                continue
            }
            say(text)
        }
        for simulator in simulators {
            for line in simulator.newLines() { say("\(simulator.role): \(line)") }
        }
    }

    static func describe(_ outcome: LabFTP.Outcome) -> String {
        switch outcome {
        case .ok(let bytes): return "RETR lab-file.bin ok, \(bytes) bytes"
        case .noConnection(let why): return "no control connection to \(Lab.ftpServer):21 (\(why))"
        case .failed(let step): return "failed at \(step)"
        }
    }

    static func describe(_ result: LabBrowser.Result) -> String {
        let time = LabText.milliseconds(result.milliseconds)
        switch result.outcome {
        case .ok(let status): return "GET \(result.url) ok \(status) in \(time)"
        case .refused: return "GET \(result.url) refused (reset) after \(time)"
        case .noAnswer: return "GET \(result.url) no answer in \(time) (connection attempt dropped)"
        case .broken(let why): return "GET \(result.url) failed after \(time): \(why)"
        case .failed(let why): return "GET \(result.url) failed: \(why)"
        }
    }
}
