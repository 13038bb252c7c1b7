import Foundation

/// The lab's closing summary: what happened to each client, from the simulators' own counts,
/// the page loads, and the daemon's events and counters; and whether it is what peerwall is for.
struct LabSummary {
    private(set) var lines: [String] = []
    private(set) var passed = true

    init(tally: LabTally, now: Double, kazaa: LabSimulator?, supernodes: LabSimulator?, kazaaAddress: String,
         kazaaBrowsing: [BrowsingLoop.Attempt], browserAddress: String, browsing: [BrowsingLoop.Attempt],
         status: StatusReport?, elapsed: Double, lockSeconds: Int) {
        lines.append("")
        lines.append("Summary after \(Int(elapsed.rounded())) s (lock time \(lockSeconds) s):")
        if let kazaa {
            addKazaa(tally: tally, now: now, client: kazaa, peers: supernodes, address: kazaaAddress, browsing: kazaaBrowsing)
        } else {
            lines.append("  kazaa: not run (this peerwall-sim has no fasttrack-client)")
        }
        addBrowser(address: browserAddress, browsing: browsing)
        if let status {
            let queueDrops = status.queues.reduce(UInt64(0)) { $0 + ($1.kernelQueueDropped ?? 0) + ($1.kernelUserDropped ?? 0) }
            let verdictErrors = status.queues.reduce(UInt64(0)) { $0 + $1.verdictErrors }
            lines.append("  daemon: \(status.packets) packets judged, \(status.accepted) accepted, \(status.dropped) dropped; "
                         + "\(status.injected) packets sent (replies, probes, resets); kernel queue drops \(queueDrops); verdict errors \(verdictErrors)")
        } else {
            lines.append("  daemon: no status (it was not answering at the end)")
            passed = false
        }
        lines.append(passed ? "Result: as expected." : "Result: NOT as expected (see above).")
    }

    private mutating func addKazaa(tally: LabTally, now: Double, client: LabSimulator, peers: LabSimulator?, address: String,
                                   browsing: [BrowsingLoop.Attempt]) {
        let pingsSent = client.count("pings_sent")
        let pongs = client.count("pongs")
        let supernodePongs = client.count("supernode_pongs")
        let attempts = client.count("tcp_attempts")
        let connected = client.count("tcp_connected")
        let probesAnswered = tally.probeAnswers[address] ?? 0
        let pingsReached = peers?.count("pings_answered")
        let accepted = peers?.count("tcp_accepted")
        let spoofed = tally.injected[address]?["reply"] ?? 0
        let probes = tally.injected[address]?["probe"] ?? 0
        let spans = tally.locks[address] ?? []
        let firstLock = tally.firstLock(address)

        var locked: [BrowsingLoop.Attempt] = [], before: [BrowsingLoop.Attempt] = [], after: [BrowsingLoop.Attempt] = []
        for attempt in browsing {
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
        lines.append("    pings sent \(n(pingsSent)); pings that reached the supernodes \(n(pingsReached)) (dropped at the gateway: \(tally.alertCount(address, prefix: "fasttrack.udp")) alerts)")
        lines.append("    pongs received \(n((pongs ?? 0) + (supernodePongs ?? 0))), all spoofed by the gateway (it sent \(spoofed) replies)")
        lines.append("    TCP connection attempts \(n(attempts)), connected \(n(connected)); connections the supernodes accepted \(n(accepted))")
        let lockedFor = Int(tally.lockedSeconds(address, now: now).rounded())
        let rearms = spans.reduce(0) { $0 + $1.rearms }
        let stillLocked = spans.last.map { $0.end == nil } ?? false
        lines.append("    locked \(spans.count) time\(spans.count == 1 ? "" : "s"), \(lockedFor) s in all, re-armed \(rearms) times\(stillLocked ? ", still locked at the end" : ""); lock probes sent \(probes), answered \(probesAnswered)")
        lines.append("    its web access: \(LabSummary.ratio(before)) ok before the lock, \(LabSummary.ratio(locked)) ok while locked, \(LabSummary.ratio(after)) ok after the lock")
        let flows = (tally.droppedFlows[address] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let flowCount = (tally.droppedFlows[address] ?? [:]).values.reduce(0, +)
        lines.append("    flows dropped by the daemon: \(flowCount)\(flows.isEmpty ? "" : " (\(flows))"), \(tally.droppedPackets[address] ?? 0) packets")
    }

    private mutating func addBrowser(address: String, browsing: [BrowsingLoop.Attempt]) {
        let ok = browsing.filter { $0.result.outcome.isSuccess }
        let times = ok.map(\.result.milliseconds).sorted()
        let unaffected = !browsing.isEmpty && ok.count == browsing.count
        passed = passed && unaffected
        let median = times.isEmpty ? "" : ", median \(LabText.milliseconds(times[times.count / 2])), slowest \(LabText.milliseconds(times[times.count - 1]))"
        lines.append("  browser \(address), an ordinary client: \(unaffected ? "UNAFFECTED" : "AFFECTED"): \(ok.count)/\(browsing.count) page loads ok\(median)")
    }

    static func ratio(_ attempts: [BrowsingLoop.Attempt]) -> String {
        "\(attempts.filter { $0.result.outcome.isSuccess }.count)/\(attempts.count)"
    }
}
