/*
 * libFuzzer harness for query commands (query/): the input is command
 * text, split at ';' and newlines into at most 8 commands, each run with
 * strand_query_exec on a session over a bundled trace
 * (tests/traces/httpssl-nodevice.strand, or $STRAND_FUZZ_TRACE) opened once
 * with a small budget.  Every input starts with `seek start`, so inputs do
 * not depend on each other.  Expressions, addresses at the top of the
 * address space, huge counts and lengths must end with a result or one
 * error, within libFuzzer's -timeout.
 * Seeds: fuzz/corpus-query/ (fuzz/make_seeds.sh).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strand/query.h"

static struct strand_query *q;

static void prepare(void)
{
	const char *t = getenv("STRAND_FUZZ_TRACE");
	static char path[4096];
	if (!t) {
		snprintf(path, sizeof path, "%s/tests/traces/httpssl-nodevice.strand",
			 STRAND_SOURCE_DIR);
		t = path;
	}
	struct strand_replay_options o = { .max_instructions = 1u << 22,
					   .max_memory = 256u << 20 };
	strand_error err;
	if (strand_query_open(t, &o, &q, &err) != STRAND_OK) {
		fprintf(stderr, "fuzz_query: %s\n", err.msg);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!q)
		prepare();
	if (size > 4096)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	struct strand_query_result res;
	memset(&res, 0, sizeof res);
	strand_error err;
	strand_query_exec(q, "seek start", &res, &err);
	char *save = NULL;
	int n = 0;
	for (char *line = strtok_r(text, ";\n", &save); line && n < 8;
	     line = strtok_r(NULL, ";\n", &save), n++)
		strand_query_exec(q, line, &res, &err);
	strand_query_result_fini(&res);
	free(text);
	return 0;
}
