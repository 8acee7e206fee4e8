/*
 * Seeding a fresh volume with the image's files at its mount point (docs/guest-protocol.md, MOUNT flag SEED).
 */
#ifndef YA_SEED_H
#define YA_SEED_H

struct seed_stats {
	unsigned long files, dirs, links, skipped;
	unsigned long long bytes;
	int owners_kept; /* 0 when the volume refused chown (EPERM): modes and times are still kept */
};

/*
 * Copy the tree under src_dir into dst_dir (both open directory descriptors), keeping owners, modes, times and
 * hard links; symlinks are recreated as symlinks, never followed. The root of dst_dir takes src_dir's owner, mode
 * and times. Does nothing (returns 0, stats zero) when src_dir is empty or dst_dir holds anything but
 * "lost+found". On failure, removes what it copied and returns -1 (fail() convention). `what` names the volume in
 * messages.
 */
int seed_tree(int src_dir, int dst_dir, const char *what, struct seed_stats *stats);

#endif
