import Foundation
import ArgumentParser
import Host
import PluginAPI

/// Options every control-socket command takes.
struct ControlOptions: ParsableArguments {
    @Option(name: .customLong("control-socket"), help: ArgumentHelp("The daemon's control socket.", valueName: "PATH"))
    var controlSocket = "/run/peerwall/peerwall.sock"

    /// Sends the request; a daemon that cannot be reached exits 69 (EX_UNAVAILABLE), a refused request 1.
    func send(_ request: ControlRequest) throws -> ControlResponse {
        do {
            return try ControlClient.send(request, socketPath: controlSocket)
        } catch {
            printError("\(error)")
            throw ExitCode(69)
        }
    }
}

func parseAddress(_ text: String) throws -> IPAddress {
    guard let address = IPAddress(text) else { throw ValidationError("not an IP address: \(text)") }
    return address
}

/// Prints a plain answer: the message, or the error and exit 1.
func finish(_ response: ControlResponse) throws {
    if response.ok {
        print(response.message ?? "ok")
    } else {
        printError(response.error ?? "failed")
        throw ExitCode(1)
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the running daemon's counters, locks and lists.")

    @OptionGroup var control: ControlOptions
    @Flag(name: .customLong("json"), help: "Print the daemon's JSON answer.")
    var json = false

    func run() throws {
        let response = try control.send(.status)
        if json {
            print(response.encodedLine())
            return
        }
        guard response.ok, let status = response.status else { return try finish(response) }
        print(StatusCommand.render(status))
    }

    static func render(_ s: StatusReport) -> String {
        var lines: [String] = []
        let mode = s.monitorOnly ? "monitor-only" : "enforcing"
        lines.append("peerwall \(s.version), up \(duration(s.uptimeSeconds)), \(mode)\(s.failOpen ? ", fail-open" : "")")
        if let intact = s.rulesIntact { lines.append("firewall rules: \(intact ? "in place" : "MISSING (being repaired)")") }
        lines.append("packets \(s.packets): accepted \(s.accepted), dropped \(s.dropped), rejected \(s.rejected)\(s.wouldDrop > 0 ? ", would drop \(s.wouldDrop)" : ""), malformed \(s.malformed)")
        lines.append("flows \(s.flows) (\(s.activeFlows) tracked), packets sent \(s.injected)\(s.injectFailures > 0 ? " (\(s.injectFailures) failed)" : "")")
        for q in s.queues {
            var text = "queue \(q.queue): \(q.packets) packets, \(q.settled) flows handed to the kernel"
            if let dropped = q.kernelQueueDropped, let user = q.kernelUserDropped {
                text += ", kernel drops \(dropped) (queue full) \(user) (socket)"
            }
            if q.enobufs > 0 { text += ", ENOBUFS \(q.enobufs)" }
            if q.verdictErrors > 0 { text += ", verdict errors \(q.verdictErrors)" }
            lines.append(text)
        }
        lines.append("detections: " + (s.detections.isEmpty ? "none" : s.detections.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        lines.append("learned lists: " + (s.learnedLists.isEmpty ? "empty" : s.learnedLists.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        lines.append("locked clients: \(s.lockedClients.isEmpty ? "none" : String(s.lockedClients.count))")
        for lock in s.lockedClients {
            lines.append("  \(lock.client)  \(duration(lock.remainingSeconds)) left  \(lock.reason)\(lock.arms > 1 ? "  (re-armed \(lock.arms - 1)x)" : "")")
        }
        lines.append("signatures: " + s.signatureRevisions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                     + ", reloads \(s.reloads)")
        if let error = s.lastReloadError { lines.append("last reload FAILED:\n  " + error.split(separator: "\n").joined(separator: "\n  ")) }
        return lines.joined(separator: "\n")
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total >= 3600 { return "\(total / 3600)h\(String(format: "%02d", total / 60 % 60))m" }
        if total >= 60 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        return "\(total)s"
    }
}

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "explain", abstract: "Why a client is locked or an address is on a learned list.")

    @OptionGroup var control: ControlOptions
    @Flag(name: .customLong("json"), help: "Print the daemon's JSON answer.")
    var json = false
    @Argument(help: "The client or peer address.") var address: String

    func run() throws {
        let response = try control.send(.explain(try parseAddress(address)))
        if json {
            print(response.encodedLine())
            return
        }
        guard response.ok, let e = response.explain else { return try finish(response) }
        var lines = ["\(e.address)\(e.isLAN ? " (LAN client)" : "")\(e.neverBlocked ? ", never blocked" : "")"]
        if let lock = e.lock {
            lines.append("locked: \(StatusCommand.duration(lock.remainingSeconds)) left (until \(lock.until)), reason \(lock.reason)")
            lines.append("  locked at \(lock.lockedAt), last re-armed \(lock.lastArmedAt), armed \(lock.arms)x\(lock.probePending ? ", probe pending" : "")")
        } else {
            lines.append("not locked")
        }
        if e.learned.isEmpty { lines.append("on no learned list") }
        for entry in e.learned {
            lines.append("listed on \(entry.list)\(entry.port.map { " (port \($0))" } ?? ""): \(StatusCommand.duration(entry.remainingSeconds)) left; learned \(entry.learnedAt) from \(entry.origin)")
        }
        if !e.evidence.isEmpty { lines.append("evidence (most recent last):") }
        for item in e.evidence {
            lines.append("  \(item.time)  \(item.signature)  \(item.packet)")
        }
        print(lines.joined(separator: "\n"))
    }
}

struct UnlockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unlock", abstract: "Lift a client's time lock.")
    @OptionGroup var control: ControlOptions
    @Argument(help: "The locked client's address.") var address: String
    func run() throws { try finish(try control.send(.unlock(try parseAddress(address)))) }
}

struct ForgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "forget", abstract: "Remove an address from every learned list.")
    @OptionGroup var control: ControlOptions
    @Argument(help: "The listed address.") var address: String
    func run() throws { try finish(try control.send(.forget(try parseAddress(address)))) }
}

struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reload", abstract: "Reload the configuration and signatures (like SIGHUP), and report the result.")
    @OptionGroup var control: ControlOptions
    func run() throws { try finish(try control.send(.reload)) }
}
