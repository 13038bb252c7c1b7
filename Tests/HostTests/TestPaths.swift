import Host

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

    /// The built `peerwall`, from the same build as the tests.
    static var peerwallBinary: String { BuiltProducts.beside("peerwall") }
}
