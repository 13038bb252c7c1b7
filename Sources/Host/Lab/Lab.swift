import Foundation
import Glibc

/// The gateway lab's fixed parts, shared by `peerwall lab` and the lab tests: the namespaces
/// (LAN clients, gateway, outside), the outside web server, the real daemon on the gateway, and
/// the simulators started in it. `up()` builds it; `down()` removes everything, and is safe to
/// call at any point and more than once.
public final class Lab: @unchecked Sendable {
    // The cast. Host numbers are the last byte of 10.99.1.N / fd00:99:1::N.
    public static let kazaa = LabNetwork.Client("kazaa", host: 10)
    public static let browser = LabNetwork.Client("browser", host: 20)
    public static let napster = LabNetwork.Client("napster", host: 30)
    public static let audiogalaxy = LabNetwork.Client("agalaxy", host: 40)
    public static let clients = [kazaa, browser, napster, audiogalaxy]

    /// Outside: stand-in FastTrack supernodes, the web server, and the hosts the Napster,
    /// AudioGalaxy and FTP stand-ins use.
    public static let supernodeHosts: [UInt8] = [5, 6, 7]
    public static let supernodes = ["10.99.3.5:1214", "10.99.3.6:1214", "10.99.3.7:2093"]
    public static let webHost: UInt8 = 80
    public static let web4 = LabNetwork.outside4(webHost)
    public static let web6 = LabNetwork.outside6(webHost)
    public static let ftpHost: UInt8 = 21
    public static let napsterHosts: [UInt8] = [88, 89]
    public static let audiogalaxyHosts: [UInt8] = [41, 42]
    public static let outsideHosts = supernodeHosts + [webHost, ftpHost] + napsterHosts + audiogalaxyHosts

    public static let ftpServer = LabNetwork.outside4(ftpHost)
    /// An OpenNap-like server (8888) with its metaserver (8875), and a peer sharing a song on a
    /// port no port rule covers.
    public static let napsterServer = LabNetwork.outside4(napsterHosts[0])
    public static let napsterPeer = LabNetwork.outside4(napsterHosts[1]) + ":5555"
    /// AudioGalaxy's redirector (on 21, like FTP) and main server (2121), which orders one fetch
    /// from a satellite.
    public static let galaxyServer = LabNetwork.outside4(audiogalaxyHosts[0])
    public static let satellite = LabNetwork.outside4(audiogalaxyHosts[1]) + ":41009"
    /// The `peerwall-sim` subcommands the Napster and AudioGalaxy part needs.
    public static let fileSharingSimulators = ["napster-server", "napster-client", "audiogalaxy-server", "audiogalaxy-client", "peer"]

    /// The outside half of the Napster, AudioGalaxy and FTP part.
    public struct FileSharingServers: Sendable {
        public let napsterServer: LabSimulator
        public let napsterPeer: LabSimulator
        public let galaxyServer: LabSimulator
        public let satellite: LabSimulator
        public let ftp: [LabServer]

        public var simulators: [LabSimulator] { [napsterServer, napsterPeer, galaxyServer, satellite] }
        /// Every address:port they listen on.
        public static let endpoints = ["\(Lab.napsterServer):8888", "\(Lab.napsterServer):8875", Lab.napsterPeer, "\(Lab.galaxyServer):21",
                                       "\(Lab.galaxyServer):2121", Lab.satellite, "\(Lab.ftpServer):21", "\(Lab.ftpServer):\(LabFTP.dataPort)"]

        /// Stops them all (the simulators by pid).
        public func stop() {
            for simulator in simulators { simulator.process.stop(grace: 2) }
            for server in ftp { server.stop() }
        }
    }

    public let network: LabNetwork
    public let daemon: LabDaemon
    public let directory: String
    public let simulatorExecutable: String
    public let keepFiles: Bool
    public private(set) var web: LabServer?
    public private(set) var servers: [LabServer] = []
    public private(set) var simulators: [LabSimulator] = []
    private let lock = NSLock()
    private var isDown = false

    /// - Parameters:
    ///   - base: the namespace name prefix (`<base>-<pid>-…`); leftovers of dead runs with the
    ///     same base are removed by `up()`.
    ///   - directory: the scratch directory for logs, state and sockets; a new one under /tmp when nil.
    public init(base: String, peerwall: String, simulator: String, signatures: String, lockSeconds: Int,
                clients: [LabNetwork.Client] = Lab.clients, directory: String? = nil, keepFiles: Bool = false) {
        network = LabNetwork(base: base, clients: clients, outsideHosts: Lab.outsideHosts)
        self.directory = directory ?? NSTemporaryDirectory() + network.prefix
        var settings = LabDaemon.Settings(signatures: signatures)
        settings.lockSeconds = lockSeconds
        daemon = LabDaemon(executable: peerwall, network: network, directory: self.directory, settings: settings)
        simulatorExecutable = simulator
        self.keepFiles = keepFiles
    }

    /// Builds the namespaces, starts the web server and (unless told not to) the daemon.
    public func up(startingDaemon: Bool = true) throws {
        LabNetwork.removeStale(base: network.base)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try network.build()
        do {
            web = try LabServer(name: "web", namespace: network.outside, addresses: [Lab.web4, Lab.web6], port: 80, handler: LabServer.web)
            if startingDaemon { try daemon.start() }
        } catch {
            down()
            throw error
        }
    }

    public func namespace(_ client: LabNetwork.Client) -> String { network.namespace(of: client) }

    /// Starts `peerwall-sim arguments…` in `namespace`, logging to `<directory>/<role>.log` (replaced).
    @discardableResult
    public func startSimulator(role: String, namespace: String, arguments: [String]) throws -> LabSimulator {
        let file = directory + "/" + String(role.map { $0.isLetter || $0.isNumber ? $0 : "-" }) + ".log"
        // A role started again (the next test) starts a fresh log.
        try? FileManager.default.removeItem(atPath: file)
        let simulator = try LabSimulator(role: role, namespace: namespace, executable: simulatorExecutable, arguments: arguments, logPath: file)
        lock.withLock { simulators.append(simulator) }
        return simulator
    }

    /// Starts the Napster and AudioGalaxy stand-ins outside for `seconds`, and the FTP server.
    public func startFileSharingServers(seconds: Double) throws -> FileSharingServers {
        let duration = ["--duration", String(seconds)]
        let outside = network.outside
        let napster = try startSimulator(role: "napster server", namespace: outside, arguments: [
            "napster-server", "--listen", "\(Lab.napsterServer):8888", "--metaserver", "\(Lab.napsterServer):8875",
            "--advertise", "\(Lab.napsterServer):8888", "--library", "mred@\(Lab.napsterPeer)=Generic Band - Song.mp3"] + duration)
        let peer = try startSimulator(role: "napster peer", namespace: outside, arguments: ["peer", "--protocol", "napster", "--listen", Lab.napsterPeer] + duration)
        let galaxy = try startSimulator(role: "audiogalaxy server", namespace: outside, arguments: [
            "audiogalaxy-server", "--redirector", "\(Lab.galaxyServer):21", "--listen", "\(Lab.galaxyServer):2121",
            "--advertise", "\(Lab.galaxyServer):2121", "--order", "connect:\(Lab.satellite)"] + duration)
        let satellite = try startSimulator(role: "satellite", namespace: outside, arguments: ["peer", "--protocol", "audiogalaxy", "--listen", Lab.satellite] + duration)
        let control = try LabServer(name: "ftp", namespace: outside, addresses: [Lab.ftpServer], port: LabFTP.controlPort,
                                    handler: LabFTP.control(address: Lab.ftpServer))
        let data = try LabServer(name: "ftp-data", namespace: outside, addresses: [Lab.ftpServer], port: LabFTP.dataPort, handler: LabFTP.data)
        lock.withLock { servers += [control, data] }
        return FileSharingServers(napsterServer: napster, napsterPeer: peer, galaxyServer: galaxy, satellite: satellite, ftp: [control, data])
    }

    /// A Napster user: logs in to the server it is configured with (as OpenNap clients do; the
    /// metaserver's port alone is blocked by a port rule), searches, downloads the first hit.
    public func startNapsterClient(timeout: Double = 3) throws -> LabSimulator {
        try startSimulator(role: "napster \(LabNetwork.address4(Lab.napster))", namespace: namespace(Lab.napster), arguments: [
            "napster-client", "--server", "\(Lab.napsterServer):8888", "--nick", "lefty", "--search", "generic band", "--download",
            "--timeout", String(timeout)])
    }

    /// An AudioGalaxy satellite: asks the redirector, logs in, shares, makes the ordered transfer.
    public func startGalaxyClient(timeout: Double = 3) throws -> LabSimulator {
        try startSimulator(role: "agalaxy \(LabNetwork.address4(Lab.audiogalaxy))", namespace: namespace(Lab.audiogalaxy), arguments: [
            "audiogalaxy-client", "--redirector", "\(Lab.galaxyServer):21", "--user", "galaxyfan", "--transfers", "1", "--timeout", String(timeout)])
    }

    /// Whether every `ip:port` has a listening TCP socket outside.
    public func listening(on endpoints: [String]) -> Bool {
        let output = CommandRunner.run("ip", ["netns", "exec", network.outside, "ss", "-ltn"]).output
        return endpoints.allSatisfy { output.contains($0 + " ") }
    }

    /// Stops the simulators (by pid), the daemon (SIGTERM: it removes its rules), the servers,
    /// and deletes the namespaces (with any rules a killed daemon left), killing by pid anything
    /// left in them. Removes the scratch
    /// directory unless asked to keep it. Returns the daemon's exit status.
    @discardableResult
    public func down() -> Int32? {
        let already = lock.withLock { () -> Bool in
            defer { isDown = true }
            return isDown
        }
        guard !already else { return nil }
        for simulator in lock.withLock({ simulators }) { simulator.process.stop(grace: 2) }
        let status = daemon.isRunning ? daemon.stop() : nil
        web?.stop()
        for server in lock.withLock({ servers }) { server.stop() }
        network.destroy()
        if !keepFiles { try? FileManager.default.removeItem(atPath: directory) }
        return status
    }
}
