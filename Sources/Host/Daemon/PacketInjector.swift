import Glibc
import PacketKit
import PluginAPI
import Synchronization

/// Sends the packets the engine asks for (spoofed replies, probes, resets) through raw sockets
/// that take a complete IP header, so the source can be any address. IPv4 uses IPPROTO_RAW
/// (IP_HDRINCL implied); IPv6 uses IPPROTO_RAW on an AF_INET6 socket, which Linux also treats
/// as header-included.
///
/// Only ever towards LAN addresses: the engine filters, and this checks again.
final class PacketInjector: Sendable {
    private struct Sockets {
        var ipv4: Int32
        var ipv6: Int32
        var probeIPv4: Int32
        var probeIPv6: Int32
    }

    private let sockets: Sockets
    private let isLAN: @Sendable (IPAddress) -> Bool
    let sent = Atomic<UInt64>(0)
    let failures = Atomic<UInt64>(0)
    let refused = Atomic<UInt64>(0)

    /// Opens the sockets. A family whose socket cannot be opened is reported in `problems` and
    /// its packets are counted as failures.
    init(isLAN: @escaping @Sendable (IPAddress) -> Bool, problems: inout [String]) {
        self.isLAN = isLAN
        func open(_ family: Int32, mark: UInt32?) -> Int32 {
            let fd = socket(family, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_RAW))
            if fd < 0 {
                problems.append("cannot open a raw \(family == AF_INET ? "IPv4" : "IPv6") socket: \(String(cString: strerror(errno)))")
                return -1
            }
            if let mark {
                // The probe's connection carries this mark, so the client's answer is queued (see FirewallRules).
                var value = mark
                if setsockopt(fd, SOL_SOCKET, SO_MARK, &value, socklen_t(MemoryLayout<UInt32>.size)) != 0 {
                    problems.append("cannot mark probe packets: \(String(cString: strerror(errno)))")
                }
            }
            return fd
        }
        sockets = Sockets(ipv4: open(AF_INET, mark: nil), ipv6: open(AF_INET6, mark: nil),
                          probeIPv4: open(AF_INET, mark: PeerwallMarks.probe), probeIPv6: open(AF_INET6, mark: PeerwallMarks.probe))
    }

    deinit {
        for fd in [sockets.ipv4, sockets.ipv6, sockets.probeIPv4, sockets.probeIPv6] where fd >= 0 { close(fd) }
    }

    /// Builds and sends one packet. Returns false when it was refused or could not be sent.
    @discardableResult
    func send(_ packet: OutboundPacket, isProbe: Bool) -> Bool {
        let destination = packet.destination.address
        guard isLAN(destination), packet.source.address.isIPv4 == destination.isIPv4 else {
            refused.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        guard let bytes = PacketBuilder.build(packet) else {
            failures.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        let fd = destination.isIPv4 ? (isProbe ? sockets.probeIPv4 : sockets.ipv4) : (isProbe ? sockets.probeIPv6 : sockets.ipv6)
        guard fd >= 0 else {
            failures.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        let result: Int = bytes.withUnsafeBytes { raw in
            if let v4 = destination.v4 {
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_addr.s_addr = v4.bigEndian
                return withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            // The port must be 0 on a raw IPv6 socket (or IPPROTO_RAW); the header carries everything.
            let addressBytes = destination.bytes
            withUnsafeMutableBytes(of: &address.sin6_addr) { target in
                for i in 0..<min(16, addressBytes.count) { target[i] = addressBytes[i] }
            }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        if result == bytes.count {
            sent.wrappingAdd(1, ordering: .relaxed)
            return true
        }
        failures.wrappingAdd(1, ordering: .relaxed)
        return false
    }
}
