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
#include <stdint.h>
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

/* Budgets.  cli_parse_size: "4096", "0x1000", "512M", "2GiB" (binary
 * suffixes K M G T, optional "i" and "B"); false if not a positive number.
 * cli_budget_option: if argv[*i] is --max-instructions or --max-memory,
 * parse its value into the matching out-parameter, advance *i and return
 * 1; 0 if argv[*i] is another option; a negative exit code (the usage
 * error already reported) on a bad value. */
bool cli_parse_size(const char *s, uint64_t *out);
int cli_budget_option(const char *cmd, bool json, int argc, char **argv, int *i,
		      uint64_t *max_instructions, uint64_t *max_memory);
#define CLI_BUDGET_HELP \
	"  --max-instructions N  refuse traces claiming more than N instructions\n" \
	"                      (default: 2^26 + 2^16 per byte of trace)\n" \
	"  --max-memory SIZE   bound guest and checkpoint memory (default: 256M +\n" \
	"                      4K per byte of trace, at most 64G)\n"

/* An output file written safely, for every command that writes one:
 *  - a symbolic link or a directory as target is refused before anything
 *    is created;
 *  - a regular (or missing) target is written to a fresh temporary in its
 *    directory, ".BASE.TAG.XXXXXX", created O_EXCL (never through an
 *    existing name), and renamed over the target on commit;
 *  - any other target (a device, a FIFO) is never replaced: the output
 *    goes to a temporary in $TMPDIR (or /tmp) and is copied into the target
 *    on commit, opened O_NOFOLLOW without O_CREAT;
 *  - abort (and commit, after an error) removes the temporary.
 * Use: cli_out_begin, then write either through cli_out_file() (a FILE)
 * or to the path cli_out_path() (closed, for writers that open a path),
 * then cli_out_commit or cli_out_abort. */
struct cli_out {
	char *target;     /* owned copy of the path given */
	char *tmp;        /* owned: the temporary written; NULL after abort */
	int fd;           /* open on tmp until cli_out_file/cli_out_path, else -1 */
	FILE *f;          /* from cli_out_file, or NULL */
	bool in_place;    /* the target exists and is not a regular file */
	bool committed;   /* renamed: tmp no longer exists */
};
strand_status cli_out_begin(struct cli_out *o, const char *target, const char *tag,
			    strand_error *err);
FILE *cli_out_file(struct cli_out *o);       /* borrowed until commit/abort */
const char *cli_out_path(struct cli_out *o); /* borrowed until commit/abort */
strand_status cli_out_commit(struct cli_out *o, strand_error *err);
void cli_out_abort(struct cli_out *o);       /* idempotent */
/* For `strand record`: the ordinal trace next to the output, TARGET.raw
 * (an old regular file of that name is replaced; anything else is
 * refused), created O_EXCL|O_NOFOLLOW; a temporary in $TMPDIR when the
 * target is written in place.  *raw owned (free).  cli_raw_commit makes
 * the raw trace itself the output (--raw) and ends `o` like commit. */
strand_status cli_raw_begin(struct cli_out *o, char **raw, strand_error *err);
strand_status cli_raw_commit(struct cli_out *o, const char *raw, strand_error *err);

/* `s` (from a trace: untrusted) escaped for the terminal into buf
 * (strand_escape_term: control characters as \x1b...); returns buf.  NULL
 * gives "". */
const char *cli_term(const char *s, char *buf, size_t len);

/* Subcommand handlers, one file each: cli/cmd_<name>.c */
int cmd_info(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_record_win(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_gdbserver(int argc, char **argv);
int cmd_finalize(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_help(int argc, char **argv);

#endif
