/*
 * strand record-win [-o FILE] [--modules DIR] [--system-dlls DIR] [--nls DIR] [--json] [-q] SCENARIO:
 * record a Windows Server 2003 x86 process in emulation (record/winemu).
 * The scenario format is docs/scenarios.md; the environment, docs/winemu.md.
 * Default output: SCENARIO's base name with .strand, in the current
 * directory.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "strand/record.h"
#include "strand/json.h"

static const char usage_help[] =
	"  -o, --output FILE   trace to write (default: SCENARIO's name + .strand)\n"
	"  --modules DIR       module directory (overrides the scenario's 'modules')\n"
	"  --system-dlls DIR   real system DLLs (overrides the scenario's 'system_dlls')\n"
	"  --nls DIR           locale data (overrides the scenario's 'nls_dir')\n"
	"  --trace-syscalls    every system call on stderr as it is served\n"
	"  --allow-host-files  let the scenario's file: data name files outside its directory\n"
	"  --json              summary as JSON\n"
	"  -q, --quiet         no warnings\n";

static void print_usage(FILE *out)
{
	fprintf(out, "usage: strand record-win [-o FILE] [--modules DIR] [--system-dlls DIR] [--nls DIR] [--json] [-q] SCENARIO\n\n"
		"record a Windows x86 process in emulation from a scenario file\n\noptions:\n%s"
		"  -h, --help          show this help\n", usage_help);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cmd_record_win(int argc, char **argv)
{
	const char *out = NULL, *scenario = NULL;
	struct strand_winemu_options opt = { 0 };
	bool json = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			print_usage(stdout);
			return 0;
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			opt.quiet = true;
		} else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
			if (++i >= argc)
				return cli_failf("record-win", json, true, "%s needs a file name", a);
			out = argv[i];
		} else if (strcmp(a, "--modules") == 0) {
			if (++i >= argc)
				return cli_failf("record-win", json, true, "--modules needs a directory");
			opt.modules_dir = argv[i];
		} else if (strcmp(a, "--system-dlls") == 0 || strcmp(a, "--nls") == 0) {
			if (++i >= argc)
				return cli_failf("record-win", json, true, "%s needs a directory", a);
			if (a[2] == 's')
				opt.system_dlls_dir = argv[i];
			else
				opt.nls_dir = argv[i];
		} else if (strcmp(a, "--trace-syscalls") == 0) {
			opt.trace_syscalls = true;
		} else if (strcmp(a, "--allow-host-files") == 0) {
			opt.allow_host_files = true;
		} else if (a[0] == '-' && a[1]) {
			return cli_failf("record-win", json, true, "unknown option '%s'", a);
		} else if (!scenario) {
			scenario = a;
		} else {
			return cli_failf("record-win", json, true, "more than one scenario given");
		}
	}
	if (!scenario)
		return cli_failf("record-win", json, true, "no scenario given (strand record-win SCENARIO)");
	char defout[4096];
	if (!out) {
		const char *base = strrchr(scenario, '/') ? strrchr(scenario, '/') + 1 : scenario;
		size_t n = strlen(base);
		const char *dot = strrchr(base, '.');
		if (dot && strcmp(dot, ".scenario") == 0)
			n = (size_t)(dot - base);
		snprintf(defout, sizeof defout, "%.*s.strand", (int)n, base);
		out = defout;
	}
	struct strand_winemu_result res;
	strand_error err;
	strand_error_clear(&err);
	double t0 = now_s();
	/* through cli_out (cli.h): never through a symlink, a device written
	 * in place (the recorder removes its file on failure: never the
	 * target itself) */
	struct cli_out o;
	strand_status st = cli_out_begin(&o, out, "record-win", &err);
	if (st != STRAND_OK)
		return cli_fail("record-win", json, &err);
	st = strand_winemu_record(scenario, cli_out_path(&o), &opt, &res, &err);
	double secs = now_s() - t0;
	struct stat sb;
	uint64_t size = st == STRAND_OK && stat(o.tmp, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	if (st == STRAND_OK)
		st = cli_out_commit(&o, &err);
	cli_out_abort(&o);
	if (st != STRAND_OK)
		return cli_fail("record-win", json, &err);
	if (json) {
		struct strand_json *j = strand_json_new(stdout, true);
		strand_json_start_object(j);
		strand_json_string_field(j, "trace", out);
		strand_json_uint_field(j, "bytes", size);
		strand_json_uint_field(j, "instructions", res.instructions);
		strand_json_uint_field(j, "syscalls", res.syscalls);
		strand_json_uint_field(j, "records", res.records);
		strand_json_uint_field(j, "outputs", res.outputs);
		strand_json_uint_field(j, "threads", res.threads);
		strand_json_uint_field(j, "modules", res.modules);
		strand_json_uint_field(j, "unknown_syscalls", res.unknown_syscalls);
		strand_json_hex_field(j, "exit_status", res.exit_status);
		strand_json_string_field(j, "end", res.end_reason);
		strand_json_double_field(j, "seconds", secs);
		strand_json_end_object(j);
		strand_json_free(j);
	} else {
		printf("recorded %s: %" PRIu64 " instructions, %" PRIu64 " syscalls, %" PRIu32
		       " threads, %" PRIu32 " modules, %" PRIu64 " records, %" PRIu64 " bytes, "
		       "exit 0x%08" PRIx32 " (%s), %.2f s\n",
		       out, res.instructions, res.syscalls, res.threads, res.modules, res.records, size,
		       res.exit_status, res.end_reason, secs);
	}
	return 0;
}
