import PluginAPI

/// The plugins built from one signature set, ready to hand to an engine. Built whole or not at
/// all, so a reload that fails leaves the running set untouched.
public struct LoadedDetectors: @unchecked Sendable {
    let slots: [AnyDetectorSlot]
    /// Plugin id to the revision of its signature file.
    public let revisions: [String: String]

    public var ids: [String] { slots.map { $0.descriptor.id } }

    /// Builds every catalog plugin from its signature set. Throws one error listing every plugin
    /// that could not be built.
    public static func build(catalog: [any Detector.Type], signatureSets: [String: SignatureSet],
                             settings: DetectorSettings) throws -> LoadedDetectors {
        precondition(catalog.count <= 32, "the flow record keeps one bit per plugin")
        var slots: [AnyDetectorSlot] = []
        var revisions: [String: String] = [:]
        var problems: [String] = []
        for type in catalog {
            let id = type.descriptor.id
            guard let set = signatureSets[id] else {
                problems.append("\(type.descriptor.signatureFileName): no signature set loaded for plugin '\(id)'")
                continue
            }
            do {
                slots.append(try makeDetectorSlot(type, signatures: set, settings: settings))
                revisions[id] = set.revision
            } catch let error as SignatureParameterError {
                problems.append(error.description)
            } catch {
                problems.append("\(set.file): plugin '\(id)' rejected its signatures: \(error)")
            }
        }
        guard problems.isEmpty else { throw DetectorBuildError(messages: problems) }
        return LoadedDetectors(slots: slots, revisions: revisions)
    }
}

public struct DetectorBuildError: Error, CustomStringConvertible, Sendable {
    public let messages: [String]
    public var description: String { messages.joined(separator: "\n") }
}
