import Foundation
import Synchronization

/// Something a LAN client does again and again (a page load, an FTP session), on a thread of
/// its own, every `interval` seconds until stopped. Every result is kept with the time its
/// attempt started.
public final class RepeatingTask<Result: Sendable>: @unchecked Sendable {
    public struct Attempt: Sendable {
        /// Seconds since 1970 when the attempt started.
        public let time: Double
        public let result: Result
    }

    public let name: String
    public let interval: Double
    /// How long one attempt may take at most, for `stop()`'s wait.
    public let timeout: Double
    private let work: @Sendable (Int) -> Result
    private let report: @Sendable (Attempt) -> Void
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var attempts: [Attempt] = []

    /// `work` gets the attempt's number (0, 1, …); `report` each attempt as it ends.
    public init(name: String, interval: Double, timeout: Double, work: @escaping @Sendable (Int) -> Result,
                report: @escaping @Sendable (Attempt) -> Void = { _ in }) {
        self.name = name
        self.interval = interval
        self.timeout = timeout
        self.work = work
        self.report = report
    }

    public func start() {
        let thread = Thread { [self] in
            var index = 0
            while !stopping.load(ordering: .relaxed) {
                let begun = Date()
                let attempt = Attempt(time: begun.timeIntervalSince1970, result: work(index))
                index += 1
                lock.withLock { attempts.append(attempt) }
                if !stopping.load(ordering: .relaxed) { report(attempt) }
                // Sleep the rest of the interval in short steps, so a stop is noticed soon.
                while !stopping.load(ordering: .relaxed) && Date().timeIntervalSince(begun) < interval { usleep(50_000) }
            }
            finished.signal()
        }
        thread.name = "lab-\(name)"
        thread.start()
    }

    /// Stops after the attempt in progress (bounded by the timeout).
    public func stop() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        _ = finished.wait(timeout: .now() + timeout + 3)
    }

    public var results: [Attempt] { lock.withLock { attempts } }
}

extension RepeatingTask where Result == LabBrowser.Result {
    /// Ordinary browsing: a page load from `namespace` every `interval` seconds, cycling through
    /// the web servers `targets`.
    public static func browsing(from namespace: String, targets: [String], interval: Double, timeout: Double = 2,
                                report: @escaping @Sendable (Attempt) -> Void = { _ in }) -> RepeatingTask {
        RepeatingTask(name: "browse-\(namespace)", interval: interval, timeout: timeout, work: { index in
            LabBrowser.get(from: namespace, host: targets[index % targets.count], timeout: timeout)
        }, report: report)
    }
}

extension RepeatingTask where Result == LabFTP.Outcome {
    /// An FTP session from `namespace` to `server` every `interval` seconds.
    public static func ftp(from namespace: String, server: String, interval: Double, timeout: Double = 3,
                           report: @escaping @Sendable (Attempt) -> Void = { _ in }) -> RepeatingTask {
        RepeatingTask(name: "ftp-\(namespace)", interval: interval, timeout: 4 * timeout, work: { _ in
            LabFTP.fetch(from: namespace, server: server, timeout: timeout)
        }, report: report)
    }
}
