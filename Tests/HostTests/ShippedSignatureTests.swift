import DetectorCatalog
import PluginAPI
import XCTest
@testable import Host

/// The signature files shipped in `signatures/` load cleanly and say what their READMEs promise.
final class ShippedSignatureTests: XCTestCase {
    func testEveryCatalogPluginsFileLoadsAndBuildsItsPlugin() throws {
        let ids = DetectorCatalog.all.map { $0.descriptor.id }
        let sets = try SignatureLoader.loadAll(directory: TestPaths.shippedSignatures, detectorIDs: ids)
        XCTAssertEqual(Set(sets.keys), Set(ids))
        let detectors = try LoadedDetectors.build(catalog: DetectorCatalog.all, signatureSets: sets, settings: DetectorSettings())
        XCTAssertEqual(detectors.ids, ids)
    }

    func testPortBlockFile() throws {
        let set = try SignatureLoader.load(file: TestPaths.shippedSignatures + "/portblock.xml")
        XCTAssertEqual(set.detector, "portblock")
        XCTAssertFalse(set.revision.isEmpty)

        let expected: [(id: String, transport: TransportFilter, ports: [ClosedRange<UInt16>], enabled: Bool)] = [
            ("portblock.fasttrack", .any, [1214...1214], true),
            ("portblock.napster.transfer", .tcp, [6698...6698, 6699...6699], true),
            ("portblock.napster.metaserver", .tcp, [8875...8875], true),
            ("portblock.audiogalaxy.transfer", .tcp, [41000...41999], false),
        ]
        XCTAssertEqual(set.signatures.map(\.id), expected.map(\.id))
        for (signature, entry) in zip(set.signatures, expected) {
            XCTAssertEqual(signature.transport, entry.transport, signature.id)
            XCTAssertEqual(signature.enabled, entry.enabled, signature.id)
            XCTAssertEqual(signature.action, .drop, signature.id)
            XCTAssertFalse(signature.summary.isEmpty, signature.id)
            guard signature.elements.count == 1, case let .ports(ports, side) = signature.elements[0] else {
                XCTFail("\(signature.id): expected one <ports> element, got \(signature.elements)")
                continue
            }
            XCTAssertEqual(ports.ranges, entry.ports, signature.id)
            XCTAssertEqual(side, .responder, signature.id)
        }
    }
}
