import Foundation
import Glibc

/// The real `peerwall run` on the lab's gateway, with `--manage-rules` and everything it
/// writes (event log, state, control socket, its own log) in the lab's scratch directory.
public final class LabDaemon: @unchecked Sendable {
    public struct Settings: Sendable {
        public var lockSeconds = 20
        public var queue: UInt16 = 0
        public var failOpen = false
        public var signatures: String
        /// Idle timeouts of the lab's flows, short so dropped flows are reported soon after
        /// their last packet: tcpOpening, tcpEstablished, tcpClosing, udp.
        public var timeouts = (tcpOpening: 5, tcpEstablished: 300, tcpClosing: 3, udp: 10)
        public var extraArguments: [String] = []
        /// Install the rules (`--manage-rules`); off when the caller installs its own.
        public var manageRules = true
        /// Pin the daemon to this CPU (`taskset`) and run it at this niceness, for measurements.
        public var cpu: Int?
        public var nice: Int?

        public init(signatures: String) { self.signatures = signatures }
    }

    public let executable: String
    public let network: LabNetwork
    public let directory: String
    public var settings: Settings
    public private(set) var process: LabProcess?
    /// How many times the daemon was started.
    public private(set) var starts = 0

    public var eventLog: String { directory + "/events.jsonl" }
    public var stateDirectory: String { directory + "/state" }
    public var controlSocket: String { directory + "/control.sock" }
    public var logPath: String { directory + "/daemon.log" }
    public var configPath: String { directory + "/peerwall.xml" }

    public init(executable: String, network: LabNetwork, directory: String, settings: Settings) {
        self.executable = executable
        self.network = network
        self.directory = directory
        self.settings = settings
    }

    /// The daemon's command line after `peerwall`.
    public var arguments: [String] {
        var arguments = ["run", "--config", configPath, "--queue", String(settings.queue),
                         "--lock-seconds", String(settings.lockSeconds), "--signatures", settings.signatures,
                         "--event-log", eventLog, "--state-dir", stateDirectory, "--control-socket", controlSocket]
        for range in LabNetwork.lanRanges { arguments += ["--lan", range] }
        if settings.failOpen { arguments.append("--fail-open") }
        if settings.manageRules { arguments.append("--manage-rules") }
        return arguments + settings.extraArguments
    }

    /// Starts the daemon in the gateway namespace and waits until it answers on its control
    /// socket (its rules are in place by then).
    public func start(timeout: Double = 20) throws {
        if let process, process.isRunning { throw LabError("the daemon already runs (pid \(process.pid))") }
        let t = settings.timeouts
        let config = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- Written by peerwall lab: short flow timeouts, so dropped flows are reported promptly. -->
            <peerwall xmlns="https://peerwall.dev/ns/config/1" schema="1">
              <timeouts tcpOpening="\(t.tcpOpening)" tcpEstablished="\(t.tcpEstablished)" tcpClosing="\(t.tcpClosing)" udp="\(t.udp)"/>
            </peerwall>

            """
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        } catch {
            throw LabError("cannot write the lab's daemon configuration in \(directory): \(error)")
        }
        let process = try LabProcess(name: "peerwall", namespace: network.gateway, program: executable, arguments: arguments,
                                     logPath: logPath, cpu: settings.cpu, nice: settings.nice)
        self.process = process
        starts += 1
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning {
                throw LabError("the daemon exited with status \(process.exitStatus ?? -1):\n\(LabDaemon.tail(process.output()))")
            }
            if (try? ControlClient.send(.status, socketPath: controlSocket))?.ok == true { return }
            usleep(100_000)
        }
        process.stop()
        throw LabError("the daemon did not answer on \(controlSocket) within \(Int(timeout)) s:\n\(LabDaemon.tail(process.output()))")
    }

    /// Forgets everything an earlier run left: state file, event log, log. Only while stopped.
    public func removeFiles() {
        guard !isRunning else { return }
        for path in [eventLog, logPath, stateDirectory] { try? FileManager.default.removeItem(atPath: path) }
    }

    /// SIGTERM and wait: the daemon removes its rules, saves its state and exits 0.
    @discardableResult
    public func stop(grace: Double = 15) -> Int32? {
        guard let process else { return nil }
        return process.stop(grace: grace)
    }

    /// SIGKILL: no chance to save state or remove rules.
    public func kill() {
        guard let process else { return }
        process.send(SIGKILL)
        process.wait(seconds: 5)
    }

    /// SIGHUP: reload configuration and signatures.
    public func hangUp() { process?.send(SIGHUP) }

    public var isRunning: Bool { process?.isRunning ?? false }

    public func status() throws -> StatusReport {
        let response = try ControlClient.send(.status, socketPath: controlSocket)
        guard response.ok, let status = response.status else { throw LabError("status refused: \(response.error ?? "?")") }
        return status
    }

    /// The mangle table of the gateway, as `iptables -S` prints it (IPv4 and IPv6).
    public func rules() -> String {
        CommandRunner.run("ip", ["netns", "exec", network.gateway, "iptables", "-w", "-t", "mangle", "-S"]).output
            + CommandRunner.run("ip", ["netns", "exec", network.gateway, "ip6tables", "-w", "-t", "mangle", "-S"]).output
    }

    /// The last lines of a log, for error messages.
    static func tail(_ text: String, lines: Int = 15) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}
