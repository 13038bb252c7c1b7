import Glibc
import Logging
import PluginAPI

/// Where the live engine's events go: the JSON Lines event log (reopened on SIGHUP so logrotate
/// can move it), a concise human log, and a note that the saved state is out of date.
/// Called only under the engine lock, like the engine itself.
final class DaemonEventSink: EngineEventSink {
    private var eventLog: LineWriter?
    private(set) var eventLogPath: String?
    private let logger: Logger
    /// Set when a learned entry or a lock changed; cleared by the state writer.
    var stateChanged = false

    init(logger: Logger) { self.logger = logger }

    /// Opens (or reopens) the event log at `path`; nil closes it. Returns an error text on failure.
    func openEventLog(_ path: String?) -> String? {
        eventLog?.flush()
        eventLog = nil
        eventLogPath = path
        guard let path else { return nil }
        guard let writer = LineWriter.appending(to: path) else {
            return "cannot open event log \(path): \(String(cString: strerror(errno)))"
        }
        eventLog = writer
        return nil
    }

    func flush() { eventLog?.flush() }

    func emit(_ event: EngineEvent) {
        eventLog?.write(line: event.jsonLine)
        switch event {
        case .alert(let e):
            logger.info("\(e.signature): \(e.transport) \(e.source) > \(e.destination), client \(e.client), \(e.verdict.pastTense)")
        case .learn(let e):
            stateChanged = true
            if !e.refreshed {
                let target = e.port.map { "\(e.address) port \($0)" } ?? e.address.description
                logger.info("learned \(target) on list \(e.list) (\(e.origin)), until \(e.expires)")
            }
        case .lock(let e):
            stateChanged = true
            if !e.rearmed { logger.notice("locked client \(e.client) until \(e.until): \(e.reason)") }
        case .unlock(let e):
            stateChanged = true
            logger.notice("unlocked client \(e.client) (\(e.reason))")
        case .inject(let e):
            logger.debug("sent \(e.kind) \(e.packet.transport) \(e.packet.source) > \(e.packet.destination)")
        case .flow(let e):
            if e.droppedPackets > 0 {
                logger.debug("flow \(e.transport) \(e.source) > \(e.destination) ended (\(e.ending)): \(e.droppedPackets) packets dropped, \(e.reason ?? "-")")
            }
        case .stats:
            break
        }
    }
}
