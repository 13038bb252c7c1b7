import XCTest
import PluginAPI
@testable import Host

final class ShippedSignatureTests: XCTestCase {
    func testPortBlockFileLoads() throws {
        let sets = try SignatureLoader.loadAll(directory: TestPaths.shippedSignatures, detectorIDs: ["portblock"])
        let set = try XCTUnwrap(sets["portblock"])
        XCTAssertEqual(set.detector, "portblock")
        XCTAssertEqual(set.revision, "2026-11-21.1")
        XCTAssertEqual(set.signatures.map(\.id), [
            "portblock.fasttrack", "portblock.napster.transfer", "portblock.napster.metaserver", "portblock.audiogalaxy.transfer",
        ])
        print(set.signatures.map { "\($0)" }.joined(separator: "\n"))
    }
}
