import PluginAPI

/// Writes each event as one JSON line.
public final class JSONLinesSink: EngineEventSink {
    private let writer: LineWriter

    public init(writer: LineWriter) { self.writer = writer }

    public func emit(_ event: EngineEvent) { writer.writeLine { event.appendJSON(to: &$0) } }

    public func flush() { writer.flush() }
}

/// Passes every event to several sinks.
public final class FanOutSink: EngineEventSink {
    private let sinks: [EngineEventSink]

    public init(_ sinks: [EngineEventSink]) { self.sinks = sinks }

    public func emit(_ event: EngineEvent) { for sink in sinks { sink.emit(event) } }
}
