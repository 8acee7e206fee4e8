/*
 * fork + exec for RUN (docs/guest-protocol.md, RUN).
 *
 * The child: setsid, empty signal mask, default dispositions (SIGPIPE too), pipes on 0/1/2, chdir, setgroups(0),
 * setgid, setuid, then execve with a PATH search in the *given* environment. Every step that fails writes
 * {step, errno} to a close-on-exec pipe and _exits; the parent reads that pipe until EOF (exec succeeded) or a
 * report (the step failed), so RUN gets OK only after a successful execve.
 */
#ifndef YA_SPAWN_H
#define YA_SPAWN_H

#include <sys/types.h>

#include "proto.h"

struct spawned {
	pid_t pid;
	int in_w;  /* write end of the child's stdin (-1 unless PROTO_RUN_STDIN); non-blocking */
	int out_r; /* read ends of stdout and stderr; non-blocking */
	int err_r;
};

/* Start the process of a decoded RUN; 0 and *s filled, or -1 with the last error set (e.g. "exec sh2: ..."). */
int spawn_process(const struct proto_msg *m, struct spawned *s);

#endif
