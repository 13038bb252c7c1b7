import PluginAPI

#if canImport(Glibc)
import Glibc
#endif

/// Converts between `Endpoint` and the C socket address structures.
enum SocketAddress {
    /// Calls `body` with a `sockaddr` for `endpoint` and its length.
    static func with<Result>(_ endpoint: Endpoint, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Result) rethrows -> Result {
        var storage = sockaddr_storage()
        let length: socklen_t
        if let v4 = endpoint.address.v4 {
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    address.pointee.sin_family = sa_family_t(AF_INET)
                    address.pointee.sin_port = endpoint.port.bigEndian
                    address.pointee.sin_addr = in_addr(s_addr: v4.bigEndian)
                }
            }
        } else {
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            let bytes = endpoint.address.bytes
            withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    address.pointee.sin6_family = sa_family_t(AF_INET6)
                    address.pointee.sin6_port = endpoint.port.bigEndian
                    withUnsafeMutableBytes(of: &address.pointee.sin6_addr) { raw in
                        for (i, byte) in bytes.enumerated() where i < raw.count { raw[i] = byte }
                    }
                }
            }
        }
        return try withUnsafePointer(to: &storage) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }

    /// The endpoint in a `sockaddr_storage` filled by the kernel, or nil for another family.
    static func endpoint(_ storage: sockaddr_storage) -> Endpoint? {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    Endpoint(IPAddress(v4: UInt32(bigEndian: address.pointee.sin_addr.s_addr)), UInt16(bigEndian: address.pointee.sin_port))
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    let bytes = withUnsafeBytes(of: address.pointee.sin6_addr) { Array($0) }
                    guard let ip = IPAddress(bytes: bytes) else { return nil }
                    // An IPv4-mapped address is kept in that form, which is how IPAddress stores IPv4.
                    return Endpoint(ip, UInt16(bigEndian: address.pointee.sin6_port))
                }
            }
        default:
            return nil
        }
    }

    static func family(_ endpoint: Endpoint) -> Int32 { endpoint.address.isIPv4 ? AF_INET : AF_INET6 }
}

/// A failed socket call, with the call and `errno`'s text.
struct SocketError: Error, CustomStringConvertible {
    let call: String
    let code: Int32

    init(_ call: String, code: Int32 = errno) {
        self.call = call
        self.code = code
    }

    var description: String { "\(call): \(String(cString: strerror(code)))" }
}
