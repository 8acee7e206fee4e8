/*
 * Processes started by RUN: the table, spawning, stdin queues, output with credit, reaping and EXIT.
 *
 * A process's record lives until its EXIT was sent (the process reaped, and the bytes its pipes held then sent
 * as OUTPUT) and both its output pipes reached EOF (after EXIT, what background writers send there is drained).
 * Records are freed only by procs_collect(), between two epoll batches, so an event still queued in the current
 * batch never points at freed memory.
 */
#ifndef YA_PROCS_H
#define YA_PROCS_H

#include <stdint.h>

#include "proto.h"

enum watch_kind { W_PORT, W_SIGNAL, W_TIMER, W_STDIN, W_STDOUT, W_STDERR };

struct proc;

/* What an epoll event points at. */
struct watch {
	enum watch_kind kind;
	struct proc *p; /* NULL for the port, the signalfd and the timer */
};

void procs_init(int epfd);
/* RUN: 0 once execve succeeded (send OK now, before any OUTPUT), -1 with the last error set. */
int procs_run(const struct proto_msg *m);
/* STDIN: 0 = accepted (procs sends its OK, or ERROR, once the data is in the pipe: maybe at once, maybe later);
 * -1 = rejected now, with the last error set (the caller replies ERROR). */
int procs_stdin(const struct proto_msg *m);
int procs_kill(const struct proto_msg *m);
void procs_credit(const struct proto_msg *m);
/* An epoll event on one of a process's pipes. */
void procs_event(struct watch *w, uint32_t events);
/* SIGCHLD: reap everything that exited (orphans too). */
void procs_reap(void);
/* Free the records whose EXIT was sent and whose output pipes are both closed. */
void procs_collect(void);
/* SHUTDOWN: SIGTERM every guest process, wait up to wait_ms (draining output pipes), SIGKILL what is left. */
void procs_shutdown(int wait_ms);

#endif
