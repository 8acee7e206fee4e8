/*
 * Filesystems: the initramfs mounts at boot, MOUNT_ROOT (squashfs image + overlay, switch root) and MOUNT
 * (volumes). Every function follows the fail() convention: 0 or -1 with the last error naming the step.
 */
#ifndef YA_MOUNTS_H
#define YA_MOUNTS_H

#include <stdint.h>

#include "proto.h"

/* /proc, /sys, /dev in the initramfs. */
int mounts_early(void);
/* MOUNT_ROOT; a second call fails with EBUSY. */
int mounts_root(const struct proto_msg *m);
/* Whether MOUNT_ROOT switched root into the image (paths then live there). */
int mounts_root_done(void);
/* MOUNT of one volume. */
int mounts_volume(const struct proto_msg *m);
/* Unmount the volumes, last first, best-effort (SHUTDOWN). */
void mounts_release(void);

#endif
