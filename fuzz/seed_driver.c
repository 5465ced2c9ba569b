/*
 * A plain driver for a libFuzzer harness (no libFuzzer, any compiler):
 * runs LLVMFuzzerTestOneInput once on each file named on the command
 * line, so the seed corpora, including the inputs of fixed findings, run
 * in every test build (plain and ASan/UBSan) and not only in fuzz runs.
 *   seeds_fuzz_NAME FILE...
 * Exit 0 when every input ran to its end; 2 for an unreadable file.  A
 * finding aborts (sanitizers) or hangs (the caller's timeout).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEED_MAX (1u << 20) /* the harnesses cap their inputs far below */

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 2;
	}
	uint8_t *buf = malloc(SEED_MAX);
	if (!buf) {
		fclose(f);
		fprintf(stderr, "%s: out of memory\n", path);
		return 2;
	}
	size_t n = fread(buf, 1, SEED_MAX, f);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		fprintf(stderr, "%s: read error\n", path);
		return 2;
	}
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int rc = run_file(argv[i]);
		if (rc)
			return rc;
	}
	return 0;
}
