/*
 * nfq-accept-loop: the baseline of `make bench-live`. The least a userspace NFQUEUE reader can
 * do: read each packet and answer it with its own ACCEPT verdict. It binds its queue the way
 * peerwall does (libmnl and libnetfilter_queue's nfq_nlmsg_* helpers, whole-packet copy, GSO,
 * queue length 8192, 64 MiB socket buffer), so the difference in rate is peerwall's own work.
 *
 * Usage: nfq-accept-loop QUEUE
 * Runs until SIGINT or SIGTERM, then prints "packets N" on standard output.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

static volatile sig_atomic_t stopping;
static unsigned long long packets, verdict_errors;

static void stop(int signal_number) { (void)signal_number; stopping = 1; }

static struct mnl_socket *nl;
static uint16_t queue_number;
static char send_buffer[8192];

static void configure(struct nlmsghdr *nlh, char *receive_buffer, size_t size) {
    nlh->nlmsg_flags |= NLM_F_ACK;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) { perror("mnl_socket_sendto"); exit(71); }
    ssize_t n = mnl_socket_recvfrom(nl, receive_buffer, size);
    if (n < 0 || mnl_cb_run(receive_buffer, (size_t)n, 0, mnl_socket_get_portid(nl), NULL, NULL) < 0) {
        perror("queue configuration");
        exit(71);
    }
}

static void verdict(uint32_t id) {
    struct nlmsghdr *nlh = nfq_nlmsg_put(send_buffer, NFQNL_MSG_VERDICT, queue_number);
    nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) verdict_errors++;
}

static int on_packet(const struct nlmsghdr *nlh, void *data) {
    (void)data;
    struct nlattr *attributes[NFQA_MAX + 1] = {0};
    if (nfq_nlmsg_parse(nlh, attributes) < 0 || !attributes[NFQA_PACKET_HDR]) return MNL_CB_OK;
    struct nfqnl_msg_packet_hdr *header = mnl_attr_get_payload(attributes[NFQA_PACKET_HDR]);
    packets++;
    verdict(ntohl(header->packet_id));
    return MNL_CB_OK;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s QUEUE\n", argv[0]); return 64; }
    queue_number = (uint16_t)atoi(argv[1]);
    size_t size = 0xFFFF + 64 * 1024;
    char *receive_buffer = malloc(size);
    nl = mnl_socket_open(NETLINK_NETFILTER);
    if (!nl || !receive_buffer || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) { perror("netlink"); return 71; }
    int buffer_bytes = 64 * 1024 * 1024;
    if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &buffer_bytes, sizeof buffer_bytes) < 0)
        setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
    struct timeval timeout = {0, 250000};
    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

    struct nlmsghdr *nlh = nfq_nlmsg_put(send_buffer, NFQNL_MSG_CONFIG, queue_number);
    nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
    configure(nlh, receive_buffer, size);
    nlh = nfq_nlmsg_put(send_buffer, NFQNL_MSG_CONFIG, queue_number);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xFFFF);
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
    nfq_nlmsg_cfg_put_qmaxlen(nlh, 8192);
    configure(nlh, receive_buffer, size);

    struct sigaction action = {0};
    action.sa_handler = stop;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    fprintf(stderr, "nfq-accept-loop: queue %u bound\n", queue_number);

    while (!stopping) {
        ssize_t n = recv(mnl_socket_get_fd(nl), receive_buffer, size, 0);
        if (n < 0) continue;  /* timeout, EINTR, ENOBUFS: carry on */
        mnl_cb_run(receive_buffer, (size_t)n, 0, 0, on_packet, NULL);
    }
    printf("packets %llu\nverdict_errors %llu\n", packets, verdict_errors);
    mnl_socket_close(nl);
    return 0;
}
