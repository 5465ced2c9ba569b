/* strand: one command, a table of subcommands (bpftool style). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
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
	{ "replay", "replay [--json] [--show-output] [-q] [--max-instructions N] [--max-memory SIZE] TRACE",
	  "re-execute a whole trace and check it against the recording",
	  "  --json              machine-readable summary\n"
	  "  --show-output       re-emit the program's recorded output\n"
	  "  -q, --quiet         no progress display\n"
	  CLI_BUDGET_HELP
	  "exit status: 0 exact, 1 divergence, unverified or error, 2 bad usage\n", cmd_replay },
	{ "finalize", "finalize [-o FILE] [--json] RAW",
	  "turn the ordinal trace a recording left behind (FILE.raw) into a replayable trace",
	  "  -o, --output FILE   trace to write (default: RAW without .raw, else RAW.strand)\n"
	  "  --json              summary as JSON\n"
	  "a recording stopped early (killed, disk full) leaves a readable .raw trace up\n"
	  "to its last complete chunk: finalize gives it exact positions\n", cmd_finalize },
	{ "record", "record [-o FILE] [--json] [-q] [--raw] [--no-follow] [--keyframe-every N] -- PROGRAM [ARGS...]",
	  "record a Linux x86-64 process under ptrace",
	  "  -o, --output FILE   trace to write (default: PROGRAM.strand)\n"
	  "  --json              summary as JSON on stdout (after the program's own output)\n"
	  "  -q, --quiet         no progress display\n"
	  "  --raw               keep the ordinal-position trace (no finalizing replay)\n"
	  "  --keyframe-every N  key frame every N system calls\n"
	  "  --no-follow         child processes run unrecorded (default: each is recorded,\n"
	  "                      its trace embedded in FILE; 'strand info' shows the tree)\n"
	  "exit status: the program's own (128+N if signal N killed it, 130 if interrupted);\n"
	  "124 finalizing failed (FILE.raw kept), 125 recorder error or bad usage,\n"
	  "126 program cannot be executed, 127 program not found\n", cmd_record },
	{ "record-win", "record-win [-o FILE] [--modules DIR] [--system-dlls DIR] [--nls DIR] [--json] [-q] SCENARIO",
	  "record a Windows x86 process in emulation from a scenario file",
	  "  -o, --output FILE   trace to write (default: SCENARIO's name + .strand)\n"
	  "  --modules DIR       module directory (overrides the scenario's 'modules')\n"
	  "  --system-dlls DIR   real system DLLs (overrides the scenario's 'system_dlls')\n"
	  "  --nls DIR           locale data (overrides the scenario's 'nls_dir')\n"
	  "  --trace-syscalls    every system call on stderr as it is served\n"
	  "  --allow-host-files  let the scenario's file: data name files outside its directory\n"
	  "  --json              summary as JSON\n"
	  "  -q, --quiet         no warnings\n", cmd_record_win },
	{ "report", "report [--format text|markdown|json|html] [-o FILE] [--details] [--kb FILE] [--plugin SO[:k=v,...]] [-a NAME] TRACE",
	  "root-cause report: symptom, failing kernel call, stack, propagation",
	  "  -f, --format FMT    text (default), markdown, json or html\n"
	  "  --json              same as --format json (errors as JSON too)\n"
	  "  -o, --output FILE   write the report to FILE\n"
	  "  --details           text/Markdown: the step-by-step propagation too\n"
	  "  --kb FILE           add knowledge-base entries (knowledge/data/kb.txt format)\n"
	  "  --plugin SO[:OPTS]  load an external analysis plugin (shared object)\n"
	  "  -a, --analysis SPEC run only these analyses (NAME or NAME:k=v,...) and show their results\n"
	  "  --list              list the built-in analyses and their options\n"
	  "  -q, --quiet         no progress display\n"
	  CLI_BUDGET_HELP, cmd_report },
	{ "export", "export --format perfetto|tenet|jsonl [-o FILE] [--from POS] [--to POS] [--max-events N] [--tid TID] [--no-chain] TRACE",
	  "a trace in another tool's format: Perfetto/Chrome trace, Tenet, JSON Lines",
	  "  -f, --format FMT    perfetto (Chrome Trace Event JSON), tenet (IDA Tenet text trace), jsonl (events)\n"
	  "  -o, --output FILE   write there instead of stdout\n"
	  "  --from POS, --to POS  only this position range [from, to)\n"
	  "  --max-events N      at most N events (tenet: instructions); default 1000000\n"
	  "  --tid TID           tenet: the thread to follow (default: the first to run)\n"
	  "  --no-chain          perfetto: no causal-chain flow arrows (skips the data-flow pass)\n"
	  "  -q, --quiet         no progress display\n", cmd_export },
	{ "query", "query [--json] [--keep-going] [-q] [-c CMDS | -f SCRIPT] TRACE",
	  "explore a trace interactively or from a script",
	  "  -c, --command CMDS  run 'cmd; cmd; ...'\n"
	  "  -f, --file SCRIPT   run a script ('#' comments, '\\' continues a line)\n"
	  "  --json              one JSON object per command (JSON Lines), errors too\n"
	  "  --keep-going        continue a script past failing commands\n"
	  "  -q, --quiet         no progress display\n"
	  CLI_BUDGET_HELP
	  "without -c/-f: interactive on a terminal, else commands from stdin;\n"
	  "'help' inside a session lists the commands (docs/query.md)\n", cmd_query },
	{ "gdbserver", "gdbserver [--port N | --stdio] [--at POS] [--frames N] [--debug] [-q] TRACE",
	  "serve a replay to gdb (remote protocol, reverse execution)",
	  "  --port N            listen on 127.0.0.1:N (default 2159; 0 = any free port)\n"
	  "  --stdio             talk on stdin/stdout (target remote | strand gdbserver --stdio T)\n"
	  "  --at POS            start at position POS (an expression, like 'seek')\n"
	  "  --frames N          learn call frames for gdb's bt from the first N instructions\n"
	  "                      (default 50000000; 0 = none: gdb analyses prologues)\n"
	  "  --debug             log every packet on stderr\n"
	  "  -q, --quiet         no progress display, no banner\n"
	  "one connection is served; the command ends when gdb detaches or kills (docs/gdb.md)\n",
	  cmd_gdbserver },
	{ "index", "index [--json] [-q] [--force] [--segment N] [--verify] [-j N] TRACE",
	  "build the sidecar index TRACE.sidx (calls, syscalls, page changes, checkpoints)",
	  "  --json              summary as JSON\n"
	  "  -q, --quiet         no progress display\n"
	  "  --force             rebuild even if the index is up to date\n"
	  "  --segment N         instructions per segment (default 1M, at most 4096 segments)\n"
	  "  --verify            re-execute every segment from its checkpoint and check\n"
	  "                      that they chain exactly (a parallel replay)\n"
	  "  -j N                worker threads for --verify (default: the core count)\n",
	  cmd_index },
	{ "batch", "batch [-j N] [--timeout SEC] DIR",
	  "triage every trace in DIR on all cores: one JSON line per trace",
	  "  -j N                worker processes (default: the core count)\n"
	  "  --timeout SEC       give up on a trace after SEC seconds (its line says so)\n",
	  cmd_batch },
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

/* ------------------------------------------------ man pages, completion */
/* Both are generated from the command table, so they cannot drift from -h. */

/* Write `s` escaped for roff: backslashes doubled, a leading '.' or '\''
 * guarded, '-' as \- so options copy and paste. */
static void roff_text(FILE *f, const char *s)
{
	bool bol = true;
	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
		bol = *s == '\n';
	}
}

/* The help text's lines "  -x, --long ARG   what" as .TP entries; other
 * lines as paragraphs. */
static void roff_options(FILE *f, const char *help)
{
	while (help && *help) {
		const char *nl = strchr(help, '\n');
		size_t n = nl ? (size_t)(nl - help) : strlen(help);
		char line[512];
		snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line - 1 ? n : sizeof line - 1), help);
		const char *p = line;
		while (*p == ' ')
			p++;
		const char *gap = strstr(p, "  ");
		if (*p == '-' && gap) {
			char opt[256];
			snprintf(opt, sizeof opt, "%.*s", (int)(gap - p), p);
			while (*gap == ' ')
				gap++;
			fputs(".TP\n.B ", f);
			roff_text(f, opt);
			fputc('\n', f);
			roff_text(f, gap);
			fputc('\n', f);
		} else if (*p) {
			fputs(".PP\n", f);
			roff_text(f, p);
			fputc('\n', f);
		}
		help += n + (nl ? 1 : 0);
	}
}

static int write_man(const char *dir, const struct cli_command *c)
{
	char path[4096];
	if (c)
		snprintf(path, sizeof path, "%s/strand-%s.1", dir, c->name);
	else
		snprintf(path, sizeof path, "%s/strand.1", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return cli_failf("help", false, false, "cannot write %s: %s", path, strerror(errno));
	if (c) {
		fprintf(f, ".TH STRAND-%s 1 \"\" \"strand %s\" \"strand manual\"\n.SH NAME\nstrand\\-%s \\- ",
			c->name, STRAND_VERSION_STRING, c->name);
		roff_text(f, c->summary);
		fputs("\n.SH SYNOPSIS\n.B strand\n", f);
		roff_text(f, c->synopsis);
		fputs("\n.SH OPTIONS\n", f);
		roff_options(f, c->help);
		fputs(".TP\n.B \\-h, \\-\\-help\nshow the help\n", f);
		fputs(".SH SEE ALSO\n.BR strand (1)\n", f);
	} else {
		fprintf(f, ".TH STRAND 1 \"\" \"strand %s\" \"strand manual\"\n.SH NAME\n"
			"strand \\- time\\-travel trace replay analyzer\n.SH SYNOPSIS\n"
			".B strand\n[\\-\\-version] COMMAND [ARGS]\n.SH DESCRIPTION\n"
			"strand records Linux and Windows processes, replays them exactly forward "
			"and backward, and reports the root cause of a failure.\n.SH COMMANDS\n",
			STRAND_VERSION_STRING);
		for (const struct cli_command *k = cli_commands; k->name; k++) {
			fprintf(f, ".TP\n.BR strand\\-%s (1)\n", k->name);
			roff_text(f, k->summary);
			fputc('\n', f);
		}
	}
	bool bad = ferror(f);
	if (fclose(f) != 0 || bad)
		return cli_failf("help", false, false, "cannot write %s", path);
	return 0;
}

static int man_dir(const char *dir)
{
	int rc = write_man(dir, NULL);
	for (const struct cli_command *c = cli_commands; !rc && c->name; c++)
		rc = write_man(dir, c);
	return rc;
}

/* The options of a command: every word starting with '-' that begins an
 * option line of its help ("  -o, --output FILE" gives -o --output). */
static void print_options(const char *help)
{
	for (const char *p = help; p && *p;) {
		while (*p == ' ')
			p++;
		while (*p == '-') {
			size_t n = strcspn(p, " ,\n");
			printf(" %.*s", (int)n, p);
			p += n;
			if (*p == ',' && p[1] == ' ')
				p += 2;
			else
				break;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
}

static int bash_completion(void)
{
	printf("# bash completion for strand %s (generated from its command table)\n"
	       "_strand() {\n"
	       "\tlocal cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} opts\n"
	       "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"", STRAND_VERSION_STRING);
	for (const struct cli_command *c = cli_commands; c->name; c++)
		printf("%s%s", c == cli_commands ? "" : " ", c->name);
	printf(" --version --help\" -- \"$cur\"))\n\t\treturn\n\tfi\n\tcase $cmd in\n");
	for (const struct cli_command *c = cli_commands; c->name; c++) {
		printf("\t%s) opts=\"", c->name);
		print_options(c->help);
		printf(" -h --help\" ;;\n");
	}
	printf("\tesac\n"
	       "\tif [[ $cur == -* ]]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	       "\telse\n"
	       "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	       "\tfi\n"
	       "}\n"
	       "complete -o filenames -F _strand strand\n");
	return 0;
}

int cmd_help(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--man-dir"))
		return man_dir(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "--bash-completion"))
		return bash_completion();
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
