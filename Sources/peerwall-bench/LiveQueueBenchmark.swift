import Foundation
import Host

/// `peerwall-bench live`: verdicts per second through a real NFQUEUE, peerwall against a minimal
/// C accept loop, in the same namespaces and the same run.
///
/// A load client on the lab's LAN sends UDP (many flows) to an outside address through the
/// gateway; on the gateway one iptables rule queues every forwarded packet from the LAN
/// (no settled-flow bypass, so every packet is judged), and the reader under test answers.
/// Outside, a raw-table rule counts and discards what arrives. Per run: packets delivered
/// (accepted verdicts) per second, the reader's CPU time per packet (/proc/PID/stat, all
/// threads), and the kernel's queue drops (/proc/net/netfilter/nfnetlink_queue).
/// Saturated runs alternate the two readers; then fixed rates at fractions of the C loop's.
struct LiveQueueBenchmark {
    struct Options {
        var acceptLoop = ""
        var sender = ""
        var peerwall = BuiltProducts.beside("peerwall")
        var signatures = "signatures"
        var seconds = 5.0
        var flows = 64
        var payload = 100
        var rounds = 7
        var repeats = 2
        var fractions = [0.5, 0.8, 0.9]
    }

    struct Measurement {
        var reader: String
        var label: String
        var sent: UInt64
        var seconds: Double
        var delivered: UInt64
        var cpuSeconds: Double
        var drops: UInt64
        /// Of the drops, those the socket buffer had no room for (the rest: the queue was full).
        var userDrops: UInt64 = 0
        /// What the reader itself counted, when it says (peerwall's status).
        var judged: UInt64?

        var offered: Double { Double(sent) / seconds }
        var rate: Double { Double(delivered) / seconds }
        var microsecondsPerPacket: Double { delivered == 0 ? 0 : cpuSeconds / Double(delivered) * 1_000_000 }
    }

    static let queue: UInt16 = 0
    static let load = LabNetwork.Client("load", host: 50)
    static let sinkHost: UInt8 = 60
    /// Readers and sender run at this niceness, so other work on a shared machine disturbs
    /// the measurement less (and both readers alike).
    static let nice = -10

    static func main(_ arguments: [String]) -> Int32 {
        var options = Options()
        var index = 0
        func value() -> String? {
            index += 1
            return index < arguments.count ? arguments[index] : nil
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--accept-loop": options.acceptLoop = value() ?? ""
            case "--sender": options.sender = value() ?? ""
            case "--peerwall": options.peerwall = value() ?? options.peerwall
            case "--signatures": options.signatures = value() ?? options.signatures
            case "--seconds": options.seconds = value().flatMap(Double.init) ?? options.seconds
            case "--flows": options.flows = value().flatMap(Int.init) ?? options.flows
            case "--payload": options.payload = value().flatMap(Int.init) ?? options.payload
            case "--rounds": options.rounds = value().flatMap(Int.init) ?? options.rounds
            case "--repeats": options.repeats = value().flatMap(Int.init) ?? options.repeats
            default:
                printError("usage: peerwall-bench live --accept-loop PATH --sender PATH [--peerwall PATH] [--signatures DIR] [--seconds S] [--flows N] [--payload BYTES] [--rounds N] [--repeats N]\n")
                return 64
            }
            index += 1
        }
        if let missing = LabNetwork.missingPrerequisite() {
            printError("peerwall-bench live \(missing)\n")
            return 77
        }
        for program in [options.acceptLoop, options.sender, options.peerwall] where !FileManager.default.isExecutableFile(atPath: program) {
            printError("peerwall-bench live: no executable at '\(program)'\n")
            return 66
        }
        do {
            try LiveQueueBenchmark(options: options).run()
            return 0
        } catch {
            printError("peerwall-bench live: \(error)\n")
            return 71
        }
    }

    let options: Options
    let network = LabNetwork(base: "pwbench", clients: [LiveQueueBenchmark.load], outsideHosts: [LiveQueueBenchmark.sinkHost])
    let directory: String
    let pinned: Bool

    init(options: Options) {
        self.options = options
        directory = NSTemporaryDirectory() + network.prefix
        pinned = sysconf(Int32(_SC_NPROCESSORS_ONLN)) >= 2
    }

    func say(_ text: String) {
        Self.printError(text + "\n")
    }

    /// Progress and errors on standard error; the report alone on standard output.
    static func printError(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    func run() throws {
        LabNetwork.removeStale(base: network.base)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            network.destroy()
            try? FileManager.default.removeItem(atPath: directory)
        }
        try network.build()
        let rule = ["-w", "-t", "mangle", "-A", "FORWARD", "-s", LabNetwork.lanRanges[0], "-j", "NFQUEUE", "--queue-num", String(LiveQueueBenchmark.queue)]
        let sink = ["-w", "-t", "raw", "-A", "PREROUTING", "-d", LabNetwork.outside4(LiveQueueBenchmark.sinkHost), "-p", "udp", "-j", "DROP"]
        for (namespace, arguments) in [(network.gateway, rule), (network.outside, sink)] {
            let result = CommandRunner.run("ip", ["netns", "exec", namespace, "iptables"] + arguments)
            guard result.status == 0 else { throw LabError("iptables \(arguments.joined(separator: " ")): \(result.output)") }
        }

        var saturated: [Measurement] = []
        for round in 1...max(1, options.rounds) {
            saturated.append(try measure(reader: "C accept loop", label: "saturated, round \(round)", rate: 0))
            saturated.append(try measure(reader: "peerwall", label: "saturated, round \(round)", rate: 0))
        }
        let cRate = median(saturated.filter { $0.reader == "C accept loop" }.map(\.rate))
        var fixed: [Measurement] = []
        for fraction in options.fractions {
            let rate = (cRate * fraction / 1000).rounded() * 1000
            for _ in 0..<max(1, options.repeats) {
                fixed.append(try measure(reader: "C accept loop", label: "\(Int(fraction * 100)) % of the C loop's rate", rate: rate))
                fixed.append(try measure(reader: "peerwall", label: "\(Int(fraction * 100)) % of the C loop's rate", rate: rate))
            }
        }
        print(report(saturated: saturated, fixed: fixed))
    }

    // MARK: One run

    private func measure(reader: String, label: String, rate: Double) throws -> Measurement {
        let started = try startReader(reader)
        defer { started.stop() }
        let process = started.process
        // Warm up: every flow seen once at a fifth of the rate, so the run measures the steady state.
        _ = try send(rate: max(20_000, rate / 5), seconds: 1)
        usleep(300_000)
        guard let cpuBefore = process.cpuSeconds else { throw LabError("\(reader) is not running") }
        let queueBefore = KernelQueueStats.read(pid: process.pid)[LiveQueueBenchmark.queue]
        let deliveredBefore = try delivered()
        let judgedBefore = started.judged()

        let (sent, seconds) = try send(rate: rate, seconds: options.seconds)
        // Let the queue drain before reading the counters.
        usleep(500_000)
        guard let cpuAfter = process.cpuSeconds else { throw LabError("\(reader) died during the run:\n\(process.output())") }
        let queueAfter = KernelQueueStats.read(pid: process.pid)[LiveQueueBenchmark.queue]
        let deliveredAfter = try delivered()
        let judgedAfter = started.judged()

        let drops = (queueAfter.map { $0.queueDropped + $0.userDropped } ?? 0) - (queueBefore.map { $0.queueDropped + $0.userDropped } ?? 0)
        let judged = judgedAfter.map { $0 - (judgedBefore ?? 0) }
        var measurement = Measurement(reader: reader, label: label, sent: sent, seconds: seconds, delivered: deliveredAfter - deliveredBefore,
                                      cpuSeconds: cpuAfter - cpuBefore, drops: drops, judged: judged)
        measurement.userDrops = (queueAfter?.userDropped ?? 0) - (queueBefore?.userDropped ?? 0)
        say(String(format: "%@, %@: offered %.0f/s, verdicts %.0f/s, %.2f µs CPU per packet, queue drops %llu (socket buffer %llu)",
                   reader, label, measurement.offered, measurement.rate, measurement.microsecondsPerPacket, measurement.drops, measurement.userDrops))
        return measurement
    }

    /// Runs the load sender in the LAN client for `seconds` at `rate` (0: as fast as it can);
    /// returns what it sent and for how long.
    private func send(rate: Double, seconds: Double) throws -> (sent: UInt64, seconds: Double) {
        let log = directory + "/sender.log"
        try? FileManager.default.removeItem(atPath: log)
        let sender = try LabProcess(name: "sender", namespace: network.namespace(of: LiveQueueBenchmark.load), program: options.sender,
                                    arguments: [LabNetwork.outside4(LiveQueueBenchmark.sinkHost), "9000", String(options.flows),
                                                String(options.payload), String(Int(rate)), String(seconds)],
                                    logPath: log, cpu: pinned ? 0 : nil, nice: LiveQueueBenchmark.nice)
        guard sender.wait(seconds: seconds + 15), sender.exitStatus == 0 else {
            sender.stop()
            throw LabError("the load sender failed: \(sender.output())")
        }
        let fields = sender.output().split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 4, let sent = UInt64(fields[1]), let elapsed = Double(fields[3]) else {
            throw LabError("the load sender said: \(sender.output())")
        }
        return (sent, elapsed)
    }

    private struct StartedReader {
        let process: LabProcess
        let stop: () -> Void
        let judged: () -> UInt64?
    }

    private func startReader(_ reader: String) throws -> StartedReader {
        if reader == "peerwall" {
            var settings = LabDaemon.Settings(signatures: options.signatures)
            settings.queue = LiveQueueBenchmark.queue
            settings.manageRules = false
            settings.cpu = pinned ? 1 : nil
            settings.nice = LiveQueueBenchmark.nice
            let daemon = LabDaemon(executable: options.peerwall, network: network, directory: directory + "/peerwall", settings: settings)
            daemon.removeFiles()
            try daemon.start()
            guard let process = daemon.process else { throw LabError("peerwall did not start") }
            return StartedReader(process: process, stop: { daemon.stop() }, judged: { (try? daemon.status())?.packets })
        }
        let process = try LabProcess(name: "nfq-accept-loop", namespace: network.gateway, program: options.acceptLoop,
                                     arguments: [String(LiveQueueBenchmark.queue)], logPath: directory + "/accept-loop.log",
                                     cpu: pinned ? 1 : nil, nice: LiveQueueBenchmark.nice)
        let deadline = Date().addingTimeInterval(10)
        while KernelQueueStats.read(pid: process.pid)[LiveQueueBenchmark.queue] == nil {
            guard Date() < deadline, process.isRunning else {
                process.stop()
                throw LabError("the C accept loop did not bind its queue: \(process.output())")
            }
            usleep(50_000)
        }
        return StartedReader(process: process, stop: { process.stop() }, judged: { nil })
    }

    /// Packets that reached the outside so far (the sink rule's counter).
    private func delivered() throws -> UInt64 {
        let listing = CommandRunner.run("ip", ["netns", "exec", network.outside, "iptables", "-w", "-t", "raw", "-L", "PREROUTING", "-v", "-x", "-n"])
        for line in listing.output.split(separator: "\n") where line.contains("DROP") {
            if let count = line.split(separator: " ").first.flatMap({ UInt64($0) }) { return count }
        }
        throw LabError("cannot read the sink counter: \(listing.output)")
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }

    // MARK: Report

    private func report(saturated: [Measurement], fixed: [Measurement]) -> String {
        let cpu = ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").split(separator: "\n")
            .first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "?"
        var uts = utsname()
        uname(&uts)
        let kernel = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var lines: [String] = []
        lines.append("Machine: \(sysconf(Int32(_SC_NPROCESSORS_ONLN))) CPUs (\(cpu)), Linux \(kernel). Reader pinned to CPU 1, sender to CPU 0: \(pinned ? "yes" : "no (one CPU)"); both at niceness \(LiveQueueBenchmark.nice).")
        lines.append("Load: UDP, \(options.flows) sockets × 16 destination ports (\(options.flows * 16) flows), \(options.payload)-byte payloads, \(Int(options.seconds)) s per run after a 1 s warm-up; every forwarded packet queued.")
        lines.append("")
        lines.append("| Reader | Run | Offered (pkt/s) | Verdicts (pkt/s) | CPU per packet (µs) | Queue drops |")
        lines.append("|---|---|---:|---:|---:|---:|")
        for m in saturated + fixed {
            lines.append(String(format: "| %@ | %@ | %.0f | %.0f | %.2f | %llu |", m.reader, m.label, m.offered, m.rate, m.microsecondsPerPacket, m.drops))
        }
        let c = median(saturated.filter { $0.reader == "C accept loop" }.map(\.rate))
        let p = median(saturated.filter { $0.reader == "peerwall" }.map(\.rate))
        let pairs = stride(from: 0, to: saturated.count - 1, by: 2).map { saturated[$0 + 1].rate / max(1, saturated[$0].rate) }
        let cCPU = median(saturated.filter { $0.reader == "C accept loop" }.map(\.microsecondsPerPacket))
        let pCPU = median(saturated.filter { $0.reader == "peerwall" }.map(\.microsecondsPerPacket))
        lines.append("")
        lines.append(String(format: "Saturated, median of %d: C accept loop %.0f verdicts/s (%.2f µs CPU per packet), peerwall %.0f verdicts/s (%.2f µs): peerwall at %.2f× the C loop's rate (target ≥ 0.90×).",
                            options.rounds, c, cCPU, p, pCPU, c > 0 ? p / c : 0))
        lines.append(String(format: "Round by round, peerwall's rate over the C loop's: %@ (median %.2f×).",
                            pairs.map { String(format: "%.2f", $0) }.joined(separator: ", "), median(pairs)))
        // The saturated rate also depends on how much of its CPU each reader got on a shared
        // machine; the CPU time per packet does not, and its inverse is the rate one CPU sustains.
        lines.append(String(format: "Per CPU-second (1 / CPU per packet, saturated medians): C accept loop %.0f verdicts, peerwall %.0f: peerwall at %.2f×.",
                            cCPU > 0 ? 1_000_000 / cCPU : 0, pCPU > 0 ? 1_000_000 / pCPU : 0, pCPU > 0 ? cCPU / pCPU : 0))
        for reader in ["C accept loop", "peerwall"] {
            let runs = fixed.filter { $0.reader == reader }
            let summary = options.fractions.map { fraction -> String in
                let label = "\(Int(fraction * 100)) % of the C loop's rate"
                let drops = runs.filter { $0.label == label }.map { String($0.drops) }.joined(separator: ", ")
                return "\(Int(fraction * 100)) %: \(drops)"
            }.joined(separator: "; ")
            lines.append("Queue drops at fixed rates, \(reader) (each run): \(summary).")
        }
        let mismatched = (saturated + fixed).filter { m in m.judged.map { $0 < m.delivered } ?? false }
        if !mismatched.isEmpty { lines.append("Warning: peerwall counted fewer packets than were delivered in \(mismatched.count) run(s).") }
        return lines.joined(separator: "\n")
    }
}
