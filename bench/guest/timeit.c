/*
 * timeit: wall time of one command, measured inside the guest (bench/streaming.ts, bench/volume-io.ts).
 *
 *   timeit PROG [ARG...]
 *
 * fork + execv PROG, wait, then print "timeit ns=<wall ns> status=<exit code>" on stderr (stdout is left to PROG,
 * so a streaming command's bytes stay untouched). CLOCK_MONOTONIC. Exit status: PROG's, or 1 when it cannot run.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long long t0;
	int status, code;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: timeit PROG [ARG...]\n");
		return 1;
	}
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "timeit: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		execv(argv[1], argv + 1);
		fprintf(stderr, "timeit: exec %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		fprintf(stderr, "timeit: waitpid: %s\n", strerror(errno));
		return 1;
	}
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(stderr, "timeit ns=%lld status=%d\n", now_ns() - t0, code);
	return code;
}
