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
	  "  --json        machine-readable output\n", cmd_info },
	{ "verify", "verify [--json] TRACE",
	  "check a trace's structure: chunks, checksums, index, event order",
	  "  --json        machine-readable output\n", cmd_verify },
	{ "replay", "replay [--json] [--output-show] [-q] TRACE",
	  "re-execute a whole trace and check it against the recording",
	  NULL, cmd_replay },
	{ "record", "record [-o FILE] [-q] -- PROGRAM [ARGS...]",
	  "record a Linux x86-64 process under ptrace",
	  NULL, cmd_record },
	{ "record-win", "record-win [-o FILE] SCENARIO",
	  "record a Windows x86 process in emulation from a scenario file",
	  NULL, cmd_record_win },
	{ "report", "report [--format text|markdown|json|html] [-o FILE] TRACE",
	  "root-cause report: symptom, failing kernel call, stack, propagation",
	  NULL, cmd_report },
	{ "query", "query [--json] [-c CMDS | -f SCRIPT] [--keep-going] TRACE",
	  "explore a trace interactively or from a script",
	  NULL, cmd_query },
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
	fprintf(out, "  -h, --help    show this help\n");
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
