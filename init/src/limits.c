/*
 * Requestor processes run in one cgroup v2 group, /sys/fs/cgroup/golem, so that what they do cannot starve init,
 * which is PID 1 and the agent at once (a fork bomb once left the activity unable to answer for minutes):
 *  - pids.max bounds the processes they can have (a fork bomb meets EAGAIN, not the whole machine);
 *  - memory.max is the guest's memory minus a reserve, so the group's own OOM killer stops a hog while init and the
 *    kernel keep the reserve;
 *  - cpu.weight for the group, and init at nice -10: under contention init gets most of the CPU it asks for.
 * init joins no group (it stays in the root cgroup, which no limit applies to). A new command is moved into the group
 * by its own child before exec; moving a process in succeeds even at pids.max (the kernel limits forks, not
 * migrations), so a command started while a fork bomb holds every pid still runs, and `echo` gets its answer.
 */
#define _GNU_SOURCE
#include "limits.h"
#include "log.h"
#include "mounts.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define CGROUP_ROOT "/sys/fs/cgroup"
#define GROUP CGROUP_ROOT "/golem"
#define INIT_NICE -10

static int g_procs = -1; /* GROUP/cgroup.procs, close-on-exec */

static int put(const char *file, const char *value)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("limits: open %s", file);
	ssize_t n = write(fd, value, strlen(value));
	int e = errno;
	close(fd);
	if (n != (ssize_t)strlen(value)) {
		errno = n < 0 ? e : EIO;
		return fail("limits: write \"%s\" to %s", value, file);
	}
	return 0;
}

/* MemTotal of /proc/meminfo in bytes; 0 if unreadable. */
static uint64_t mem_total(void)
{
	char buf[4096];
	int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	unsigned long long kib = 0;
	const char *p = strstr(buf, "MemTotal:");
	if (!p || sscanf(p, "MemTotal: %llu kB", &kib) != 1)
		return 0;
	return (uint64_t)kib * 1024;
}

int limits_apply(const struct proto_msg *m)
{
	char pids[32], mem[32], v[32];
	if (g_procs >= 0)
		return fail_msg(EEXIST, "limits: already applied");
	if (!mounts_root_done())
		return fail_msg(EINVAL, "limits: before MOUNT_ROOT");
	if (mkdir_p(CGROUP_ROOT, 0755) < 0)
		return -1;
	if (mount("cgroup2", CGROUP_ROOT, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 && errno != EBUSY)
		return fail("limits: mount cgroup2 on %s", CGROUP_ROOT);
	if (put(CGROUP_ROOT "/cgroup.subtree_control", "+pids +memory +cpu") < 0)
		return -1;
	if (mkdir(GROUP, 0755) < 0 && errno != EEXIST)
		return fail("limits: mkdir %s", GROUP);
	if (m->u.limits.pids_max)
		snprintf(pids, sizeof(pids), "%" PRIu32, m->u.limits.pids_max);
	else
		snprintf(pids, sizeof(pids), "max");
	if (put(GROUP "/pids.max", pids) < 0)
		return -1;
	snprintf(mem, sizeof(mem), "max");
	uint64_t total = mem_total(), reserve = m->u.limits.mem_reserve;
	if (reserve) {
		if (!total)
			return fail_msg(EIO, "limits: no MemTotal in /proc/meminfo");
		/* A reserve the guest cannot afford still leaves the requestor half of it. */
		uint64_t max = reserve < total / 2 ? total - reserve : total / 2;
		snprintf(mem, sizeof(mem), "%" PRIu64, max & ~(uint64_t)4095);
		if (put(GROUP "/memory.max", mem) < 0)
			return -1;
	}
	snprintf(v, sizeof(v), "%" PRIu32, m->u.limits.cpu_weight);
	if (put(GROUP "/cpu.weight", v) < 0)
		return -1;
	if (setpriority(PRIO_PROCESS, 0, INIT_NICE) < 0)
		return fail("limits: setpriority %d", INIT_NICE);
	g_procs = open(GROUP "/cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (g_procs < 0)
		return fail("limits: open %s/cgroup.procs", GROUP);
	log_info("limits: pids.max %s, memory.max %s, cpu.weight %s, init nice %d", pids, mem, v, INIT_NICE);
	return 0;
}

int limits_enter(void)
{
	/* Nice and priority are inherited across fork: the requestor starts at 0, not at init's -10. */
	if (setpriority(PRIO_PROCESS, 0, 0) < 0)
		return -1;
	if (g_procs < 0)
		return 0;
	/* "0" moves the writer itself. */
	return write(g_procs, "0", 1) == 1 ? 0 : -1;
}
