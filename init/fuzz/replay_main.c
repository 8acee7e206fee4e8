/*
 * A main() for the fuzz target without libFuzzer: runs LLVMFuzzerTestOneInput on each file named (or each file of
 * each directory named), so `make -C init test` replays every kept crash (fuzz/regressions/) and every seed with
 * gcc's ASan and UBSan, on machines without clang.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 1;
	}
	size_t cap = 4096, n = 0, r;
	uint8_t *buf = malloc(cap);
	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	uint8_t *exact = malloc(n ? n : 1); /* exact size: ASan sees any read past the input */
	memcpy(exact, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Vector files: '#' lines are comments, every other non-blank line is one frame in hex. */
static int write_seeds(const char *outdir, int n, char **files)
{
	int count = 0;
	for (int i = 0; i < n; i++) {
		FILE *f = fopen(files[i], "r");
		if (!f) {
			perror(files[i]);
			return 1;
		}
		const char *base = strrchr(files[i], '/');
		base = base ? base + 1 : files[i];
		char dir[2048];
		snprintf(dir, sizeof(dir), "%.1000s/%.*s", outdir, (int)(strcspn(base, ".") > 1000 ? 1000 : strcspn(base, ".")), base);
		mkdir(dir, 0755);
		char *line = NULL;
		size_t cap = 0;
		int k = 0;
		while (getline(&line, &cap, f) >= 0) {
			const char *p = line + strspn(line, " \t");
			if (*p == '#' || *p == '\r' || *p == '\n' || !*p)
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/%03d", dir, ++k);
			FILE *o = fopen(path, "wb");
			if (!o) {
				perror(path);
				return 1;
			}
			for (; hexval(p[0]) >= 0 && hexval(p[1]) >= 0; p += 2)
				fputc(hexval(p[0]) << 4 | hexval(p[1]), o);
			fclose(o);
			count++;
		}
		free(line);
		fclose(f);
	}
	printf("# %d seeds in %s\n", count, outdir);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "--seeds") == 0)
		return write_seeds(argv[2], argc - 3, argv + 3);
	int files = 0, failed = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			failed++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			failed += run_file(argv[i]);
			files++;
			continue;
		}
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			failed += run_file(path);
			files++;
		}
		if (d)
			closedir(d);
	}
	printf("ok - fuzz target replayed %d inputs without a crash\n", files);
	return failed ? 1 : 0;
}
