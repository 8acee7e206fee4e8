/*
 * forkexec: the in-guest floor of the exec round trip (bench/exec-rtt.ts).
 *
 *   forkexec N PROG [ARG...]
 *
 * Runs PROG N times, each as fork + execv + waitpid, and prints one line per run with its wall time in
 * nanoseconds (CLOCK_MONOTONIC), then "ok". This is what the guest itself needs to start and reap a process; the
 * runtime's round trip (host -> guest agent -> fork/exec -> exit notice -> host) is compared with it.
 * Exit status: 0, or 1 after a line on stderr naming the failed step.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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
	char *end = NULL;
	long n;

	if (argc < 3) {
		fprintf(stderr, "usage: forkexec N PROG [ARG...]\n");
		return 1;
	}
	errno = 0;
	n = strtol(argv[1], &end, 10);
	if (errno || *end || n < 1 || n > 1000000) {
		fprintf(stderr, "forkexec: bad count: %s\n", argv[1]);
		return 1;
	}
	for (long i = 0; i < n; i++) {
		long long t0 = now_ns();
		int status;
		pid_t pid = fork();

		if (pid < 0) {
			fprintf(stderr, "forkexec: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid == 0) {
			execv(argv[2], argv + 2);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0) {
			fprintf(stderr, "forkexec: waitpid: %s\n", strerror(errno));
			return 1;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "forkexec: %s ended with status 0x%x\n", argv[2], status);
			return 1;
		}
		printf("%lld\n", now_ns() - t0);
	}
	printf("ok\n");
	return 0;
}
