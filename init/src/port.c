/*
 * Finding, opening and writing the virtio-serial port; see port.h.
 *
 * Kernel quirk (drivers/char/virtio_console.c): while no host is connected to the port's chardev, read() returns
 * 0 and poll() reports POLLHUP, and write() blocks (or EAGAIN). So POLLHUP during a write means the host went away.
 */
#define _GNU_SOURCE /* splice */
#include "port.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define VPORTS_DIR "/sys/class/virtio-ports"

int g_port_fd = -1;

/* Look for the port once; fills dev with /dev/<vport> and returns 0, or -1 if not (yet) there. */
static int find_port(const char *name, char *dev, size_t cap)
{
	DIR *d = opendir(VPORTS_DIR);
	if (!d)
		return -1;
	struct dirent *e;
	int found = -1;
	while (found < 0 && (e = readdir(d))) {
		char path[PATH_MAX], val[256];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), VPORTS_DIR "/%s/name", e->d_name);
		if (read_text(path, val, sizeof(val)) == 0 && strcmp(val, name) == 0) {
			snprintf(dev, cap, "/dev/%s", e->d_name);
			found = 0;
		}
	}
	closedir(d);
	return found;
}

int port_open(const char *name, int timeout_ms)
{
	char dev[PATH_MAX] = "";
	long long deadline = now_ms() + timeout_ms;
	/* The port and its /dev node appear asynchronously after the virtio-serial device probes: poll for them. */
	for (;;) {
		if (find_port(name, dev, sizeof(dev)) == 0) {
			int fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
			if (fd >= 0)
				return fd;
			if (errno != ENOENT || now_ms() > deadline)
				return fail("open virtio port %s", dev);
		} else if (now_ms() > deadline) {
			return fail_msg(ENOENT, "find virtio port: no %s/*/name is \"%s\"", VPORTS_DIR, name);
		}
		sleep_ms(10);
	}
}

int port_write_all(const void *buf, size_t n, int timeout_ms)
{
	const char *p = buf;
	long long deadline = timeout_ms < 0 ? 0 : now_ms() + timeout_ms;
	while (n > 0) {
		ssize_t w = write(g_port_fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return fail("write to host port");
		if (w < 0 && errno == EINTR)
			continue;
		int left = -1;
		if (timeout_ms >= 0) {
			long long l = deadline - now_ms();
			if (l <= 0)
				return fail_msg(ETIMEDOUT, "write to host port: timed out");
			left = (int)l;
		}
		struct pollfd pfd = { .fd = g_port_fd, .events = POLLOUT };
		int r = poll(&pfd, 1, left);
		if (r < 0 && errno != EINTR)
			return fail("poll host port");
		if (r > 0 && !(pfd.revents & POLLOUT) && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)))
			return fail_msg(EPIPE, "write to host port: host disconnected");
	}
	return 0;
}

int port_splice_all(int from, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t s = splice(from, NULL, g_port_fd, NULL, n - done, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (s > 0) {
			done += (size_t)s;
			continue;
		}
		if (s < 0 && errno == EINTR)
			continue;
		if (s < 0 && errno == EAGAIN) {
			/* The data is in the pipe already, so the port is full: wait for the host to read. */
			struct pollfd pfd = { .fd = g_port_fd, .events = POLLOUT };
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				die("poll host port: %s", strerror(errno));
			continue;
		}
		if (done == 0)
			return fail(s < 0 ? "splice to host port" : "splice to host port: no data");
		die("splice to host port after %zu of %zu bytes: %s", done, n, s < 0 ? strerror(errno) : "no data");
	}
	return 0;
}

void port_send_frame(const void *frame, size_t n)
{
	if (port_write_all(frame, n, -1) < 0)
		die("channel to the host is broken: %s", g_err.msg);
}

void port_send(const struct proto_msg *m)
{
	static uint8_t buf[PROTO_HDR_SIZE + 4 + 4 + ERR_MSG_MAX + 64];
	size_t n = proto_encode(buf, sizeof(buf), m);
	if (n == 0)
		die("encode %s frame: too large", proto_type_name(m->h.type));
	port_send_frame(buf, n);
}

void port_send_ok(uint32_t id)
{
	struct proto_msg m = { .h = { .type = PT_OK, .id = id } };
	port_send(&m);
}

void port_send_error(uint32_t id, int err, const char *msg)
{
	struct proto_msg m = { .h = { .type = PT_ERROR, .id = id } };
	size_t len = strnlen(msg, ERR_MSG_MAX);
	m.u.error.err = err;
	m.u.error.msg.p = msg;
	m.u.error.msg.len = (uint32_t)len;
	port_send(&m);
}

int port_send_log(int level, const char *msg)
{
	uint8_t buf[PROTO_HDR_SIZE + 1 + 4 + ERR_MSG_MAX];
	struct proto_msg m = { .h = { .type = PT_LOG, .id = 0 } };
	m.u.log.level = (uint8_t)level;
	m.u.log.msg.p = msg;
	m.u.log.msg.len = (uint32_t)strnlen(msg, ERR_MSG_MAX);
	size_t n = proto_encode(buf, sizeof(buf), &m);
	if (n == 0 || g_port_fd < 0)
		return -1;
	if (level == PROTO_LOG_FATAL)
		return port_write_all(buf, n, 1000); /* bounded: the VM is ending anyway */
	/* Anything else waits like every other frame: a timed-out partial frame would corrupt the stream. */
	port_send_frame(buf, n);
	return 0;
}
