import ArgumentParser
import Dispatch
import Foundation
import Host

/// `peerwall lab`: the gateway lab, live, in network namespaces of its own.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Show peerwall at work on a gateway lab in network namespaces (needs root).",
        discussion: """
            Builds a LAN of clients (each in a network namespace of its own), a gateway and an outside \
            network, joined by veth pairs, using only 10.99.0.0/16 and fd00:99::/48; runs `peerwall run \
            --manage-rules` on the gateway; on the LAN a simulated Kazaa client, Napster client and \
            AudioGalaxy client (peerwall-sim, found beside this program) and an ordinary client loading web \
            pages and fetching a file by FTP; outside, stand-in supernodes, servers and peers, a web server \
            and an FTP server. Prints what is blocked and why as it happens, then a summary. Everything it \
            made is removed at the end, on Ctrl-C and on SIGTERM. Exit status: 0 when the file-sharing \
            clients were cut off and the ordinary client was unaffected, 1 when not, 69 when a tool is \
            missing, 71 when the lab could not be built, 77 when not run as root, 130 when interrupted.
            """)

    @Option(help: ArgumentHelp("How long to run, in seconds.", valueName: "SECONDS"))
    var duration: Double = 75

    @Option(name: .customLong("lock-seconds"), help: ArgumentHelp("The daemon's lock time.", valueName: "N"))
    var lockSeconds = 20

    @Option(name: .customLong("signatures"), help: ArgumentHelp("The signature directory.", valueName: "DIR"))
    var signatures: String?

    @Flag(name: .customLong("keep"), help: "Keep the logs, the event log and the state file (their directory is printed).")
    var keep = false

    @Flag(name: .customLong("verbose"), help: "Print every alert, re-arm and injected packet, not only the first of each kind.")
    var verbose = false

    func validate() throws {
        guard duration >= 10, duration <= 3600 else { throw ValidationError("--duration must be 10...3600 seconds") }
        guard lockSeconds >= 2, lockSeconds <= 600 else { throw ValidationError("--lock-seconds must be 2...600") }
    }

    func run() throws {
        if geteuid() != 0 {
            printError("peerwall lab must run as root: it creates network namespaces, firewall rules and NFQUEUE readers. Try: sudo peerwall lab")
            throw ExitCode(77)
        }
        if let missing = LabNetwork.missingPrerequisite() {
            printError("peerwall lab \(missing)")
            throw ExitCode(69)
        }
        let executable = BuiltProducts.current
        let simulator = BuiltProducts.beside("peerwall-sim")
        guard FileManager.default.isExecutableFile(atPath: simulator) else {
            printError("peerwall lab needs peerwall-sim beside the peerwall executable (\(simulator)); build both with `swift build`")
            throw ExitCode(69)
        }
        let directory = EngineSetup.signatureDirectory(flag: signatures, configuration: Configuration())

        var options = LabDemo.Options(peerwall: executable, simulator: simulator, signatures: directory)
        options.duration = duration
        options.lockSeconds = lockSeconds
        options.keepFiles = keep
        options.verbose = verbose
        // Unbuffered, so each line shows as it happens even through a pipe; a closed pipe
        // (`| head`) must not stop the clean-up, so SIGPIPE is ignored and write errors too.
        signal(SIGPIPE, SIG_IGN)
        let demo = LabDemo(options: options) { line in
            let bytes = Array((line + "\n").utf8)
            _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        }

        // Ctrl-C, SIGTERM and a closed terminal end the run early; the summary and the clean-up
        // still happen. The lab's children have their own process groups and do not see the Ctrl-C.
        var sources: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM, SIGHUP] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { demo.requestStop() }
            source.resume()
            sources.append(source)
        }
        defer { for source in sources { source.cancel() } }

        let passed: Bool
        do {
            passed = try demo.run()
        } catch {
            printError("peerwall lab: \(error)")
            throw ExitCode(71)
        }
        if demo.wasInterrupted { throw ExitCode(130) }
        if !passed { throw ExitCode(1) }
    }
}
