import Glibc
import PluginAPI

/// The gateway's own addresses and their subnets, from getifaddrs. The probe's source is the
/// address whose subnet holds the client: the gateway as that client sees it.
public struct InterfaceAddresses: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let interface: String
        public let address: IPAddress
        public let subnet: CIDR
    }

    public let entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// The current non-loopback IPv4 and IPv6 addresses (link-local IPv6 left out: probes go to
    /// routable LAN addresses).
    public static func current() -> InterfaceAddresses {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return InterfaceAddresses(entries: []) }
        defer { freeifaddrs(list) }
        var entries: [Entry] = []
        var node: UnsafeMutablePointer<ifaddrs>? = first
        while let current = node {
            defer { node = current.pointee.ifa_next }
            guard let addressPointer = current.pointee.ifa_addr, let maskPointer = current.pointee.ifa_netmask else { continue }
            let name = String(cString: current.pointee.ifa_name)
            guard let address = ipAddress(addressPointer), let mask = ipAddress(maskPointer),
                  !address.isLoopback, !address.isLinkLocal else { continue }
            let prefix = prefixLength(mask, isIPv4: address.isIPv4)
            entries.append(Entry(interface: name, address: address, subnet: CIDR(address: address, prefixLength: prefix)))
        }
        return InterfaceAddresses(entries: entries)
    }

    /// The address facing `client`: on the interface whose subnet holds it.
    public func address(facing client: IPAddress) -> IPAddress? {
        entries.filter { $0.subnet.contains(client) }.max { $0.subnet.prefixLength128 < $1.subnet.prefixLength128 }?.address
    }

    public var addresses: [IPAddress] { entries.map(\.address) }

    static func ipAddress(_ pointer: UnsafeMutablePointer<sockaddr>) -> IPAddress? {
        switch Int32(pointer.pointee.sa_family) {
        case AF_INET:
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                IPAddress(v4: UInt32(bigEndian: $0.pointee.sin_addr.s_addr))
            }
        case AF_INET6:
            return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                withUnsafeBytes(of: p.pointee.sin6_addr) { IPAddress(bytes: Array($0)) }
            }
        default:
            return nil
        }
    }

    static func prefixLength(_ mask: IPAddress, isIPv4: Bool) -> Int {
        if isIPv4, let v4 = mask.v4 { return v4.nonzeroBitCount }
        return mask.high.nonzeroBitCount + mask.low.nonzeroBitCount
    }
}
