import PluginAPI

#if canImport(Glibc)
import Glibc
#endif

/// Loads what an engine needs: the configuration (file, then flags on top) and the plugins
/// built from their signature files. Shared by `replay`, `check` and `run`, so all three judge
/// the same files the same way.
public enum EngineSetup {
    /// Where the configuration comes from.
    public enum ConfigSource: Sendable {
        /// The default path: used when present, defaults when absent.
        case defaultPath(String)
        /// Given explicitly: a missing file is an error.
        case explicit(String)
    }

    public static let defaultConfigPath = "/etc/peerwall/peerwall.xml"

    /// Reads the configuration file and applies `overrides` (the command-line flags).
    public static func configuration(from source: ConfigSource, overrides: (inout Configuration) -> Void) throws -> Configuration {
        var configuration = Configuration()
        switch source {
        case .defaultPath(let path):
            if access(path, F_OK) == 0 { try ConfigurationLoader.load(path: path, into: &configuration) }
        case .explicit(let path):
            try ConfigurationLoader.load(path: path, into: &configuration)
        }
        overrides(&configuration)
        return configuration
    }

    /// The signature directory: the flag, else the configured one when it exists, else
    /// `signatures/` in the working directory (a source checkout).
    public static func signatureDirectory(flag: String?, configuration: Configuration) -> String {
        if let flag { return flag }
        if access(configuration.signatureDirectory, F_OK) == 0 { return configuration.signatureDirectory }
        if access("signatures/\(SignatureLoader.schemaFileName)", F_OK) == 0 { return "signatures" }
        return configuration.signatureDirectory
    }

    /// Loads and compiles every catalog plugin's signature file and builds the plugins.
    /// Throws `SetupError` listing every problem as `file:line: message`.
    public static func detectors(catalog: [any Detector.Type], directory: String, configuration: Configuration) throws(SetupError) -> LoadedDetectors {
        let sets: [String: SignatureSet]
        do {
            sets = try SignatureLoader.loadAll(directory: directory, detectorIDs: catalog.map { $0.descriptor.id })
        } catch let error as LoadError {
            throw SetupError(messages: error.diagnostics.map(\.description))
        } catch {
            throw SetupError(messages: ["\(directory): \(error)"])
        }
        do {
            return try LoadedDetectors.build(catalog: catalog, signatureSets: sets,
                                             settings: DetectorSettings(lockSecondsOverride: configuration.lockSeconds))
        } catch let error as DetectorBuildError {
            throw SetupError(messages: error.messages)
        } catch {
            throw SetupError(messages: ["\(error)"])
        }
    }
}

/// A configuration or signature problem: every message is `file:line: message`.
public struct SetupError: Error, CustomStringConvertible, Sendable {
    public let messages: [String]
    public init(messages: [String]) { self.messages = messages }
    public var description: String { messages.joined(separator: "\n") }
}
