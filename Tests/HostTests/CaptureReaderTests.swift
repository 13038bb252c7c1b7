import Foundation
import Simulators
import XCTest
import PacketKit
import PluginAPI
@testable import Host

final class CaptureReaderTests: XCTestCase {
    private var files = [String]()

    override func tearDown() {
        for path in files { try? FileManager.default.removeItem(atPath: path) }
        files.removeAll()
        super.tearDown()
    }

    /// A fresh path in the temporary directory, removed after the test.
    private func temporaryPath(_ suffix: String = ".pcap") -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("peerwall-test-\(UUID().uuidString)\(suffix)").path
        files.append(path)
        return path
    }

    private func save(_ bytes: [UInt8], suffix: String = ".pcap") throws -> String {
        let path = temporaryPath(suffix)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    private struct ReadPacket: Equatable {
        var timestamp: Timestamp
        var bytes: [UInt8]
        var wireLength: Int
    }

    /// Reads every packet, copying it, and returns them with the error that ended the read, if any.
    private func readAll(_ path: String) throws -> (packets: [ReadPacket], error: CaptureError?, statistics: CaptureReader.Statistics) {
        let reader = try CaptureReader(path: path)
        var packets = [ReadPacket]()
        do throws(CaptureError) {
            // Bounded: no test file holds this many frames.
            for _ in 0..<100_000 {
                guard let packet = try reader.next() else { break }
                packets.append(ReadPacket(timestamp: packet.timestamp, bytes: Array(packet.bytes), wireLength: packet.ipWireLength))
            }
        } catch {
            return (packets, error, reader.statistics)
        }
        return (packets, nil, reader.statistics)
    }

    private func openError(_ path: String) -> CaptureError? {
        do {
            _ = try CaptureReader(path: path)
            return nil
        } catch {
            return error
        }
    }

    /// A mix of IPv4 and IPv6, TCP and UDP, with payloads of odd and even length.
    private func samplePackets() -> [[UInt8]] {
        var tcp = TCPConversation(client: Endpoint("192.168.1.20:51000")!, server: Endpoint("203.0.113.9:1214")!)
        var packets = tcp.handshake()
        packets += tcp.send(Array("GET /.hash=abc HTTP/1.1\r\n\r\n".utf8), from: .client)
        packets.append(PacketBuilder.udp(from: Endpoint("[2001:db8::1]:6346")!, to: Endpoint("[2001:db8:ffff::2]:6346")!, payload: [0xE3, 1, 2]))
        packets.append(PacketBuilder.tcp(from: Endpoint("[fe80::1]:80")!, to: Endpoint("[fe80::2]:2000")!, flags: [.fin, .ack], seq: 9, ack: 10))
        packets.append(PacketBuilder.udp(from: Endpoint("10.1.1.1:1")!, to: Endpoint("10.1.1.2:2")!, payload: []))
        return packets
    }

    private func sampleTimes(_ count: Int) -> [Timestamp] {
        // Whole seconds, fractions, and a date past 2038 that a 32-bit signed field cannot hold.
        let base: [Int64] = [0, 1_000_000_000_500_000, 1_700_000_000_000_001, 1_700_000_000_999_999, 2_200_000_000_123_456]
        return (0..<count).map { Timestamp(microseconds: base[$0 % base.count] + Int64($0)) }
    }

    // MARK: Round trips

    func testEveryLinkTypeAndFormatRoundTrips() throws {
        let packets = samplePackets()
        let times = sampleTimes(packets.count)
        let linkTypes: [LinkType] = [.ethernet, .raw, .linuxSLL, .linuxSLL2, .null, .loop, LinkType(rawValue: 12), LinkType(rawValue: 14)]
        let formats: [CaptureWriter.Format] = [.pcap, .pcapNanoseconds, .pcapng]
        for format in formats {
            for linkType in linkTypes {
                for bigEndian in [false, true] {
                    var writer = CaptureWriter(format: format, linkType: linkType, bigEndian: bigEndian)
                    for (packet, time) in zip(packets, times) {
                        XCTAssertTrue(writer.append(ipPacket: packet, at: time))
                    }
                    let path = try save(writer.bytes)
                    let (read, error, stats) = try readAll(path)
                    let context = "\(format) \(linkType) bigEndian=\(bigEndian)"
                    XCTAssertNil(error, context)
                    XCTAssertEqual(read.map(\.bytes), packets, context)
                    XCTAssertEqual(read.map(\.timestamp), times, context)
                    XCTAssertEqual(read.map(\.wireLength), packets.map(\.count), context)
                    XCTAssertEqual(stats.frames, packets.count, context)
                    XCTAssertEqual(stats.ipPackets, packets.count, context)
                    XCTAssertEqual(stats.nonIPFrames, 0, context)
                }
            }
        }
    }

    func testPerFamilyLinkTypes() throws {
        let v4 = samplePackets().filter { $0[0] >> 4 == 4 }
        let v6 = samplePackets().filter { $0[0] >> 4 == 6 }
        for (linkType, packets) in [(LinkType.ipv4, v4), (LinkType.ipv6, v6)] {
            for format in [CaptureWriter.Format.pcap, .pcapng] {
                var writer = CaptureWriter(format: format, linkType: linkType)
                for (index, packet) in packets.enumerated() { writer.append(ipPacket: packet, at: Timestamp(microseconds: Int64(index))) }
                let reader = try CaptureReader(path: try save(writer.bytes))
                XCTAssertEqual(reader.linkLayer, linkType == .ipv4 ? .ipv4 : .ipv6)
                let (read, error, _) = try readAll(reader.path)
                XCTAssertNil(error)
                XCTAssertEqual(read.map(\.bytes), packets, "\(linkType) \(format)")
            }
        }
    }

    func testVLANTaggedEthernetAndSkippedFrames() throws {
        let packets = samplePackets()
        for format in [CaptureWriter.Format.pcap, .pcapng] {
            var writer = CaptureWriter(format: format, linkType: .ethernet)
            let tags: [[LinkFrame.VLANTag]] = [[], [.init(id: 100)], [.init(id: 10, tpid: LinkFrame.etherTypeQinQ), .init(id: 20)]]
            for (index, packet) in packets.enumerated() {
                writer.append(ipPacket: packet, at: Timestamp(microseconds: Int64(index) * 1000), vlanTags: tags[index % tags.count])
                if index % 3 == 1 {
                    let arp = LinkFrame.ethernet(payload: [UInt8](repeating: 0x11, count: 28), etherType: LinkFrame.etherTypeARP)
                    writer.append(arp, at: Timestamp(microseconds: Int64(index) * 1000 + 1))
                }
            }
            writer.append([0x02, 0x00, 0x00], at: Timestamp(microseconds: 99_000))  // shorter than its header
            let reader = try CaptureReader(path: try save(writer.bytes))
            XCTAssertEqual(reader.linkLayer, .ethernet)
            let (read, error, stats) = try readAll(reader.path)
            XCTAssertNil(error)
            XCTAssertEqual(read.map(\.bytes), packets)
            XCTAssertEqual(read.map(\.timestamp), (0..<packets.count).map { Timestamp(microseconds: Int64($0) * 1000) })
            XCTAssertEqual(stats.nonIPFrames, packets.indices.filter { $0 % 3 == 1 }.count)
            XCTAssertEqual(stats.truncatedFrames, 1)
            XCTAssertEqual(stats.frames, packets.count + stats.nonIPFrames + 1)
        }
    }

    func testSnappedFramesKeepTheirWireLength() throws {
        let packet = PacketBuilder.udp(from: Endpoint("10.0.0.1:1000")!, to: Endpoint("10.0.0.2:2000")!, payload: [UInt8](repeating: 7, count: 200))
        for format in [CaptureWriter.Format.pcap, .pcapng] {
            var writer = CaptureWriter(format: format, linkType: .ethernet, snapLength: 64)
            writer.append(ipPacket: packet, at: .zero)
            let reader = try CaptureReader(path: try save(writer.bytes))
            let read = try XCTUnwrap(try reader.next())
            XCTAssertEqual(read.capturedLength, 64)
            XCTAssertEqual(read.wireLength, 14 + packet.count)
            XCTAssertEqual(read.ipWireLength, packet.count)
            XCTAssertTrue(read.isSnapped)
            XCTAssertEqual(Array(read.bytes), Array(packet.prefix(50)))
            guard case .packet(let view) = PacketView.parse(read.bytes) else { return XCTFail("snapped packet does not parse") }
            XCTAssertTrue(view.isTruncated)
            XCTAssertEqual(view.payload.count, 50 - 28)
            XCTAssertNil(try reader.next())
            XCTAssertNil(try reader.next(), "the end stays the end")
        }
    }

    func testReaderIsZeroCopyIntoLibpcapsBuffer() throws {
        var writer = CaptureWriter(format: .pcap, linkType: .raw)
        let packet = samplePackets()[0]
        writer.append(packet, at: .zero)
        let reader = try CaptureReader(path: try save(writer.bytes))
        let first = try XCTUnwrap(try reader.next())
        XCTAssertEqual(first.linkHeaderLength, 0)
        XCTAssertEqual(Array(first.bytes), packet)
        XCTAssertNotNil(first.bytes.baseAddress)
    }

    func testForEachDeliversThenThrows() throws {
        var writer = CaptureWriter(format: .pcap, linkType: .raw)
        let packets = samplePackets()
        for packet in packets { writer.append(packet, at: .zero) }
        let path = try save(Array(writer.bytes.dropLast(3)))
        let reader = try CaptureReader(path: path)
        var seen = 0
        XCTAssertThrowsError(try reader.forEach { _ in seen += 1 }) { error in
            XCTAssertEqual((error as? CaptureError)?.exitCode, 65)
        }
        XCTAssertEqual(seen, packets.count - 1)
    }

    // MARK: Errors

    func testTruncatedFileYieldsPacketsBeforeTheCut() throws {
        let packets = samplePackets()
        for format in [CaptureWriter.Format.pcap, .pcapng] {
            var writer = CaptureWriter(format: format, linkType: .ethernet)
            var ends = [Int]()
            for (index, packet) in packets.enumerated() {
                writer.append(ipPacket: packet, at: Timestamp(microseconds: Int64(index)))
                ends.append(writer.bytes.count)
            }
            // Cut inside the fourth record's data, and inside the fourth record's header.
            for cut in [ends[3] - 10, ends[2] + 5] {
                let path = try save(Array(writer.bytes.prefix(cut)))
                let (read, error, _) = try readAll(path)
                XCTAssertEqual(read.map(\.bytes), Array(packets.prefix(3)), "\(format) cut at \(cut)")
                let captureError = try XCTUnwrap(error, "\(format) cut at \(cut)")
                XCTAssertEqual(captureError.exitCode, 65)
                XCTAssertEqual(captureError.kind, .corrupt(framesRead: 3))
                XCTAssertTrue(captureError.description.contains(path), captureError.description)
                XCTAssertTrue(captureError.message.contains("truncated"), captureError.message)
            }
            // A cut exactly between records is a clean end.
            let (read, error, _) = try readAll(try save(Array(writer.bytes.prefix(ends[2]))))
            XCTAssertNil(error)
            XCTAssertEqual(read.count, 3)
        }
    }

    func testEveryCutOfACaptureIsHandled() throws {
        let packets = Array(samplePackets().prefix(3))
        for format in [CaptureWriter.Format.pcap, .pcapng] {
            var writer = CaptureWriter(format: format, linkType: .linuxSLL)
            var ends = [Int]()
            for packet in packets {
                writer.append(ipPacket: packet, at: .zero)
                ends.append(writer.bytes.count)
            }
            let headerEnd = format == .pcap ? 24 : 28 + 32
            for cut in 0...writer.bytes.count {
                let path = try save(Array(writer.bytes.prefix(cut)))
                if cut < headerEnd {
                    let error = openError(path)
                    // libpcap reads a pcapng section's header before the interface, so a cut in the
                    // interface block may only show when reading.
                    if let error {
                        XCTAssertEqual(error.exitCode, 65, "\(format) cut \(cut): \(error)")
                        continue
                    }
                }
                let (read, error, _) = try readAll(path)
                let complete = ends.filter { $0 <= cut }.count
                XCTAssertEqual(read.map(\.bytes), Array(packets.prefix(complete)), "\(format) cut \(cut)")
                if ends.contains(cut) || cut == headerEnd {
                    XCTAssertNil(error, "\(format) cut \(cut)")
                } else {
                    XCTAssertEqual(error?.exitCode, 65, "\(format) cut \(cut)")
                }
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    func testNotACaptureFile() throws {
        let text = try save(Array("this is not a capture file, only text\n".utf8), suffix: ".txt")
        let error = try XCTUnwrap(openError(text))
        XCTAssertEqual(error.kind, .notACapture)
        XCTAssertEqual(error.exitCode, 65)
        XCTAssertTrue(error.description.contains(text), error.description)

        let empty = try XCTUnwrap(openError(try save([])))
        XCTAssertEqual(empty.exitCode, 65)
        XCTAssertEqual(empty.kind, .notACapture)
    }

    func testMissingFileAndDirectory() throws {
        let missing = temporaryPath()
        let error = try XCTUnwrap(openError(missing))
        XCTAssertEqual(error.kind, .cannotOpen)
        XCTAssertEqual(error.exitCode, 66)
        XCTAssertTrue(error.description.contains(missing), error.description)

        let directory = temporaryPath(".d")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        XCTAssertEqual(openError(directory)?.exitCode, 66)
    }

    func testUnsupportedLinkType() throws {
        for format in [CaptureWriter.Format.pcap, .pcapng] {
            var writer = CaptureWriter(format: format, linkType: LinkType(rawValue: 105))  // 802.11
            writer.append([0, 1, 2, 3], at: .zero)
            let error = try XCTUnwrap(openError(try save(writer.bytes)))
            XCTAssertEqual(error.exitCode, 65)
            if case .unsupportedLinkType = error.kind {} else { XCTFail("\(error.kind)") }
            XCTAssertTrue(error.message.contains("105"), error.message)
        }
    }

    func testCorruptRecordLength() throws {
        var writer = CaptureWriter(format: .pcap, linkType: .raw)
        let packets = samplePackets()
        for packet in packets { writer.append(packet, at: .zero) }
        var bytes = writer.bytes
        // The second record's captured length: far beyond any snap length.
        let second = 24 + 16 + packets[0].count
        bytes.replaceSubrange((second + 8)..<(second + 12), with: [0xFF, 0xFF, 0xFF, 0x7F])
        let (read, error, _) = try readAll(try save(bytes))
        XCTAssertEqual(read.map(\.bytes), [packets[0]])
        XCTAssertEqual(error?.exitCode, 65)
    }

    /// Damaged captures never trap the reader: each read ends cleanly or with a 65-class error.
    func testRandomlyDamagedCapturesNeverTrap() throws {
        var rng = SimulationRandom(seed: 0xCAB7_0001)
        let packets = samplePackets()
        let path = temporaryPath()
        for round in 0..<300 {
            let format: CaptureWriter.Format = [.pcap, .pcapNanoseconds, .pcapng][round % 3]
            let linkType: LinkType = [.ethernet, .linuxSLL2, .raw, .null][round % 4]
            var writer = CaptureWriter(format: format, linkType: linkType, bigEndian: round % 5 == 0)
            for packet in packets { writer.append(ipPacket: packet, at: Timestamp(microseconds: Int64(rng.next() >> 12))) }
            var bytes = writer.bytes
            for _ in 0..<(1 + Int(rng.next() % 8)) {
                let position = Int(rng.next() % UInt64(bytes.count))
                bytes[position] = UInt8(truncatingIfNeeded: rng.next())
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            guard let reader = try? CaptureReader(path: path) else { continue }
            do throws(CaptureError) {
                for _ in 0..<1000 {
                    guard let packet = try reader.next() else { break }
                    XCTAssertLessThanOrEqual(packet.bytes.count, packet.capturedLength)
                    _ = PacketView.parse(packet.bytes)
                }
            } catch {
                XCTAssertEqual(error.exitCode, 65)
            }
        }
    }

    func testTimestampConversionSaturates() {
        XCTAssertEqual(CaptureReader.timestamp(timeval(tv_sec: 1_000_000_000, tv_usec: 500_000)).microseconds, 1_000_000_000_500_000)
        XCTAssertEqual(CaptureReader.timestamp(timeval(tv_sec: .max, tv_usec: 0)).microseconds, .max)
        XCTAssertEqual(CaptureReader.timestamp(timeval(tv_sec: .min, tv_usec: 0)).microseconds, .min)
    }
}
