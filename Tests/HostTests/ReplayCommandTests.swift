import Foundation
import XCTest

/// Runs the built `peerwall` binary as a user would, and checks the replay contract: exit codes,
/// JSON Lines fields, and what happens with damaged input.
final class ReplayCommandTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let captures = root.appendingPathComponent("Tests/GoldenTests/Captures")

    private var binary: String {
        ProcessInfo.processInfo.environment["PEERWALL_BINARY"] ?? ReplayCommandTests.root.appendingPathComponent(".build/debug/peerwall").path
    }

    private struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
        var lines: [[String: Any]] {
            stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
    }

    private func run(_ arguments: [String]) throws -> Run {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            XCTFail("the peerwall binary is not built at \(binary): run swift build first, or set PEERWALL_BINARY")
            throw CocoaError(.fileNoSuchFile)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = ReplayCommandTests.root
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    private func temporaryFile(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("peerwall-\(ProcessInfo.processInfo.processIdentifier)-\(name)")
    }

    func testJSONFollowsTheContractOnEthernetAndRawIPCapturesWithIPv4AndIPv6() throws {
        for name in ["portblock-basics", "portblock-basics-raw"] {
            let result = try run(["replay", "--signatures", "signatures", "--format", "json",
                                  ReplayCommandTests.captures.appendingPathComponent("portblock/\(name).pcap").path])
            XCTAssertEqual(result.status, 0, result.stderr)
            let lines = result.lines
            XCTAssertEqual(lines.count, result.stdout.split(separator: "\n").count, "every line is one JSON object")
            for line in lines {
                XCTAssertNotNil(line["event_type"] as? String)
                XCTAssertNotNil(line["timestamp"] as? String)
            }
            XCTAssertEqual(lines.last?["event_type"] as? String, "stats", "stats comes last")
            let flows = lines.filter { $0["event_type"] as? String == "flow" }
            XCTAssertFalse(flows.isEmpty)
            let fields = ["proto", "src_ip", "src_port", "dest_ip", "dest_port", "app_proto", "verdict", "reason",
                          "pkts_toserver", "pkts_toclient", "bytes_toserver", "bytes_toclient", "dropped_pkts"]
            for flow in flows {
                for field in fields { XCTAssertTrue(flow.keys.contains(field), "flow lacks \(field)") }
                XCTAssertTrue(["accepted", "dropped", "rejected"].contains(flow["verdict"] as? String ?? ""))
            }
            XCTAssertTrue(flows.contains { ($0["src_ip"] as? String)?.contains(":") == true }, "IPv6 flows are reported")
            XCTAssertTrue(flows.contains { $0["proto"] as? String == "udp" })
            let dropped = flows.filter { $0["verdict"] as? String == "dropped" }
            XCTAssertEqual(Set(dropped.compactMap { $0["dest_port"] as? Int }), [1214, 6699, 6698, 8875])
        }
    }

    func testATruncatedCaptureReportsTheFlowsReadAndExits65() throws {
        let source = try Data(contentsOf: ReplayCommandTests.captures.appendingPathComponent("portblock/portblock-basics.pcap"))
        let cut = temporaryFile("truncated.pcap")
        try source.prefix(source.count * 2 / 3 + 5).write(to: cut)
        defer { try? FileManager.default.removeItem(at: cut) }
        let result = try run(["replay", "--signatures", "signatures", cut.path])
        XCTAssertEqual(result.status, 65)
        XCTAssertTrue(result.stderr.contains(cut.path), result.stderr)
        XCTAssertFalse(result.lines.filter { $0["event_type"] as? String == "flow" }.isEmpty, "the flows read before the damage are reported")
        XCTAssertEqual(result.lines.last?["event_type"] as? String, "stats")
    }

    func testAFileThatIsNoCaptureExits65AndAMissingOneExits66() throws {
        let junk = temporaryFile("junk.pcap")
        try Data("this is not a capture".utf8).write(to: junk)
        defer { try? FileManager.default.removeItem(at: junk) }
        XCTAssertEqual(try run(["replay", "--signatures", "signatures", junk.path]).status, 65)
        let missing = try run(["replay", "--signatures", "signatures", "/nonexistent/peerwall.pcap"])
        XCTAssertEqual(missing.status, 66)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/peerwall.pcap"))
    }

    func testHostilePacketsAreCountedAndNothingCrashes() throws {
        let result = try run(["replay", "--signatures", "signatures", ReplayCommandTests.captures.appendingPathComponent("hostile/hostile-packets.pcap").path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let stats = result.lines.last?["stats"] as? [String: Any]
        XCTAssertGreaterThan(stats?["malformed"] as? Int ?? 0, 0)
    }

    func testInvalidSignaturesExit78WithFileAndLine() throws {
        let directory = temporaryFile("signatures")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for file in try FileManager.default.contentsOfDirectory(atPath: ReplayCommandTests.root.appendingPathComponent("signatures").path) {
            try FileManager.default.copyItem(at: ReplayCommandTests.root.appendingPathComponent("signatures/\(file)"), to: directory.appendingPathComponent(file))
        }
        let portblock = directory.appendingPathComponent("portblock.xml")
        let broken = try String(contentsOf: portblock, encoding: .utf8).replacingOccurrences(of: "action=\"drop\"", with: "action=\"explode\"")
        try broken.write(to: portblock, atomically: true, encoding: .utf8)
        for command in [["check", "--signatures", directory.path],
                        ["replay", "--signatures", directory.path, ReplayCommandTests.captures.appendingPathComponent("portblock/portblock-basics.pcap").path]] {
            let result = try run(command)
            XCTAssertEqual(result.status, 78, command.joined(separator: " "))
            XCTAssertTrue(result.stderr.range(of: #"portblock\.xml:\d+: "#, options: .regularExpression) != nil, result.stderr)
            XCTAssertTrue(result.stdout.isEmpty || command[0] == "check")
        }
        XCTAssertEqual(try run(["check", "--signatures", "signatures"]).status, 0)
    }

    func testTextFormatSummarisesWhatWasFound() throws {
        let result = try run(["replay", "--signatures", "signatures", "--format", "text",
                              ReplayCommandTests.captures.appendingPathComponent("portblock/portblock-basics.pcap").path])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.contains("portblock.napster.transfer: 2"), result.stdout)
        XCTAssertTrue(result.stdout.contains("Top dropped flows:"))
    }

    func testLANRangesFromTheCommandLineDecideTheSides() throws {
        // With the LAN moved elsewhere, the attempts come from outside and the originator rule applies.
        let capture = ReplayCommandTests.captures.appendingPathComponent("portblock/portblock-basics.pcap").path
        let result = try run(["replay", "--signatures", "signatures", "--lan", "198.51.100.0/24", capture])
        XCTAssertEqual(result.status, 0)
        let dropped = result.lines.filter { $0["event_type"] as? String == "flow" && $0["verdict"] as? String == "dropped" }
        // 198.51.100.20 is now a LAN host: connections to it are inbound, and port-block only judges outbound ones.
        XCTAssertEqual(Set(dropped.compactMap { $0["dest_port"] as? Int }), [6698], "only the IPv6 attempt is still outbound")
        XCTAssertEqual(try run(["replay", "--lan", "not-a-cidr", capture]).status, 64)
    }
}
