/*
 * Logging and the error convention (init/README.md, "Errors").
 *
 * A function that fails calls fail() once, where the failure happens, with "what: object" (fail appends
 * ": strerror(errno)"), and returns -1. fail() logs the line to the console and keeps it with its errno as the
 * "last error", which a request handler sends back as the ERROR reply. Callers never log the same failure again.
 * die() is the only way init ends: console, LOG fatal to the host if the port is up, sync, reboot.
 */
#ifndef YA_LOG_H
#define YA_LOG_H

#include <stdarg.h>

#define ERR_MSG_MAX 512

struct last_err {
	int no;
	char msg[ERR_MSG_MAX];
};

extern struct last_err g_err;

/* Log "what: strerror(errno)" (fmt gives "what"), remember it as the last error; returns -1 and keeps errno. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same with an explicit errno and no strerror suffix (for errors that are not system call failures). */
int fail_msg(int no, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A warning also goes to the host as a LOG event once the host said HELLO. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Hook through which log.c sends LOG events; set by the loop once the host said HELLO (NULL before). */
extern int (*log_to_host)(int level, const char *msg);

#endif
