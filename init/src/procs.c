/*
 * The process table, stdin queues, output under credit, reaping and EXIT; see procs.h.
 *
 * Output flow control (docs/guest-protocol.md, CREDIT): each process starts with PROTO_INITIAL_CREDIT bytes,
 * shared by stdout and stderr. Its pipes are in the epoll set only while credit > 0; one read per event takes at
 * most min(credit, 64 KiB) and goes out as one OUTPUT frame. At 0 credit the pipes leave the epoll set (an
 * EPOLLHUP would be reported even with no events asked for), so the process blocks on a full pipe.
 *
 * Stdin: STDIN data is written without blocking; what does not fit in the pipe is queued (copied) and written
 * on EPOLLOUT, and the request's OK goes out once its last byte is in the pipe.
 *
 * Exit (docs/guest-protocol.md, EXIT): when the process is reaped, what its pipes hold at that moment (FIONREAD)
 * is its last output; EXIT goes out once those bytes are sent, not when the pipes reach EOF, since a background
 * child it started (`server &`) may hold them open for ever. After EXIT the record is "draining": whatever the
 * background writers still send on the inherited pipes is read and discarded (counted in the console log) until
 * the last of them closes, so they never block on a full pipe nor get EPIPE.
 */
#define _GNU_SOURCE
#include "procs.h"
#include "limits.h"
#include "log.h"
#include "port.h"
#include "spawn.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define STDIN_QUEUE_MAX (16u * 1024u * 1024u)

struct chunk {
	struct chunk *next;
	uint32_t req_id;
	size_t off, len; /* len 0: close stdin */
	uint8_t data[];
};

struct proc {
	struct proc *next;
	uint32_t id;
	pid_t pid;
	int fd[3];    /* [0] stdin write end, [1] stdout, [2] stderr read ends; -1 once closed */
	int armed[3]; /* in the epoll set */
	struct watch w[3];
	uint64_t credit;
	int reaped, status;
	/* Once reaped: the bytes of each output pipe still to send before EXIT (FIONREAD at reap time). */
	size_t tail[3];
	int done; /* EXIT sent; from then on open output pipes are drained; freed by procs_collect() once closed */
	uint64_t discarded; /* bytes drained after EXIT */
	struct chunk *in_head, *in_tail;
	size_t in_queued;
	int in_err; /* errno for STDIN once fd[0] is closed: EBADF (never open, closed by the host) or EPIPE */
};

static int g_epfd = -1;
static struct proc *g_procs;
static uint8_t g_outbuf[PROTO_OUTPUT_HEAD + PROTO_MAX_OUTPUT];
/* Cleared for good the first time the port refuses splice(2). */
static int g_splice_ok = 1;

void procs_init(int epfd)
{
	g_epfd = epfd;
	if (port_splice_init() < 0)
		g_splice_ok = 0;
}

static struct proc *find_id(uint32_t id)
{
	for (struct proc *p = g_procs; p; p = p->next)
		if (p->id == id && !p->done)
			return p;
	return NULL;
}

static struct proc *find_pid(pid_t pid)
{
	for (struct proc *p = g_procs; p; p = p->next)
		if (p->pid == pid && !p->done && !p->reaped)
			return p;
	return NULL;
}

static void arm(struct proc *p, int i, int on)
{
	if (p->fd[i] < 0 || p->armed[i] == on)
		return;
	struct epoll_event ev = { .events = i == 0 ? EPOLLOUT : EPOLLIN, .data.ptr = &p->w[i] };
	if (epoll_ctl(g_epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, p->fd[i], &ev) < 0)
		die("epoll_ctl pipe %d of process %u: %s", i, p->id, strerror(errno));
	p->armed[i] = on;
}

static void close_fd(struct proc *p, int i)
{
	if (p->fd[i] < 0)
		return;
	arm(p, i, 0);
	close(p->fd[i]);
	p->fd[i] = -1;
}

/* Fail every queued STDIN request with err and close stdin. */
static void stdin_abort(struct proc *p, int err)
{
	p->in_err = EPIPE;
	struct chunk *c;
	while ((c = p->in_head)) {
		p->in_head = c->next;
		port_send_error(c->req_id, err, "write to stdin: the process closed it");
		free(c);
	}
	p->in_tail = NULL;
	p->in_queued = 0;
	close_fd(p, 0);
}

/* Bytes of pipe i this process may still send as OUTPUT (its whole pipe until it is reaped). */
static int tail_open(const struct proc *p, int i)
{
	return p->fd[i] >= 0 && (!p->reaped || p->tail[i] > 0);
}

static void maybe_exit(struct proc *p)
{
	if (p->done || !p->reaped || tail_open(p, 1) || tail_open(p, 2))
		return;
	struct proto_msg m = { .h = { .type = PT_EXIT, .id = 0 } };
	m.u.exit.proc_id = p->id;
	if (WIFSIGNALED(p->status)) {
		m.u.exit.sig = WTERMSIG(p->status);
		m.u.exit.code = 128 + m.u.exit.sig;
	} else {
		m.u.exit.code = WEXITSTATUS(p->status);
	}
	port_send(&m);
	if (p->in_head)
		stdin_abort(p, EPIPE);
	close_fd(p, 0);
	p->done = 1;
	/* Background writers still hold an output pipe: drain it from now on, whatever the credit. */
	for (int i = 1; i <= 2; i++)
		arm(p, i, 1);
}

int procs_run(const struct proto_msg *m)
{
	struct spawned s;
	if (m->u.run.proc_id == 0)
		return fail_msg(EINVAL, "run: proc_id 0");
	if (find_id(m->u.run.proc_id))
		return fail_msg(EEXIST, "run: process %u exists", m->u.run.proc_id);
	if (m->u.run.flags & ~PROTO_RUN_STDIN)
		return fail_msg(EINVAL, "run: unknown flags 0x%x", m->u.run.flags);
	if (m->u.run.argv.count == 0)
		return fail_msg(EINVAL, "run: empty argv");
	struct proc *p = calloc(1, sizeof(*p));
	if (!p)
		return fail("run: allocate process %u", m->u.run.proc_id);
	if (spawn_process(m, &s) < 0) {
		free(p);
		return -1;
	}
	p->id = m->u.run.proc_id;
	p->pid = s.pid;
	p->fd[0] = s.in_w;
	p->fd[1] = s.out_r;
	p->fd[2] = s.err_r;
	p->credit = PROTO_INITIAL_CREDIT;
	p->in_err = EBADF;
	p->w[0] = (struct watch){ W_STDIN, p };
	p->w[1] = (struct watch){ W_STDOUT, p };
	p->w[2] = (struct watch){ W_STDERR, p };
	p->next = g_procs;
	g_procs = p;
	arm(p, 1, 1);
	arm(p, 2, 1);
	return 0;
}

/* Write queued stdin; sends the OK (or ERROR) of each request as it completes. */
static void stdin_flush(struct proc *p)
{
	struct chunk *c;
	while ((c = p->in_head)) {
		if (c->len == 0) {
			close_fd(p, 0);
			p->in_err = EBADF;
		} else {
			ssize_t w = write(p->fd[0], c->data + c->off, c->len - c->off);
			if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
				arm(p, 0, 1);
				return;
			}
			if (w < 0) {
				int e = errno;
				log_info("write stdin of process %u: %s", p->id, strerror(e));
				stdin_abort(p, e);
				return;
			}
			c->off += (size_t)w;
			if (c->off < c->len)
				continue;
		}
		p->in_head = c->next;
		if (!p->in_head)
			p->in_tail = NULL;
		p->in_queued -= c->len;
		port_send_ok(c->req_id);
		free(c);
	}
	arm(p, 0, 0);
}

int procs_stdin(const struct proto_msg *m)
{
	struct proc *p = find_id(m->u.input.proc_id);
	uint32_t len = m->u.input.data.len;
	if (!p)
		return fail_msg(ESRCH, "stdin: no process %u", m->u.input.proc_id);
	if (p->fd[0] < 0)
		return fail_msg(p->in_err, "stdin: stdin of process %u is %s", p->id,
				p->in_err == EPIPE ? "closed by the process" : "not open");
	if (p->in_queued + len > STDIN_QUEUE_MAX)
		return fail_msg(ENOBUFS, "stdin: more than %u bytes queued for process %u", STDIN_QUEUE_MAX, p->id);
	struct chunk *c = malloc(sizeof(*c) + len);
	if (!c)
		return fail("stdin: queue %u bytes", len);
	c->next = NULL;
	c->req_id = m->h.id;
	c->off = 0;
	c->len = len;
	if (len)
		memcpy(c->data, m->u.input.data.p, len);
	if (p->in_tail)
		p->in_tail->next = c;
	else
		p->in_head = c;
	p->in_tail = c;
	p->in_queued += len;
	if (p->in_head == c)
		stdin_flush(p); /* may send the OK at once */
	return 0;
}

int procs_kill(const struct proto_msg *m)
{
	struct proc *p = find_id(m->u.kill.proc_id);
	int sig = m->u.kill.sig;
	if (sig < 1 || sig > 64)
		return fail_msg(EINVAL, "kill: signal %d out of range 1..64", sig);
	if (!p)
		return fail_msg(ESRCH, "kill: no process %u", m->u.kill.proc_id);
	/* The group outlives a reaped leader while a background child holds it: its pid is not reused then. */
	if (kill(-p->pid, sig) < 0)
		return fail("kill process group %d (process %u) with signal %d", (int)p->pid, p->id, sig);
	return 0;
}

void procs_credit(const struct proto_msg *m)
{
	struct proc *p = find_id(m->u.credit.proc_id);
	if (!p)
		return; /* unknown or finished: ignored, as the protocol says */
	p->credit += m->u.credit.bytes;
	/* Once reaped, only a pipe with bytes left to send is worth waking up for. */
	for (int i = 1; i <= 2 && p->credit > 0; i++)
		if (tail_open(p, i))
			arm(p, i, 1);
}

/* n output bytes were sent: at 0 credit both pipes leave the epoll set until the host grants more. */
static void spend_credit(struct proc *p, size_t n)
{
	p->credit -= (uint64_t)n;
	if (p->credit == 0) {
		arm(p, 1, 0);
		arm(p, 2, 0);
	}
}

/* After EXIT: read and discard what background writers send, until the last of them closes the pipe. */
static void drain_output(struct proc *p, int i)
{
	ssize_t r = read(p->fd[i], g_outbuf, sizeof g_outbuf);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r > 0) {
		p->discarded += (uint64_t)r;
		return;
	}
	close_fd(p, i);
	if (p->fd[1] < 0 && p->fd[2] < 0 && p->discarded > 0)
		log_info("process %u: discarded %llu bytes its background processes wrote after it exited", p->id,
			 (unsigned long long)p->discarded);
}

static void read_output(struct proc *p, int i)
{
	size_t want = p->credit < PROTO_MAX_OUTPUT ? (size_t)p->credit : PROTO_MAX_OUTPUT;
	if (p->reaped && p->tail[i] < want)
		want = p->tail[i];
	if (want == 0) {
		if (p->reaped) { /* this pipe's last bytes are out; the other one may still have some */
			arm(p, i, 0);
			maybe_exit(p);
			return;
		}
		arm(p, 1, 0);
		arm(p, 2, 0);
		return;
	}
	size_t n = 0;
	/* Fast path: the bytes already in the pipe go to the port by splice, after their frame header. Saves a copy
	 * of every output byte inside the guest, which is what streaming costs most under TCG. */
	int avail = 0;
	if (g_splice_ok && ioctl(p->fd[i], FIONREAD, &avail) == 0 && avail > 0) {
		n = (size_t)avail < want ? (size_t)avail : want;
		uint8_t head[PROTO_OUTPUT_HEAD];
		proto_encode_output_head(head, p->id, (uint8_t)i, (uint32_t)n);
		port_send_frame(head, sizeof head);
		if (port_splice_all(p->fd[i], n, g_outbuf) < 0) {
			log_info("splice to the host port refused (%s): copying output from now on", g_err.msg);
			g_splice_ok = 0;
		}
	} else {
		ssize_t r = read(p->fd[i], g_outbuf + PROTO_OUTPUT_HEAD, want);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			if (r < 0)
				log_info("read %s of process %u: %s", i == 1 ? "stdout" : "stderr", p->id, strerror(errno));
			close_fd(p, i);
			maybe_exit(p);
			return;
		}
		n = (size_t)r;
		port_send_frame(g_outbuf, proto_encode_output_head(g_outbuf, p->id, (uint8_t)i, (uint32_t)n));
	}
	spend_credit(p, n);
	if (p->reaped) {
		p->tail[i] -= n;
		if (p->tail[i] == 0)
			arm(p, i, 0);
		maybe_exit(p);
	}
}

void procs_event(struct watch *w, uint32_t events)
{
	struct proc *p = w->p;
	int i = w->kind == W_STDIN ? 0 : w->kind == W_STDOUT ? 1 : 2;
	(void)events;
	if (p->fd[i] < 0 || !p->armed[i])
		return; /* stale event from earlier in this batch */
	if (p->done)
		drain_output(p, i);
	else if (i == 0)
		stdin_flush(p);
	else
		read_output(p, i);
}

void procs_reap(void)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return;
		struct proc *p = find_pid(pid);
		if (!p) {
			log_info("reaped orphan pid %d (status 0x%x)", (int)pid, st);
			continue;
		}
		p->reaped = 1;
		p->status = st;
		/* Its last output is what its pipes hold now; later bytes come from background children. */
		for (int i = 1; i <= 2; i++) {
			int avail = 0;
			if (p->fd[i] >= 0 && ioctl(p->fd[i], FIONREAD, &avail) == 0 && avail > 0)
				p->tail[i] = (size_t)avail;
			/* Armed again only where bytes are left and credit allows; EOF seen later just closes it. */
			if (p->tail[i] == 0)
				arm(p, i, 0);
		}
		maybe_exit(p);
	}
}

void procs_collect(void)
{
	struct proc **pp = &g_procs;
	while (*pp) {
		struct proc *p = *pp;
		if (p->done && p->fd[1] < 0 && p->fd[2] < 0) {
			*pp = p->next;
			limits_release(p->id);
			free(p);
		} else {
			pp = &p->next;
		}
	}
}

/* Reaps whatever exited; returns 1 once init has no child left at all (tracked, background or orphan). */
static int reap_all(void)
{
	for (;;) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);
		if (pid > 0)
			continue;
		if (pid < 0 && errno == EINTR)
			continue;
		return pid < 0 && errno == ECHILD;
	}
}

/* During SHUTDOWN: read and discard what every open output pipe holds, so a process whose SIGTERM handler logs to
 * a full pipe is not blocked there until SIGKILL. Nothing more is sent to the host. */
static void discard_output(void)
{
	for (struct proc *p = g_procs; p; p = p->next)
		for (int i = 1; i <= 2; i++)
			while (p->fd[i] >= 0 && read(p->fd[i], g_outbuf, sizeof g_outbuf) > 0)
				;
}

/* Waits until init has no child left or wait_ms passed (by the clock: sleeps stretch under emulation),
 * draining output pipes meanwhile; returns 1 when none is left. */
static int wait_children(int wait_ms)
{
	long long deadline = now_ms() + wait_ms;
	for (;;) {
		discard_output();
		if (reap_all())
			return 1;
		if (now_ms() >= deadline)
			return 0;
		usleep(10000);
	}
}

void procs_shutdown(int wait_ms)
{
	/* Every process in the guest, not only the tracked commands: a background server started with `&` must
	 * get the chance to finish its writes before the final sync. kill(-1) from PID 1 reaches all but init. */
	kill(-1, SIGTERM);
	if (!wait_children(wait_ms)) {
		log_info("shutdown: processes left after %d ms; sending SIGKILL", wait_ms);
		kill(-1, SIGKILL);
		wait_children(1000);
	}
}
