/*
 * Console logging, the last-error record and the fatal path. See log.h.
 *
 * The console is fd 2, which the kernel opened on /dev/console for init (main.c makes sure fds 0-2 exist).
 */
#include "log.h"
#include "proto.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

struct last_err g_err;
int (*log_to_host)(int level, const char *msg);

static void console(const char *prefix, const char *msg)
{
	char line[ERR_MSG_MAX + 64];
	int n = snprintf(line, sizeof(line), "ya-init: %s%s\n", prefix, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	const char *p = line;
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, (size_t)n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere else to report it */
		p += w;
		n -= (int)w;
	}
}

static void to_host(int level, const char *msg)
{
	static int busy; /* a failing port write must not recurse into the log */
	if (!log_to_host || busy)
		return;
	busy = 1;
	log_to_host(level, msg);
	busy = 0;
}

static int vfail(int no, int with_strerror, const char *fmt, va_list ap)
{
	char what[ERR_MSG_MAX / 2];
	vsnprintf(what, sizeof(what), fmt, ap);
	g_err.no = no;
	if (with_strerror)
		snprintf(g_err.msg, sizeof(g_err.msg), "%s: %s", what, strerror(no));
	else
		snprintf(g_err.msg, sizeof(g_err.msg), "%s", what);
	console("", g_err.msg);
	errno = no;
	return -1;
}

int fail(const char *fmt, ...)
{
	int no = errno;
	va_list ap;
	va_start(ap, fmt);
	vfail(no, 1, fmt, ap);
	va_end(ap);
	return -1;
}

int fail_msg(int no, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(no, 0, fmt, ap);
	va_end(ap);
	return -1;
}

void log_info(const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	console("", msg);
}

void log_warn(const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	console("warning: ", msg);
	to_host(PROTO_LOG_WARN, msg);
}

void die(const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	console("fatal: ", msg);
	to_host(PROTO_LOG_FATAL, msg);
	console("", "syncing and ending the VM");
	kill(-1, SIGKILL); /* every process but init: no I/O racing the device reset */
	sync();
	reboot(RB_AUTOBOOT);
	/* PID 1 must never exit (the kernel would panic); if reboot itself failed, wait forever. */
	console("", "reboot failed; halting");
	for (;;)
		pause();
}
