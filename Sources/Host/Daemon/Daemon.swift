import Dispatch
import Foundation
import Logging
import PluginAPI
import Synchronization

/// The live daemon: NFQUEUE readers (one thread per queue) feeding one engine, a timer for
/// probes and expiry when no traffic comes, the state file, the firewall rules, the control
/// socket, and the signals.
///
/// Threads: each queue reader, the timer, the control socket and the signal queue all reach
/// the engine only through `withEngine`, which serialises them; injection and verdicts happen
/// outside the lock.
public final class Daemon: @unchecked Sendable {
    /// How the daemon gets its settings and its plugins; the same calls serve start and reload.
    public struct Loaders: Sendable {
        /// The configuration file (or the defaults) with the command-line flags applied.
        public var configuration: @Sendable () throws -> Configuration
        /// The plugins, built from the signature files the configuration names.
        public var detectors: @Sendable (Configuration) throws -> LoadedDetectors

        public init(configuration: @escaping @Sendable () throws -> Configuration,
                    detectors: @escaping @Sendable (Configuration) throws -> LoadedDetectors) {
            self.configuration = configuration
            self.detectors = detectors
        }
    }

    /// Why the daemon could not start; `exitCode` follows sysexits.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
        public let exitCode: Int32
    }

    /// Queue sizing: packets waiting in the kernel, and the socket buffer that holds them.
    static let queueMaxLength: UInt32 = 8192
    static let socketBufferBytes = 64 * 1024 * 1024
    static let tick = 0.25
    static let stateSaveInterval = Seconds(1)
    static let ruleCheckInterval = Seconds(5)
    static let statsInterval = Seconds(300)

    private let loaders: Loaders
    private let logger: Logger

    private let lock = NSLock()
    private var engine: Engine!
    private var configuration: Configuration!
    private var sink: DaemonEventSink!
    private var interfaces = InterfaceAddresses(entries: [])

    private var queues: [NetfilterQueue] = []
    private var injector: PacketInjector!
    private var firewall: FirewallManager?
    private var rulesIntact: Bool?
    private var controlServer: ControlServer?
    private var stateFile: StateFile!
    private let stopping = Atomic<Bool>(false)
    private let stopSignal = DispatchSemaphore(value: 0)
    private var signalSources: [DispatchSourceSignal] = []
    private let started = Date()
    private var reloads = 0
    private var lastReloadError: String?
    private let reloadLock = NSLock()

    public init(loaders: Loaders, logger: Logger) {
        self.loaders = loaders
        self.logger = logger
    }

    /// The wall clock as the engine's time.
    static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(microseconds: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000)
    }

    private func withEngine<R>(_ body: (Engine) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(engine)
    }

    // MARK: Run

    /// Starts everything, blocks until SIGTERM or SIGINT, shuts down cleanly and returns.
    public func run() throws {
        try start()
        logger.notice("peerwall \(PeerwallVersion.current) running: queues \(configuration.queues.map(String.init).joined(separator: ",")), plugins \(withEngine { $0.detectorIDs }.joined(separator: ", "))\(configuration.monitorOnly ? ", monitor-only" : "")")

        var jobs: [(name: String, body: @Sendable () -> Void)] = []
        for queue in queues {
            jobs.append(("peerwall-queue-\(queue.number)", { [self] in
                queue.run(shouldStop: { self.stopping.load(ordering: .relaxed) }, handler: { bytes, _ in self.judge(bytes) })
            }))
        }
        jobs.append(("peerwall-timer", { [self] in timerLoop() }))
        if let controlServer {
            jobs.append(("peerwall-control", { [self] in
                controlServer.serve(shouldStop: { self.stopping.load(ordering: .relaxed) }, handle: { self.answer($0) })
            }))
        }
        let finished = jobs.map { _ in DispatchSemaphore(value: 0) }
        for (job, done) in zip(jobs, finished) {
            let thread = Thread {
                job.body()
                done.signal()
            }
            thread.name = job.name
            thread.start()
        }

        stopSignal.wait()
        logger.notice("stopping")
        // Rules first, so nothing new is queued while the readers drain what is waiting.
        if let firewall {
            firewall.remove()
        }
        stopping.store(true, ordering: .relaxed)
        for done in finished { done.wait() }
        for queue in queues { queue.close() }
        controlServer?.close()
        withEngine { engine in
            engine.finish(ending: "shutdown")
            sink.flush()
        }
        saveState()
        logger.notice("stopped")
    }

    /// Asks a running daemon to stop (what SIGTERM does).
    public func requestStop() { stopSignal.signal() }

    private func start() throws {
        let configuration: Configuration
        do {
            configuration = try loaders.configuration()
        } catch {
            throw StartError(description: "\(error)", exitCode: 78)
        }
        let problems = configuration.daemonProblems()
        guard problems.isEmpty else { throw StartError(description: problems.joined(separator: "\n"), exitCode: 78) }
        let detectors: LoadedDetectors
        do {
            detectors = try loaders.detectors(configuration)
        } catch {
            throw StartError(description: "\(error)", exitCode: 78)
        }

        sink = DaemonEventSink(logger: logger)
        if let problem = sink.openEventLog(configuration.eventLogPath) {
            throw StartError(description: problem, exitCode: 73)
        }
        interfaces = InterfaceAddresses.current()
        let engine = makeEngine(configuration, detectors)
        self.configuration = configuration
        self.engine = engine

        stateFile = StateFile(directory: configuration.stateDirectory)
        restoreState()

        var injectorProblems: [String] = []
        let lanRanges = configuration.lanRanges
        injector = PacketInjector(isLAN: { address in lanRanges.contains { $0.contains(address) } }, problems: &injectorProblems)
        for problem in injectorProblems { logger.error("\(problem)") }

        // The queues are bound before any rule sends traffic to them: without fail-open, a rule
        // with no listener drops everything.
        for number in configuration.queues {
            do {
                queues.append(try NetfilterQueue(number: number, maxLength: Daemon.queueMaxLength,
                                                 socketBufferBytes: Daemon.socketBufferBytes, failOpen: configuration.failOpen))
            } catch {
                for queue in queues { queue.close() }
                throw StartError(description: "\(error)", exitCode: 71)
            }
        }
        if configuration.manageRules {
            let manager = FirewallManager(rules: FirewallRules(configuration), logger: logger)
            let failures = manager.install()
            guard failures.isEmpty else {
                manager.remove()
                for queue in queues { queue.close() }
                throw StartError(description: "cannot install the firewall rules:\n" + failures.joined(separator: "\n"), exitCode: 71)
            }
            firewall = manager
            rulesIntact = true
        }
        do {
            controlServer = try ControlServer(path: configuration.controlSocketPath)
        } catch {
            logger.error("control socket unavailable, status/explain/unlock will not work: \(error)")
        }
        installSignalHandlers()
    }

    private func makeEngine(_ configuration: Configuration, _ detectors: LoadedDetectors) -> Engine {
        var engineConfiguration = configuration
        let explicitGateways = !configuration.gatewayAddresses.isEmpty
        if !explicitGateways { engineConfiguration.gatewayAddresses = interfaces.addresses }
        let engine = Engine(configuration: engineConfiguration, detectors: detectors, sink: sink)
        if !explicitGateways {
            let fallback = engine.gatewayAddress
            // Called under the engine lock, like every engine call; `interfaces` changes only under it too.
            engine.gatewayAddress = { [unowned self] client in self.interfaces.address(facing: client) ?? fallback(client) }
        }
        return engine
    }

    // MARK: Packets

    private func judge(_ bytes: UnsafeRawBufferPointer) -> QueueVerdict {
        let decision = withEngine { $0.process(bytes, at: Daemon.now()) }
        send(decision.outbound)
        return QueueVerdict(accept: decision.verdict == .accept, settle: decision.verdict == .accept && decision.flowSettled)
    }

    private func send(_ packets: [OutboundPacket]) {
        guard !packets.isEmpty else { return }
        let gateways = withEngine { $0.configuration.gatewayAddresses }
        for packet in packets {
            // Probes come from the gateway's own address; spoofed replies and resets never do.
            let isProbe = packet.transport == .udp && gateways.contains(packet.source.address)
            injector.send(packet, isProbe: isProbe)
        }
    }

    // MARK: Timer

    private func timerLoop() {
        var lastSave = Timestamp.zero
        var lastCheck = Daemon.now()
        var lastStats = Daemon.now()
        while !stopping.load(ordering: .relaxed) {
            usleep(useconds_t(Daemon.tick * 1_000_000))
            let now = Daemon.now()
            let (outbound, dirty) = withEngine { engine -> ([OutboundPacket], Bool) in
                let packets = engine.advance(to: now)
                if now - lastStats >= Daemon.statsInterval {
                    lastStats = now
                    sink.emit(.stats(engine.statsEvent()))
                }
                sink.flush()
                return (packets, sink.stateChanged)
            }
            send(outbound)
            if dirty && now - lastSave >= Daemon.stateSaveInterval {
                lastSave = now
                saveState()
            }
            if now - lastCheck >= Daemon.ruleCheckInterval {
                lastCheck = now
                let current = InterfaceAddresses.current()
                withEngine { _ in interfaces = current }
                if let firewall, !stopping.load(ordering: .relaxed) {
                    _ = firewall.repairIfNeeded()
                    rulesIntact = firewall.isIntact()
                }
            }
        }
    }

    // MARK: State

    private func saveState() {
        let (state, now) = withEngine { engine -> (EngineState, Timestamp) in
            sink.stateChanged = false
            return (engine.savedState(), Daemon.now())
        }
        do {
            try stateFile.save(state, at: now)
        } catch {
            withEngine { _ in sink.stateChanged = true }
            logger.error("cannot save state: \(error)")
        }
    }

    private func restoreState() {
        let now = Daemon.now()
        switch stateFile.load(now: now) {
        case .missing:
            logger.info("no saved state in \(stateFile.path): starting empty")
        case .unreadable(let reason, let movedTo):
            logger.error("ignoring the saved state \(stateFile.path): \(reason)\(movedTo.map { "; moved to \($0)" } ?? "")")
        case .loaded(let state, let skipped):
            let outcome = withEngine { $0.restore(state, at: now) }
            logger.notice("restored \(outcome.locks) lock(s) and \(outcome.learned) learned address(es) with their remaining time; \(outcome.skipped + skipped) expired or refused")
        }
    }

    // MARK: Signals

    private func installSignalHandlers() {
        signal(SIGPIPE, SIG_IGN)
        let queue = DispatchQueue(label: "peerwall.signals")
        for number in [SIGTERM, SIGINT, SIGHUP] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [self] in
                if number == SIGHUP {
                    _ = reload()
                } else {
                    stopSignal.signal()
                }
            }
            source.resume()
            signalSources.append(source)
        }
    }

    // MARK: Reload

    /// Re-reads the configuration and the signatures and swaps them in; on any error the running
    /// set stays and every error is logged. Also reopens the event log. Returns the errors.
    @discardableResult
    public func reload() -> [String] {
        reloadLock.lock()
        defer { reloadLock.unlock() }
        logger.notice("reloading configuration and signatures")
        var errors: [String] = []
        var newConfiguration: Configuration?
        var newDetectors: LoadedDetectors?
        do {
            let loaded = try loaders.configuration()
            let problems = loaded.daemonProblems()
            if problems.isEmpty { newConfiguration = loaded } else { errors += problems }
        } catch {
            errors += "\(error)".split(separator: "\n").map(String.init)
        }
        if let newConfiguration {
            do {
                newDetectors = try loaders.detectors(newConfiguration)
            } catch {
                errors += "\(error)".split(separator: "\n").map(String.init)
            }
        }
        guard errors.isEmpty, let newConfiguration, let newDetectors else {
            for error in errors { logger.error("reload failed: \(error)") }
            logger.error("reload failed: keeping the running configuration and signatures")
            withEngine { _ in
                lastReloadError = errors.joined(separator: "\n")
                if let problem = sink.openEventLog(sink.eventLogPath) { logger.error("\(problem)") }
            }
            return errors
        }
        let old = configuration!
        for (name, changed) in [("queues", old.queues != newConfiguration.queues),
                                ("fail-open", old.failOpen != newConfiguration.failOpen),
                                ("manage-rules", old.manageRules != newConfiguration.manageRules),
                                ("state directory", old.stateDirectory != newConfiguration.stateDirectory),
                                ("control socket", old.controlSocketPath != newConfiguration.controlSocketPath)] where changed {
            logger.warning("\(name) changed in the configuration: takes effect at the next restart")
        }
        withEngine { engine in
            if Daemon.enginePolicyChanged(old, newConfiguration) {
                // The engine's policy is fixed at construction: build a new one and carry the
                // locks and learned lists over. Running flows are judged afresh.
                let state = engine.savedState()
                engine.finish(ending: "reload")
                let replacement = makeEngine(newConfiguration, newDetectors)
                replacement.restore(state, at: Daemon.now())
                self.engine = replacement
            } else {
                engine.replace(detectors: newDetectors)
            }
            var kept = newConfiguration
            kept.queues = old.queues
            kept.failOpen = old.failOpen
            kept.manageRules = old.manageRules
            kept.stateDirectory = old.stateDirectory
            kept.controlSocketPath = old.controlSocketPath
            configuration = kept
            reloads += 1
            lastReloadError = nil
            if let problem = sink.openEventLog(newConfiguration.eventLogPath) { logger.error("\(problem)") }
        }
        let revisions = newDetectors.revisions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        logger.notice("reloaded: \(revisions)")
        return []
    }

    static func enginePolicyChanged(_ a: Configuration, _ b: Configuration) -> Bool {
        a.lanRanges != b.lanRanges || a.neverBlock != b.neverBlock || a.monitorOnly != b.monitorOnly || a.refusal != b.refusal
            || a.flowCapacity != b.flowCapacity || a.streamDepth != b.streamDepth || a.flowTimeouts != b.flowTimeouts
            || a.learnedCapacity != b.learnedCapacity || a.gatewayAddresses != b.gatewayAddresses
    }

    // MARK: Control requests

    func answer(_ line: String) -> String {
        switch ControlRequest.parse(line) {
        case .failure(let error):
            return ControlResponse.failure(error.description).encodedLine()
        case .success(let request):
            return respond(to: request).encodedLine()
        }
    }

    func respond(to request: ControlRequest) -> ControlResponse {
        switch request {
        case .status:
            return ControlResponse(ok: true, status: status())
        case .explain(let address):
            return ControlResponse(ok: true, explain: withEngine { Daemon.explain(address, engine: $0) })
        case .unlock(let address):
            let done = withEngine { $0.unlock(address) }
            if done { logger.notice("client \(address) unlocked by the operator") }
            return done ? ControlResponse(ok: true, message: "\(address) unlocked") : .failure("\(address) is not locked")
        case .forget(let address):
            let count = withEngine { engine -> Int in
                let count = engine.forget(address)
                if count > 0 { sink.stateChanged = true }
                return count
            }
            if count > 0 { logger.notice("\(address) removed from the learned lists by the operator") }
            return count > 0 ? ControlResponse(ok: true, message: "\(address): \(count) learned entr\(count == 1 ? "y" : "ies") removed")
                : .failure("\(address) is on no learned list")
        case .reload:
            let errors = reload()
            return errors.isEmpty ? ControlResponse(ok: true, message: "reloaded")
                : ControlResponse(ok: false, error: "reload failed, the running set is kept:\n" + errors.joined(separator: "\n"))
        }
    }

    private func status() -> StatusReport {
        let kernel = KernelQueueStats.read()
        let queueCounters = queues.map { queue in
            let c = queue.counters
            let k = kernel[queue.number]
            return StatusReport.QueueCounters(
                queue: queue.number, packets: c.packets.load(ordering: .relaxed), accepted: c.accepted.load(ordering: .relaxed),
                dropped: c.dropped.load(ordering: .relaxed), settled: c.settled.load(ordering: .relaxed),
                malformed: c.malformed.load(ordering: .relaxed), receiveErrors: c.receiveErrors.load(ordering: .relaxed),
                enobufs: c.enobufs.load(ordering: .relaxed), verdictErrors: c.verdictErrors.load(ordering: .relaxed),
                kernelQueueDropped: k?.queueDropped, kernelUserDropped: k?.userDropped, kernelQueueLength: k?.waiting)
        }
        return withEngine { engine in
            let stats = engine.statsEvent()
            let now = Daemon.now()
            let accepted = queueCounters.reduce(0) { $0 + $1.accepted }
            let dropped = queueCounters.reduce(0) { $0 + $1.dropped }
            return StatusReport(
                version: PeerwallVersion.current, uptimeSeconds: Date().timeIntervalSince(started),
                monitorOnly: configuration.monitorOnly, failOpen: configuration.failOpen, manageRules: configuration.manageRules,
                rulesIntact: rulesIntact, packets: stats.packets, accepted: accepted, dropped: dropped, rejected: stats.rejects,
                wouldDrop: stats.wouldDrop, malformed: stats.malformed, flows: stats.flows, activeFlows: engine.activeFlowCount,
                injected: injector.sent.load(ordering: .relaxed),
                injectFailures: injector.failures.load(ordering: .relaxed) + injector.refused.load(ordering: .relaxed),
                queues: queueCounters, detections: stats.perPlugin, signatures: stats.perSignature,
                signatureRevisions: engine.detectorRevisions,
                lockedClients: engine.activeLocks.map {
                    StatusReport.LockedClient(client: $0.client.description, reason: $0.reason,
                                              remainingSeconds: max(0, ($0.until - now).value), arms: $0.arms,
                                              lockedAt: $0.lockedAt.iso8601)
                },
                learnedLists: engine.learnedListSizes, reloads: reloads, lastReloadError: lastReloadError)
        }
    }

    /// Why a client is locked or an address is listed. Exposed for tests.
    static func explain(_ address: IPAddress, engine: Engine) -> ExplainReport {
        let now = engine.now
        let lock = engine.lock(on: address).map {
            ExplainReport.Lock(reason: $0.reason, lockedAt: $0.lockedAt.iso8601, lastArmedAt: $0.armedAt.iso8601,
                               until: $0.until.iso8601, remainingSeconds: max(0, ($0.until - now).value), arms: $0.arms,
                               probePending: $0.probe != nil && !$0.probeSent)
        }
        let learned = engine.learnedEntries(for: address).map {
            ExplainReport.Learned(list: $0.list, port: $0.port, origin: $0.origin, learnedAt: $0.learnedAt.iso8601,
                                  expires: $0.expires.iso8601, remainingSeconds: max(0, ($0.expires - now).value))
        }
        let evidence = engine.evidence(for: address).map {
            ExplainReport.Evidence(time: $0.time.iso8601, plugin: $0.plugin, signature: $0.signature, packet: $0.summary)
        }
        return ExplainReport(address: address.description, isLAN: engine.configuration.isLAN(address),
                             neverBlocked: engine.configuration.isNeverBlocked(address), lock: lock, learned: learned,
                             evidence: evidence)
    }
}
