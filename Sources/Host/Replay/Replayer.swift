import PluginAPI

/// Runs captures through the engine: the offline mode. The capture's timestamps are the clock,
/// and the engine is the very one the live daemon uses.
public final class Replayer {
    public let engine: Engine
    public private(set) var filesRead = 0

    public init(engine: Engine) { self.engine = engine }

    /// Replays one file. On a corrupt or truncated file, the packets before the damage have
    /// been judged when the error is thrown.
    public func replay(file path: String) throws(CaptureError) {
        let reader = try CaptureReader(path: path)
        while let packet = try reader.next() {
            _ = engine.process(packet.bytes, at: packet.timestamp)
        }
        filesRead += 1
    }

    /// Ends every flow and writes the stats record.
    public func finish() { engine.finish(ending: "end-of-input") }
}
