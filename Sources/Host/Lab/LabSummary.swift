import Foundation

/// The lab's closing summary: what happened to each client, from the simulators' own words and
/// counts, the page loads and FTP sessions, and the daemon's events and counters; and whether
/// it is what peerwall is for (the file-sharing clients cut off, the ordinary client untouched).
struct LabSummary {
    /// Everything the lab saw during its run.
    struct Observations {
        var lockSeconds: Int
        var tally = LabTally()
        var now = 0.0
        var elapsed = 0.0
        var kazaa: LabSimulator?
        var supernodes: LabSimulator?
        var kazaaBrowsing: [RepeatingTask<LabBrowser.Result>.Attempt] = []
        var browsing: [RepeatingTask<LabBrowser.Result>.Attempt] = []
        var napster: LabSimulator?
        var galaxy: LabSimulator?
        var fileSharing: Lab.FileSharingServers?
        var ftp: [RepeatingTask<LabFTP.Outcome>.Attempt]?
        var status: StatusReport?
        /// Ended early by a signal: the figures are partial.
        var interrupted = false

        init(lockSeconds: Int) { self.lockSeconds = lockSeconds }
    }

    private(set) var lines: [String] = []
    private(set) var passed = true

    init(_ observed: Observations) {
        lines.append("")
        lines.append("Summary after \(Int(observed.elapsed.rounded())) s (lock time \(observed.lockSeconds) s):")
        if let kazaa = observed.kazaa {
            addKazaa(observed, client: kazaa)
        } else {
            lines.append("  kazaa: not run (this peerwall-sim has no fasttrack-client)")
        }
        if let napster = observed.napster, let galaxy = observed.galaxy, let servers = observed.fileSharing {
            addSession(observed, name: "napster", what: "the Napster client (login, search, download)", client: napster,
                       address: LabNetwork.address4(Lab.napster), farEnd: servers.napsterPeer, farEndName: "the Napster peer")
            addSession(observed, name: "agalaxy", what: "the AudioGalaxy client (redirector, login, ordered transfer)", client: galaxy,
                       address: LabNetwork.address4(Lab.audiogalaxy), farEnd: servers.satellite, farEndName: "the satellite")
        } else {
            lines.append("  napster, agalaxy: not run (this peerwall-sim has no Napster and AudioGalaxy simulators)")
        }
        addBrowser(observed)
        if let status = observed.status {
            let queueDrops = status.queues.reduce(UInt64(0)) { $0 + ($1.kernelQueueDropped ?? 0) + ($1.kernelUserDropped ?? 0) }
            let verdictErrors = status.queues.reduce(UInt64(0)) { $0 + $1.verdictErrors }
            lines.append("  daemon: \(status.packets) packets judged, \(status.accepted) accepted, \(status.dropped) dropped; "
                         + "\(status.injected) packets sent (replies, probes, resets); kernel queue drops \(queueDrops); verdict errors \(verdictErrors)")
        } else {
            lines.append("  daemon: no status (it was not answering at the end)")
            passed = false
        }
        if observed.interrupted {
            lines.append("Result: interrupted after \(Int(observed.elapsed.rounded())) s; the figures are partial.")
        } else {
            lines.append(passed ? "Result: as expected." : "Result: NOT as expected (see above).")
        }
    }

    private mutating func addKazaa(_ observed: Observations, client: LabSimulator) {
        let address = LabNetwork.address4(Lab.kazaa)
        let tally = observed.tally
        let pingsSent = client.count("pings_sent")
        let pongs = client.count("pongs")
        let supernodePongs = client.count("supernode_pongs")
        let attempts = client.count("tcp_attempts")
        let connected = client.count("tcp_connected")
        let pingsReached = observed.supernodes?.count("pings_answered")
        let accepted = observed.supernodes?.count("tcp_accepted")
        let spoofed = tally.injected[address]?["reply"] ?? 0
        let probes = tally.injected[address]?["probe"] ?? 0
        let probesAnswered = tally.probeAnswers[address] ?? 0
        let spans = tally.locks[address] ?? []
        let firstLock = tally.firstLock(address)

        typealias Attempt = RepeatingTask<LabBrowser.Result>.Attempt
        var locked: [Attempt] = [], before: [Attempt] = [], after: [Attempt] = []
        for attempt in observed.kazaaBrowsing {
            if tally.isLocked(address, at: attempt.time) { locked.append(attempt) }
            else if firstLock.map({ attempt.time < $0 }) ?? true { before.append(attempt) }
            else { after.append(attempt) }
        }
        let lockedRefused = locked.filter { !$0.result.outcome.isSuccess }.count

        let cutOff = (pingsSent ?? 0) > 0 && pingsReached == 0 && (pongs ?? 0) + (supernodePongs ?? 0) > 0
            && connected == 0 && accepted == 0 && !spans.isEmpty && !locked.isEmpty && lockedRefused == locked.count
        passed = passed && cutOff
        func n(_ value: Int?) -> String { value.map(String.init) ?? "?" }
        lines.append("  kazaa \(address), the FastTrack client: \(cutOff ? "CUT OFF" : "NOT cut off")")
        lines.append("    pings sent \(n(pingsSent)); pings that reached the supernodes \(n(pingsReached))")
        lines.append("    pongs received \(n((pongs ?? 0) + (supernodePongs ?? 0))), all spoofed by the gateway (it sent \(spoofed) replies)")
        lines.append("    TCP connection attempts \(n(attempts)), connected \(n(connected)); connections the supernodes accepted \(n(accepted))")
        let lockedFor = Int(tally.lockedSeconds(address, now: observed.now).rounded())
        let rearms = spans.reduce(0) { $0 + $1.rearms }
        let stillLocked = spans.last.map { $0.end == nil } ?? false
        lines.append("    locked \(spans.count) time\(spans.count == 1 ? "" : "s"), \(lockedFor) s in all, re-armed \(rearms) times\(stillLocked ? ", still locked at the end" : ""); lock probes sent \(probes), answered \(probesAnswered)")
        lines.append("    its web access: \(LabSummary.ratio(before)) ok before the lock, \(LabSummary.ratio(locked)) ok while locked, \(LabSummary.ratio(after)) ok after the lock")
        addDrops(tally, address)
    }

    /// A client that runs one session and says "done" or "failed: why" at the end, with the
    /// far end that would have served it.
    private mutating func addSession(_ observed: Observations, name: String, what: String, client: LabSimulator, address: String,
                                     farEnd: LabSimulator, farEndName: String) {
        let output = client.process.output()
        let last = output.split(separator: "\n").last.map(String.init) ?? ""
        let lastWords = last.split(separator: " ", maxSplits: 1).count == 2 && Double(last.split(separator: " ")[0]) != nil
            ? String(last.split(separator: " ", maxSplits: 1)[1]) : last
        let transferred = output.contains("received ")
        let farEndHeard = farEnd.process.output().contains(LabNetwork.lanPrefix4)
        let alerts = (observed.tally.alerts[address] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let cutOff = client.process.exitStatus == 1 && !transferred && !farEndHeard
        passed = passed && cutOff
        lines.append("  \(name) \(address), \(what): \(cutOff ? "CUT OFF" : "NOT cut off")")
        lines.append("    the client's last word: \(lastWords.isEmpty ? "(nothing)" : lastWords) (exit \(client.process.exitStatus.map(String.init) ?? "still running"))")
        lines.append("    \(farEndName) heard from the LAN: \(farEndHeard ? "yes" : "no"); alerts: \(alerts.isEmpty ? "none" : alerts)")
        let spans = observed.tally.locks[address] ?? []
        lines.append("    locked \(spans.count) time\(spans.count == 1 ? "" : "s"), \(Int(observed.tally.lockedSeconds(address, now: observed.now).rounded())) s in all")
        addDrops(observed.tally, address)
    }

    private mutating func addDrops(_ tally: LabTally, _ address: String) {
        let flows = (tally.droppedFlows[address] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let flowCount = (tally.droppedFlows[address] ?? [:]).values.reduce(0, +)
        lines.append("    flows dropped by the daemon: \(flowCount)\(flows.isEmpty ? "" : " (\(flows))"), \(tally.droppedPackets[address] ?? 0) packets")
    }

    private mutating func addBrowser(_ observed: Observations) {
        let address = LabNetwork.address4(Lab.browser)
        let ok = observed.browsing.filter { $0.result.outcome.isSuccess }
        let times = ok.map(\.result.milliseconds).sorted()
        let ftp = observed.ftp ?? []
        let ftpOK = ftp.filter { $0.result.isSuccess }.count
        let alerts = observed.tally.alerts[address]?.values.reduce(0, +) ?? 0
        let unaffected = !observed.browsing.isEmpty && ok.count == observed.browsing.count && ftpOK == ftp.count
            && (observed.ftp == nil || !ftp.isEmpty) && alerts == 0
        passed = passed && unaffected
        let median = times.isEmpty ? "" : ", median \(LabText.milliseconds(times[times.count / 2])), slowest \(LabText.milliseconds(times[times.count - 1]))"
        let ftpText = observed.ftp == nil ? "" : "; FTP sessions on port 21 \(ftpOK)/\(ftp.count) ok"
        lines.append("  browser \(address), an ordinary client: \(unaffected ? "UNAFFECTED" : "AFFECTED"): page loads \(ok.count)/\(observed.browsing.count) ok\(median)\(ftpText); alerts \(alerts)")
    }

    static func ratio(_ attempts: [RepeatingTask<LabBrowser.Result>.Attempt]) -> String {
        "\(attempts.filter { $0.result.outcome.isSuccess }.count)/\(attempts.count)"
    }
}
