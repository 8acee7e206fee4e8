/*
 * Guest network interfaces: the loopback device, up as in any container, so requestor programs can reach servers
 * on 127.0.0.1 / ::1 (the kernel assigns those addresses when lo goes up); and NET_CONFIG, which configures one
 * virtio-net NIC (docs/guest-protocol.md, NET_CONFIG) with ioctls on an AF_INET socket (NET_ISOLATE: netlink).
 */
#ifndef YA_NET_H
#define YA_NET_H

#include <stddef.h>

#include "proto.h"

/* Brings `lo` up; 0, or -1 with the last error set. */
int net_loopback_up(void);

/*
 * NET_CONFIG: find the NIC by device_mac, set MAC and MTU, assign the addresses (aliases <if>:N), bring it up,
 * add the routes, with PROTO_NET_ISOLATE build its isolation table and rules (netlink) and set arp_announce 2,
 * then append the hosts lines to /etc/hosts and replace /etc/resolv.conf when nameservers are
 * given. Returns 0, or an errno with err (errlen bytes, always NUL-terminated) naming the step, the interface and
 * the value, e.g. "route 10.0.0.0/8 via 192.168.0.1 on eth0: Network is unreachable". On failure what was done
 * to the interface is undone (best effort) and the files are left as they were. Logs only success (the caller
 * reports the error).
 */
int net_config(const struct proto_msg *m, char *err, size_t errlen);

#endif
