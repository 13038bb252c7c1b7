import DetectorCatalog
import Host
import PacketKit
import PluginAPI

#if canImport(Glibc)
import Glibc
#endif

/// Measures the engine's memory per tracked flow: resident memory before and after the engine
/// tracks `count` distinct flows (one TCP SYN each, all plugins loaded).
struct FlowMemoryBenchmark {
    static func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var size = 0, resident = 0
        withUnsafeMutablePointer(to: &size) { s in
            withUnsafeMutablePointer(to: &resident) { r in
                _ = withVaList([s, r]) { vfscanf(file, "%ld %ld", $0) }
            }
        }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func main() throws {
        let arguments = CommandLine.arguments
        let count = arguments.count > 1 ? Int(arguments[1]) ?? 1_000_000 : 1_000_000
        let signatures = arguments.count > 2 ? arguments[2] : "signatures"
        var configuration = Configuration()
        configuration.flowCapacity = count + 1
        let detectors = try EngineSetup.detectors(catalog: DetectorCatalog.all, directory: signatures, configuration: configuration)
        let sink = CollectingEventSink()
        let engine = Engine(configuration: configuration, detectors: detectors, sink: sink)

        // Build the packets up front so only the engine's own memory is measured.
        var template = PacketBuilder.tcp(from: Endpoint(IPAddress(10, 0, 0, 1), 1024), to: Endpoint(IPAddress(203, 0, 113, 1), 443),
                                         flags: [.syn], seq: 1)
        let start = Timestamp(seconds: 1_700_000_000)
        let before = residentBytes()
        for i in 0..<count {
            // Vary the client address and port: 10.x.y.z with ports 1024...
            let client = UInt32(0x0A00_0000) | UInt32(i / 50_000 + 1) << 8 | UInt32(i % 200)
            template[12] = UInt8(client >> 24); template[13] = UInt8((client >> 16) & 0xFF)
            template[14] = UInt8((client >> 8) & 0xFF); template[15] = UInt8(client & 0xFF)
            let port = UInt16(1024 + (i / 200) % 50_000)
            template[20] = UInt8(port >> 8); template[21] = UInt8(port & 0xFF)
            _ = template.withUnsafeBytes { engine.process($0, at: start) }
        }
        let after = residentBytes()
        let tracked = engine.activeFlowCount
        let perFlow = Double(after - before) / Double(max(1, tracked))
        print("flows tracked: \(tracked)")
        print("resident before: \(before / 1024) KiB, after: \(after / 1024) KiB")
        print(String(format: "memory per tracked flow: %.0f bytes", perFlow))
    }
}
