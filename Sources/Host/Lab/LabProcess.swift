import Foundation
import Glibc

/// A program the lab runs inside one of its namespaces (`ip netns exec`, which execs the program
/// itself, so the pid is the program's). It gets a process group of its own, so a Ctrl-C at the
/// terminal reaches only the lab, which then stops everything in order. Standard output and
/// error go to a file the lab follows.
public final class LabProcess: @unchecked Sendable {
    public let name: String
    public let pid: pid_t
    public let logPath: String
    private var status: Int32?
    private let lock = NSLock()

    /// Starts `program` with `arguments` in namespace `namespace` (nil: the lab's own), pinned
    /// to CPU `cpu` and at niceness `nice` when given (`taskset` and `nice` exec the program in
    /// place, so the pid stays the program's and its threads inherit both).
    public init(name: String, namespace: String?, program: String, arguments: [String], logPath: String,
                cpu: Int? = nil, nice: Int? = nil) throws {
        self.name = name
        self.logPath = logPath
        guard let ip = CommandRunner.locate("ip") else { throw LabError("ip (iproute2) is not installed") }
        var command = [program] + arguments
        if let nice {
            guard let tool = CommandRunner.locate("nice") else { throw LabError("nice (coreutils) is not installed") }
            command = [tool, "-n", String(nice)] + command
        }
        if let cpu {
            guard let taskset = CommandRunner.locate("taskset") else { throw LabError("taskset (util-linux) is not installed") }
            command = [taskset, "-c", String(cpu)] + command
        }
        let argv = namespace.map { [ip, "netns", "exec", $0] + command } ?? command
        let executable = argv[0]

        let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard log >= 0 else { throw LabError("cannot open \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(log) }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { if null >= 0 { close(null) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if null >= 0 { posix_spawn_file_actions_adddup2(&actions, null, 0) }
        posix_spawn_file_actions_adddup2(&actions, log, 1)
        posix_spawn_file_actions_adddup2(&actions, log, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        // The lab ignores or handles some signals; the child starts with the defaults.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, &cArguments, environ)
        guard result == 0 else { throw LabError("cannot start \(name) (\(program)): \(String(cString: strerror(result)))") }
        pid = child
    }

    /// True while the process has not exited (reaps it when it has).
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return reap(options: WNOHANG) == nil
    }

    /// The exit status (or 128 + signal), once it has exited.
    public var exitStatus: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return reap(options: WNOHANG)
    }

    private func reap(options: Int32) -> Int32? {
        if let status { return status }
        var raw: Int32 = 0
        let result = waitpid(pid, &raw, options)
        guard result == pid else {
            if result < 0 && errno == ECHILD { status = -1 }
            return status
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Glibc's overlay does not import (macros).
        let signal = raw & 0x7F
        status = signal == 0 ? (raw >> 8) & 0xFF : 128 + signal
        return status
    }

    /// Sends `signal` to the process (by pid), if it still runs.
    public func send(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits up to `seconds` for the process to exit; true when it has.
    @discardableResult
    public func wait(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if !isRunning { return true }
            usleep(20_000)
        }
        return !isRunning
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; returns the exit status.
    @discardableResult
    public func stop(grace: Double = 5) -> Int32? {
        send(SIGTERM)
        if !wait(seconds: grace) {
            kill(pid, SIGKILL)
            wait(seconds: 5)
        }
        return exitStatus
    }

    /// CPU time used so far by all its threads, user and system, in seconds (/proc/PID/stat).
    public var cpuSeconds: Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Everything the process wrote so far.
    public func output() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }
}
