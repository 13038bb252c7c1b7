import PluginAPI
import CLibXML2
import Foundation

/// Process-wide libxml2 set-up and the lock every use of libxml2 goes through.
///
/// libxml2 keeps its error handlers and entity loader in global (or per-thread) state. Loads are
/// rare (start-up, reload, `check-signatures`), so they are simply serialized: that keeps the
/// handlers we install from leaking into another thread's load, whatever threading libxml2 was
/// built with.
enum LibXML2 {
    private static let lock = NSLock()

    private static let initialized: Bool = {
        xmlInitParser()
        // Signature and configuration files never need anything from outside themselves. Refusing
        // every external load here backs up the parser options: no DTD, no entity, no XInclude
        // can reach the file system or the network, even through a libxml2 code path we missed.
        xmlSetExternalEntityLoader { _, _, _ in nil }
        return true
    }()

    static func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        _ = initialized
        // Anything libxml2 reports outside a collector lands here and is dropped instead of
        // being printed on stderr.
        defer { xmlSetStructuredErrorFunc(nil, LibXML2.discard) }
        return try body()
    }

    static let discard: xmlStructuredErrorFunc = { _, _ in }
}

/// Gathers libxml2's structured errors as diagnostics for one file.
final class XMLDiagnosticCollector {
    let file: String
    /// Namespace URIs removed from messages, where libxml2 writes `{uri}name`.
    let namespaces: [String]
    private(set) var diagnostics = [Diagnostic]()
    /// Set when the parse was stopped on purpose (a DOCTYPE), so that a partial tree is not used.
    var stopped = false

    init(file: String, namespaces: [String]) {
        self.file = file
        self.namespaces = namespaces
    }

    func add(line: Int, message: String) {
        diagnostics.append(Diagnostic(file: file, line: line, message: message))
    }

    func add(_ error: UnsafePointer<xmlError>) {
        let error = error.pointee
        // Warnings (such as a relative namespace URI) do not make a file unusable.
        guard error.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
        var message = error.message.map { String(cString: $0) } ?? "unknown XML error (code \(error.code))"
        for namespace in namespaces {
            message = message.replacing("{\(namespace)}", with: "")
        }
        message = message.trimmingXMLWhitespace()
        var line = Int(error.line)
        if line <= 0, let node = error.node {
            line = max(0, Int(xmlGetLineNo(node.assumingMemoryBound(to: xmlNode.self))))
        }
        // A bad enumeration value is reported twice by libxml2, first by the facet and then as
        // "not a valid value of the atomic type"; the second adds nothing.
        if message.contains("is not a valid value of the atomic type"),
           let previous = diagnostics.last, previous.line == line, previous.message.contains("[facet") {
            return
        }
        add(line: line, message: message)
    }

    /// Passes itself as libxml2's `userData`; valid while the collector is alive.
    var opaque: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> XMLDiagnosticCollector? {
        pointer.map { Unmanaged<XMLDiagnosticCollector>.fromOpaque($0).takeUnretainedValue() }
    }

    static let handler: xmlStructuredErrorFunc = { userData, error in
        guard let collector = XMLDiagnosticCollector.from(userData), let error else { return }
        collector.add(UnsafePointer(error))
    }
}
