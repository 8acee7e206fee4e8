/* Small file helpers shared by mounts, port and procs. All follow the fail() convention (log.h). */
#ifndef YA_UTIL_H
#define YA_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Read a small text file into buf (NUL-terminated, trailing newlines stripped); -1 on error (not logged). */
int read_text(const char *path, char *buf, size_t cap);
/* Write all of buf to a new or truncated file; logs on failure. */
int write_text(const char *path, const char *text, mode_t mode);
/* mkdir -p: create path and its parents with mode; logs on failure. */
int mkdir_p(const char *path, mode_t mode);
/* Copy a length-counted string into dst as a C string; -1 (errno ENAMETOOLONG, not logged) if it does not fit. */
int copy_str(char *dst, size_t cap, const char *src, size_t len);
/* Sleep for ms milliseconds (retry loops only). */
void sleep_ms(int ms);
/* Monotonic clock in milliseconds. */
long long now_ms(void);

#endif
