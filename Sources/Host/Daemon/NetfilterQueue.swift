import CNetfilterQueue
import Glibc
import Synchronization

/// What the daemon decided for one queued packet.
struct QueueVerdict {
    var accept: Bool
    /// Set the settled bit on the packet (saved to its connection in POSTROUTING).
    var settle: Bool
}

/// Counters of one queue, updated by its reader thread and read by `status`.
final class QueueCounters: Sendable {
    let packets = Atomic<UInt64>(0)
    let accepted = Atomic<UInt64>(0)
    let dropped = Atomic<UInt64>(0)
    let settled = Atomic<UInt64>(0)
    let malformed = Atomic<UInt64>(0)
    let gso = Atomic<UInt64>(0)
    let truncated = Atomic<UInt64>(0)
    let receiveErrors = Atomic<UInt64>(0)
    let enobufs = Atomic<UInt64>(0)
    let verdictErrors = Atomic<UInt64>(0)

    static func bump(_ counter: borrowing Atomic<UInt64>, by amount: UInt64 = 1) {
        counter.wrappingAdd(amount, ordering: .relaxed)
    }
}

/// One NFQUEUE, bound through libmnl and the `nfq_nlmsg_*` helpers. Every packet read gets a
/// verdict: judged ones the handler's, unparseable ones ACCEPT (the kernel already accepted them
/// into its forwarding path; a message without a packet id cannot be answered at all).
///
/// Verdicts are answered in batches: the reader blocks for one packet, then takes whatever is
/// already waiting (up to `batchLimit`), judges each, and answers them all with one `sendto`.
/// Consecutive packets with the same verdict and mark share one NFQNL_MSG_VERDICT_BATCH ("every
/// packet up to this id"), which is safe because the kernel delivers packets in id order and
/// every earlier one has been answered by then. An idle queue still answers each packet at once.
final class NetfilterQueue: @unchecked Sendable {
    struct SetupError: Error, CustomStringConvertible {
        let description: String
    }

    let number: UInt16
    let counters = QueueCounters()
    private let socket: OpaquePointer
    private let portID: UInt32
    private let receiveBuffer: UnsafeMutableRawPointer
    private let receiveCapacity: Int
    private let sendBuffer: UnsafeMutableRawPointer
    private static let sendCapacity = 8192
    private var sequence: UInt32 = 1

    /// Most packets judged before their verdicts are sent.
    static let batchLimit = 64
    /// A verdict waiting to be sent: the packet id, accept or drop, and the mark to set (if any).
    private struct PendingVerdict {
        var id: UInt32
        var accept: Bool
        var mark: UInt32?
    }
    private let pending: UnsafeMutablePointer<PendingVerdict>
    private var pendingCount = 0
    /// The verdict messages of one batch, sent together: at most two messages (each at most
    /// 48 bytes with a mark) per pending verdict.
    private let verdictBuffer: UnsafeMutableRawPointer
    private static let verdictCapacity = NetfilterQueue.batchLimit * 2 * 64
    /// nfq_nlmsg_parse's attribute table, reused for every packet.
    private let attributes: UnsafeMutablePointer<UnsafeMutablePointer<nlattr>?>
    private static let attributeCount = Int(__NFQA_MAX.rawValue)

    /// The kernel's largest copy range (NFQNL_MAX_COPY_RANGE is 65531; asking for more is clamped).
    static let copyRange: Int32 = 0xFFFF

    /// Binds queue `number`. `maxLength` bounds the packets waiting in the kernel;
    /// `socketBufferBytes` is the netlink receive buffer, sized to absorb bursts.
    init(number: UInt16, maxLength: UInt32, socketBufferBytes: Int, failOpen: Bool) throws {
        self.number = number
        guard let socket = mnl_socket_open(NETLINK_NETFILTER) else {
            throw SetupError(description: "queue \(number): cannot open a netfilter netlink socket: \(String(cString: strerror(errno)))")
        }
        self.socket = socket
        receiveCapacity = Int(NetfilterQueue.copyRange) + 64 * 1024
        receiveBuffer = .allocate(byteCount: receiveCapacity, alignment: 16)
        sendBuffer = .allocate(byteCount: NetfilterQueue.sendCapacity, alignment: 16)
        pending = .allocate(capacity: NetfilterQueue.batchLimit)
        verdictBuffer = .allocate(byteCount: NetfilterQueue.verdictCapacity, alignment: 16)
        attributes = .allocate(capacity: NetfilterQueue.attributeCount)
        attributes.initialize(repeating: nil, count: NetfilterQueue.attributeCount)
        guard mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) >= 0 else {
            let message = String(cString: strerror(errno))
            mnl_socket_close(socket)
            receiveBuffer.deallocate()
            sendBuffer.deallocate()
            pending.deallocate()
            verdictBuffer.deallocate()
            attributes.deallocate()
            throw SetupError(description: "queue \(number): cannot bind the netlink socket: \(message)")
        }
        portID = mnl_socket_get_portid(socket)

        var size = Int32(clamping: socketBufferBytes)
        let fd = mnl_socket_get_fd(socket)
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) < 0 {
            // Without CAP_NET_ADMIN only rmem_max applies; still better than the default.
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        // A receive timeout lets the reader notice a stop request without a signal.
        var timeout = timeval(tv_sec: 0, tv_usec: 250_000)
        _ = setsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        do {
            try configure { nlh in nfq_nlmsg_cfg_put_cmd(nlh, UInt16(AF_UNSPEC), UInt8(NFQNL_CFG_CMD_BIND.rawValue)) }
            try configure { nlh in
                nfq_nlmsg_cfg_put_params(nlh, UInt8(NFQNL_COPY_PACKET.rawValue), NetfilterQueue.copyRange)
                // All flags in one attribute: a repeated NFQA_CFG_FLAGS replaces the earlier one.
                let flags = UInt32(NFQA_CFG_F_GSO) | (failOpen ? UInt32(NFQA_CFG_F_FAIL_OPEN) : 0)
                mnl_attr_put_u32(nlh, UInt16(NFQA_CFG_FLAGS.rawValue), flags.bigEndian)
                mnl_attr_put_u32(nlh, UInt16(NFQA_CFG_MASK.rawValue), flags.bigEndian)
                nfq_nlmsg_cfg_put_qmaxlen(nlh, maxLength)
            }
        } catch {
            close()
            throw error
        }
    }

    deinit {
        close()
        receiveBuffer.deallocate()
        sendBuffer.deallocate()
        pending.deallocate()
        verdictBuffer.deallocate()
        attributes.deallocate()
    }

    private var isClosed = false

    /// Closes the socket; the kernel forgets the queue (packets still in it are dropped, so
    /// `drain` first).
    func close() {
        guard !isClosed else { return }
        isClosed = true
        mnl_socket_close(socket)
    }

    // MARK: Configuration messages

    /// Sends one config message with NLM_F_ACK and waits for the answer. Packets that arrive
    /// meanwhile are accepted so none is left without a verdict.
    private func configure(_ fill: (UnsafeMutablePointer<nlmsghdr>) -> Void) throws {
        guard let nlh = nfq_nlmsg_put(sendBuffer.assumingMemoryBound(to: CChar.self), Int32(NFQNL_MSG_CONFIG.rawValue), UInt32(number)) else {
            throw SetupError(description: "queue \(number): cannot build a config message")
        }
        nlh.pointee.nlmsg_flags |= UInt16(NLM_F_ACK)
        sequence &+= 1
        nlh.pointee.nlmsg_seq = sequence
        fill(nlh)
        guard mnl_socket_sendto(socket, nlh, Int(nlh.pointee.nlmsg_len)) >= 0 else {
            throw SetupError(description: "queue \(number): cannot send config: \(String(cString: strerror(errno)))")
        }
        for _ in 0..<64 {
            let received = mnl_socket_recvfrom(socket, receiveBuffer, receiveCapacity)
            if received < 0 {
                if errno == EINTR || errno == ENOBUFS { continue }
                throw SetupError(description: "queue \(number): no answer to config: \(String(cString: strerror(errno)))")
            }
            var ackError: Int32?
            dispatch(Int(received), handler: { _, _ in QueueVerdict(accept: true, settle: false) }, ack: { seq, error in
                if seq == self.sequence { ackError = error }
            })
            flushVerdicts()
            if let ackError {
                if ackError == 0 { return }
                let hint = ackError == EBUSY ? " (another process holds this queue)"
                    : ackError == EPERM ? " (needs CAP_NET_ADMIN)" : ""
                throw SetupError(description: "queue \(number): the kernel refused the config: \(String(cString: strerror(ackError)))\(hint)")
            }
        }
        throw SetupError(description: "queue \(number): no answer to config")
    }

    // MARK: Reading

    /// Reads and answers packets until `shouldStop` returns true, then drains what is already
    /// waiting on the socket so every packet read gets its verdict.
    func run(shouldStop: () -> Bool, handler: (UnsafeRawBufferPointer, UInt8) -> QueueVerdict) {
        while !shouldStop() {
            // Wait for one packet, then take what is already there, and answer them together.
            if receiveOnce(flags: 0, handler: handler) {
                for _ in 1..<NetfilterQueue.batchLimit {
                    guard pendingCount < NetfilterQueue.batchLimit, receiveOnce(flags: Int32(MSG_DONTWAIT), handler: handler) else { break }
                }
            }
            flushVerdicts()
        }
        drain(handler: handler)
    }

    /// Answers every packet already waiting, without blocking.
    func drain(handler: (UnsafeRawBufferPointer, UInt8) -> QueueVerdict) {
        for _ in 0..<1_000_000 {
            guard receiveOnce(flags: Int32(MSG_DONTWAIT), handler: handler) else { break }
            if pendingCount >= NetfilterQueue.batchLimit { flushVerdicts() }
        }
        flushVerdicts()
    }

    /// One receive; returns false when nothing was waiting (timeout or EAGAIN).
    @discardableResult
    private func receiveOnce(flags: Int32, handler: (UnsafeRawBufferPointer, UInt8) -> QueueVerdict) -> Bool {
        let received = recv(mnl_socket_get_fd(socket), receiveBuffer, receiveCapacity, flags)
        if received < 0 {
            switch errno {
            case EAGAIN, EWOULDBLOCK: return false
            case EINTR: return true
            case ENOBUFS:
                // The kernel could not queue a message for us: counted, never fatal. With fail-open
                // those packets were accepted; otherwise dropped. Either way we carry on.
                QueueCounters.bump(counters.enobufs)
                return true
            default:
                QueueCounters.bump(counters.receiveErrors)
                return false
            }
        }
        dispatch(received, handler: handler, ack: { _, _ in })
        return true
    }

    /// Walks the netlink messages in the receive buffer.
    private func dispatch(_ length: Int, handler: (UnsafeRawBufferPointer, UInt8) -> QueueVerdict,
                          ack: (UInt32, Int32) -> Void) {
        var remaining = Int32(clamping: length)
        var message: UnsafeMutablePointer<nlmsghdr>? = receiveBuffer.assumingMemoryBound(to: nlmsghdr.self)
        while let nlh = message, mnl_nlmsg_ok(nlh, remaining) {
            let type = Int32(nlh.pointee.nlmsg_type)
            if type == NLMSG_ERROR {
                if Int(nlh.pointee.nlmsg_len) >= MemoryLayout<nlmsghdr>.size + MemoryLayout<nlmsgerr>.size {
                    let error = mnl_nlmsg_get_payload(nlh).assumingMemoryBound(to: nlmsgerr.self).pointee.error
                    ack(nlh.pointee.nlmsg_seq, -error)
                }
            } else if type & 0xFF == Int32(NFQNL_MSG_PACKET.rawValue) {
                handlePacket(nlh, handler: handler)
            }
            message = mnl_nlmsg_next(nlh, &remaining)
        }
    }

    private func handlePacket(_ nlh: UnsafeMutablePointer<nlmsghdr>, handler: (UnsafeRawBufferPointer, UInt8) -> QueueVerdict) {
        QueueCounters.bump(counters.packets)
        attributes.update(repeating: nil, count: NetfilterQueue.attributeCount)
        let parsed = nfq_nlmsg_parse(nlh, attributes)
        guard parsed >= 0, let headerAttribute = attributes[Int(NFQA_PACKET_HDR.rawValue)],
              mnl_attr_get_payload_len(headerAttribute) >= MemoryLayout<nfqnl_msg_packet_hdr>.size else {
            // No packet id: nothing can be answered. The kernel times nothing out, so this is
            // counted loudly; it has never been seen from a real kernel.
            QueueCounters.bump(counters.malformed)
            return
        }
        let header = mnl_attr_get_payload(headerAttribute).assumingMemoryBound(to: nfqnl_msg_packet_hdr.self).pointee
        let id = UInt32(bigEndian: header.packet_id)
        var mark: UInt32 = 0
        if let markAttribute = attributes[Int(NFQA_MARK.rawValue)] { mark = UInt32(bigEndian: mnl_attr_get_u32(markAttribute)) }
        if let info = attributes[Int(NFQA_SKB_INFO.rawValue)],
           UInt32(bigEndian: mnl_attr_get_u32(info)) & UInt32(NFQA_SKB_GSO) != 0 {
            QueueCounters.bump(counters.gso)
        }

        var verdict = QueueVerdict(accept: true, settle: false)
        if let payloadAttribute = attributes[Int(NFQA_PAYLOAD.rawValue)] {
            let length = Int(mnl_attr_get_payload_len(payloadAttribute))
            if let capAttribute = attributes[Int(NFQA_CAP_LEN.rawValue)], Int(UInt32(bigEndian: mnl_attr_get_u32(capAttribute))) > length {
                QueueCounters.bump(counters.truncated)
            }
            verdict = handler(UnsafeRawBufferPointer(start: mnl_attr_get_payload(payloadAttribute), count: length), header.hook)
        } else {
            QueueCounters.bump(counters.malformed)
        }
        var newMark: UInt32?
        if verdict.accept {
            QueueCounters.bump(counters.accepted)
            if verdict.settle {
                QueueCounters.bump(counters.settled)
                // Only our bit changes: other mark bits belong to the administrator's setup.
                newMark = (mark & ~PeerwallMarks.settled) | PeerwallMarks.settled
            }
        } else {
            QueueCounters.bump(counters.dropped)
        }
        if pendingCount >= NetfilterQueue.batchLimit { flushVerdicts() }
        pending[pendingCount] = PendingVerdict(id: id, accept: verdict.accept, mark: newMark)
        pendingCount += 1
    }

    /// Sends the pending verdicts in one `sendto`: a run of packets with the same verdict and
    /// mark as one batch verdict (up to the run's last id), a lone packet as a plain verdict.
    private func flushVerdicts() {
        guard pendingCount > 0 else { return }
        var used = 0
        var messages = 0
        var start = 0
        while start < pendingCount {
            let first = pending[start]
            var end = start + 1
            while end < pendingCount, pending[end].accept == first.accept, pending[end].mark == first.mark { end += 1 }
            let last = pending[end - 1]
            let type = end - start > 1 ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT
            let buffer = (verdictBuffer + used).assumingMemoryBound(to: CChar.self)
            guard used + 64 <= NetfilterQueue.verdictCapacity, let nlh = nfq_nlmsg_put(buffer, Int32(type.rawValue), UInt32(number)) else {
                QueueCounters.bump(counters.verdictErrors, by: UInt64(end - start))
                start = end
                continue
            }
            nfq_nlmsg_verdict_put(nlh, Int32(bitPattern: last.id), first.accept ? NF_ACCEPT : NF_DROP)
            if let mark = first.mark { nfq_nlmsg_verdict_put_mark(nlh, mark) }
            used += Int(nlh.pointee.nlmsg_len)
            messages += 1
            start = end
        }
        let answered = pendingCount
        pendingCount = 0
        guard messages > 0 else { return }
        for _ in 0..<8 {
            if mnl_socket_sendto(socket, verdictBuffer, used) >= 0 { return }
            if errno != EINTR && errno != ENOBUFS && errno != EAGAIN { break }
        }
        QueueCounters.bump(counters.verdictErrors, by: UInt64(answered))
    }
}

/// One line of /proc/net/netfilter/nfnetlink_queue.
public struct KernelQueueStats: Equatable, Sendable {
    public var queue: UInt16
    public var waiting: UInt64
    public var queueDropped: UInt64
    public var userDropped: UInt64

    /// Parses the proc file: queue, portid, waiting, copy mode, copy range, queue dropped,
    /// user dropped, last id, 1.
    public static func parse(_ text: String) -> [UInt16: KernelQueueStats] {
        var result: [UInt16: KernelQueueStats] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 7, let queue = UInt16(fields[0]), let waiting = UInt64(fields[2]),
                  let queueDropped = UInt64(fields[5]), let userDropped = UInt64(fields[6]) else { continue }
            result[queue] = KernelQueueStats(queue: queue, waiting: waiting, queueDropped: queueDropped, userDropped: userDropped)
        }
        return result
    }

    /// The queues of the caller's network namespace, or with `pid` those of that process's.
    public static func read(pid: pid_t? = nil) -> [UInt16: KernelQueueStats] {
        let fd = open(pid.map { "/proc/\($0)/net/netfilter/nfnetlink_queue" } ?? "/proc/net/netfilter/nfnetlink_queue", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [:] }
        defer { Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<256 {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return parse(String(decoding: bytes, as: UTF8.self))
    }
}
