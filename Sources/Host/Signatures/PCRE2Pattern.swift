import CPCRE2
import PluginAPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A PCRE2 pattern compiled once (with JIT where the platform allows) and matched against raw bytes.
///
/// Patterns work on bytes, not characters: `PCRE2_UTF` is never set and `(*UTF)` in a pattern is refused,
/// because packet payloads are arbitrary binary data and the JIT matcher does not check UTF validity.
///
/// Thread safety: the compiled code and the match context are only read after `init`, which PCRE2
/// documents as safe to share between threads. The mutable piece, the match data, is kept per
/// thread (see `PCRE2MatchDataCache`), so no match allocates and no two threads share one block.
/// That is why the class is `@unchecked Sendable`.
public final class PCRE2Pattern: PatternMatcher, @unchecked Sendable {
    /// Compile options, each one an attribute of the pattern's element in a signature file.
    public struct Options: Sendable, Hashable {
        public var caseless = false
        public var multiline = false
        public var dotall = false
        public var extended = false
        public var anchored = false
        public var ungreedy = false

        public init(
            caseless: Bool = false, multiline: Bool = false, dotall: Bool = false,
            extended: Bool = false, anchored: Bool = false, ungreedy: Bool = false
        ) {
            self.caseless = caseless
            self.multiline = multiline
            self.dotall = dotall
            self.extended = extended
            self.anchored = anchored
            self.ungreedy = ungreedy
        }

        var compileFlags: UInt32 {
            var flags = UInt32(PCRE2_NEVER_UTF)
            if caseless { flags |= UInt32(PCRE2_CASELESS) }
            if multiline { flags |= UInt32(PCRE2_MULTILINE) }
            if dotall { flags |= UInt32(PCRE2_DOTALL) }
            if extended { flags |= UInt32(PCRE2_EXTENDED) }
            if anchored { flags |= UInt32(PCRE2_ANCHORED) }
            if ungreedy { flags |= UInt32(PCRE2_UNGREEDY) }
            return flags
        }
    }

    /// A pattern PCRE2 refused to compile.
    public struct CompileError: Error, Sendable, Hashable, CustomStringConvertible {
        public let pattern: String
        /// The byte offset in the pattern where PCRE2 stopped.
        public let offset: Int
        /// PCRE2's own message.
        public let message: String
        public let code: Int32

        public var description: String { "pcre2 error at offset \(offset) in pattern '\(pattern)': \(message)" }
    }

    /// How one search ended. `firstMatch` and `captures` fold `.failed` into "no match", because on
    /// the packet path a pattern that exhausts its limits must not block traffic it cannot judge.
    public enum Outcome: Sendable, Equatable {
        case match([Range<Int>?])
        case noMatch
        /// PCRE2 gave up: the match or depth limit was hit (`PCRE2_ERROR_MATCHLIMIT`, ...), or memory ran out.
        case failed(code: Int32, message: String)
    }

    /// Backtracking steps allowed per search. PCRE2's own default (10 million) lets one crafted
    /// packet cost milliseconds; this keeps a search over a few kilobytes bounded.
    public static let defaultMatchLimit: UInt32 = 100_000
    /// Nesting depth allowed to the interpreter (the JIT bounds itself by its stack).
    public static let defaultDepthLimit: UInt32 = 10_000

    public let pattern: String
    public let options: Options
    public let matchLimit: UInt32
    /// Whether the pattern runs as JIT-compiled machine code. False only when the JIT failed
    /// (or is absent from this build of PCRE2); the interpreter is then used.
    public let isJITCompiled: Bool
    /// Why JIT compilation failed, when it did.
    public let jitFailure: String?
    /// The number of capture groups.
    public let captureCount: Int

    private let code: OpaquePointer
    private let matchContext: OpaquePointer

    public init(
        _ pattern: String, options: Options = Options(),
        matchLimit: UInt32 = PCRE2Pattern.defaultMatchLimit, depthLimit: UInt32 = PCRE2Pattern.defaultDepthLimit
    ) throws {
        self.pattern = pattern
        self.options = options
        self.matchLimit = matchLimit

        var errorCode: Int32 = 0
        var errorOffset = 0
        let bytes = Array(pattern.utf8)
        let compiled = bytes.withUnsafeBufferPointer { buffer in
            // A non-nil pointer even for the empty pattern; PCRE2 reads `length` bytes only.
            buffer.baseAddress.map {
                pcre2_compile_8($0, buffer.count, options.compileFlags, &errorCode, &errorOffset, nil)
            } ?? pcre2_compile_8(PCRE2Pattern.emptySubject, 0, options.compileFlags, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            throw CompileError(pattern: pattern, offset: errorOffset, message: PCRE2Pattern.message(for: errorCode), code: errorCode)
        }
        guard let context = pcre2_match_context_create_8(nil) else {
            pcre2_code_free_8(compiled)
            throw CompileError(pattern: pattern, offset: 0, message: "out of memory creating a match context", code: PCRE2_ERROR_NOMEMORY)
        }
        pcre2_set_match_limit_8(context, matchLimit)
        pcre2_set_depth_limit_8(context, depthLimit)

        let jitResult = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE))
        isJITCompiled = jitResult == 0
        jitFailure = jitResult == 0 ? nil : PCRE2Pattern.message(for: jitResult)

        var count: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &count)
        captureCount = Int(count)
        code = compiled
        matchContext = context
    }

    deinit {
        pcre2_match_context_free_8(matchContext)
        pcre2_code_free_8(code)
    }

    /// Whether this build of PCRE2 has a JIT compiler for this machine at all.
    public static var jitSupported: Bool {
        var value: UInt32 = 0
        return pcre2_config_8(UInt32(PCRE2_CONFIG_JIT), &value) >= 0 && value == 1
    }

    public func firstMatch(in bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        // Reads pair 0 straight from the match data: no array, so the packet path does not allocate.
        guard case let .matched(matchData, _) = run(bytes, pairs: 1),
              let ovector = pcre2_get_ovector_pointer_8(matchData) else { return nil }
        return PCRE2Pattern.range(ovector[0], ovector[1])
    }

    public func captures(in bytes: UnsafeRawBufferPointer) -> [Range<Int>?]? {
        guard case let .match(ranges) = search(in: bytes) else { return nil }
        return ranges
    }

    /// The full result of one search, telling a limit hit apart from no match.
    public func search(in bytes: UnsafeRawBufferPointer) -> Outcome {
        let pairs = captureCount + 1
        switch run(bytes, pairs: pairs) {
        case .noMatch:
            return .noMatch
        case let .failed(code):
            return .failed(code: code, message: PCRE2Pattern.message(for: code))
        case let .matched(matchData, result):
            guard let ovector = pcre2_get_ovector_pointer_8(matchData) else { return .noMatch }
            let available = Int(pcre2_get_ovector_count_8(matchData))
            // A result of 0 means the ovector was too small for every group; what it holds is still valid.
            let filled = result == 0 ? available : min(Int(result), available)
            var ranges = [Range<Int>?]()
            ranges.reserveCapacity(pairs)
            for pair in 0..<pairs {
                ranges.append(pair < filled ? PCRE2Pattern.range(ovector[2 * pair], ovector[2 * pair + 1]) : nil)
            }
            return .match(ranges)
        }
    }

    private enum RunResult {
        /// The match data is this thread's; read it before the next search on the thread.
        case matched(OpaquePointer, Int32)
        case noMatch
        case failed(Int32)
    }

    private func run(_ bytes: UnsafeRawBufferPointer, pairs: Int) -> RunResult {
        guard let matchData = PCRE2MatchDataCache.matchData(pairs: pairs) else { return .failed(PCRE2_ERROR_NOMEMORY) }
        let subject = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? PCRE2Pattern.emptySubject
        let result = isJITCompiled
            ? pcre2_jit_match_8(code, subject, bytes.count, 0, 0, matchData, matchContext)
            : pcre2_match_8(code, subject, bytes.count, 0, 0, matchData, matchContext)
        if result == PCRE2_ERROR_NOMATCH { return .noMatch }
        if result < 0 { return .failed(result) }
        return .matched(matchData, result)
    }

    private static func range(_ start: Int, _ end: Int) -> Range<Int>? {
        start == unset || end == unset || start > end ? nil : start..<end
    }

    private static let unset = ~(0 as Int)

    // PCRE2 wants a valid pointer even for an empty subject.
    nonisolated(unsafe) private static let emptySubject: UnsafePointer<UInt8> = {
        let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        pointer.initialize(to: 0)
        return UnsafePointer(pointer)
    }()

    static func message(for code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = pcre2_get_error_message_8(code, &buffer, buffer.count)
        guard length > 0 else { return "pcre2 error \(code)" }
        return String(decoding: buffer[0..<Int(length)], as: UTF8.self)
    }
}

/// One PCRE2 match data block per thread, grown to the largest ovector any pattern asked for.
/// Match data is the only state a search writes, so keeping it per thread makes searches
/// allocation-free after a thread's first one, without a lock.
enum PCRE2MatchDataCache {
    private static let key: pthread_key_t? = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { value in
            // Runs when a thread that searched exits.
            guard let value else { return }
            pcre2_match_data_free_8(OpaquePointer(value))
        }
        return status == 0 ? key : nil
    }()

    static func matchData(pairs: Int) -> OpaquePointer? {
        let wanted = UInt32(clamping: max(1, pairs))
        guard let key else { return nil }
        if let existing = pthread_getspecific(key) {
            let data = OpaquePointer(existing)
            if pcre2_get_ovector_count_8(data) >= wanted { return data }
            pcre2_match_data_free_8(data)
            pthread_setspecific(key, nil)
        }
        // Never fewer than 16 pairs, so most patterns never make a thread grow its block.
        guard let data = pcre2_match_data_create_8(max(wanted, 16), nil) else { return nil }
        pthread_setspecific(key, UnsafeRawPointer(data))
        return data
    }
}
