/*
 * chatter: a fast small-write producer for the VM stress tests (built static with musl into the busybox test
 * image as /usr/local/bin/chatter by scripts/make-test-image).
 *
 *   chatter [-p PROCS] [-n LINES] [-e]
 *
 * PROCS processes (the first plus PROCS-1 forked children) each write LINES lines, every line with its own
 * write(2), the way line-buffered stdio programs do. A line is "<proc> <stream> <seq> <pad>\n": stream is o
 * (stdout) or, with -e, e (stderr) for the lines where line_on_stderr(seq) says so; pad is a run of '.' whose
 * length varies with seq (0..60), so the writes are 9..80 bytes. Lines are shorter than PIPE_BUF, so each one
 * arrives whole; a reader checks that every process's lines on each stream come in order with no gap (see
 * test/helpers/chatter.ts). The exit code is 0 when every write and every child succeeded, else 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int line_on_stderr(unsigned long seq)
{
	/* An irregular pattern: runs of one stream, then the other, of varying length. */
	return ((seq * 2654435761u) >> 7) % 3 == 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int chatter(unsigned proc, unsigned long lines, int use_stderr)
{
	char buf[128];
	for (unsigned long seq = 0; seq < lines; seq++) {
		int err = use_stderr && line_on_stderr(seq);
		int n = snprintf(buf, sizeof(buf), "%u %c %lu ", proc, err ? 'e' : 'o', seq);
		size_t pad = (seq * 7) % 61;
		memset(buf + n, '.', pad);
		buf[n + pad] = '\n';
		if (write_all(err ? 2 : 1, buf, (size_t)n + pad + 1) < 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned procs = 1;
	unsigned long lines = 1000;
	int use_stderr = 0, opt;
	while ((opt = getopt(argc, argv, "p:n:e")) != -1) {
		switch (opt) {
		case 'p': procs = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': lines = strtoul(optarg, NULL, 10); break;
		case 'e': use_stderr = 1; break;
		default:
			fprintf(stderr, "usage: chatter [-p PROCS] [-n LINES] [-e]\n");
			return 2;
		}
	}
	if (procs < 1 || procs > 64) {
		fprintf(stderr, "chatter: -p must be 1..64\n");
		return 2;
	}
	for (unsigned i = 1; i < procs; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("chatter: fork");
			return 1;
		}
		if (pid == 0)
			_exit(chatter(i, lines, use_stderr));
	}
	int rc = chatter(0, lines, use_stderr);
	for (unsigned i = 1; i < procs; i++) {
		int st;
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = 1;
	}
	return rc;
}
