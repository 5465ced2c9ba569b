/*
 * libFuzzer harness for Windows scenario files (record/winemu/scenario.c):
 * the input is the scenario text, parsed with wscn_parse against a
 * directory the harness prepares once (a small regular file "data.bin", a
 * FIFO "fifo" that must never be opened for reading, a subdirectory
 * "sub/" with "inner.bin").  Every input must parse or fail with one
 * error, quickly (the parser is linear in its input; -timeout catches
 * superlinear inputs), without reading outside that directory.
 * Seeds: fuzz/corpus-scenario/ (the scenarios under tests/traces/ and
 * fuzz/make_seeds.sh).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record/winemu/scenario.h"

static char dir[64];

static void prepare(void)
{
	snprintf(dir, sizeof dir, "/tmp/strand-fuzz-scn-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	char p[128];
	snprintf(p, sizeof p, "%s/data.bin", dir);
	FILE *f = fopen(p, "w");
	if (!f)
		abort();
	fputs("hello\n", f);
	fclose(f);
	snprintf(p, sizeof p, "%s/fifo", dir);
	mkfifo(p, 0600);
	snprintf(p, sizeof p, "%s/sub", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/sub/inner.bin", dir);
	if ((f = fopen(p, "w"))) {
		fputs("inner", f);
		fclose(f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0])
		prepare();
	struct wscn *s = NULL;
	strand_error err;
	if (wscn_parse("fuzz.scenario", dir, (const char *)data, size, &s, &err) == STRAND_OK)
		wscn_free(s);
	return 0;
}
