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

/*
 * Why a private pipe: virtio_console's splice_write sizes its scatter list to the number of buffers in the pipe
 * and marks the last of them as the end, but fills only as many entries as the bytes asked for cover. A splice
 * of fewer bytes than the pipe holds then hands the virtqueue empty entries, and the guest kernel oopses in PID 1
 * (NULL page in vring_map_one_sg) or corrupts its heap (docs/guest-protocol.md, "Output path in the guest"). A process's
 * pipe may hold more than one frame may carry (credit, PROTO_MAX_OUTPUT), and its writers can add to it at any
 * moment, so asking for "all of it" is not possible there. Only init writes g_mid, so every splice from g_mid
 * to the port asks for exactly what g_mid holds. pipe-to-pipe splice moves page references, not bytes.
 */
static int g_mid[2] = { -1, -1 };

int port_splice_init(void)
{
	if (pipe2(g_mid, O_NONBLOCK | O_CLOEXEC) < 0)
		return fail("splice: pipe");
	return 0;
}

/* Waits until the port takes more (the host reads). A host that went away makes splice say EAGAIN for ever and
 * poll report POLLHUP without POLLOUT: that is a broken channel, not a full port (else PID 1 would spin). */
static void wait_port_writable(void)
{
	struct pollfd pfd = { .fd = g_port_fd, .events = POLLOUT };
	int r = poll(&pfd, 1, -1);
	if (r < 0 && errno != EINTR)
		die("poll host port: %s", strerror(errno));
	if (r > 0 && !(pfd.revents & POLLOUT) && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)))
		die("channel to the host is broken: host disconnected");
}

static void read_exact(int fd, uint8_t *buf, size_t n, const char *what);

/* Sends the k bytes that g_mid holds. Returns 0, or -1 when the port refuses splice before taking any of
 * them; then they are still in g_mid. A splice that stops short later (a zero-length buffer, which a writer whose
 * write(2) faulted can leave in a pipe, ends the kernel's scatter list early) is finished by copy through buf
 * (k bytes of room), so the frame stays exact. */
static int mid_to_port(size_t k, int first, uint8_t *buf)
{
	size_t done = 0;
	while (done < k) {
		ssize_t s = splice(g_mid[0], NULL, g_port_fd, NULL, k - done, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (s > 0) {
			done += (size_t)s;
			continue;
		}
		if (s < 0 && errno == EINTR)
			continue;
		if (s < 0 && errno == EAGAIN) {
			wait_port_writable();
			continue;
		}
		if (first && done == 0)
			return fail(s < 0 ? "splice to host port" : "splice to host port: no data");
		read_exact(g_mid[0], buf, k - done, "the splice pipe");
		if (port_write_all(buf, k - done, -1) < 0)
			die("channel to the host is broken: %s", g_err.msg);
		return 0;
	}
	return 0;
}

/* Reads exactly n bytes that are known to be in pipe fd (what names it in the fatal message). */
static void read_exact(int fd, uint8_t *buf, size_t n, const char *what)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r > 0)
			got += (size_t)r;
		else if (r < 0 && errno == EINTR)
			continue;
		else
			die("read %zu announced bytes of %s: %s", n, what, r < 0 ? strerror(errno) : "EOF");
	}
}

int port_splice_all(int from, size_t n, uint8_t *copybuf)
{
	size_t done = 0;
	while (done < n) {
		ssize_t k = splice(from, NULL, g_mid[1], NULL, n - done, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("splice %zu announced bytes of a process pipe (%zu moved): %s", n, done,
			    k < 0 ? strerror(errno) : "EOF");
		if (mid_to_port((size_t)k, done == 0, copybuf) < 0) {
			/* Refused before any byte of this frame left: send the frame's bytes by copy instead. */
			read_exact(g_mid[0], copybuf, (size_t)k, "the splice pipe");
			read_exact(from, copybuf + k, n - (size_t)k, "a process pipe");
			port_send_frame(copybuf, n);
			return -1;
		}
		done += (size_t)k;
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
