/*
 * Guest network interfaces that need no host configuration: the loopback device, up as in any container, so
 * requestor programs can reach servers on 127.0.0.1 / ::1 (the kernel assigns those addresses when lo goes up).
 */
#ifndef YA_NET_H
#define YA_NET_H

/* Brings `lo` up; 0, or -1 with the last error set. */
int net_loopback_up(void);

#endif
