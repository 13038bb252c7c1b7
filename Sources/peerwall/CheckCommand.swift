import ArgumentParser
import DetectorCatalog
import Host
import PluginAPI

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the signature files and the configuration, and exit.",
        discussion: """
            Loads every plugin's signature file exactly as the daemon does (schema validation, \
            pattern compilation, the plugins' own checks) and the configuration file when given. \
            Exit 0 when everything loads; 78 with one `file:line: message` per problem otherwise.
            """
    )

    @Option(help: ArgumentHelp("The signature directory.", valueName: "DIR"))
    var signatures: String?

    @Option(help: ArgumentHelp("A configuration file.", valueName: "FILE"))
    var config: String?

    func run() throws {
        do {
            let source: EngineSetup.ConfigSource = config.map { .explicit($0) } ?? .defaultPath(EngineSetup.defaultConfigPath)
            let configuration = try EngineSetup.configuration(from: source) { _ in }
            let directory = EngineSetup.signatureDirectory(flag: signatures, configuration: configuration)
            let detectors = try EngineSetup.detectors(catalog: DetectorCatalog.all, directory: directory, configuration: configuration)
            for id in detectors.ids {
                print("ok  \(directory)/\(id).xml  revision \(detectors.revisions[id] ?? "-")")
            }
            if let config { print("ok  \(config)") }
        } catch {
            printSetupError(error)
            throw PeerwallExit.configError
        }
    }
}
