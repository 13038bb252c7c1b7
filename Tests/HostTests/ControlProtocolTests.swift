@testable import Host
import PluginAPI
import XCTest

final class ControlProtocolTests: XCTestCase {
    func testRequestsParseFromTheirLines() {
        XCTAssertEqual(try ControlRequest.parse("status").get(), .status)
        XCTAssertEqual(try ControlRequest.parse("  RELOAD \r\n").get(), .reload)
        XCTAssertEqual(try ControlRequest.parse("explain 10.0.0.5").get(), .explain(IPAddress("10.0.0.5")!))
        XCTAssertEqual(try ControlRequest.parse("unlock fd00::5").get(), .unlock(IPAddress("fd00::5")!))
        XCTAssertEqual(try ControlRequest.parse("forget 198.51.100.7\n").get(), .forget(IPAddress("198.51.100.7")!))
    }

    func testEveryRequestRoundTripsThroughItsLine() throws {
        for request: ControlRequest in [.status, .reload, .explain(IPAddress("10.0.0.5")!), .unlock(IPAddress("fd00::1")!),
                                        .forget(IPAddress("198.51.100.7")!)] {
            XCTAssertEqual(try ControlRequest.parse(request.line).get(), request)
        }
    }

    func testBadRequestsAreRefusedWithAReason() {
        for (line, reason) in [("", "empty"), ("explain", "usage"), ("explain 10.0.0.500", "not an IP"), ("unlock a b", "usage"),
                               ("status now", "no argument"), ("shutdown", "unknown")] {
            guard case .failure(let error) = ControlRequest.parse(line) else { return XCTFail("'\(line)' was accepted") }
            XCTAssertTrue(error.description.contains(reason), "'\(line)': \(error)")
        }
    }

    func testResponsesSurviveTheirJSONLine() {
        let response = ControlResponse(ok: true, explain: ExplainReport(
            address: "10.0.0.5", isLAN: true, neverBlocked: false,
            lock: ExplainReport.Lock(reason: "fasttrack.udp.ping", lockedAt: "a", lastArmedAt: "b", until: "c", remainingSeconds: 12.5,
                                     arms: 3, probePending: true),
            learned: [], evidence: [ExplainReport.Evidence(time: "t", plugin: "fasttrack", signature: "fasttrack.udp.ping", packet: "udp ...")]))
        let line = response.encodedLine()
        XCTAssertFalse(line.contains("\n"))
        XCTAssertTrue(line.contains("\"remaining_seconds\":12.5"))
        XCTAssertEqual(ControlResponse.decode(line), response)
        XCTAssertNil(ControlResponse.decode("not json"))
    }
}
