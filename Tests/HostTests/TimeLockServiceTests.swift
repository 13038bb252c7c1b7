@testable import Host
import PluginAPI
import XCTest

final class TimeLockServiceTests: XCTestCase {
    private let client = IPAddress(10, 0, 0, 5)
    private let t0 = Timestamp(seconds: 1000)
    private let probe = ProbeRequest(payload: [0x27, 0, 0, 0, 0x29, 0x80], clientPort: 1214, sourcePort: 2000)

    private func request(_ seconds: Int = 120) -> LockRequest {
        LockRequest(client: client, duration: Seconds(seconds), reason: "test", probe: probe)
    }

    func testLockHoldsUpToButNotIncludingItsExpiry() {
        var locks = TimeLockService()
        XCTAssertEqual(locks.arm(request(), at: t0).map { if case .locked = $0 { return true } else { return false } }, true)
        XCTAssertTrue(locks.isLocked(client, at: t0))
        XCTAssertTrue(locks.isLocked(client, at: t0 + Seconds(microseconds: 120_000_000 - 1)))
        XCTAssertFalse(locks.isLocked(client, at: t0 + Seconds(120)))
        XCTAssertFalse(locks.isLocked(IPAddress(10, 0, 0, 6), at: t0))
    }

    func testReArmExtendsFromTheAttempt() {
        var locks = TimeLockService()
        _ = locks.arm(request(), at: t0)
        guard case .rearmed(let lock)? = locks.arm(request(), at: t0 + Seconds(100)) else { return XCTFail("expected a re-arm") }
        XCTAssertEqual(lock.until, t0 + Seconds(220))
        XCTAssertEqual(lock.arms, 2)
        XCTAssertTrue(locks.isLocked(client, at: t0 + Seconds(219)))
        XCTAssertFalse(locks.isLocked(client, at: t0 + Seconds(220)))
    }

    func testProbeIsDueExactlyAtHalfTheLockTimeAndOncePerArm() {
        var locks = TimeLockService()
        _ = locks.arm(request(), at: t0)
        XCTAssertTrue(locks.takeDueProbes(at: t0 + Seconds(microseconds: 60_000_000 - 1)).isEmpty)
        let due = locks.takeDueProbes(at: t0 + Seconds(60))
        XCTAssertEqual(due.count, 1)
        XCTAssertEqual(due.first?.probe, probe)
        XCTAssertEqual(due.first?.due, t0 + Seconds(60))
        // Taken late (a replay's next packet), it still says when it fell due.
        var late = TimeLockService()
        _ = late.arm(request(), at: t0)
        XCTAssertEqual(late.takeDueProbes(at: t0 + Seconds(75)).first?.due, t0 + Seconds(60))
        XCTAssertTrue(locks.takeDueProbes(at: t0 + Seconds(61)).isEmpty, "one probe per arm")
        // An answer re-arms the lock: the next probe is due half a lock time later.
        _ = locks.arm(request(), at: t0 + Seconds(62))
        XCTAssertTrue(locks.takeDueProbes(at: t0 + Seconds(121)).isEmpty)
        XCTAssertEqual(locks.takeDueProbes(at: t0 + Seconds(122)).count, 1)
    }

    func testLockRunsOutWhenNobodyReArmsIt() {
        var locks = TimeLockService()
        _ = locks.arm(request(), at: t0)
        XCTAssertTrue(locks.takeExpired(at: t0 + Seconds(119)).isEmpty)
        let expired = locks.takeExpired(at: t0 + Seconds(120))
        XCTAssertEqual(expired.map(\.client), [client])
        XCTAssertEqual(locks.count, 0)
        XCTAssertNil(locks.nextDeadline())
    }

    func testZeroDurationDisablesLocking() {
        var locks = TimeLockService()
        XCTAssertNil(locks.arm(request(0), at: t0))
        XCTAssertFalse(locks.isLocked(client, at: t0))
    }

    func testNextDeadlineIsTheProbeThenTheExpiry() {
        var locks = TimeLockService()
        _ = locks.arm(request(), at: t0)
        XCTAssertEqual(locks.nextDeadline(), t0 + Seconds(60))
        _ = locks.takeDueProbes(at: t0 + Seconds(60))
        XCTAssertEqual(locks.nextDeadline(), t0 + Seconds(120))
    }
}
