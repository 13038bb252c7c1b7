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

    /// Starts `peerwall-sim arguments…` in `namespace`, logging to `<directory>/<role>.log`.
    @discardableResult
    public func startSimulator(role: String, namespace: String, arguments: [String]) throws -> LabSimulator {
        let file = role.map { $0.isLetter || $0.isNumber ? $0 : "-" }
        let simulator = try LabSimulator(role: role, namespace: namespace, executable: simulatorExecutable, arguments: arguments,
                                         logPath: directory + "/" + String(file) + ".log")
        lock.withLock { simulators.append(simulator) }
        return simulator
    }

    /// Runs one more server in the lab's process (FTP, for instance).
    public func addServer(_ server: LabServer) { lock.withLock { servers.append(server) } }

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
