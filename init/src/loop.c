/*
 * The event loop and request dispatch; see loop.h and docs/guest-protocol.md.
 *
 * Port states: before HELLO the host may not be connected yet (QEMU's chardev has no client: read() returns 0
 * and epoll reports EPOLLHUP, forever); then the port leaves the epoll set and a timer puts it back every
 * RECONNECT_MS. After HELLO a closed channel is fatal: the runtime that owned this VM is gone.
 *
 * Frames: bytes accumulate in g_in (one maximal frame fits). A bad header (length > 1 MiB, flags != 0) means
 * the stream is broken: ERROR(EPROTO), then die(). A bad payload or unknown type gets ERROR(EPROTO) and the
 * loop carries on with the next frame.
 */
#define _GNU_SOURCE
#include "loop.h"
#include "limits.h"
#include "log.h"
#include "mounts.h"
#include "net.h"
#include "port.h"
#include "procs.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define INIT_DESCRIPTION "ya-init 0.1.0"
#define RECONNECT_MS 50
#define SHUTDOWN_WAIT_MS 1000
#define MAX_EVENTS 64

static int g_epfd, g_timerfd;
static int g_hello;     /* the host said HELLO */
static int g_port_in;   /* the port is in the epoll set */
static uint8_t g_in[PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD];
static size_t g_in_len;
static struct watch w_port = { W_PORT, NULL }, w_signal = { W_SIGNAL, NULL }, w_timer = { W_TIMER, NULL };

static void watch_fd(int fd, struct watch *w, int add)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };
	if (epoll_ctl(g_epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

static void reply_last_error(uint32_t id)
{
	port_send_error(id, g_err.no ? g_err.no : EIO, g_err.msg);
}

static void do_hello(const struct proto_msg *m)
{
	struct proto_msg r = { .h = { .type = PT_HELLO_OK, .id = m->h.id } };
	r.u.hello_ok.version = PROTO_VERSION;
	r.u.hello_ok.desc.p = INIT_DESCRIPTION;
	r.u.hello_ok.desc.len = sizeof(INIT_DESCRIPTION) - 1;
	if (m->u.hello.version != PROTO_VERSION)
		log_info("host speaks protocol version %u, init %u", m->u.hello.version, PROTO_VERSION);
	port_send(&r);
	g_hello = 1;
	log_to_host = port_send_log;
}

__attribute__((noreturn)) static void do_shutdown(uint32_t id)
{
	log_info("shutdown requested");
	procs_shutdown(SHUTDOWN_WAIT_MS);
	sync();
	mounts_release();
	sync();
	port_send_ok(id);
	reboot(RB_AUTOBOOT);
	die("reboot: %s", strerror(errno));
}

static void dispatch(const struct proto_msg *m)
{
	int r = 0;
	switch (m->h.type) {
	case PT_HELLO: do_hello(m); return;
	case PT_MOUNT_ROOT: r = mounts_root(m); break;
	case PT_MOUNT: r = mounts_volume(m); break;
	case PT_RUN: r = procs_run(m); break;
	case PT_STDIN:
		if (procs_stdin(m) == 0)
			return; /* procs replies once the data is in the pipe */
		r = -1;
		break;
	case PT_KILL: r = procs_kill(m); break;
	case PT_CREDIT: procs_credit(m); return;
	case PT_SYNC: sync(); break;
	case PT_LIMITS: r = limits_apply(m); break;
	case PT_NET_CONFIG: {
		char err[ERR_MSG_MAX];
		int e = net_config(m, err, sizeof(err));
		if (e != 0)
			r = fail_msg(e, "%s", err); /* logs it and makes it the last error, as fail() does elsewhere */
		break;
	}
	case PT_SHUTDOWN: do_shutdown(m->h.id);
	default: r = fail_msg(EPROTO, "unexpected %s frame", proto_type_name(m->h.type)); break;
	}
	if (r < 0)
		reply_last_error(m->h.id);
	else
		port_send_ok(m->h.id);
}

/* Handle every complete frame in g_in; keep a partial one for later. */
static void parse_frames(void)
{
	size_t off = 0;
	while (off < g_in_len) {
		struct proto_msg m;
		int e = proto_decode(g_in + off, g_in_len - off, PROTO_FROM_HOST, &m);
		if (e == PE_NEED_MORE)
			break;
		if (e == PE_TOO_LONG || e == PE_FLAGS) {
			fail_msg(EPROTO, "frame header (type 0x%x, id %u, len %u): %s", m.h.type, m.h.id, m.h.len,
				 proto_strerror(e));
			reply_last_error(m.h.id);
			die("channel broken: %s", g_err.msg);
		}
		off += PROTO_HDR_SIZE + m.h.len;
		if (e != PE_OK) {
			fail_msg(EPROTO, "malformed %s frame (type 0x%x, id %u): %s", proto_type_name(m.h.type),
				 m.h.type, m.h.id, proto_strerror(e));
			if (m.h.type != PT_CREDIT)
				reply_last_error(m.h.id);
			continue;
		}
		dispatch(&m);
	}
	memmove(g_in, g_in + off, g_in_len - off);
	g_in_len -= off;
}

static void host_gone(void)
{
	if (g_hello)
		die("channel broken: the host closed the port");
	/* Not connected yet (or a client left before HELLO): poll again shortly. */
	g_in_len = 0;
	if (g_port_in) {
		watch_fd(g_port_fd, &w_port, 0);
		g_port_in = 0;
	}
	struct itimerspec its = { .it_value = { 0, RECONNECT_MS * 1000000L } };
	if (timerfd_settime(g_timerfd, 0, &its, NULL) < 0)
		die("timerfd_settime: %s", strerror(errno));
}

static void port_readable(void)
{
	for (int i = 0; i < 64 && g_port_in; i++) {
		ssize_t r = read(g_port_fd, g_in + g_in_len, sizeof(g_in) - g_in_len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r < 0)
			die("read host port: %s", strerror(errno));
		if (r == 0) {
			host_gone();
			return;
		}
		g_in_len += (size_t)r;
		parse_frames();
	}
}

static void timer_fired(void)
{
	uint64_t n;
	if (read(g_timerfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		die("read timerfd: %s", strerror(errno));
	if (!g_port_in) {
		watch_fd(g_port_fd, &w_port, 1);
		g_port_in = 1;
	}
}

static void signals(int sigfd)
{
	struct signalfd_siginfo si[16];
	int child = 0;
	for (;;) {
		ssize_t r = read(sigfd, si, sizeof(si));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0)
			die("read signalfd: %s", r < 0 ? strerror(errno) : "end of file");
		for (size_t i = 0; i < (size_t)r / sizeof(si[0]); i++) {
			if (si[i].ssi_signo == SIGCHLD)
				child = 1;
			else if (si[i].ssi_signo != SIGPIPE)
				log_info("ignoring signal %u from pid %u", si[i].ssi_signo, si[i].ssi_pid);
		}
	}
	if (child)
		procs_reap();
}

void loop_run(int sigfd)
{
	struct epoll_event evs[MAX_EVENTS];
	g_epfd = epoll_create1(EPOLL_CLOEXEC);
	g_timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (g_epfd < 0 || g_timerfd < 0)
		die("epoll_create1/timerfd_create: %s", strerror(errno));
	procs_init(g_epfd);
	watch_fd(sigfd, &w_signal, 1);
	watch_fd(g_timerfd, &w_timer, 1);
	watch_fd(g_port_fd, &w_port, 1);
	g_port_in = 1;
	procs_reap(); /* whatever exited before the signalfd existed */
	for (;;) {
		int n = epoll_wait(g_epfd, evs, MAX_EVENTS, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;
			switch (w->kind) {
			case W_PORT: port_readable(); break;
			case W_SIGNAL: signals(sigfd); break;
			case W_TIMER: timer_fired(); break;
			default: procs_event(w, evs[i].events); break;
			}
		}
		procs_collect();
	}
}
