/*
 * The virtio-serial port to the host: found by name under /sys/class/virtio-ports, opened non-blocking.
 *
 * Writes are always complete frames: port_send*() loop over short writes (the virtio_console driver takes at
 * most 32 KiB per write) and wait with poll() on EAGAIN. A write that cannot complete means the channel is
 * broken, which is fatal (die()). Frames from different callers never interleave: init is single-threaded.
 */
#ifndef YA_PORT_H
#define YA_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define PORT_NAME "yagent"

extern int g_port_fd;

/* Find the port named `name` (waiting up to timeout_ms for it to appear) and open it; returns the fd or -1. */
int port_open(const char *name, int timeout_ms);

/* Write n bytes; timeout_ms < 0 waits forever. Returns 0, or -1 (logged) when the host is gone or time ran out. */
int port_write_all(const void *buf, size_t n, int timeout_ms);

/* Creates the private pipe that port_splice_all() moves output through; 0 or -1 (logged). */
int port_splice_init(void);

/* Moves exactly n bytes that are already in pipe `from` to the port with splice(2), through a pipe only init
 * writes (see port.c for why), so virtio_console takes the pipe's pages without a copy through user space.
 * Returns 0; or -1 when the port refused splice before any byte of the frame moved: then the n bytes were
 * sent by copy through copybuf (n bytes of room) and the caller should stop splicing. Any other failure would
 * break the frame, so it is fatal. */
int port_splice_all(int from, size_t n, uint8_t *copybuf);

/* Encode and send one message; dies if the channel is broken. */
void port_send(const struct proto_msg *m);
void port_send_ok(uint32_t id);
void port_send_error(uint32_t id, int err, const char *msg);
/* Send an already encoded frame; dies if the channel is broken. */
void port_send_frame(const void *frame, size_t n);
/* LOG event with a bounded wait (used by log.c once the host said HELLO). */
int port_send_log(int level, const char *msg);

#endif
