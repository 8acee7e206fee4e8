/*
 * Containment of requestor processes (docs/guest-protocol.md, LIMITS; docs/operator-guide.md, "Guest limits").
 */
#ifndef YA_LIMITS_H
#define YA_LIMITS_H

#include "proto.h"

/* LIMITS: mount cgroup2 on /sys/fs/cgroup, create the requestor group with the message's limits; once only. */
int limits_apply(const struct proto_msg *m);
/* In a RUN child after fork: move the calling process into the requestor group (no-op before LIMITS) and undo
 * init's raised priority. Returns 0, or -1 with errno set (async-signal-safe: no logging). */
int limits_enter(void);

#endif
