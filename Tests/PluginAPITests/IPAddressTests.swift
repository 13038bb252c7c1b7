import PluginAPI
import XCTest

final class IPAddressTests: XCTestCase {
    func testIPv4TextRoundTrip() {
        for text in ["0.0.0.0", "10.0.0.1", "192.168.255.254", "255.255.255.255", "1.2.3.4"] {
            let address = IPAddress(text)
            XCTAssertNotNil(address, text)
            XCTAssertEqual(address?.description, text)
            XCTAssertEqual(address?.isIPv4, true)
        }
        XCTAssertEqual(IPAddress("10.0.0.1"), IPAddress(10, 0, 0, 1))
        XCTAssertEqual(IPAddress("10.0.0.1")?.v4, 0x0A00_0001)
        XCTAssertEqual(IPAddress("10.0.0.1")?.bytes, [10, 0, 0, 1])
    }

    func testIPv6CanonicalText() {
        // RFC 5952 section 4: lowercase, no leading zeros, the longest run of two or more zero
        // groups compressed, the first of equal runs, a single zero group never compressed.
        let cases: [(String, String)] = [
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("2001:DB8::A", "2001:db8::a"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            ("2001:db8:1:1:1:1:1:0", "2001:db8:1:1:1:1:1:0"),
            ("0:0:0:0:0:0:0:0", "::"),
            ("0:0:0:0:0:0:0:1", "::1"),
            ("1:0:0:0:0:0:0:0", "1::"),
            ("fe80:0:0:0:0:0:0:0", "fe80::"),
            ("fe80::0202:b3ff:fe1e:8329", "fe80::202:b3ff:fe1e:8329"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
            ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
            ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ]
        for (input, canonical) in cases {
            let address = IPAddress(input)
            XCTAssertEqual(address?.description, canonical, input)
            XCTAssertEqual(address.flatMap { IPAddress($0.description) }, address, "canonical text parses back: \(input)")
            XCTAssertEqual(address?.isIPv4, false, input)
            XCTAssertEqual(address.flatMap { IPAddress(bytes: $0.bytes) }, address)
        }
    }

    func testIPv4MappedIsIPv4() {
        let mapped = IPAddress("::ffff:192.0.2.1")
        XCTAssertEqual(mapped, IPAddress(192, 0, 2, 1))
        XCTAssertEqual(mapped?.isIPv4, true)
        XCTAssertEqual(mapped?.description, "192.0.2.1")
        XCTAssertEqual(IPAddress("::FFFF:c000:0201"), mapped)
        XCTAssertEqual(IPAddress(bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 1]), mapped)
        XCTAssertEqual(mapped?.bytes.count, 4)
        // Only the ::ffff:0:0/96 prefix is IPv4; its neighbours are IPv6.
        XCTAssertEqual(IPAddress("::fffe:c000:201")?.isIPv4, false)
        XCTAssertEqual(IPAddress("1::ffff:c000:201")?.isIPv4, false)
    }

    func testInvalidText() {
        let invalid = ["", " ", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "1..2.3", "1.2.3.", ".1.2.3",
                       "1234.1.1.1", "1:2:3:4:5:6:7:8:9", "1::2::3", ":::", "12345::", "g::", "1:2:3:4:5:6:7", ":1::", "::1:",
                       "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3.256", "::1.2.3", "1.2.3.4::", "+1::", "::+1", "-0::", "::-1",
                       "1:2:3:4:5:6:7:+8", "[::1]", "::1%eth0", "0x1.2.3.4", "1.2.3.+4"]
        for text in invalid {
            XCTAssertNil(IPAddress(text), "'\(text)' is not an address")
        }
        XCTAssertNil(IPAddress(bytes: [1, 2, 3]))
        XCTAssertNil(IPAddress(bytes: [UInt8](repeating: 0, count: 17)))
    }

    func testClassification() {
        XCTAssertTrue(IPAddress("127.0.0.1")!.isLoopback)
        XCTAssertTrue(IPAddress("::1")!.isLoopback)
        XCTAssertTrue(IPAddress("224.0.0.251")!.isMulticast)
        XCTAssertTrue(IPAddress("ff02::fb")!.isMulticast)
        XCTAssertTrue(IPAddress("169.254.1.1")!.isLinkLocal)
        XCTAssertTrue(IPAddress("fe80::1")!.isLinkLocal)
        XCTAssertTrue(IPAddress("febf::1")!.isLinkLocal)
        XCTAssertFalse(IPAddress("fec0::1")!.isLinkLocal)
        XCTAssertTrue(IPAddress("255.255.255.255")!.isBroadcast)
        XCTAssertTrue(IPAddress("0.0.0.0")!.isUnspecified)
        XCTAssertTrue(IPAddress("::")!.isUnspecified)
        XCTAssertTrue(IPAddress("203.0.113.9")!.isRoutableUnicast)
        XCTAssertTrue(IPAddress("2001:db8::1")!.isRoutableUnicast)
        XCTAssertFalse(IPAddress("0.1.2.3")!.isRoutableUnicast)
        XCTAssertFalse(IPAddress("240.0.0.1")!.isRoutableUnicast)
        XCTAssertLessThan(IPAddress("10.0.0.1")!, IPAddress("10.0.0.2")!)
        XCTAssertLessThan(IPAddress("10.0.0.1")!, IPAddress("2001:db8::1")!)
    }

    func testCIDRContains() {
        let ten = CIDR("10.0.0.0/8")!
        XCTAssertTrue(ten.contains(IPAddress("10.255.1.1")!))
        XCTAssertTrue(ten.contains(IPAddress("10.0.0.0")!))
        XCTAssertFalse(ten.contains(IPAddress("11.0.0.0")!))
        XCTAssertFalse(ten.contains(IPAddress("9.255.255.255")!))
        XCTAssertFalse(ten.contains(IPAddress("::a00:1")!))

        let lan = CIDR("192.168.1.77/24")!
        XCTAssertEqual(lan.description, "192.168.1.0/24", "host bits are cleared")
        XCTAssertTrue(lan.contains(IPAddress("192.168.1.255")!))
        XCTAssertFalse(lan.contains(IPAddress("192.168.2.1")!))

        let odd = CIDR("172.16.0.0/12")!
        XCTAssertTrue(odd.contains(IPAddress("172.31.255.255")!))
        XCTAssertFalse(odd.contains(IPAddress("172.32.0.0")!))

        let host = CIDR("10.0.0.5")!
        XCTAssertEqual(host.description, "10.0.0.5/32")
        XCTAssertTrue(host.contains(IPAddress("10.0.0.5")!))
        XCTAssertFalse(host.contains(IPAddress("10.0.0.4")!))

        let all4 = CIDR("0.0.0.0/0")!
        XCTAssertTrue(all4.contains(IPAddress("255.255.255.255")!))
        XCTAssertFalse(all4.contains(IPAddress("2001:db8::1")!), "an IPv4 prefix holds no IPv6 address")
        let all = CIDR("::/0")!
        XCTAssertTrue(all.contains(IPAddress("2001:db8::1")!))
        XCTAssertTrue(all.contains(IPAddress("10.0.0.1")!))

        let ula = CIDR("fc00::/7")!
        XCTAssertTrue(ula.contains(IPAddress("fd12:3456::1")!))
        XCTAssertFalse(ula.contains(IPAddress("fe80::1")!))
        let v6host = CIDR("2001:db8::1/128")!
        XCTAssertTrue(v6host.contains(IPAddress("2001:db8::1")!))
        XCTAssertFalse(v6host.contains(IPAddress("2001:db8::2")!))
        let half = CIDR("2001:db8::/65")!
        XCTAssertTrue(half.contains(IPAddress("2001:db8::7fff:ffff:ffff:ffff")!))
        XCTAssertFalse(half.contains(IPAddress("2001:db8::8000:0:0:0")!))

        for text in ["", "/", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "fc00::/129", "10.0.0/8", "10.0.0.0/8/8", "10.0.0.0/ 8"] {
            XCTAssertNil(CIDR(text), "'\(text)' is not a prefix")
        }
    }

    func testEndpointParsing() {
        let v4 = Endpoint("10.0.0.1:80")
        XCTAssertEqual(v4, Endpoint(IPAddress(10, 0, 0, 1), 80))
        XCTAssertEqual(v4?.description, "10.0.0.1:80")
        let v6 = Endpoint("[2001:DB8::1]:443")
        XCTAssertEqual(v6, Endpoint(IPAddress("2001:db8::1")!, 443))
        XCTAssertEqual(v6?.description, "[2001:db8::1]:443")
        XCTAssertEqual(Endpoint("0.0.0.0:0")?.port, 0)
        XCTAssertEqual(Endpoint("[::]:65535")?.port, 65535)
        for endpoint in [v4!, v6!, Endpoint("[::ffff:10.1.2.3]:9")!] {
            XCTAssertEqual(Endpoint(endpoint.description), endpoint)
        }
        for text in ["", "10.0.0.1", "10.0.0.1:", "10.0.0.1:65536", "10.0.0.1:-1", "10.0.0.1:+80", "10.0.0.1:8 0", "2001:db8::1:80",
                     "[2001:db8::1]80", "[2001:db8::1]", "[2001:db8::1]:", "[2001:db8::1:80", "host:80", ":80", "[]:80"] {
            XCTAssertNil(Endpoint(text), "'\(text)' is not an endpoint")
        }
    }
}
