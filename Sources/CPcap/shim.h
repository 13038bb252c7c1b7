#ifndef PEERWALL_CPCAP_SHIM_H
#define PEERWALL_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
