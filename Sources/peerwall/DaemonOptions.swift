import ArgumentParser
import DetectorCatalog
import Host
import PluginAPI

/// The daemon's settings as flags, shared by `run` and `rules`. Each flag given wins over the
/// config file; a repeatable flag replaces the file's whole list.
struct DaemonOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp("The configuration file (default \(EngineSetup.defaultConfigPath), optional there).", valueName: "FILE"))
    var configFile: String?

    @Option(name: .customLong("queue"), help: ArgumentHelp("NFQUEUE number to read; repeat for several (one contiguous range).", valueName: "N"))
    var queues: [UInt16] = []

    @Option(name: .customLong("lan"), help: ArgumentHelp("A LAN range; repeat for several. Replaces the configured list.", valueName: "CIDR"))
    var lan: [String] = []

    @Option(name: .customLong("never-block"), help: ArgumentHelp("Never block this client or peer; repeatable.", valueName: "CIDR"))
    var neverBlock: [String] = []

    @Option(name: .customLong("lock-seconds"), help: ArgumentHelp("Lock time for every plugin; 0 disables locking.", valueName: "N"))
    var lockSeconds: Int?

    @Flag(name: .customLong("monitor-only"), help: "Log what would be dropped; drop nothing.")
    var monitorOnly = false

    @Flag(name: .customLong("fail-open"), help: "Accept packets when the queue is full or the daemon is gone (kernel fail-open, --queue-bypass).")
    var failOpen = false

    @Option(name: .customLong("event-log"), help: ArgumentHelp("Append JSON Lines events to this file.", valueName: "PATH"))
    var eventLog: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Where locks and learned lists are kept across restarts.", valueName: "DIR"))
    var stateDirectory: String?

    @Option(name: .customLong("control-socket"), help: ArgumentHelp("The control socket path.", valueName: "PATH"))
    var controlSocket: String?

    @Flag(name: .customLong("manage-rules"), help: "Install the firewall rules at start, keep them in place, remove them at exit.")
    var manageRules = false

    @Option(name: .customLong("signatures"), help: ArgumentHelp("The signature directory.", valueName: "DIR"))
    var signatures: String?

    func overrides() throws -> ConfigurationOverrides {
        var overrides = ConfigurationOverrides()
        overrides.queues = queues
        overrides.lanRanges = try lan.map(DaemonOptions.cidr)
        overrides.neverBlock = try neverBlock.map(DaemonOptions.cidr)
        overrides.lockSeconds = lockSeconds
        overrides.monitorOnly = monitorOnly
        overrides.failOpen = failOpen
        overrides.eventLogPath = eventLog
        overrides.stateDirectory = stateDirectory
        overrides.controlSocketPath = controlSocket
        overrides.manageRules = manageRules
        overrides.signatureDirectory = signatures
        return overrides
    }

    static func cidr(_ text: String) throws -> CIDR {
        guard let cidr = CIDR(text) else { throw ValidationError("not an address or address range: \(text)") }
        return cidr
    }

    /// The config file (the default path only when it exists) with the flags over it.
    func loadConfiguration() throws -> Configuration {
        let source: EngineSetup.ConfigSource = configFile.map { .explicit($0) } ?? .defaultPath(EngineSetup.defaultConfigPath)
        let flags = try overrides()
        return try EngineSetup.configuration(from: source) { configuration in configuration = flags.applied(to: configuration) }
    }

    /// The plugins from the signature directory the settings name, built the way replay builds them.
    static func loadDetectors(_ configuration: Configuration) throws -> LoadedDetectors {
        let directory = EngineSetup.signatureDirectory(flag: nil, configuration: configuration)
        return try EngineSetup.detectors(catalog: DetectorCatalog.all, directory: directory, configuration: configuration)
    }
}
