import PluginAPI

/// The settings given on the command line. Each one that is set replaces the config file's
/// value; a repeatable flag given at least once replaces the file's whole list.
public struct ConfigurationOverrides: Sendable, Equatable {
    public var queues: [UInt16] = []
    public var lanRanges: [CIDR] = []
    public var neverBlock: [CIDR] = []
    public var lockSeconds: Int?
    public var monitorOnly = false
    public var failOpen = false
    public var eventLogPath: String?
    public var stateDirectory: String?
    public var controlSocketPath: String?
    public var manageRules = false
    public var signatureDirectory: String?

    public init() {}

    /// `base` (defaults or the config file) with every flag that was given applied over it.
    public func applied(to base: Configuration) -> Configuration {
        var configuration = base
        if !queues.isEmpty { configuration.queues = queues }
        if !lanRanges.isEmpty { configuration.lanRanges = lanRanges }
        if !neverBlock.isEmpty { configuration.neverBlock = neverBlock }
        if let lockSeconds { configuration.lockSeconds = lockSeconds }
        // Switches can only turn a behaviour on: a file that asks for it keeps it.
        if monitorOnly { configuration.monitorOnly = true }
        if failOpen { configuration.failOpen = true }
        if manageRules { configuration.manageRules = true }
        if let eventLogPath { configuration.eventLogPath = eventLogPath }
        if let stateDirectory { configuration.stateDirectory = stateDirectory }
        if let controlSocketPath { configuration.controlSocketPath = controlSocketPath }
        if let signatureDirectory { configuration.signatureDirectory = signatureDirectory }
        return configuration
    }
}

/// A setting the daemon cannot work with, found before it touches the kernel.
public struct DaemonConfigurationError: Error, CustomStringConvertible, Sendable {
    public let messages: [String]
    public init(_ messages: [String]) { self.messages = messages }
    public var description: String { messages.joined(separator: "\n") }
}

extension Configuration {
    /// Problems that would make the daemon misbehave: no queue, queues the kernel cannot balance
    /// over, a negative lock time, no LAN range.
    public func daemonProblems() -> [String] {
        var problems: [String] = []
        if queues.isEmpty { problems.append("no NFQUEUE number given") }
        if Set(queues).count != queues.count { problems.append("a queue number is given twice: \(queues.map(String.init).joined(separator: ", "))") }
        if let lockSeconds, lockSeconds < 0 { problems.append("lock seconds must be 0 or more, not \(lockSeconds)") }
        if lanRanges.isEmpty { problems.append("no LAN range: nothing would be protected") }
        if FirewallRules.queueTarget(for: queues) == nil && !queues.isEmpty {
            problems.append("queues \(queues.map(String.init).joined(separator: ", ")) are not one contiguous range: iptables can only balance over A:B")
        }
        return problems
    }
}
