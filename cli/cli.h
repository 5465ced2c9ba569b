/*
 * The strand command: shared declarations of the subcommands and the
 * helpers that give every subcommand the same conventions:
 *   -h, --help     print the subcommand's help and exit 0
 *   --json         machine output on stdout (errors too, as JSON)
 *   -o, --output   output file where the subcommand writes one
 *   -q, --quiet    no progress display
 * Errors are one line on stderr ("strand info: cannot open trace: ...")
 * and a non-zero exit: 1 for a failed operation, 2 for bad usage.
 */
#ifndef STRAND_CLI_H
#define STRAND_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "strand/strand.h"

/* One subcommand: name, synopsis, one-line description, handler.
 * The handler receives argv with argv[0] = the subcommand name. */
struct cli_command {
	const char *name;
	const char *synopsis;    /* "info [--json] TRACE" */
	const char *summary;     /* one line */
	const char *help;        /* options, several lines; may be NULL */
	int (*run)(int argc, char **argv);
};

/* The table (cli/main.c). */
extern const struct cli_command cli_commands[];
const struct cli_command *cli_find(const char *name);

/* Print "usage: strand SYNOPSIS" + summary + help of `cmd` to `out`. */
void cli_usage(const struct cli_command *cmd, FILE *out);

/* Report a failure of subcommand `cmd`: one line on stderr, or a JSON
 * object {"error":{"command","status","message"}} on stdout when json.
 * Returns the exit code to use (1). */
int cli_fail(const char *cmd, bool json, const strand_error *err);
/* Same with a formatted message; returns 1 (or 2 when usage is true). */
int cli_failf(const char *cmd, bool json, bool usage, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Parse "[--json] TRACE", the arguments of the simplest subcommands.
 * Returns 0 with *json and *path set, or the exit code after reporting
 * the usage error. */
int cli_args_json_trace(const char *cmd, int argc, char **argv, bool *json,
			const char **path);

/* True if stderr is a terminal and progress should be drawn. */
bool cli_progress_enabled(bool quiet);
/* Progress callback for strand_replay_options.progress (ud = label). */
void cli_progress(void *ud, uint64_t pos, uint64_t end);
void cli_progress_done(void);

/* Subcommand handlers, one file each: cli/cmd_<name>.c */
int cmd_info(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_record_win(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_gdbserver(int argc, char **argv);
int cmd_finalize(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_help(int argc, char **argv);

#endif
