/*
 * Seeding a volume: see seed.h. Docker copies an image's files under a VOLUME into a new, empty volume; we copy in
 * the guest, from the directory the mount covers, so owners and modes come out as the image has them (a copy on the
 * host as the provider's user could not set them). Every name is opened relative to its parent's descriptor with
 * O_NOFOLLOW and symlinks are recreated from their text, so no link is resolved, on the host or in the guest.
 */
#define _GNU_SOURCE
#include "seed.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Nesting bound: two descriptors and a DIR per level stay far below init's descriptor limit. */
#define SEED_MAX_DEPTH 128

struct link_seen {
	dev_t dev;
	ino_t ino;
	char *path; /* relative to the volume root */
};

struct seed {
	int dst_root;
	const char *what;
	char path[PATH_MAX]; /* relative path of the entry being copied, for messages and hard links */
	size_t len;
	struct link_seen *links;
	size_t n_links, cap_links;
	struct seed_stats *st;
};

static const char *here(const struct seed *s)
{
	return s->len ? s->path : ".";
}

static int push(struct seed *s, const char *name)
{
	size_t n = strlen(name), need = s->len + (s->len ? 1 : 0) + n;
	if (need >= sizeof(s->path))
		return fail_msg(ENAMETOOLONG, "seed %s: path under %s too long", s->what, here(s));
	if (s->len)
		s->path[s->len++] = '/';
	memcpy(s->path + s->len, name, n + 1);
	s->len += n;
	return 0;
}

static void pop(struct seed *s, size_t len)
{
	s->len = len;
	s->path[len] = 0;
}

/* chown that tolerates a volume refusing it (9p or virtio-fs without the privilege): recorded, not fatal. */
static int own(struct seed *s, int dirfd, const char *name, const struct stat *st, int flags)
{
	if (fchownat(dirfd, name, st->st_uid, st->st_gid, flags) == 0)
		return 0;
	if (errno == EPERM || errno == EINVAL || errno == EOPNOTSUPP) {
		s->st->owners_kept = 0;
		return 0;
	}
	return fail("seed %s: chown %s", s->what, here(s));
}

static int times_of(struct seed *s, int dirfd, const char *name, const struct stat *st, int flags)
{
	struct timespec t[2] = { st->st_atim, st->st_mtim };
	if (utimensat(dirfd, name, t, flags) < 0 && !(errno == EOPNOTSUPP && (flags & AT_SYMLINK_NOFOLLOW)))
		return fail("seed %s: set times of %s", s->what, here(s));
	return 0;
}

/* Owner, then mode (chown clears set-id bits), then times, of an entry open as fd. */
static int meta_fd(struct seed *s, int fd, const struct stat *st)
{
	if (own(s, fd, "", st, AT_EMPTY_PATH) < 0)
		return -1;
	if (fchmod(fd, st->st_mode & 07777) < 0)
		return fail("seed %s: chmod %s", s->what, here(s));
	struct timespec t[2] = { st->st_atim, st->st_mtim };
	if (futimens(fd, t) < 0)
		return fail("seed %s: set times of %s", s->what, here(s));
	return 0;
}

static int copy_data(struct seed *s, int in, int out, off_t size)
{
	static char buf[65536];
	off_t done = 0;
	int use_sendfile = 1;
	while (done < size) {
		ssize_t n;
		if (use_sendfile) {
			n = sendfile(out, in, NULL, (size_t)(size - done > (1 << 30) ? 1 << 30 : size - done));
			if (n < 0 && (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
				use_sendfile = 0;
				continue;
			}
		} else {
			n = read(in, buf, sizeof(buf));
			if (n > 0) {
				for (ssize_t off = 0; off < n;) {
					ssize_t w = write(out, buf + off, (size_t)(n - off));
					if (w < 0 && errno == EINTR)
						continue;
					if (w < 0)
						return fail("seed %s: write %s", s->what, here(s));
					off += w;
				}
			}
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("seed %s: copy %s", s->what, here(s));
		if (n == 0)
			break; /* the image file is shorter than its stat said: squashfs does not change, so never */
		done += n;
	}
	s->st->bytes += (unsigned long long)done;
	return 0;
}

static const char *linked(struct seed *s, const struct stat *st)
{
	for (size_t i = 0; i < s->n_links; i++)
		if (s->links[i].dev == st->st_dev && s->links[i].ino == st->st_ino)
			return s->links[i].path;
	return NULL;
}

static int remember_link(struct seed *s, const struct stat *st)
{
	if (s->n_links == s->cap_links) {
		size_t cap = s->cap_links ? s->cap_links * 2 : 64;
		struct link_seen *n = realloc(s->links, cap * sizeof(*n));
		if (!n)
			return fail("seed %s: hard link table", s->what);
		s->links = n;
		s->cap_links = cap;
	}
	char *p = strdup(s->path);
	if (!p)
		return fail("seed %s: hard link table", s->what);
	s->links[s->n_links++] = (struct link_seen){ st->st_dev, st->st_ino, p };
	return 0;
}

static int copy_file(struct seed *s, int src_dir, int dst_dir, const char *name, const struct stat *st)
{
	if (st->st_nlink > 1) {
		const char *first = linked(s, st);
		if (first) {
			if (linkat(s->dst_root, first, dst_dir, name, 0) < 0)
				return fail("seed %s: link %s to %s", s->what, here(s), first);
			s->st->links++;
			return 0;
		}
	}
	int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return fail("seed %s: open %s in the image", s->what, here(s));
	int out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return fail("seed %s: create %s", s->what, here(s));
	}
	int r = copy_data(s, in, out, st->st_size);
	if (r == 0)
		r = meta_fd(s, out, st);
	close(in);
	if (close(out) < 0 && r == 0)
		r = fail("seed %s: close %s", s->what, here(s));
	if (r == 0 && st->st_nlink > 1)
		r = remember_link(s, st);
	if (r == 0)
		s->st->files++;
	return r;
}

static int copy_symlink(struct seed *s, int src_dir, int dst_dir, const char *name, const struct stat *st)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(src_dir, name, target, sizeof(target));
	if (n < 0)
		return fail("seed %s: readlink %s", s->what, here(s));
	if ((size_t)n >= sizeof(target))
		return fail_msg(ENAMETOOLONG, "seed %s: symlink %s: target too long", s->what, here(s));
	target[n] = 0;
	if (symlinkat(target, dst_dir, name) < 0)
		return fail("seed %s: symlink %s", s->what, here(s));
	if (own(s, dst_dir, name, st, AT_SYMLINK_NOFOLLOW) < 0 || times_of(s, dst_dir, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	s->st->files++;
	return 0;
}

/* FIFOs and device nodes; a volume that refuses a device node (no privilege) gets none, and the count says so. */
static int copy_node(struct seed *s, int src_dir, int dst_dir, const char *name, const struct stat *st)
{
	(void)src_dir;
	if (mknodat(dst_dir, name, (st->st_mode & S_IFMT) | 0600, st->st_rdev) < 0) {
		if (errno == EPERM || errno == EOPNOTSUPP) {
			s->st->skipped++;
			return 0;
		}
		return fail("seed %s: mknod %s", s->what, here(s));
	}
	if (own(s, dst_dir, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (fchmodat(dst_dir, name, st->st_mode & 07777, 0) < 0)
		return fail("seed %s: chmod %s", s->what, here(s));
	if (times_of(s, dst_dir, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	s->st->files++;
	return 0;
}

static int copy_dir(struct seed *s, int src_dir, int dst_dir, int depth);

/* A fresh open of the directory fd names: a dup() would share its read position with every other reader. */
static DIR *open_listing(int dir)
{
	int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

static int copy_subdir(struct seed *s, int src_dir, int dst_dir, const char *name, const struct stat *st, int depth)
{
	if (depth >= SEED_MAX_DEPTH)
		return fail_msg(ELOOP, "seed %s: %s nests deeper than %d", s->what, s->path, SEED_MAX_DEPTH);
	if (mkdirat(dst_dir, name, 0700) < 0)
		return fail("seed %s: mkdir %s", s->what, here(s));
	int in = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return fail("seed %s: open %s in the image", s->what, here(s));
	int out = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (out < 0) {
		close(in);
		return fail("seed %s: open %s", s->what, here(s));
	}
	int r = copy_dir(s, in, out, depth + 1);
	/* Mode and times last: a read-only directory is filled first, and filling it changed its mtime. */
	if (r == 0)
		r = meta_fd(s, out, st);
	if (r == 0)
		s->st->dirs++;
	close(in);
	close(out);
	return r;
}

static int copy_dir(struct seed *s, int src_dir, int dst_dir, int depth)
{
	DIR *d = open_listing(src_dir);
	if (!d)
		return fail("seed %s: opendir %s", s->what, here(s));
	int r = 0;
	size_t len = s->len;
	struct dirent *e;
	errno = 0;
	while (r == 0 && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		struct stat st;
		if ((r = push(s, e->d_name)) < 0)
			break;
		if (fstatat(src_dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = fail("seed %s: stat %s in the image", s->what, here(s));
			break;
		}
		switch (st.st_mode & S_IFMT) {
		case S_IFDIR: r = copy_subdir(s, src_dir, dst_dir, e->d_name, &st, depth); break;
		case S_IFREG: r = copy_file(s, src_dir, dst_dir, e->d_name, &st); break;
		case S_IFLNK: r = copy_symlink(s, src_dir, dst_dir, e->d_name, &st); break;
		case S_IFIFO:
		case S_IFCHR:
		case S_IFBLK: r = copy_node(s, src_dir, dst_dir, e->d_name, &st); break;
		default: s->st->skipped++; break; /* sockets: only a live process gives them meaning */
		}
		pop(s, len);
		if (r == 0)
			errno = 0; /* readdir reports an error only through errno */
	}
	if (r == 0 && errno != 0)
		r = fail("seed %s: readdir %s", s->what, here(s));
	closedir(d);
	return r;
}

/* 1 when dir has an entry other than "." "..", and, if allow_lost_found, "lost+found"; -1 on error. */
static int has_entries(int dir, int allow_lost_found)
{
	DIR *d = open_listing(dir);
	if (!d)
		return -1;
	struct dirent *e;
	int found = 0;
	while (!found && (e = readdir(d)))
		found = strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
			!(allow_lost_found && strcmp(e->d_name, "lost+found") == 0);
	closedir(d);
	return found;
}

/* Best effort removal of everything under dir but "lost+found" (after a failed seed). */
static void empty_dir(int dir, int depth)
{
	DIR *d = open_listing(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || (depth == 0 && !strcmp(e->d_name, "lost+found")))
			continue;
		if (unlinkat(dir, e->d_name, 0) == 0 || errno != EISDIR)
			continue;
		int sub = openat(dir, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0) {
			fchmod(sub, 0700);
			if (depth < SEED_MAX_DEPTH)
				empty_dir(sub, depth + 1);
			close(sub);
		}
		unlinkat(dir, e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

int seed_tree(int src_dir, int dst_dir, const char *what, struct seed_stats *stats)
{
	*stats = (struct seed_stats){ .owners_kept = 1 };
	int src_full = has_entries(src_dir, 0);
	if (src_full < 0)
		return fail("seed %s: read the image's folder", what);
	if (!src_full)
		return 0;
	int dst_full = has_entries(dst_dir, 1);
	if (dst_full < 0)
		return fail("seed %s: read the volume", what);
	if (dst_full) {
		log_info("seed %s: the volume is not empty; left as it is", what);
		return 0;
	}
	struct stat root;
	if (fstat(src_dir, &root) < 0)
		return fail("seed %s: stat the image's folder", what);
	struct seed s = { .dst_root = dst_dir, .what = what, .st = stats };
	int r = copy_dir(&s, src_dir, dst_dir, 0);
	if (r == 0)
		r = meta_fd(&s, dst_dir, &root);
	for (size_t i = 0; i < s.n_links; i++)
		free(s.links[i].path);
	free(s.links);
	if (r < 0) {
		int e = errno;
		empty_dir(dst_dir, 0);
		errno = e;
	}
	return r;
}
