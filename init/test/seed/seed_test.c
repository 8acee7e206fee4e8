/*
 * Test of seed_tree() (src/seed.c) on real directories of the host: a tree with every kind of entry, owners, modes,
 * times and hard links is copied and read back with lstat. Run as `make -C init seed-test`; as root it also checks
 * owners (else those checks are skipped, saying so). Nothing outside its mkdtemp folder is touched.
 */
#define _GNU_SOURCE
#include "seed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* at() hands out 8 rotating buffers: never keep its result across more than 8 calls. */
/* stubs for what seed.c uses from log.c */
static char g_last[512];
static int g_fails;
void log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}
int fail(const char *fmt, ...)
{
	va_list ap;
	int e = errno;
	va_start(ap, fmt);
	vsnprintf(g_last, sizeof(g_last), fmt, ap);
	va_end(ap);
	g_fails++;
	printf("# fail: %s: %s\n", g_last, strerror(e));
	errno = e;
	return -1;
}
int fail_msg(int no, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g_last, sizeof(g_last), fmt, ap);
	va_end(ap);
	g_fails++;
	printf("# fail: %s\n", g_last);
	errno = no;
	return -1;
}

#include "../tap.h"

static char g_base[256];
static int g_root;

static void die_setup(const char *what)
{
	printf("Bail out! setup: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void mk(const char *path, mode_t mode)
{
	if (mkdir(path, 0700) < 0 || chmod(path, mode) < 0)
		die_setup(path);
}

static void put(const char *path, const char *text, mode_t mode, uid_t uid, gid_t gid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0)
		die_setup(path);
	if (g_root && chown(path, uid, gid) < 0)
		die_setup(path);
	if (chmod(path, mode) < 0)
		die_setup(path);
}

static int dir_fd(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		die_setup(path);
	return fd;
}

static int seed(const char *src, const char *dst, struct seed_stats *st)
{
	int s = dir_fd(src), d = dir_fd(dst);
	int r = seed_tree(s, d, dst, st);
	close(s);
	close(d);
	return r;
}

static char *at(const char *dir, const char *rel)
{
	static char buf[8][1024];
	static int i;
	char *b = buf[i++ % 8];
	snprintf(b, 1024, "%s/%s", dir, rel);
	return b;
}

static int same_meta(const char *a, const char *b, int owners)
{
	struct stat x, y;
	if (lstat(a, &x) < 0 || lstat(b, &y) < 0)
		return 0;
	int same = (x.st_mode == y.st_mode) && x.st_size == y.st_size &&
		   (S_ISLNK(x.st_mode) || x.st_mtim.tv_sec == y.st_mtim.tv_sec) &&
		   (!owners || (x.st_uid == y.st_uid && x.st_gid == y.st_gid));
	if (!same)
		printf("# %s: mode %o/%o size %lld/%lld mtime %lld/%lld owner %u:%u/%u:%u\n", b, x.st_mode, y.st_mode,
		       (long long)x.st_size, (long long)y.st_size, (long long)x.st_mtim.tv_sec, (long long)y.st_mtim.tv_sec,
		       x.st_uid, x.st_gid, y.st_uid, y.st_gid);
	return same;
}

static int content_is(const char *path, const char *text)
{
	char buf[256] = { 0 };
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n == (ssize_t)strlen(text) && memcmp(buf, text, (size_t)n) == 0;
}

static int is_empty(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "[ -z \"$(ls -A '%s' | grep -vx lost+found)\" ]", dir);
	return system(cmd) == 0;
}

static void test_full_tree(void)
{
	char src[300], dst[300];
	snprintf(src, sizeof(src), "%s/src", g_base);
	snprintf(dst, sizeof(dst), "%s/dst", g_base);
	mk(src, 0750);
	put(at(src, "plain"), "plain\n", 0640, 1234, 5678);
	put(at(src, "setuid"), "suid\n", 04755, 1000, 1000);
	mk(at(src, "ro"), 0755);
	put(at(src, "ro/inner"), "inner\n", 0444, 0, 0);
	if (chmod(at(src, "ro"), 0555) < 0)
		die_setup("chmod ro");
	mk(at(src, "empty"), 0711);
	if (symlink("/etc/passwd", at(src, "abs-link")) < 0 || symlink("../../../outside", at(src, "rel-link")) < 0 ||
	    link(at(src, "plain"), at(src, "hard")) < 0 || mkfifo(at(src, "fifo"), 0620) < 0)
		die_setup("links");
	mk(at(src, "a"), 0755);
	mk(at(src, "a/b"), 0700);
	put(at(src, "a/b/deep"), "deep\n", 0600, 42, 43);
	if (link(at(src, "plain"), at(src, "a/b/hard2")) < 0)
		die_setup("hard2");
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	if (utimensat(AT_FDCWD, at(src, "a/b/deep"), old, 0) < 0 || utimensat(AT_FDCWD, at(src, "a"), old, 0) < 0)
		die_setup("times");
	mk(dst, 0777);
	if (mkdir(at(dst, "lost+found"), 0700) < 0)
		die_setup("lost+found");

	struct seed_stats st;
	ok(seed(src, dst, &st) == 0, "a full tree seeds");
	ok(st.files == 7 && st.dirs == 4 && st.links == 2, "counts: %lu files, %lu folders, %lu hard links", st.files,
	   st.dirs, st.links);
	ok(st.owners_kept == 1, "owners kept (chown allowed)");
	const char *names[] = { "plain", "setuid", "ro", "ro/inner", "empty", "abs-link", "rel-link", "fifo", "a", "a/b", "a/b/deep" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ok(same_meta(at(src, names[i]), at(dst, names[i]), g_root), "%s: type, mode, size, mtime%s as in the image",
		   names[i], g_root ? ", owner" : "");
	ok(same_meta(src, dst, g_root), "the volume root takes the image folder's mode%s", g_root ? " and owner" : "");
	ok(content_is(at(dst, "plain"), "plain\n") && content_is(at(dst, "a/b/deep"), "deep\n") &&
	   content_is(at(dst, "ro/inner"), "inner\n"), "file contents copied");
	char t[64] = { 0 };
	ok(readlink(at(dst, "abs-link"), t, sizeof(t) - 1) > 0 && strcmp(t, "/etc/passwd") == 0,
	   "an absolute symlink is recreated as it is, not resolved");
	memset(t, 0, sizeof(t));
	ok(readlink(at(dst, "rel-link"), t, sizeof(t) - 1) > 0 && strcmp(t, "../../../outside") == 0,
	   "a symlink out of the volume is recreated as it is");
	struct stat a, b, c;
	ok(lstat(at(dst, "plain"), &a) == 0 && lstat(at(dst, "hard"), &b) == 0 && lstat(at(dst, "a/b/hard2"), &c) == 0 &&
	   a.st_ino == b.st_ino && a.st_ino == c.st_ino && a.st_nlink == 3, "hard links stay one file (nlink %lu)",
	   (unsigned long)a.st_nlink);
	struct stat lf;
	ok(lstat(at(dst, "lost+found"), &lf) == 0 && S_ISDIR(lf.st_mode), "lost+found is left alone");

	/* Seeding again: the volume has files now, so nothing changes. */
	put(at(dst, "provider-file"), "mine\n", 0600, 0, 0);
	if (unlink(at(dst, "plain")) < 0)
		die_setup("unlink plain");
	ok(seed(src, dst, &st) == 0 && st.files == 0 && st.dirs == 0, "a volume with files is not seeded again");
	ok(access(at(dst, "plain"), F_OK) < 0 && content_is(at(dst, "provider-file"), "mine\n"),
	   "its files stay as they were");
}

static void test_empty_source(void)
{
	char src[300], dst[300];
	snprintf(src, sizeof(src), "%s/src-empty", g_base);
	snprintf(dst, sizeof(dst), "%s/dst-empty", g_base);
	mk(src, 0700);
	mk(dst, 0755);
	struct seed_stats st;
	struct stat before, after;
	stat(dst, &before);
	ok(seed(src, dst, &st) == 0 && st.files + st.dirs == 0, "an empty image folder seeds nothing");
	stat(dst, &after);
	ok(before.st_mode == after.st_mode, "and leaves the volume's mode as it was");
}

static void test_failure_cleans_up(void)
{
	char src[300], dst[300];
	snprintf(src, sizeof(src), "%s/src-deep", g_base);
	snprintf(dst, sizeof(dst), "%s/dst-deep", g_base);
	char path[8192];
	snprintf(path, sizeof(path), "%s", src);
	mk(path, 0755);
	put(at(src, "top"), "top\n", 0644, 0, 0);
	for (int i = 0; i < 140; i++) {
		strcat(path, "/d");
		mk(path, 0755);
	}
	mk(dst, 0755);
	struct seed_stats st;
	int fails = g_fails;
	errno = 0;
	ok(seed(src, dst, &st) < 0 && errno == ELOOP && g_fails == fails + 1, "a tree nested past the bound fails (ELOOP)");
	ok(strstr(g_last, "nests deeper than") != NULL, "the message says why: %s", g_last);
	ok(is_empty(dst), "what was copied before the failure is removed");
}

int main(void)
{
	g_root = geteuid() == 0;
	if (!g_root)
		printf("# not root: owners are not checked\n");
	snprintf(g_base, sizeof(g_base), "/tmp/seed-test-XXXXXX");
	if (!mkdtemp(g_base))
		die_setup("mkdtemp");
	umask(0);
	test_full_tree();
	test_empty_source();
	test_failure_cleans_up();
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' && rm -rf '%s'", g_base, g_base);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", g_base);
	printf("1..%d\n", g_n);
	if (g_failed)
		printf("# %d of %d failed\n", g_failed, g_n);
	return g_failed ? 1 : 0;
}
