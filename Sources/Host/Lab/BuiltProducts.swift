import Glibc

/// The other programs of the running program's build: SwiftPM puts every product of a build
/// (and the test bundle) in one directory, and an installation puts them side by side.
public enum BuiltProducts {
    /// The running program's own path (from /proc/self/exe).
    public static var current: String {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBufferPointer { pointer in
            pointer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: pointer.count) { readlink("/proc/self/exe", $0, pointer.count - 1) }
        }
        guard count > 0 else { return CommandLine.arguments.first ?? "" }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// The path of `name` beside the running program (whether or not it exists).
    public static func beside(_ name: String) -> String {
        let directory = current.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return directory + "/" + name
    }
}
