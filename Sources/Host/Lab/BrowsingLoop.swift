import Foundation
import Synchronization

/// Periodic page loads from one LAN client, on a thread of its own, until stopped: what an
/// ordinary user's browser does. Every result is kept with the time its attempt started.
public final class BrowsingLoop: @unchecked Sendable {
    public struct Attempt: Sendable {
        /// Seconds since 1970 when the attempt started.
        public let time: Double
        public let result: LabBrowser.Result
    }

    public let namespace: String
    public let targets: [String]
    public let interval: Double
    public let timeout: Double
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var attempts: [Attempt] = []
    private let report: @Sendable (Attempt) -> Void

    /// Loads `http://<target>/` from `namespace` every `interval` seconds, cycling through `targets`.
    public init(namespace: String, targets: [String], interval: Double, timeout: Double = 2,
                report: @escaping @Sendable (Attempt) -> Void = { _ in }) {
        self.namespace = namespace
        self.targets = targets
        self.interval = interval
        self.timeout = timeout
        self.report = report
    }

    public func start() {
        let thread = Thread { [self] in
            var index = 0
            while !stopping.load(ordering: .relaxed) {
                let begun = Date()
                let result = LabBrowser.get(from: namespace, host: targets[index % targets.count], timeout: timeout)
                index += 1
                let attempt = Attempt(time: begun.timeIntervalSince1970, result: result)
                lock.withLock { attempts.append(attempt) }
                if !stopping.load(ordering: .relaxed) { report(attempt) }
                // Sleep the rest of the interval in short steps, so a stop is noticed soon.
                while !stopping.load(ordering: .relaxed) && Date().timeIntervalSince(begun) < interval { usleep(50_000) }
            }
            finished.signal()
        }
        thread.name = "lab-browse-\(namespace)"
        thread.start()
    }

    /// Stops after the attempt in progress (bounded by the timeout).
    public func stop() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        _ = finished.wait(timeout: .now() + timeout + 3)
    }

    public var results: [Attempt] { lock.withLock { attempts } }
}
