/*
 * bench-sender: the load of `make bench-live`. Sends UDP datagrams from many flows (one socket
 * per source port, destination ports cycling) to one address, at a given rate or as fast as it
 * can, for a given time, in batches of sendmmsg.
 *
 * Usage: bench-sender DEST_IP DEST_BASE_PORT FLOWS PAYLOAD_BYTES RATE_PPS(0 = as fast as possible) SECONDS
 * Prints "sent N seconds S" on standard output.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 16

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s DEST_IP DEST_BASE_PORT FLOWS PAYLOAD_BYTES RATE_PPS SECONDS\n", argv[0]);
        return 64;
    }
    const char *destination = argv[1];
    int base_port = atoi(argv[2]), flows = atoi(argv[3]), payload = atoi(argv[4]);
    double rate = atof(argv[5]), seconds = atof(argv[6]);
    if (flows < 1 || flows > 4096 || payload < 1 || payload > 1400 || seconds <= 0) { fprintf(stderr, "bad arguments\n"); return 64; }

    int *sockets = calloc((size_t)flows, sizeof(int));
    for (int i = 0; i < flows; i++) {
        sockets[i] = socket(AF_INET, SOCK_DGRAM, 0);
        if (sockets[i] < 0) { perror("socket"); return 71; }
    }
    char *data = calloc(1, (size_t)payload);
    memset(data, 'x', (size_t)payload);
    struct sockaddr_in addresses[BATCH];
    struct iovec vectors[BATCH];
    struct mmsghdr messages[BATCH];
    memset(messages, 0, sizeof messages);
    for (int i = 0; i < BATCH; i++) {
        memset(&addresses[i], 0, sizeof addresses[i]);
        addresses[i].sin_family = AF_INET;
        addresses[i].sin_port = htons((uint16_t)(base_port + i));
        inet_pton(AF_INET, destination, &addresses[i].sin_addr);
        vectors[i].iov_base = data;
        vectors[i].iov_len = (size_t)payload;
        messages[i].msg_hdr.msg_name = &addresses[i];
        messages[i].msg_hdr.msg_namelen = sizeof addresses[i];
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }

    unsigned long long sent = 0;
    double start = now(), end = start + seconds;
    int flow = 0;
    for (;;) {
        double t = now();
        if (t >= end) break;
        if (rate > 0) {
            double due = (t - start) * rate;
            if ((double)sent + BATCH > due) {
                double wait = ((double)sent + BATCH - due) / rate;
                struct timespec pause = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
                nanosleep(&pause, NULL);
                continue;
            }
        }
        int n = sendmmsg(sockets[flow], messages, BATCH, 0);
        if (n > 0) sent += (unsigned long long)n;
        flow = (flow + 1) % flows;
    }
    printf("sent %llu seconds %.3f\n", sent, now() - start);
    return 0;
}
