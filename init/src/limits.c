/*
 * Requestor processes run in one cgroup v2 group, /sys/fs/cgroup/golem, so that what they do cannot starve init,
 * which is PID 1 and the agent at once (a fork bomb once left the activity unable to answer for minutes):
 *  - pids.max bounds the processes they can have (a fork bomb meets EAGAIN, not the whole machine);
 *  - memory.max is the guest's memory minus a reserve, so the group's own OOM killer stops a hog while init and the
 *    kernel keep the reserve;
 *  - cpu.weight for the group, and init at nice -10: under contention init gets most of the CPU it asks for.
 * init joins no group (it stays in the root cgroup, which no limit applies to). Each command gets a leaf of its own,
 * golem/p<proc_id>, into which its child moves itself before exec; moving a process in succeeds even at pids.max
 * (the kernel limits forks, not migrations). The cpu controller splits golem's share between the leaves, so a
 * command started while a fork bomb's thousand processes spin still gets half of it, not a thousandth, and `echo`
 * gets its answer. A leaf is removed once its last process is gone (at once, or on a later command).
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

static int g_applied;
static int g_child_procs = -1; /* the next command's leaf cgroup.procs, open between fork and exec */

/* Leaves whose commands ended while processes were still in them: removed when they empty. */
#define MAX_LINGERING 1024
static uint32_t g_lingering[MAX_LINGERING];
static int g_n_lingering;

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
	if (g_applied)
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
	/* Leaves share golem's CPU per command; golem itself then holds no process (cgroup v2's rule). */
	if (put(GROUP "/cgroup.subtree_control", "+cpu") < 0)
		return -1;
	if (setpriority(PRIO_PROCESS, 0, INIT_NICE) < 0)
		return fail("limits: setpriority %d", INIT_NICE);
	g_applied = 1;
	log_info("limits: pids.max %s, memory.max %s, cpu.weight %s, init nice %d", pids, mem, v, INIT_NICE);
	return 0;
}

static void leaf_path(char *buf, size_t cap, uint32_t id)
{
	snprintf(buf, cap, GROUP "/p%" PRIu32, id);
}

/* rmdir of an empty leaf; 0 when gone, -1 while processes are still in it. */
static int remove_leaf(uint32_t id)
{
	char path[64];
	leaf_path(path, sizeof(path), id);
	return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
}

static void sweep(void)
{
	int kept = 0;
	for (int i = 0; i < g_n_lingering; i++)
		if (remove_leaf(g_lingering[i]) < 0)
			g_lingering[kept++] = g_lingering[i];
	g_n_lingering = kept;
}

int limits_prepare(uint32_t proc_id)
{
	char path[96];
	if (!g_applied)
		return 0;
	sweep();
	leaf_path(path, sizeof(path), proc_id);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return fail("run: mkdir %s", path);
	strcat(path, "/cgroup.procs");
	g_child_procs = open(path, O_WRONLY | O_CLOEXEC);
	if (g_child_procs < 0)
		return fail("run: open %s", path);
	return 0;
}

void limits_forked(uint32_t proc_id, int started)
{
	if (g_child_procs >= 0)
		close(g_child_procs);
	g_child_procs = -1;
	if (!started && g_applied)
		limits_release(proc_id);
}

void limits_release(uint32_t proc_id)
{
	if (!g_applied || remove_leaf(proc_id) == 0)
		return;
	if (g_n_lingering < MAX_LINGERING)
		g_lingering[g_n_lingering++] = proc_id;
}

int limits_enter(void)
{
	/* Nice and priority are inherited across fork: the requestor starts at 0, not at init's -10. */
	if (setpriority(PRIO_PROCESS, 0, 0) < 0)
		return -1;
	if (g_child_procs < 0)
		return 0;
	/* "0" moves the writer itself. */
	return write(g_child_procs, "0", 1) == 1 ? 0 : -1;
}
