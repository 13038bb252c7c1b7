import FastTrackPlugin
import Host
import PacketKit
import PluginAPI
import XCTest

/// The HTTP safety net: FastTrack transfers and pushes on any port.
final class FastTrackHTTPTests: XCTestCase {
    typealias B = FastTrackBench

    static let hash = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
    /// A peer on an unremarkable port, as Kazaa 2 picks them.
    static let uploader = Endpoint(IPAddress(212, 8, 74, 24), 3531)

    static func request(_ startLine: String, headers: [String] = []) -> [UInt8] {
        FastTrackBytes.text(([startLine] + headers).joined(separator: "\r\n") + "\r\n\r\n")
    }

    /// What giFT-FastTrack and Kazaa send for a download.
    static func kazaaRequest(version: String = "1.1") -> [UInt8] {
        request("GET /.hash=\(hash) HTTP/\(version)", headers: [
            "Host: 212.8.74.24:3531", "UserAgent: KazaaClient Nov  3 2002 20:29:03", "X-Kazaa-Network: KaZaA",
            "X-Kazaa-Username: defaultuser", "Connection: close", "Range: bytes=0-262143",
        ])
    }

    /// Kazaa's 206 reply, headers in the order of a 2003 capture.
    static func kazaaResponse(ip: String = "212.8.74.24:1214", supernode: String = "193.204.34.214:2093") -> [UInt8] {
        FastTrackBytes.text([
            "HTTP/1.1 206 Partial Content", "Content-Range: bytes 0-262143/6128453", "Content-Length: 262144",
            "Accept-Ranges: bytes", "Date: Mon, 14 Apr 2003 10:00:00 GMT", "Server: KazaaClient Nov  3 2002 20:29:03",
            "Connection: close", "X-Kazaa-Username: defaultuser", "X-Kazaa-Network: KaZaA", "X-Kazaa-IP: \(ip)",
            "X-Kazaa-SupernodeIP: \(supernode)", "X-KazaaTag: 5=239", "X-KazaaTag: 3==qyWzRb1Qvnk4mtaBytIM1iHQuK8=",
            "Content-Type: audio/mpeg", "", "ID3",
        ].joined(separator: "\r\n"))
    }

    /// Runs one request (and response) from the client to the uploader and returns the
    /// signatures that fired, in order.
    private func signatures(request: [UInt8], splits: [Int] = [], response: [UInt8] = [],
                            file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let b = try bench()
        b.exchange(to: FastTrackHTTPTests.uploader, request: request, splits: splits, response: response, at: 0)
        return b.alerts.map(\.signature)
    }

    func testEachRequestLineIsCaughtOnHTTP10And11() throws {
        let lines: [(String, String)] = [
            ("GET /.hash=\(Self.hash) HTTP/", "fasttrack.http.hash-request"),
            ("GET /.hash=\(Self.hash.uppercased()) HTTP/", "fasttrack.http.hash-request"),
            ("HEAD /.hash=\(Self.hash) HTTP/", "fasttrack.http.hash-request"),
            ("GET /.hash=\(Self.hash)/Song.mp3 HTTP/", "fasttrack.http.hash-request"),
            ("GET /.files HTTP/", "fasttrack.http.files-request"),
            ("GET /.download/12.3 HTTP/", "fasttrack.http.download-request"),
            ("GET /.supernode HTTP/", "fasttrack.http.supernode-request"),
            ("GET /.supernode?nodes HTTP/", "fasttrack.http.supernode-request"),
            ("GET /.status HTTP/", "fasttrack.http.status-request"),
            ("GET /.network HTTP/", "fasttrack.http.network-request"),
        ]
        for (line, signature) in lines {
            for version in ["1.0", "1.1"] {
                let b = try bench()
                let decisions = b.exchange(to: Self.uploader, request: Self.request(line + version, headers: ["Host: 212.8.74.24:3531"]), at: 0)
                XCTAssertEqual(b.alerts.map(\.signature), [signature], line + version)
                XCTAssertEqual(decisions.last?.verdict, .drop, line + version)
                XCTAssertEqual(b.locks.map(\.reason), [signature], line + version)
                XCTAssertEqual(b.learns.map(\.address), [Self.uploader.address], line + version)
                XCTAssertEqual(b.learns.first?.port, Self.uploader.port)
            }
        }
    }

    func testFileIdRequestsNeedTheFastTrackUserAgentHeader() throws {
        XCTAssertEqual(try signatures(request: Self.request("GET /1234/Song.mp3 HTTP/1.1", headers: ["UserAgent: giFT-FastTrack 0.8.9"])),
                       ["fasttrack.http.file-id-request"])
        XCTAssertEqual(try signatures(request: Self.request("GET /1234/Song.mp3 HTTP/1.0", headers: ["UserAgent: giFT-FastTrack 0.8.9"])),
                       ["fasttrack.http.file-id-request"])
        // An ordinary web path of the same shape is left alone.
        XCTAssertEqual(try signatures(request: Self.request("GET /2004/index.html HTTP/1.1",
                                                            headers: ["Host: www.example.org", "User-Agent: Mozilla/5.0"])), [])
    }

    func testGivePushesAreCaught() throws {
        for line in ["GIVE 4253679545\r\n", "GIVE 7\r\n", "GIVE 12345\n"] {
            let b = try bench()
            let decisions = b.exchange(to: Self.uploader, request: FastTrackBytes.text(line), at: 0)
            XCTAssertEqual(b.alerts.map(\.signature), ["fasttrack.http.give"], line)
            XCTAssertEqual(decisions.last?.verdict, .drop)
            XCTAssertEqual(b.locks.count, 1)
        }
        for line in ["GIVE me money\r\n", "GIVE 12345678901\r\n", "GIVEN 12\r\n"] {
            XCTAssertEqual(try signatures(request: FastTrackBytes.text(line)), [], line)
        }
    }

    func testEachHeaderIsCaughtInARequest() throws {
        let headers: [(String, String)] = [
            ("X-Kazaa-Username: defaultuser", "fasttrack.http.x-kazaa-username"),
            ("X-Kazaa-Network: KaZaA", "fasttrack.http.x-kazaa-network"),
            ("X-Kazaa-IP: 212.8.74.24:1214", "fasttrack.http.x-kazaa-ip"),
            ("X-Kazaa-SupernodeIP: 193.204.34.214:2093", "fasttrack.http.x-kazaa-supernodeip"),
            ("X-Kazaa-XferId: 42", "fasttrack.http.x-kazaa-xferid"),
            ("X-Kazaa-XferUid: 3yQvE8QzI0bB7o5bXxqJ5M7yJ6lKv2Zq7j0sQe3mJ1Q=", "fasttrack.http.x-kazaa-xferuid"),
            ("X-KazaaTag: 4=Title", "fasttrack.http.x-kazaatag"),
            ("UserAgent: KazaaClient Nov  3 2002 20:29:03", "fasttrack.http.useragent-kazaaclient"),
            ("User-Agent: PeerEnabler/2.0", "fasttrack.http.user-agent-peerenabler"),
            ("x-kazaa-username: lower", "fasttrack.http.x-kazaa-username"),
        ]
        for (header, signature) in headers {
            for version in ["1.0", "1.1"] {
                let request = Self.request("GET /music/x.mp3 HTTP/\(version)", headers: ["Host: 212.8.74.24:3531", header])
                XCTAssertEqual(try signatures(request: request), [signature], header)
            }
        }
    }

    func testKazaaHeadersInTheFarEndsReplyCount() throws {
        let b = try bench()
        let decisions = b.exchange(to: Self.uploader, request: Self.request("GET /music/x.mp3 HTTP/1.1", headers: ["Host: x"]),
                                   response: Self.kazaaResponse(), at: 0)
        // The first rule in file order that matches names the finding.
        XCTAssertEqual(b.alerts.map(\.signature), ["fasttrack.http.x-kazaa-username"])
        XCTAssertEqual(decisions.last?.verdict, .drop)
        XCTAssertEqual(b.locks.count, 1)
        // The uploader, its own address and its supernode are learned.
        let learned = Set(b.learns.map { Endpoint($0.address, $0.port ?? 0) })
        XCTAssertEqual(learned, [Self.uploader, Endpoint(IPAddress(212, 8, 74, 24), 1214), Endpoint(IPAddress(193, 204, 34, 214), 2093)])
        XCTAssertTrue(b.learns.contains { $0.origin == "fasttrack.http.x-kazaa-username from 192.168.1.20 via X-Kazaa-SupernodeIP" })
        let flow = try XCTUnwrap(b.flows().first)
        XCTAssertEqual(flow.appProto, "fasttrack")
        XCTAssertEqual(flow.reason, "signature:fasttrack.http.x-kazaa-username")
    }

    func testBusyRepliesWithoutCarriageReturnOnTheStatusLineCount() throws {
        let busy = FastTrackBytes.text("HTTP/1.0 503 Service Unavailable\nRetry-After: 300\r\nX-Kazaa-Username: u\r\nX-Kazaa-Network: KaZaA\r\n\r\n")
        let b = try bench()
        b.exchange(to: Self.uploader, request: Self.request("GET /x HTTP/1.0"), response: busy, at: 0)
        XCTAssertEqual(b.alerts.map(\.signature), ["fasttrack.http.x-kazaa-username"])
    }

    func testARequestAndItsReplyBothTeach() throws {
        // Replayed off the wire, both directions arrive: both are judged and both teach.
        let b = try bench()
        b.exchange(to: Self.uploader, request: Self.kazaaRequest(), response: Self.kazaaResponse(supernode: "193.204.34.215:2094"), at: 0)
        XCTAssertEqual(b.alerts.map(\.signature), ["fasttrack.http.hash-request", "fasttrack.http.x-kazaa-username"])
        XCTAssertTrue(b.learns.contains { $0.address == IPAddress(193, 204, 34, 215) && $0.port == 2094 })
        XCTAssertEqual(b.locks.map(\.rearmed), [false, true])
        XCTAssertEqual(b.alerts.first?.facts.first { $0.key == "username" }?.value, "defaultuser")
        XCTAssertEqual(b.alerts.first?.facts.first { $0.key == "network" }?.value, "KaZaA")
    }

    func testRequestsSplitAcrossSegmentsAreCaught() throws {
        let request = Self.kazaaRequest()
        // Inside "GET", inside the hash, at the CRLF, inside a header name, inside the final CRLF.
        // Segment sizes; the last one carries the rest.
        for split in [[2, 4096], [20, 4096], [58, 1, 4096], [70, 9, 4096], [request.count - 1, 4096], [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 4096]] {
            XCTAssertEqual(try signatures(request: request, splits: split), ["fasttrack.http.hash-request"], "\(split)")
        }
        let headerOnly = Self.request("GET /music/x.mp3 HTTP/1.1", headers: ["Host: h", "X-Kazaa-Username: bob"])
        for cut in 1..<headerOnly.count {
            XCTAssertEqual(try signatures(request: headerOnly, splits: [cut, headerOnly.count]), ["fasttrack.http.x-kazaa-username"], "cut at \(cut)")
        }
    }

    func testRequestsSentOneByteASegmentAreCaught() throws {
        let hashRequest = Self.request("GET /.hash=\(Self.hash) HTTP/1.0")
        XCTAssertEqual(try signatures(request: hashRequest, splits: [1]), ["fasttrack.http.hash-request"])
        let headerRequest = Self.request("GET /x HTTP/1.1", headers: ["X-Kazaa-Username: bob"])
        XCTAssertEqual(try signatures(request: headerRequest, splits: [1]), ["fasttrack.http.x-kazaa-username"])
        XCTAssertEqual(try signatures(request: FastTrackBytes.text("GIVE 4253679545\r\n"), splits: [1]), ["fasttrack.http.give"])
    }

    func testRepliesSplitAcrossSegmentsAreCaught() throws {
        let response = Self.kazaaResponse()
        for split in [[5, 4096], [100, 4096], [300, 4096], [7, 1, 1, 1, 4096]] {
            let b = try bench()
            b.exchange(to: Self.uploader, request: Self.request("GET /x HTTP/1.1"), response: response, responseSplits: split, at: 0)
            XCTAssertEqual(b.alerts.map(\.signature), ["fasttrack.http.x-kazaa-username"], "\(split)")
        }
    }

    func testAPageQuotingKazaaHeadersInItsBodyIsAccepted() throws {
        let body = """
        <html><body><h1>How Kazaa downloads work</h1><pre>
        GET /.hash=\(Self.hash) HTTP/1.1
        UserAgent: KazaaClient Nov  3 2002 20:29:03
        X-Kazaa-Username: defaultuser
        X-Kazaa-Network: KaZaA
        X-Kazaa-IP: 212.8.74.24:1214
        X-Kazaa-SupernodeIP: 193.204.34.214:2093
        GIVE 4253679545
        </pre></body></html>
        """
        let page = FastTrackBytes.text("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        let b = try bench()
        let decisions = b.exchange(to: B.webServer, request: Self.request("GET /kazaa.html HTTP/1.1", headers: ["Host: example.org"]),
                                   response: page, responseSplits: [60, 1400], at: 0)
        XCTAssertTrue(decisions.allSatisfy { $0.verdict == .accept })
        XCTAssertTrue(b.alerts.isEmpty)
        XCTAssertTrue(b.learns.isEmpty)
        XCTAssertTrue(b.locks.isEmpty)
        // Nor does a form post that quotes them in its body.
        let post = FastTrackBytes.text("POST /comment HTTP/1.1\r\nHost: example.org\r\nContent-Length: 40\r\n\r\nX-Kazaa-Username: a\r\nGIVE 1\r\nGET /.files")
        XCTAssertEqual(try signatures(request: post), [])
    }

    func testHeaderNamesMustBeWholeHeaders() throws {
        for header in ["X-Kazaa-Usernames: x", "X-Not-Kazaa-Username: x", "Referer: http://x/?X-Kazaa-Username: y", "UserAgent: Mozilla/4.0"] {
            XCTAssertEqual(try signatures(request: Self.request("GET /x HTTP/1.1", headers: [header])), [], header)
        }
        // A header in a continuation of the start line does not count.
        XCTAssertEqual(try signatures(request: FastTrackBytes.text("GET /X-Kazaa-Username:x HTTP/1.1\r\n\r\n")), [])
    }

    func testOnlyRoutableAddressesOutsideTheLANAreLearnedFromHeaders() throws {
        let cases: [(String, Bool)] = [
            ("198.51.100.9:1214", true), ("10.1.2.3:1214", false), ("192.168.1.50:1214", false), ("127.0.0.1:1214", false),
            ("224.0.0.251:1214", false), ("255.255.255.255:1214", false), ("0.0.0.0:1214", false), ("169.254.3.4:1214", false),
            ("240.1.2.3:1214", false), ("192.168.1.1:1214", false), ("198.51.100.9", false), ("not an address", false),
        ]
        for (value, learned) in cases {
            let b = try bench()
            b.exchange(to: Self.uploader, request: Self.request("GET /x HTTP/1.1"),
                       response: Self.kazaaResponse(ip: value, supernode: value), at: 0)
            let fromHeaders = b.learns.filter { $0.address != Self.uploader.address }
            XCTAssertEqual(fromHeaders.count, learned ? 1 : 0, value)
            XCTAssertEqual(b.locks.count, 1, value)
            XCTAssertEqual(b.engine.statsEvent().learnRefused, 0, "the plugin never asks for what the host would refuse")
        }
    }

    func testTheClientsOwnKazaaIPIsNotLearnedButItsSupernodeIs() throws {
        let request = Self.request("GET /.hash=\(Self.hash) HTTP/1.1",
                                   headers: ["X-Kazaa-IP: 81.2.3.4:1214", "X-Kazaa-SupernodeIP: 193.204.34.214:2093"])
        let b = try bench()
        b.exchange(to: Self.uploader, request: request, at: 0)
        let learned = Set(b.learns.map { Endpoint($0.address, $0.port ?? 0) })
        XCTAssertEqual(learned, [Self.uploader, Endpoint(IPAddress(193, 204, 34, 214), 2093)])
    }

    func testConnectionsFromOutsideNeverLockALANServer() throws {
        // A stranger sends Kazaa headers to a LAN web server.
        let b = try bench()
        var tcp = TCPConversation(client: Endpoint(IPAddress(198, 51, 100, 9), 40_000), server: Endpoint(B.otherClient, 80))
        var packets = tcp.handshake()
        packets += tcp.send(Self.kazaaRequest(), from: .client)
        packets += tcp.send(Self.kazaaResponse(), from: .server)
        for (i, packet) in packets.enumerated() { b.feed(packet, at: Double(i) * 0.01) }
        XCTAssertTrue(b.locks.isEmpty)
        XCTAssertTrue(b.learns.isEmpty)
    }

    func testAClientCaughtByHTTPIsLockedOutOfTheWeb() throws {
        let b = try bench()
        b.exchange(to: Self.uploader, request: Self.kazaaRequest(), at: 0)
        XCTAssertEqual(b.connect(to: B.webServer, at: 10).verdict, .drop)
        XCTAssertEqual(b.connect(to: Self.uploader, at: 11).verdict, .drop)
        XCTAssertEqual(b.locks.map(\.rearmed), [false, true], "a new connection to the uploader re-arms the lock")
        XCTAssertEqual(b.connect(to: B.webServer, at: 140).verdict, .accept)
    }

    func testAnAlertOnlyHTTPSignatureNeitherDropsNorTeaches() throws {
        let b = try bench(signatures: { list in list.map { $0.id.hasPrefix("fasttrack.http.") ? $0.with(action: .alert) : $0 } })
        let decisions = b.exchange(to: Self.uploader, request: Self.kazaaRequest(), at: 0)
        XCTAssertTrue(decisions.allSatisfy { $0.verdict == .accept })
        XCTAssertEqual(b.alerts.map(\.signature), ["fasttrack.http.hash-request"])
        XCTAssertTrue(b.learns.isEmpty)
        XCTAssertTrue(b.locks.isEmpty)
    }

    func testOrdinaryWebAndTLSFlowsAreReleasedEarly() throws {
        let b = try bench()
        let decisions = b.exchange(to: B.webServer, request: Self.request("GET / HTTP/1.1", headers: ["Host: example.org"]),
                                   response: FastTrackBytes.text("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), at: 0)
        XCTAssertTrue(decisions.allSatisfy { $0.verdict == .accept })
        let tls = b.exchange(to: Endpoint(B.webServer.address, 443), request: [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5],
                             response: [0x16, 0x03, 0x03, 0x00, 0x02, 9, 9], at: 1)
        XCTAssertTrue(tls.allSatisfy { $0.verdict == .accept })
        XCTAssertTrue(b.alerts.isEmpty)
    }
}
