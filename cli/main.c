/* strand: one command, a table of subcommands (bpftool style). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

const struct cli_command cli_commands[] = {
	{ "info", "info [--json] TRACE",
	  "describe a trace: architecture, ABI, modules, threads, events",
	  "  --json              machine-readable output\n", cmd_info },
	{ "verify", "verify [--json] TRACE",
	  "check a trace's structure: chunks, checksums, index, event order",
	  "  --json              machine-readable output\n", cmd_verify },
	{ "replay", "replay [--json] [--show-output] [-q] TRACE",
	  "re-execute a whole trace and check it against the recording",
	  "  --json              machine-readable summary\n"
	  "  --show-output       re-emit the program's recorded output\n"
	  "  -q, --quiet         no progress display\n"
	  "exit status: 0 exact, 1 divergence or error, 2 bad usage\n", cmd_replay },
	{ "record", "record [-o FILE] [--json] [-q] [--raw] [--keyframe-every N] -- PROGRAM [ARGS...]",
	  "record a Linux x86-64 process under ptrace",
	  "  -o, --output FILE   trace to write (default: PROGRAM.strand)\n"
	  "  --json              summary as JSON on stdout (after the program's own output)\n"
	  "  -q, --quiet         no progress display\n"
	  "  --raw               keep the ordinal-position trace (no finalizing replay)\n"
	  "  --keyframe-every N  key frame every N system calls\n", cmd_record },
	{ "record-win", "record-win [-o FILE] [--modules DIR] [--json] [-q] SCENARIO",
	  "record a Windows x86 process in emulation from a scenario file",
	  "  -o, --output FILE   trace to write (default: SCENARIO's name + .strand)\n"
	  "  --modules DIR       module directory (overrides the scenario's 'modules')\n"
	  "  --json              summary as JSON\n"
	  "  -q, --quiet         no warnings\n", cmd_record_win },
	{ "report", "report [--format text|markdown|json|html] [-o FILE] [--plugin SO[:k=v,...]] [-a NAME] TRACE",
	  "root-cause report: symptom, failing kernel call, stack, propagation",
	  "  -f, --format FMT    text (default), markdown, json or html\n"
	  "  --json              same as --format json (errors as JSON too)\n"
	  "  -o, --output FILE   write the report to FILE\n"
	  "  --plugin SO[:OPTS]  load an external analysis plugin (shared object)\n"
	  "  -a, --analysis SPEC run only these analyses (NAME or NAME:k=v,...) and show their results\n"
	  "  --list              list the built-in analyses and their options\n"
	  "  -q, --quiet         no progress display\n", cmd_report },
	{ "query", "query [--json] [--keep-going] [-q] [-c CMDS | -f SCRIPT] TRACE",
	  "explore a trace interactively or from a script",
	  "  -c, --command CMDS  run 'cmd; cmd; ...'\n"
	  "  -f, --file SCRIPT   run a script ('#' comments, '\\' continues a line)\n"
	  "  --json              one JSON object per command (JSON Lines), errors too\n"
	  "  --keep-going        continue a script past failing commands\n"
	  "  -q, --quiet         no progress display\n"
	  "without -c/-f: interactive on a terminal, else commands from stdin;\n"
	  "'help' inside a session lists the commands (docs/query.md)\n", cmd_query },
	{ "help", "help [COMMAND]", "show help for strand or a command",
	  NULL, cmd_help },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cli_command *cli_find(const char *name)
{
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void cli_usage(const struct cli_command *cmd, FILE *out)
{
	fprintf(out, "usage: strand %s\n\n%s\n", cmd->synopsis, cmd->summary);
	if (cmd->help)
		fprintf(out, "\noptions:\n%s", cmd->help);
	fprintf(out, "  -h, --help          show this help\n");
}

static void main_usage(FILE *out)
{
	fprintf(out, "strand %s — time-travel trace replay analyzer\n\n"
		"usage: strand [--version] COMMAND [ARGS]\n\ncommands:\n",
		STRAND_VERSION_STRING);
	for (const struct cli_command *c = cli_commands; c->name; c++)
		fprintf(out, "  %-11s %s\n", c->name, c->summary);
	fprintf(out, "\n'strand help COMMAND' shows a command's options.\n");
}

int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		main_usage(stdout);
		return 0;
	}
	const struct cli_command *c = cli_find(argv[1]);
	if (!c)
		return cli_failf("help", false, true, "unknown command '%s'", argv[1]);
	cli_usage(c, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		main_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("strand %s (trace format 1)\n", STRAND_VERSION_STRING);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		main_usage(stdout);
		return 0;
	}
	const struct cli_command *c = cli_find(argv[1]);
	if (!c) {
		fprintf(stderr, "strand: unknown command '%s' (see 'strand help')\n",
			argv[1]);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			cli_usage(c, stdout);
			return 0;
		}
	}
	return c->run(argc - 1, argv + 1);
}
