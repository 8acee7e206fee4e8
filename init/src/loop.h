/*
 * The event loop: one epoll set with the host port, a signalfd for every signal and the pipes of the processes.
 * Reads frames from the port, dispatches requests, reaps on SIGCHLD. Never returns.
 */
#ifndef YA_LOOP_H
#define YA_LOOP_H

/* sigfd: signalfd of all blocked signals; port_fd: the open host port (also in g_port_fd). */
__attribute__((noreturn)) void loop_run(int sigfd);

#endif
