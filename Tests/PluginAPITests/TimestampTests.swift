import PluginAPI
import XCTest

final class TimestampTests: XCTestCase {
    func testISO8601KnownEpochs() {
        // Expected strings come from an independent calendar implementation.
        let cases: [(Int64, String)] = [
            (0, "1970-01-01T00:00:00.000000+0000"),
            (1_000_000_000_500_000, "2001-09-09T01:46:40.500000+0000"),
            (951_782_400_000_000, "2000-02-29T00:00:00.000000+0000"),  // leap day of a leap century
            (1_709_210_096_789_012, "2024-02-29T12:34:56.789012+0000"),
            (4_107_628_799_000_000, "2100-03-01T23:59:59.000000+0000"),  // 2100 is not a leap year
            (1_795_255_200_000_000, "2026-11-21T10:00:00.000000+0000"),
            (86_399_999_999, "1970-01-01T23:59:59.999999+0000"),
            (1, "1970-01-01T00:00:00.000001+0000"),
        ]
        for (microseconds, text) in cases {
            XCTAssertEqual(Timestamp(microseconds: microseconds).iso8601, text)
            XCTAssertEqual(Timestamp(microseconds: microseconds).description, text)
        }
        XCTAssertEqual(Timestamp(seconds: 1_000_000_000.5).iso8601, "2001-09-09T01:46:40.500000+0000")
    }

    func testArithmetic() {
        let t = Timestamp(seconds: 100)
        XCTAssertEqual((t + Seconds(5)).microseconds, 105_000_000)
        XCTAssertEqual((t - Seconds(0.5)).microseconds, 99_500_000)
        XCTAssertEqual(Timestamp(seconds: 101.25) - t, Seconds(1.25))
        XCTAssertLessThan(t, t + Seconds(microseconds: 1))
        XCTAssertEqual(Timestamp(seconds: 1.0000004).microseconds, 1_000_000)
        XCTAssertEqual(Timestamp(seconds: 1.0000006).microseconds, 1_000_001)
        XCTAssertEqual(Seconds(90).description, "90s")
        XCTAssertEqual(Seconds(1.5).description, "1.5s")
        XCTAssertEqual(Seconds(10) / 4, Seconds(2.5))
    }
}
