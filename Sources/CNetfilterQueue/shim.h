#ifndef PEERWALL_CNETFILTERQUEUE_SHIM_H
#define PEERWALL_CNETFILTERQUEUE_SHIM_H
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#endif
