#if canImport(Glibc)
import Glibc
#endif

/// `peerwall-bench [COUNT] [SIGNATURES]`: the engine's memory per tracked flow.
/// `peerwall-bench live ...`: verdicts per second through a real NFQUEUE (see `LiveQueueBenchmark`).
@main
struct BenchmarkMain {
    static func main() throws {
        if CommandLine.arguments.dropFirst().first == "live" {
            exit(LiveQueueBenchmark.main(Array(CommandLine.arguments.dropFirst(2))))
        }
        try FlowMemoryBenchmark.main()
    }
}
