import ArgumentParser
import DetectorCatalog
import Host
import PluginAPI

#if canImport(Glibc)
import Glibc
#endif

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run capture files through the detection engine, offline.",
        discussion: """
            Reads pcap and pcapng files (Ethernet, raw IP, Linux cooked SLL and SLL2, 802.1Q tags) \
            and judges every packet with the same engine as the live daemon, using the capture's \
            timestamps as the clock. Several files are replayed in order as one capture. \
            A flow whose two ends both lie outside the LAN ranges is judged with its originator as \
            the LAN side, so captures taken off the gateway work.

            Exit codes: 0 success; 65 a truncated or corrupt capture (the flows read so far are \
            reported); 66 a missing capture file; 78 invalid signatures or configuration.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, text
    }

    @Option(name: .customLong("lan"), help: ArgumentHelp("A LAN address range (repeatable); replaces the defaults.", valueName: "CIDR"))
    var lanRanges: [String] = []

    @Option(help: ArgumentHelp("The signature directory.", valueName: "DIR"))
    var signatures: String?

    @Option(help: ArgumentHelp("A configuration file.", valueName: "FILE"))
    var config: String?

    @Option(help: "Output: JSON Lines events, or a human summary.")
    var format: Format = .json

    @Argument(help: ArgumentHelp("Capture files (pcap or pcapng).", valueName: "FILE"))
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one capture file") }
        for range in lanRanges where CIDR(range) == nil { throw ValidationError("--lan '\(range)' is not an address range (CIDR)") }
    }

    func run() throws {
        // Every file must exist before anything is judged.
        for file in files where access(file, R_OK) != 0 {
            printError("peerwall: capture file '\(file)': \(String(cString: strerror(errno)))")
            throw PeerwallExit.noInput
        }
        let setup = try loadSetup()
        let json = JSONLinesSink(writer: .standardOutput)
        let text = TextSummarySink()
        let sink: EngineEventSink = format == .json ? json : text
        let replayer = Replayer(engine: Engine(configuration: setup.configuration, detectors: setup.detectors, sink: sink))
        var failure: CaptureError?
        for file in files {
            do {
                try replayer.replay(file: file)
            } catch {
                failure = error
                break
            }
        }
        replayer.finish()
        json.flush()
        if format == .text { print(text.render()) }
        if let failure {
            printError("peerwall: \(failure.description) (the flows read before it are reported)")
            throw ExitCode(failure.exitCode)
        }
    }

    private func loadSetup() throws -> (configuration: Configuration, detectors: LoadedDetectors) {
        do {
            let source: EngineSetup.ConfigSource = config.map { .explicit($0) } ?? .defaultPath(EngineSetup.defaultConfigPath)
            let configuration = try EngineSetup.configuration(from: source) { configuration in
                if !lanRanges.isEmpty { configuration.lanRanges = lanRanges.compactMap { CIDR($0) } }
            }
            let directory = EngineSetup.signatureDirectory(flag: signatures, configuration: configuration)
            let detectors = try EngineSetup.detectors(catalog: DetectorCatalog.all, directory: directory, configuration: configuration)
            return (configuration, detectors)
        } catch {
            printSetupError(error)
            throw PeerwallExit.configError
        }
    }
}

/// Prints configuration and signature problems, one `file:line: message` per line.
func printSetupError(_ error: Error) {
    if let setup = error as? SetupError {
        for message in setup.messages { printError(message) }
    } else if let load = error as? LoadError {
        for diagnostic in load.diagnostics { printError(diagnostic.description) }
    } else {
        printError("peerwall: \(error)")
    }
}

func printError(_ message: String) {
    let line = Array((message + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
