import Foundation

/// Locates the repository's files from the test sources, without SwiftPM resources.
enum TestPaths {
    /// The package root: this file is `Tests/HostTests/TestPaths.swift`.
    static let root: String = {
        var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(3)
        return components.joined(separator: "/")
    }()

    static let fixtures = root + "/Tests/HostTests/Fixtures"
    static let validSignatures = fixtures + "/signatures-valid"
    static let invalidSignatures = fixtures + "/signatures-invalid"
    static let configs = fixtures + "/config"
    static let shippedSignatures = root + "/signatures"
    static let schema = shippedSignatures + "/peerwall-signatures.xsd"

    /// The built `peerwall`, beside the test bundle: SwiftPM puts every product of a build in one directory.
    static var peerwallBinary: String {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        let candidates = [testBinary.appendingPathComponent("peerwall").path,
                          testBinary.deletingLastPathComponent().appendingPathComponent("peerwall").path,
                          root + "/.build/debug/peerwall"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[candidates.count - 1]
    }
}
