@testable import Host
import PluginAPI
import XCTest

final class LearnedAddressListsTests: XCTestCase {
    private let t0 = Timestamp(seconds: 5000)
    private let lan = Configuration.defaultLANRanges

    private func isLAN(_ address: IPAddress) -> Bool { lan.contains { $0.contains(address) } }

    private func request(_ address: String, _ port: UInt16?, ttl: Int = 60) -> LearnRequest {
        LearnRequest(address: IPAddress(address)!, port: port, list: "fasttrack", timeToLive: Seconds(ttl), origin: "test")
    }

    func testExactEntryThenWholeAddressEntry() {
        var lists = LearnedAddressLists(capacity: 10)
        _ = lists.learn(request("203.0.113.7", 1214), at: t0, isLAN: isLAN)
        XCTAssertNotNil(lists.lookup(Endpoint(IPAddress("203.0.113.7")!, 1214), at: t0))
        XCTAssertNil(lists.lookup(Endpoint(IPAddress("203.0.113.7")!, 80), at: t0), "a port entry lists that port only")
        _ = lists.learn(request("203.0.113.7", nil), at: t0, isLAN: isLAN)
        XCTAssertNotNil(lists.lookup(Endpoint(IPAddress("203.0.113.7")!, 80), at: t0))
    }

    func testGarbageAddressesAreRefused() {
        var lists = LearnedAddressLists(capacity: 10)
        for address in ["127.0.0.1", "224.0.0.1", "255.255.255.255", "0.0.0.0", "10.1.2.3", "192.168.0.9", "::1", "ff02::1", "fe80::1", "fd00::1", "169.254.1.1", "240.0.0.1"] {
            let (outcome, entry) = lists.learn(request(address, 1214), at: t0, isLAN: isLAN)
            XCTAssertNil(entry, address)
            guard case .refused = outcome else { return XCTFail("\(address) was learned") }
        }
        XCTAssertTrue(lists.isEmpty)
    }

    func testEntriesExpire() {
        var lists = LearnedAddressLists(capacity: 10)
        _ = lists.learn(request("198.51.100.1", 1, ttl: 60), at: t0, isLAN: isLAN)
        XCTAssertNotNil(lists.lookup(Endpoint(IPAddress("198.51.100.1")!, 1), at: t0 + Seconds(59)))
        XCTAssertNil(lists.lookup(Endpoint(IPAddress("198.51.100.1")!, 1), at: t0 + Seconds(60)))
        XCTAssertEqual(lists.expire(at: t0 + Seconds(60)), 1)
        XCTAssertTrue(lists.isEmpty)
    }

    func testRefreshKeepsOriginAndOnlyExtends() {
        var lists = LearnedAddressLists(capacity: 10)
        _ = lists.learn(request("198.51.100.2", 5, ttl: 100), at: t0, isLAN: isLAN)
        let (outcome, entry) = lists.learn(LearnRequest(address: IPAddress("198.51.100.2")!, port: 5, list: "other", timeToLive: Seconds(10), origin: "later"),
                                           at: t0 + Seconds(1), isLAN: isLAN)
        XCTAssertEqual(outcome, .refreshed)
        XCTAssertEqual(entry?.origin, "test")
        XCTAssertEqual(entry?.expires, t0 + Seconds(100))
    }

    func testCapacityEvictsTheEntryClosestToExpiry() {
        var lists = LearnedAddressLists(capacity: 3)
        _ = lists.learn(request("198.51.100.10", 1, ttl: 300), at: t0, isLAN: isLAN)
        _ = lists.learn(request("198.51.100.11", 1, ttl: 100), at: t0, isLAN: isLAN)
        _ = lists.learn(request("198.51.100.12", 1, ttl: 200), at: t0, isLAN: isLAN)
        _ = lists.learn(request("198.51.100.13", 1, ttl: 400), at: t0, isLAN: isLAN)
        XCTAssertEqual(lists.count, 3)
        XCTAssertNil(lists.lookup(Endpoint(IPAddress("198.51.100.11")!, 1), at: t0))
        XCTAssertNotNil(lists.lookup(Endpoint(IPAddress("198.51.100.13")!, 1), at: t0))
    }

    func testForgetRemovesEveryEntryOfAnAddress() {
        var lists = LearnedAddressLists(capacity: 10)
        _ = lists.learn(request("198.51.100.20", 1), at: t0, isLAN: isLAN)
        _ = lists.learn(request("198.51.100.20", 2), at: t0, isLAN: isLAN)
        _ = lists.learn(request("198.51.100.21", 2), at: t0, isLAN: isLAN)
        XCTAssertEqual(lists.forget(IPAddress("198.51.100.20")!), 2)
        XCTAssertEqual(lists.count, 1)
    }
}
