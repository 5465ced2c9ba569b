/* A C API client built against an installed strand only (pkg-config):
 * open a trace, seek, read a register, run an analysis.
 * usage: client TRACE POS  -> prints "eip=0x... at POS" and the syscall count */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <strand/analysis.h>
#include <strand/replay.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: client TRACE POS\n");
		return 2;
	}
	strand_error err = { 0 };
	struct strand_replay *r = NULL;
	uint64_t pos = strtoull(argv[2], NULL, 0), pc = 0;
	if (strand_replay_open(argv[1], NULL, &r, &err) < 0 ||
	    strand_replay_seek(r, pos, &err) < 0 ||
	    strand_replay_reg(r, "pc", &pc) != STRAND_OK) {
		fprintf(stderr, "client: %s\n", err.msg);
		strand_replay_close(r);
		return 1;
	}
	printf("library %s, pc=0x%" PRIx64 " at %" PRIu64 "\n", strand_version(), pc,
	       strand_replay_position(r));
	strand_replay_close(r);

	struct strand_analysis *a = NULL;
	struct strand_result *res = strand_result_new();
	int rc = 1;
	if (!res || strand_analysis_new(argv[1], NULL, &a, &err) < 0 ||
	    strand_analysis_add_spec(a, "syscalls", &err) < 0 ||
	    strand_analysis_run(a, res, &err) < 0) {
		fprintf(stderr, "client: %s\n", err.msg);
		goto out;
	}
	const struct strand_rnode *root = strand_result_root(res);
	printf("syscalls: %" PRIu64 "\n", strand_rnode_u64(root, "syscalls.total", 0));
	rc = 0;
out:
	strand_analysis_free(a);
	strand_result_free(res);
	return rc;
}
