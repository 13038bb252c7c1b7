import PluginAPI

/// What a simulated server does in answer to what happens on its connections.
public enum LiveOutput: Equatable, Sendable {
    case send(connection: Int, bytes: [UInt8])
    case close(connection: Int)
    /// A line for the operator.
    case log(String)
}

/// The protocol logic of a live server, apart from its sockets: the `peerwall-sim` commands run
/// it over real TCP connections, and tests drive it directly. Connection ids are the runner's.
public protocol LiveService: AnyObject {
    /// A connection was accepted on the listener with this tag (a service may listen on several).
    func accepted(_ connection: Int, listener: Int, from peer: Endpoint) -> [LiveOutput]
    func received(_ connection: Int, _ bytes: [UInt8]) -> [LiveOutput]
    func closed(_ connection: Int)
}
