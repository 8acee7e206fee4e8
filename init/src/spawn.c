/* fork + exec for RUN; see spawn.h. */
#define _GNU_SOURCE
#include "spawn.h"
#include "limits.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum step { S_SETSID, S_DUP2, S_CHDIR, S_SETGROUPS, S_SETGID, S_SETUID, S_EXEC, S_LIMITS };
static const char *const STEP_NAMES[] = { "setsid", "dup2", "chdir", "setgroups", "setgid", "setuid", "exec",
					     "join the requestor cgroup" };

struct child_report {
	int32_t step, err;
};

struct spawn_args {
	char *path, *cwd;
	char **argv, **envp;
	const char *search; /* PATH value from envp */
	uid_t uid;
	gid_t gid;
};

static void free_list(char **l)
{
	if (!l)
		return;
	for (char **p = l; *p; p++)
		free(*p);
	free(l);
}

static char **make_list(const struct proto_strlist *l)
{
	char **v = calloc((size_t)l->count + 1, sizeof(char *));
	uint32_t off = 0, i = 0;
	struct proto_str s;
	if (!v)
		return NULL;
	while (i < l->count && proto_strlist_next(l, &off, &s)) {
		if (!(v[i] = strndup(s.p, s.len))) {
			free_list(v);
			return NULL;
		}
		i++;
	}
	return v;
}

static void free_args(struct spawn_args *a)
{
	free(a->path);
	free(a->cwd);
	free_list(a->argv);
	free_list(a->envp);
}

static int make_args(const struct proto_msg *m, struct spawn_args *a)
{
	memset(a, 0, sizeof(*a));
	a->uid = m->u.run.uid;
	a->gid = m->u.run.gid;
	a->path = strndup(m->u.run.path.p, m->u.run.path.len);
	a->cwd = m->u.run.cwd.len ? strndup(m->u.run.cwd.p, m->u.run.cwd.len) : strdup("/");
	a->argv = make_list(&m->u.run.argv);
	a->envp = make_list(&m->u.run.env);
	if (!a->path || !a->cwd || !a->argv || !a->envp) {
		free_args(a);
		return fail("run: copy arguments");
	}
	a->search = DEFAULT_PATH;
	for (char **e = a->envp; *e; e++) {
		if (strncmp(*e, "PATH=", 5) == 0) {
			a->search = *e + 5;
			break;
		}
	}
	return 0;
}

/* execve `file`, searching `search` when it has no slash, as execvpe does but with the given environment.
 * Returns the errno to report: EACCES if some candidate was not executable, else the last relevant error. */
static int exec_search(const char *file, char **argv, char **envp, const char *search)
{
	char buf[PATH_MAX];
	int eacces = 0;
	if (strchr(file, '/')) {
		execve(file, argv, envp);
		return errno;
	}
	if (!*file)
		return ENOENT;
	for (const char *p = search;; p++) {
		const char *e = strchrnul(p, ':');
		size_t dl = (size_t)(e - p);
		int n = snprintf(buf, sizeof(buf), "%.*s/%s", (int)(dl ? dl : 1), dl ? p : ".", file);
		if (n > 0 && (size_t)n < sizeof(buf)) {
			execve(buf, argv, envp);
			switch (errno) {
			case EACCES:
				eacces = 1;
				break;
			case ENOENT: case ENOTDIR: case ESTALE: case ENODEV: case ETIMEDOUT: case ENAMETOOLONG:
				break;
			default:
				return errno;
			}
		}
		if (!*e)
			break;
		p = e;
	}
	return eacces ? EACCES : ENOENT;
}

__attribute__((noreturn)) static void child_fail(int fd, enum step step, int err)
{
	struct child_report r = { step, err };
	ssize_t w = write(fd, &r, sizeof(r));
	(void)w; /* if the report is lost, the parent sees EOF and the process exits 127 */
	_exit(127);
}

__attribute__((noreturn)) static void child(const struct spawn_args *a, int in_r, int out_w, int err_w, int rep)
{
	sigset_t none;
	if (limits_enter() < 0)
		child_fail(rep, S_LIMITS, errno);
	if (setsid() < 0)
		child_fail(rep, S_SETSID, errno);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < _NSIG; sig++)
		signal(sig, SIG_DFL); /* fails harmlessly for SIGKILL, SIGSTOP and the libc-reserved ones */
	if (dup2(in_r, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		child_fail(rep, S_DUP2, errno);
	if (chdir(a->cwd) < 0)
		child_fail(rep, S_CHDIR, errno);
	if (setgroups(0, NULL) < 0)
		child_fail(rep, S_SETGROUPS, errno);
	if (setgid(a->gid) < 0)
		child_fail(rep, S_SETGID, errno);
	if (setuid(a->uid) < 0)
		child_fail(rep, S_SETUID, errno);
	child_fail(rep, S_EXEC, exec_search(a->path, a->argv, a->envp, a->search));
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Wait for the child's report: 0 when exec succeeded (EOF), -1 with the last error set otherwise. */
static int await_exec(pid_t pid, int rep, const struct spawn_args *a)
{
	struct child_report r;
	ssize_t n;
	do
		n = read(rep, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	waitpid(pid, NULL, 0);
	if (n != (ssize_t)sizeof(r) || r.step < 0 || r.step > S_LIMITS)
		return fail_msg(EIO, "exec %s: lost the child's report", a->path);
	errno = r.err;
	switch (r.step) {
	case S_CHDIR: return fail("chdir %s", a->cwd);
	case S_SETGID: return fail("setgid %u", (unsigned)a->gid);
	case S_SETUID: return fail("setuid %u", (unsigned)a->uid);
	case S_EXEC: return fail("exec %s", a->path);
	default: return fail("%s", STEP_NAMES[r.step]);
	}
}

int spawn_process(const struct proto_msg *m, struct spawned *s)
{
	struct spawn_args a;
	/* [0,1] stdin, [2,3] stdout, [4,5] stderr, [6,7] report; the parent keeps 1 (if stdin), 2, 4, 6 */
	int fds[8] = { -1, -1, -1, -1, -1, -1, -1, -1 };
	if (make_args(m, &a) < 0)
		return -1;
	for (int i = 0; i < 8; i += 2) {
		if (pipe2(fds + i, O_CLOEXEC) < 0) {
			fail("run: pipe");
			goto fail;
		}
	}
	if (limits_prepare(m->u.run.proc_id) < 0)
		goto fail;
	pid_t pid = fork();
	if (pid < 0) {
		fail("run: fork");
		limits_forked(m->u.run.proc_id, 0);
		goto fail;
	}
	if (pid == 0)
		child(&a, fds[0], fds[3], fds[5], fds[7]);
	close(fds[0]);
	close(fds[3]);
	close(fds[5]);
	close(fds[7]);
	fds[0] = fds[3] = fds[5] = fds[7] = -1;
	int r = await_exec(pid, fds[6], &a);
	limits_forked(m->u.run.proc_id, r == 0);
	close(fds[6]);
	fds[6] = -1;
	if (r < 0)
		goto fail;
	if (!(m->u.run.flags & PROTO_RUN_STDIN)) {
		close(fds[1]); /* the process sees EOF on stdin at once */
		fds[1] = -1;
	}
	for (int i = 1; i <= 4; i++)
		if (fds[i] >= 0)
			fcntl(fds[i], F_SETFL, O_NONBLOCK);
	s->pid = pid;
	s->in_w = fds[1];
	s->out_r = fds[2];
	s->err_r = fds[4];
	free_args(&a);
	return 0;
fail:
	close_all(fds, 8);
	free_args(&a);
	return -1;
}
