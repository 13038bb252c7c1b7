import DetectorCatalog
import Foundation
import PluginAPI
import XCTest

/// The catalog, the plugin folders, the signature files and the plugin tests must agree: a
/// plugin missing any of them, or any of them without a plugin, fails here.
final class RegistryCompletenessTests: XCTestCase {
    private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private var catalogIDs: [String] { DetectorCatalog.all.map { $0.descriptor.id } }

    private func names(in folder: String, suffix: String = "") -> [String] {
        let url = root.appendingPathComponent(folder)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return entries.filter { $0.hasSuffix(suffix) && !$0.hasPrefix(".") }.map { String($0.dropLast(suffix.count)) }.sorted()
    }

    func testCatalogIDsAreUniqueAndLowercase() {
        XCTAssertEqual(Set(catalogIDs).count, catalogIDs.count, "duplicate plugin ids in the catalog")
        for id in catalogIDs { XCTAssertEqual(id, id.lowercased(), "plugin id '\(id)' must be lowercase") }
        XCTAssertFalse(catalogIDs.isEmpty)
    }

    func testEveryCatalogEntryHasAFolderASignatureFileAndTests() {
        let folders = names(in: "Sources/Plugins")
        let signatureFiles = names(in: "signatures", suffix: ".xml")
        let testFiles = names(in: "Tests/PluginTests", suffix: "DetectorTests.swift")
        for id in catalogIDs {
            let folder = folders.first { $0.lowercased() == id }
            XCTAssertNotNil(folder, "plugin '\(id)' has no folder Sources/Plugins/<Name> (with <Name> lowercased == id)")
            XCTAssertTrue(signatureFiles.contains(id), "plugin '\(id)' has no signatures/\(id).xml")
            if let folder {
                XCTAssertTrue(testFiles.contains(folder), "plugin '\(id)' has no Tests/PluginTests/\(folder)DetectorTests.swift")
                XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("Sources/Plugins/\(folder)/README.md").path),
                              "plugin '\(id)' has no README.md with its protocol notes")
            }
        }
    }

    func testNothingExistsWithoutACatalogEntry() {
        let ids = Set(catalogIDs)
        for folder in names(in: "Sources/Plugins") {
            XCTAssertTrue(ids.contains(folder.lowercased()), "Sources/Plugins/\(folder) is not in DetectorCatalog.all")
        }
        for file in names(in: "signatures", suffix: ".xml") {
            XCTAssertTrue(ids.contains(file), "signatures/\(file).xml belongs to no catalog plugin")
        }
        for test in names(in: "Tests/PluginTests", suffix: "DetectorTests.swift") {
            XCTAssertTrue(ids.contains(test.lowercased()), "Tests/PluginTests/\(test)DetectorTests.swift tests no catalog plugin")
        }
    }

    func testPackageManifestListsExactlyTheCatalogFolders() throws {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        guard let line = manifest.split(separator: "\n").first(where: { $0.hasPrefix("let pluginFolders") }) else {
            return XCTFail("Package.swift has no pluginFolders list")
        }
        let listed = line.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { $0.element.lowercased() }
        XCTAssertEqual(Set(listed), Set(catalogIDs))
    }
}
