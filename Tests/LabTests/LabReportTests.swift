import Host
import XCTest

/// How the lab reads the daemon's event log and plans its run. No root needed.
final class LabReportTests: XCTestCase {
    private func event(_ json: String) throws -> DaemonEvent { try XCTUnwrap(DaemonEvent.parse(json), json) }

    func testEventTimesAreReadWithTheirZone() throws {
        let utc = try XCTUnwrap(DaemonEvent.seconds("2026-11-21T20:07:31.120141+0000"))
        XCTAssertEqual(utc, 1_795_291_651.120141, accuracy: 0.000_01)
        XCTAssertEqual(DaemonEvent.seconds("2026-11-21T20:07:31.120141Z") ?? 0, utc, accuracy: 0.000_01)
        XCTAssertEqual(DaemonEvent.seconds("2026-11-21T21:07:31.120141+01:00") ?? 0, utc, accuracy: 0.000_01)
        XCTAssertEqual(DaemonEvent.seconds("2026-11-21T19:07:31.120141-0100") ?? 0, utc, accuracy: 0.000_01)
        XCTAssertEqual(DaemonEvent.seconds("2026-11-21T20:07:31+0000") ?? 0, utc.rounded(.down), accuracy: 0.000_01)
        for bad in ["", "2026-11-21", "2026-11-21 20:07:31Z", "2026-11-21T20:07:31.5+00", "yesterday at noon"] {
            XCTAssertNil(DaemonEvent.seconds(bad), bad)
        }
    }

    func testLockUnlockAndDropLinesSayWhoForHowLongAndWhy() throws {
        let lock = try event(#"{"timestamp":"2026-11-21T20:07:31.000000+0000","event_type":"lock","client":"10.99.1.10","until":"2026-11-21T20:07:51.000000+0000","reason":"fasttrack.learned-peer","rearmed":false}"#)
        XCTAssertEqual(lock.humanLine, "10.99.1.10 locked 20 s: fasttrack.learned-peer")
        let unlock = try event(#"{"timestamp":"2026-11-21T20:08:21.000000+0000","event_type":"unlock","client":"10.99.1.10","until":"2026-11-21T20:08:21.000000+0000","reason":"expired","locked_at":"2026-11-21T20:07:31.000000+0000"}"#)
        XCTAssertEqual(unlock.humanLine, "10.99.1.10 unlocked (expired) after 50 s")
        let flow = try event(#"{"timestamp":"2026-11-21T20:08:00.000000+0000","event_type":"flow","proto":"tcp","src_ip":"10.99.1.10","src_port":41234,"dest_ip":"10.99.3.80","dest_port":80,"app_proto":null,"verdict":"dropped","reason":"time-lock","pkts_toserver":2,"pkts_toclient":0,"bytes_toserver":120,"bytes_toclient":0,"dropped_pkts":2,"start":"2026-11-21T20:07:58.000000+0000","end":"2026-11-21T20:07:59.000000+0000","ending":"timeout"}"#)
        XCTAssertEqual(flow.humanLine, "dropped tcp 10.99.1.10:41234 -> 10.99.3.80:80 (time-lock, 2 packets)")
        let accepted = try event(#"{"timestamp":"2026-11-21T20:08:00.000000+0000","event_type":"flow","proto":"udp","src_ip":"fd00:99:1::20","src_port":5000,"dest_ip":"fd00:99:3::80","dest_port":53,"verdict":"accepted","reason":null}"#)
        XCTAssertNil(accepted.humanLine, "accepted flows are not news")
        XCTAssertEqual(accepted.source, "[fd00:99:1::20]:5000")
        XCTAssertNil(DaemonEvent.parse("not json"))
        XCTAssertNil(DaemonEvent.parse(#"{"event_type":"lock"}"#), "an event without its time")
    }

    func testTallyKnowsWhenEachClientWasLockedAndWhatAnsweredItsProbes() throws {
        var tally = LabTally()
        let lines = [
            #"{"timestamp":"2026-11-21T20:00:10.000000+0000","event_type":"lock","client":"10.99.1.10","until":"2026-11-21T20:00:30.000000+0000","reason":"fasttrack.learned-peer","rearmed":false}"#,
            #"{"timestamp":"2026-11-21T20:00:20.000000+0000","event_type":"alert","proto":"udp","src_ip":"10.99.1.10","src_port":1214,"dest_ip":"10.99.1.1","dest_port":1214,"client":"10.99.1.10","alert":{"plugin":"fasttrack","signature_id":"fasttrack.udp.pong","action":"alert","verdict":"accepted","facts":{"probe_answer":"true"}}}"#,
            #"{"timestamp":"2026-11-21T20:00:20.000000+0000","event_type":"lock","client":"10.99.1.10","until":"2026-11-21T20:00:40.000000+0000","reason":"fasttrack.udp.pong","rearmed":true}"#,
            #"{"timestamp":"2026-11-21T20:00:40.000000+0000","event_type":"unlock","client":"10.99.1.10","until":"2026-11-21T20:00:40.000000+0000","reason":"expired","locked_at":"2026-11-21T20:00:10.000000+0000"}"#,
            #"{"timestamp":"2026-11-21T20:00:50.000000+0000","event_type":"lock","client":"10.99.1.10","until":"2026-11-21T20:01:10.000000+0000","reason":"fasttrack.learned-peer","rearmed":false}"#,
        ]
        for line in lines { tally.add(try event(line)) }
        let start = try XCTUnwrap(DaemonEvent.seconds("2026-11-21T20:00:00Z"))
        XCTAssertFalse(tally.isLocked("10.99.1.10", at: start + 9))
        XCTAssertTrue(tally.isLocked("10.99.1.10", at: start + 10))
        XCTAssertTrue(tally.isLocked("10.99.1.10", at: start + 39))
        XCTAssertFalse(tally.isLocked("10.99.1.10", at: start + 45))
        XCTAssertTrue(tally.isLocked("10.99.1.10", at: start + 55), "a lock with no end yet")
        XCTAssertFalse(tally.isLocked("10.99.1.20", at: start + 20))
        XCTAssertEqual(tally.locks["10.99.1.10"]?.map(\.rearms), [1, 0])
        XCTAssertEqual(tally.lockedSeconds("10.99.1.10", now: start + 60), 40, accuracy: 0.001)
        XCTAssertEqual(tally.probeAnswers["10.99.1.10"], 1)
        XCTAssertEqual(tally.alerts["10.99.1.10"], ["fasttrack.udp.pong": 1])
    }

    func testTimelineShowsTheLockItsRearmingAndItsEndWithinTheRun() {
        for (duration, lock) in [(75.0, 20), (60, 20), (90, 20), (45, 10), (120, 30), (75, 5)] {
            let timeline = LabDemo.Timeline(duration: duration, lockSeconds: lock)
            let context = "duration \(duration), lock \(lock): \(timeline)"
            XCTAssertLessThan(timeline.reping, Double(lock), "pings must come within a lock time to re-arm it; \(context)")
            XCTAssertFalse(timeline.downloads.isEmpty, context)
            XCTAssertTrue(timeline.downloads.allSatisfy { $0 < timeline.quitAfter }, context)
            // Quitting between two pings; the lock ends at most a lock time after the last one.
            XCTAssertNotEqual(timeline.quitAfter.truncatingRemainder(dividingBy: timeline.reping), 0, context)
            XCTAssertLessThanOrEqual(timeline.quitAfter + Double(lock), duration - 5, "no time left after the lock; \(context)")
        }
        XCTAssertEqual(LabDemo.Timeline(duration: 75, lockSeconds: 20), LabDemo.Timeline(duration: 75, lockSeconds: 20))
        let standard = LabDemo.Timeline(duration: 75, lockSeconds: 20)
        XCTAssertEqual(standard.reping, 10)
        XCTAssertEqual(standard.quitAfter, 45)
        XCTAssertEqual(standard.downloads, [15, 25])
    }
}
