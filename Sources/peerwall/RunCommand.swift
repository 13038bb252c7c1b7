import ArgumentParser
import Host
import Logging

/// `peerwall run`: the live daemon.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Judge live traffic from NFQUEUE (needs CAP_NET_ADMIN and CAP_NET_RAW).",
        discussion: "Stops on SIGTERM or SIGINT (every pending packet answered, state saved, managed rules removed); SIGHUP reloads the configuration and signatures and reopens the event log.")

    @OptionGroup var options: DaemonOptions

    @Flag(name: .customLong("verbose"), help: "Log every sent packet and dropped flow too.")
    var verbose = false

    func run() throws {
        // Flag syntax errors are usage errors (64); everything about the settings' content is 78.
        _ = try options.overrides()
        let level: Logger.Level = verbose ? .debug : .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "peerwall")
        let options = self.options
        let daemon = Daemon(
            loaders: Daemon.Loaders(configuration: { try options.loadConfiguration() },
                                    detectors: { try DaemonOptions.loadDetectors($0) }),
            logger: logger)
        do {
            try daemon.run()
        } catch let error as Daemon.StartError {
            for line in error.description.split(separator: "\n") { logger.critical("\(line)") }
            throw ExitCode(error.exitCode)
        }
    }
}
