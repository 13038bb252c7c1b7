import PacketKit
import PluginAPI
import Simulators
import XCTest

/// The live servers' protocol logic, driven without sockets; what they send is also what the
/// plugins recognise.
final class LiveSimulatorModelTests: XCTestCase {
    private let alice = Endpoint(IPAddress(192, 168, 1, 10), 40_000)
    private let bob = Endpoint(IPAddress(203, 0, 113, 9), 40_001)

    private func sent(_ outputs: [LiveOutput], to connection: Int) -> [UInt8] {
        outputs.reduce(into: []) { bytes, output in
            if case let .send(id, data) = output, id == connection { bytes += data }
        }
    }

    private func messages(_ bytes: [UInt8]) -> [(type: UInt16, fields: [String])] {
        var decoder = NapsterWire.Decoder()
        decoder.append(bytes)
        var result: [(UInt16, [String])] = []
        while let message = decoder.next() { result.append((message.type, NapsterWire.fields(message.body))) }
        return result
    }

    func testNapsterServerAnswersLoginsSearchesAndDownloadRequests() {
        let library = [NapsterWire.SharedFile(file: "Generic Band - Song.mp3", md5: "m", size: 1000, seconds: 60, nick: "mred",
                                              owner: IPAddress(205, 254, 222, 204), dataPort: 5555)]
        let server = NapsterServerModel(advertised: "198.51.100.20:8888", library: library, motd: ["hello"])
        _ = server.accepted(1, listener: NapsterServerModel.serverListener, from: alice)
        let login = messages(sent(server.received(1, NapsterWire.login(nick: "lefty", password: "pw", dataPort: 6699)), to: 1))
        XCTAssertEqual(login.map(\.type), [3, 214, 621])
        let search = messages(sent(server.received(1, NapsterWire.search("generic BAND")), to: 1))
        XCTAssertEqual(search.map(\.type), [201, 202])
        XCTAssertEqual(search.first?.fields[7], "3437166285", "the sharer's address in Napster's little-endian decimal form")
        let ack = messages(sent(server.received(1, NapsterWire.downloadRequest(nick: "mred", file: "Generic Band - Song.mp3")), to: 1))
        XCTAssertEqual(ack.first?.type, 204)
        XCTAssertEqual(Array(ack.first?.fields.prefix(3) ?? []), ["mred", "3437166285", "5555"])
        let missing = messages(sent(server.received(1, NapsterWire.downloadRequest(nick: "nobody", file: "x")), to: 1))
        XCTAssertEqual(missing.first?.type, 206)
    }

    func testNapsterServerRelaysFirewalledRequestsAndRefusesDuplicateNicks() {
        let server = NapsterServerModel(advertised: "198.51.100.20:8888")
        _ = server.accepted(1, listener: 0, from: alice)
        _ = server.accepted(2, listener: 0, from: bob)
        _ = server.received(1, NapsterWire.login(nick: "hider", password: "pw", dataPort: 0) + NapsterWire.share(file: "h.mp3", md5: "m", size: 9, seconds: 1))
        _ = server.received(2, NapsterWire.login(nick: "taker", password: "pw", dataPort: 6699))
        let outputs = server.received(2, NapsterWire.message(.alternateDownloadRequest, "hider \"h.mp3\""))
        let relayed = messages(sent(outputs, to: 1))
        XCTAssertEqual(relayed.first?.type, 501)
        XCTAssertEqual(Array(relayed.first?.fields.prefix(3) ?? []), ["taker", String(NapsterWire.decimal(bob.address)), "6699"])
        _ = server.accepted(3, listener: 0, from: bob)
        let duplicate = server.received(3, NapsterWire.login(nick: "taker", password: "pw", dataPort: 1))
        XCTAssertEqual(messages(sent(duplicate, to: 3)).first?.type, 0)
        XCTAssertTrue(duplicate.contains(.close(connection: 3)))
    }

    func testMetaserverNamesTheServerAndCloses() {
        let server = NapsterServerModel(advertised: "198.51.100.20:8888")
        let outputs = server.accepted(7, listener: NapsterServerModel.metaserverListener, from: alice)
        XCTAssertEqual(sent(outputs, to: 7), Array("198.51.100.20:8888\n".utf8))
        XCTAssertTrue(outputs.contains(.close(connection: 7)))
    }

    func testNapsterPeerServesGetAndTakesPushes() {
        let peer = NapsterPeerModel(fileSize: 100)
        XCTAssertEqual(sent(peer.accepted(1, listener: 0, from: alice), to: 1), Array("1".utf8))
        XCTAssertEqual(peer.received(1, NapsterWire.get), [])
        let data = sent(peer.received(1, NapsterWire.peerRequest(nick: "lefty", file: "a.mp3", number: 40)), to: 1)
        XCTAssertEqual(Array(data.prefix(3)), Array("100".utf8))
        XCTAssertEqual(data.count, 3 + 60)
        _ = peer.accepted(2, listener: 0, from: bob)
        XCTAssertEqual(sent(peer.received(2, NapsterWire.send + NapsterWire.peerRequest(nick: "p", file: "b.mp3", number: 9)), to: 2),
                       Array("0".utf8))
    }

    func testAudioGalaxyServerRedirectsAndOrdersTransfers() {
        let orders = [AudioGalaxyServerModel.Order(connect: true, address: "203.0.113.70", port: 41_009, name: "a.mp3", size: 10),
                      AudioGalaxyServerModel.Order(connect: false, address: "203.0.113.71", port: 41_010, name: "b.mp3", size: 10)]
        let server = AudioGalaxyServerModel(mainServer: "198.51.100.61", mainPort: 21, orders: orders)
        let redirect = server.accepted(1, listener: AudioGalaxyServerModel.redirectorListener, from: alice)
        XCTAssertEqual(sent(redirect, to: 1), AudioGalaxyWire.redirect(server: "198.51.100.61", port: 21))
        _ = server.accepted(2, listener: AudioGalaxyServerModel.serverListener, from: alice)
        let standBy = sent(server.received(2, AudioGalaxyWire.login(user: "u", password: "p", clientAddress: "192.168.1.30")), to: 2)
        XCTAssertEqual(standBy, AudioGalaxyWire.frame(sequence: 0, .sendSharesStandBy))
        XCTAssertEqual(sent(server.received(2, AudioGalaxyWire.frame(sequence: 1, .readyToSendShares)), to: 2),
                       AudioGalaxyWire.frame(sequence: 1, .sendShares))
        let transfers = sent(server.received(2, AudioGalaxyWire.frame(sequence: 2, .readyForTransfer)), to: 2)
        var decoder = AudioGalaxyWire.Decoder()
        decoder.append(transfers)
        var types: [UInt16] = []
        while let frame = decoder.next() {
            var reader = AudioGalaxyWire.Reader(frame)
            _ = reader.u32()
            types.append(reader.u16() ?? 0)
        }
        XCTAssertEqual(types, [10, 10])
        // Garbage ends the connection.
        XCTAssertTrue(server.received(2, Array("220 hello".utf8)).contains(.close(connection: 2)))
    }

    func testSatelliteAnswersTheRequestWithOKAndTheFile() {
        let satellite = AudioGalaxySatelliteModel(fileSize: 50)
        _ = satellite.accepted(1, listener: 0, from: alice)
        let request = AudioGalaxyWire.transferRequest(counter: 3, id: Array(0..<16), size: 50, offset: 10)
        XCTAssertEqual(satellite.received(1, Array(request.prefix(20))), [])
        let answer = sent(satellite.received(1, Array(request.dropFirst(20))), to: 1)
        XCTAssertEqual(Array(answer.prefix(16)), AudioGalaxyWire.transferAccepted(counter: 3))
        XCTAssertEqual(answer.count, 16 + 40)
    }

    func testWhatTheLiveServerSendsIsWhatThePluginLearnsFrom() throws {
        let library = [NapsterWire.SharedFile(file: "Generic Band - Song.mp3", md5: "m", size: 1000, seconds: 60, nick: "mred",
                                              owner: IPAddress(203, 0, 113, 7), dataPort: 5555)]
        let server = NapsterServerModel(advertised: "198.51.100.20:8888", library: library)
        _ = server.accepted(1, listener: 0, from: alice)
        let bench = try ProtocolBench()
        let session = bench.connection(from: alice, to: Endpoint(IPAddress(198, 51, 100, 20), 8888))
        session.open()
        for request in [NapsterWire.login(nick: "lefty", password: "pw", dataPort: 6699),
                        NapsterWire.downloadRequest(nick: "mred", file: "Generic Band - Song.mp3")] {
            session.send(request, from: .client)
            session.send(sent(server.received(1, request), to: 1), from: .server)
        }
        XCTAssertEqual(bench.alerts.map(\.signature), ["napster.login", "napster.server.download-ack"])
        XCTAssertNotNil(bench.learned(IPAddress(203, 0, 113, 7), 5555))
    }
}
