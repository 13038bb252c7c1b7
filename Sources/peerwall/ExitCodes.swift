import ArgumentParser

/// Exit codes from sysexits(3), which scripts and systemd's RestartPreventExitStatus rely on.
enum PeerwallExit {
    /// The input data was incorrect: a truncated or corrupt capture file.
    static let dataError = ExitCode(65)
    /// An input file did not exist or was not readable.
    static let noInput = ExitCode(66)
    /// A configuration or signature error.
    static let configError = ExitCode(78)
}
