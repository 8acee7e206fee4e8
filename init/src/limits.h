/*
 * Containment of requestor processes (docs/guest-protocol.md, LIMITS; docs/operator-guide.md, "Guest limits").
 */
#ifndef YA_LIMITS_H
#define YA_LIMITS_H

#include "proto.h"

#include <stdint.h>

/* LIMITS: mount cgroup2 on /sys/fs/cgroup, create the requestor group with the message's limits; once only. */
int limits_apply(const struct proto_msg *m);
/* Before RUN's fork: create the command's leaf group golem/p<proc_id> (no-op before LIMITS). fail() convention. */
int limits_prepare(uint32_t proc_id);
/* In the RUN child after fork: move the calling process into the leaf (no-op before LIMITS) and undo init's raised
 * priority. Returns 0, or -1 with errno set (async-signal-safe: no logging). */
int limits_enter(void);
/* In init after fork (started: exec succeeded): close the leaf's descriptor; remove the leaf if nothing started. */
void limits_forked(uint32_t proc_id, int started);
/* The command ended and its pipes closed: remove its leaf now, or once its last background process is gone. */
void limits_release(uint32_t proc_id);

#endif
