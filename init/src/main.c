/*
 * ya-init: PID 1 of the ya-runtime-vm guest and its agent (init/README.md, docs/guest-protocol.md).
 *
 * Boot order:
 *   1. refuse to run unless PID 1 (it reboots the machine it runs on);
 *   2. make sure fds 0-2 exist (the console), so pipes created later never land on them;
 *   3. block every signal except the synchronous faults; they arrive through a signalfd, never a handler;
 *   4. mount /proc, /sys, /dev in the initramfs;
 *   5. bring the loopback interface up (net.c; a failure is logged, not fatal: no command needs it to start);
 *   6. find the virtio-serial port named "yagent" and open it;
 *   7. serve the protocol in the event loop (loop.c), which never returns.
 * Any other failure here is fatal: die() logs it, syncs and reboots, which ends the VM (QEMU runs with -no-reboot).
 */
#define _GNU_SOURCE
#include "log.h"
#include "loop.h"
#include "mounts.h"
#include "net.h"
#include "port.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define PORT_WAIT_MS 10000

/* Signals the kernel raises for a fault in init itself: blocking them would hang or kill init silently. */
static const int SYNC_SIGNALS[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGTRAP };

static int block_signals(void)
{
	sigset_t set;
	sigfillset(&set);
	for (size_t i = 0; i < sizeof(SYNC_SIGNALS) / sizeof(SYNC_SIGNALS[0]); i++)
		sigdelset(&set, SYNC_SIGNALS[i]);
	if (sigprocmask(SIG_SETMASK, &set, NULL) < 0)
		return fail("sigprocmask");
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return fail("signalfd");
	return fd;
}

/* The kernel opens /dev/console as fds 0-2 for init when the initramfs has it; fill any gap. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int n = open("/dev/console", O_RDWR | O_NOCTTY);
		if (n < 0)
			n = open("/dev/null", O_RDWR);
		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
}

int main(void)
{
	if (getpid() != 1) {
		fprintf(stderr, "ya-init: must run as PID 1 (it ends the machine it runs on)\n");
		return 1;
	}
	ensure_std_fds();
	int sigfd = block_signals();
	if (sigfd < 0)
		die("boot: %s", g_err.msg);
	if (mounts_early() < 0)
		die("boot: %s", g_err.msg);
	ensure_std_fds(); /* /dev/null exists now, should the console be missing */
	net_loopback_up(); /* fail() has logged why, if it failed */
	g_port_fd = port_open(PORT_NAME, PORT_WAIT_MS);
	if (g_port_fd < 0)
		die("boot: %s", g_err.msg);
	log_info("serving the host on port %s", PORT_NAME);
	loop_run(sigfd);
}
