/*
 * Mount tables and the root switch (docs/guest-protocol.md, MOUNT_ROOT and MOUNT).
 *
 * Boot:        /proc, /sys, /dev (devtmpfs) in the initramfs, so the port and the disks can be found.
 * MOUNT_ROOT:  squashfs image (disk found by serial) on /mnt/image; ext4 disk (by serial) or tmpfs on /mnt/upper;
 *              overlay on /mnt/root; then, as switch_root does: chdir, mount --move onto /, chroot. Then the
 *              ROOT_MOUNTS table, hostname, /etc/hosts, /etc/resolv.conf when the image has none.
 * MOUNT:       one volume (virtiofs, 9p, tmpfs, ext4 by serial) on a target created with mkdir -p; with the SEED
 *              flag, the folder the volume covers is opened first and, if it has files, copied into the volume
 *              while the volume is still empty (seed.c).
 */
#define _GNU_SOURCE
#include "mounts.h"
#include "log.h"
#include "seed.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

struct mount_entry {
	const char *src, *dst, *type;
	unsigned long flags;
	const char *data;
};

#define NOSUID_NODEV (MS_NOSUID | MS_NODEV)

static const struct mount_entry EARLY_MOUNTS[] = {
	{ "proc", "/proc", "proc", NOSUID_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", NOSUID_NODEV | MS_NOEXEC, NULL },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
};

static const struct mount_entry ROOT_MOUNTS[] = {
	{ "proc", "/proc", "proc", NOSUID_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", NOSUID_NODEV | MS_NOEXEC, NULL },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666,mode=0620,gid=5" },
	{ "shm", "/dev/shm", "tmpfs", NOSUID_NODEV, "mode=1777" },
	{ "tmpfs", "/tmp", "tmpfs", NOSUID_NODEV, "mode=1777" },
};

#define IMAGE_DIR "/mnt/image"
#define UPPER_DIR "/mnt/upper"
#define NEWROOT_DIR "/mnt/root"
#define MAX_VOLUMES 256
/* Resolv.conf for an image without one: the resolver of QEMU user networking, where a NIC would get its DNS. */
#define DEFAULT_RESOLV "nameserver 10.0.2.3\n"

static int root_done;
static char *volumes[MAX_VOLUMES];
static int n_volumes;

static int do_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)
{
	if (mount(src, dst, type, flags, data && *data ? data : NULL) < 0)
		return fail("mount %s on %s (%s)", src, dst, type);
	return 0;
}

static int mount_table(const struct mount_entry *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (mkdir_p(t[i].dst, 0755) < 0)
			return -1;
		if (do_mount(t[i].src, t[i].dst, t[i].type, t[i].flags, t[i].data) < 0)
			return -1;
	}
	return 0;
}

int mounts_root_done(void)
{
	return root_done;
}

int mounts_early(void)
{
	return mount_table(EARLY_MOUNTS, sizeof(EARLY_MOUNTS) / sizeof(EARLY_MOUNTS[0]));
}

/* Find the disk whose /sys/block/<dev>/serial is `serial`; dev gets "/dev/<dev>". Waits up to 2 s for it. */
static int disk_by_serial(const char *serial, char *dev, size_t cap)
{
	if (!*serial)
		return fail_msg(EINVAL, "find disk: empty serial");
	long long deadline = now_ms() + 2000;
	do {
		DIR *d = opendir("/sys/block");
		if (!d)
			return fail("open /sys/block");
		struct dirent *e;
		int found = 0;
		while (!found && (e = readdir(d))) {
			char path[PATH_MAX], val[256];
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/sys/block/%s/serial", e->d_name);
			if (read_text(path, val, sizeof(val)) == 0 && strcmp(val, serial) == 0) {
				snprintf(dev, cap, "/dev/%s", e->d_name);
				found = 1;
			}
		}
		closedir(d);
		if (found && access(dev, F_OK) == 0)
			return 0;
		sleep_ms(20);
	} while (now_ms() < deadline);
	return fail_msg(ENODEV, "find disk: no disk with serial \"%s\"", serial);
}

static int setup_etc(const char *hostname)
{
	char hosts[512];
	struct stat st;
	if (*hostname && sethostname(hostname, strlen(hostname)) < 0)
		return fail("sethostname %s", hostname);
	if (mkdir_p("/etc", 0755) < 0)
		return -1;
	if (*hostname)
		snprintf(hosts, sizeof(hosts), "127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n",
			 hostname);
	else
		snprintf(hosts, sizeof(hosts), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
	if (write_text("/etc/hosts", hosts, 0644) < 0)
		return -1;
	/* lstat: a symlink, even a dangling one (systemd's stub-resolv.conf), counts as the image having one. */
	if (lstat("/etc/resolv.conf", &st) < 0) {
		if (errno != ENOENT)
			return fail("stat /etc/resolv.conf");
		if (write_text("/etc/resolv.conf", DEFAULT_RESOLV, 0644) < 0)
			return -1;
	}
	return 0;
}

/* Mount the image, the upper layer and the overlay under /mnt; on failure undo what was mounted. */
static int mount_layers(const char *image, const char *upper, uint64_t tmpfs_size)
{
	char dev[PATH_MAX], data[256];
	if (mkdir_p(IMAGE_DIR, 0755) < 0 || mkdir_p(UPPER_DIR, 0755) < 0 || mkdir_p(NEWROOT_DIR, 0755) < 0)
		return -1;
	if (disk_by_serial(image, dev, sizeof(dev)) < 0 || do_mount(dev, IMAGE_DIR, "squashfs", MS_RDONLY, NULL) < 0)
		return -1;
	int r;
	if (*upper) {
		r = disk_by_serial(upper, dev, sizeof(dev));
		if (r == 0)
			r = do_mount(dev, UPPER_DIR, "ext4", 0, NULL);
	} else {
		if (tmpfs_size)
			snprintf(data, sizeof(data), "mode=0755,size=%llu", (unsigned long long)tmpfs_size);
		else
			snprintf(data, sizeof(data), "mode=0755"); /* tmpfs default size: half of RAM */
		r = do_mount("tmpfs", UPPER_DIR, "tmpfs", 0, data);
	}
	if (r < 0)
		goto undo_image;
	if (mkdir_p(UPPER_DIR "/upper", 0755) < 0 || mkdir_p(UPPER_DIR "/work", 0755) < 0)
		goto undo_upper;
	if (do_mount("overlay", NEWROOT_DIR, "overlay", 0,
		     "lowerdir=" IMAGE_DIR ",upperdir=" UPPER_DIR "/upper,workdir=" UPPER_DIR "/work") < 0)
		goto undo_upper;
	return 0;
undo_upper:
	umount2(UPPER_DIR, MNT_DETACH);
undo_image:
	umount2(IMAGE_DIR, MNT_DETACH);
	return -1;
}

/* switch_root: move the new root onto / and chroot into it. The initramfs /proc, /sys, /dev are detached. */
static int switch_root(void)
{
	umount2("/proc", MNT_DETACH);
	umount2("/sys", MNT_DETACH);
	umount2("/dev", MNT_DETACH);
	if (chdir(NEWROOT_DIR) < 0)
		return fail("chdir %s", NEWROOT_DIR);
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return fail("mount --move %s on /", NEWROOT_DIR);
	if (chroot(".") < 0)
		return fail("chroot %s", NEWROOT_DIR);
	if (chdir("/") < 0)
		return fail("chdir /");
	return 0;
}

int mounts_root(const struct proto_msg *m)
{
	char image[256], upper[256], host[256];
	if (root_done)
		return fail_msg(EBUSY, "mount root: already mounted");
	if (copy_str(image, sizeof(image), m->u.mount_root.image_serial.p, m->u.mount_root.image_serial.len) < 0 ||
	    copy_str(upper, sizeof(upper), m->u.mount_root.upper_serial.p, m->u.mount_root.upper_serial.len) < 0 ||
	    copy_str(host, sizeof(host), m->u.mount_root.hostname.p, m->u.mount_root.hostname.len) < 0)
		return fail("mount root: serial or hostname");
	if (mount_layers(image, upper, m->u.mount_root.tmpfs_size) < 0)
		return -1;
	if (switch_root() < 0) {
		/* The initramfs lost its /proc, /sys, /dev: nothing sensible can run any more. */
		die("switch root: %s", g_err.msg);
	}
	root_done = 1;
	if (mount_table(ROOT_MOUNTS, sizeof(ROOT_MOUNTS) / sizeof(ROOT_MOUNTS[0])) < 0)
		return -1;
	return setup_etc(host);
}

/* An absolute path without "." or ".." components and not "/" itself. */
static int check_target(const char *t)
{
	if (t[0] != '/' || t[1] == 0)
		return fail_msg(EINVAL, "mount: target \"%s\" is not an absolute path below /", t);
	for (const char *p = t; *p;) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		if ((e - p == 1 && p[0] == '.') || (e - p == 2 && p[0] == '.' && p[1] == '.'))
			return fail_msg(EINVAL, "mount: target \"%s\" has a . or .. component", t);
		p = e;
	}
	return 0;
}

static int mount_by_type(const char *type, const char *src, const char *dst, const char *opts)
{
	char dev[PATH_MAX];
	if (strcmp(type, "virtiofs") == 0 || strcmp(type, "9p") == 0)
		return do_mount(src, dst, type, 0, opts);
	if (strcmp(type, "tmpfs") == 0)
		return do_mount("tmpfs", dst, "tmpfs", 0, opts);
	if (strcmp(type, "ext4") == 0) {
		if (disk_by_serial(src, dev, sizeof(dev)) < 0)
			return -1;
		return do_mount(dev, dst, "ext4", 0, opts);
	}
	return fail_msg(EINVAL, "mount: unsupported fstype \"%s\"", type);
}

/* Copy the image's files that the new mount on dst covers into it; closes covered. */
static int seed_volume(int covered, const char *dst)
{
	int vol = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (vol < 0) {
		close(covered);
		return fail("mount %s: open the volume", dst);
	}
	struct seed_stats st;
	int r = seed_tree(covered, vol, dst, &st);
	close(covered);
	close(vol);
	if (r == 0 && st.files + st.dirs + st.links)
		log_info("seed %s: %lu files, %lu folders, %lu hard links, %llu bytes%s%s", dst, st.files, st.dirs, st.links,
			 st.bytes, st.owners_kept ? "" : "; owners not kept (the volume refused chown)",
			 st.skipped ? "; some device nodes or sockets skipped" : "");
	return r;
}

int mounts_volume(const struct proto_msg *m)
{
	char type[32], src[PATH_MAX], dst[PATH_MAX], opts[4096];
	if (copy_str(type, sizeof(type), m->u.mount.fstype.p, m->u.mount.fstype.len) < 0 ||
	    copy_str(src, sizeof(src), m->u.mount.source.p, m->u.mount.source.len) < 0 ||
	    copy_str(dst, sizeof(dst), m->u.mount.target.p, m->u.mount.target.len) < 0 ||
	    copy_str(opts, sizeof(opts), m->u.mount.options.p, m->u.mount.options.len) < 0)
		return fail("mount: fstype, source, target or options");
	if (check_target(dst) < 0)
		return -1;
	if (n_volumes >= MAX_VOLUMES)
		return fail_msg(ENOSPC, "mount %s: more than %d volumes", dst, MAX_VOLUMES);
	if (mkdir_p(dst, 0755) < 0)
		return -1;
	int seed = m->u.mount.flags & PROTO_MOUNT_SEED, covered = -1;
	/* Opened before the mount: afterwards the path leads into the volume and this descriptor still to what it hides. */
	if (seed && (covered = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail("mount %s: open the image's folder", dst);
	if (mount_by_type(type, src, dst, opts) < 0) {
		if (covered >= 0)
			close(covered);
		return -1;
	}
	if (seed && seed_volume(covered, dst) < 0) {
		int e = errno;
		umount2(dst, MNT_DETACH);
		errno = e;
		return -1;
	}
	volumes[n_volumes] = strdup(dst);
	if (volumes[n_volumes])
		n_volumes++;
	return 0;
}

void mounts_release(void)
{
	while (n_volumes > 0) {
		char *v = volumes[--n_volumes];
		if (umount2(v, 0) < 0 && umount2(v, MNT_DETACH) < 0)
			log_info("umount %s: %s", v, strerror(errno));
		free(v);
	}
}
