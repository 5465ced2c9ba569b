/*
 * strand query: a thin layer over include/strand/query.h.
 *
 *   strand query [--json] [--keep-going] [-q] [-c CMDS | -f SCRIPT] TRACE
 *
 * On a terminal (no -c/-f): an interactive session with readline history,
 * completion of commands, registers and symbols, and a prompt with the
 * position and thread.  Otherwise a script: -c 'cmd; cmd', -f FILE ('#'
 * comments, a trailing backslash continues a line), or stdin.  A failing
 * command stops a script with its line number and exit status 1 unless
 * --keep-going; --json prints one JSON object per command, errors
 * included.  docs/query.md has the language and the schema.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/grow.h"
#include "cli/cli.h"
#include "strand/escape.h"
#include "strand/query.h"

#ifdef STRAND_HAVE_READLINE
#include <readline/history.h>
#include <readline/readline.h>
#endif

struct run {
	struct strand_query *q;
	bool json;
	bool keep_going;
	bool interactive;
	const char *source;   /* "-c", script path, "<stdin>" */
	unsigned line;        /* line (or -c command number) being run */
	unsigned failures;
	bool quit;
	bool progress_shown;  /* a progress line is on stderr: erase before output */
	char last_motion[1024]; /* an empty line repeats it (interactive) */
	double cmd_start;     /* when the running command (or the opening) began, s */
	struct strand_query_result res;
};

/* Ctrl-C in an interactive session: interrupts the running motion command
 * (strand_query_set_interrupt) or clears the line being typed; it never
 * ends the session.  (CLI state, not the library's.) */
static volatile sig_atomic_t interrupt_flag;
static volatile sig_atomic_t at_prompt;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Progress of a command that runs long (a quarter of a second on). */
static void query_progress(void *ud, uint64_t pos, uint64_t end)
{
	struct run *rn = ud;
	if (now_s() - rn->cmd_start < 0.25)
		return;
	cli_progress((void *)"query", pos, end);
	rn->progress_shown = true;
}

static void erase_progress(struct run *rn)
{
	if (rn->progress_shown) {
		cli_progress_done();
		rn->progress_shown = false;
	}
}

/* Run one command (already split at ';'): print its result or error. */
static int run_one(void *ud, const char *cmd)
{
	struct run *rn = ud;
	strand_error err;
	strand_query_set_source(rn->q, rn->interactive ? NULL : rn->source,
				rn->interactive ? 0 : rn->line);
	interrupt_flag = 0; /* a Ctrl-C typed at the prompt is not for this command */
	rn->cmd_start = now_s();
	strand_status st = strand_query_exec(rn->q, cmd, &rn->res, &err);
	erase_progress(rn);
	if (rn->json)
		fwrite(rn->res.json, 1, rn->res.json_len, stdout);
	else
		/* names, strings and memory from the trace: terminal controls
		 * shown as \x1b (strand/escape.h), lines kept */
		strand_fwrite_term(stdout, rn->res.text, rn->res.text_len,
				   STRAND_ESC_KEEP_NEWLINES);
	fflush(stdout);
	if (rn->res.quit)
		rn->quit = true;
	if (st < 0) {
		rn->failures++;
		if (!rn->json) {
			if (rn->interactive)
				fprintf(stderr, "error: %s\n", err.msg);
			else
				fprintf(stderr, "strand query: %s:%u: %s\n", rn->source,
					rn->line, err.msg);
		}
		if (!rn->interactive && !rn->keep_going)
			return 1;
	}
	return rn->quit ? 1 : 0;
}

/* -c: each ';'-separated command is numbered 1, 2, ... */
static int cmd_counter(void *ud, const char *cmd)
{
	struct run *rn = ud;
	rn->line++;
	return run_one(ud, cmd);
}

static int run_lines(struct run *rn, FILE *in)
{
	char *buf = NULL, *logical = NULL;
	size_t cap = 0, llen = 0;
	unsigned physical = 0, first = 0;
	ssize_t n;
	int rc = 0;
	while ((n = getline(&buf, &cap, in)) >= 0) {
		physical++;
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			buf[--n] = '\0';
		bool cont = n > 0 && buf[n - 1] == '\\';
		if (cont)
			buf[--n] = '\0';
		char *p = realloc(logical, llen + (size_t)n + 2);
		if (!p) {
			rc = 1;
			break;
		}
		logical = p;
		if (llen == 0)
			first = physical;
		memcpy(logical + llen, buf, (size_t)n);
		llen += (size_t)n;
		logical[llen] = '\0';
		if (cont) {
			logical[llen++] = ' ';
			logical[llen] = '\0';
			continue;
		}
		rn->line = first;
		rc = strand_query_split(logical, run_one, rn);
		llen = 0;
		if (rc)
			break;
	}
	if (!rc && llen) { /* a continuation at the end of the file */
		rn->line = first;
		rc = strand_query_split(logical, run_one, rn);
	}
	free(buf);
	free(logical);
	return rc;
}

#ifdef STRAND_HAVE_READLINE
/* readline's completion has no user data pointer: the session lives here
 * for the duration of the interactive loop (CLI only, not the library). */
static struct strand_query *completion_session;

struct cands {
	char **v;
	size_t n, cap;
};

static void add_cand(void *ud, const char *s)
{
	struct cands *c = ud;
	if (!STRAND_GROW(c->v, c->cap, c->n, 2)) /* room for a NULL after it */
		return;
	char *d = strdup(s);
	if (d)
		c->v[c->n++] = d;
}

static char **complete(const char *text, int start, int end)
{
	(void)end;
	bool first = true;
	for (int k = 0; k < start; k++)
		if (rl_line_buffer[k] != ' ' && rl_line_buffer[k] != '\t')
			first = false;
	/* after ';' a new command starts */
	for (int k = start - 1; k >= 0 && !first; k--) {
		char ch = rl_line_buffer[k];
		if (ch == ';')
			first = true;
		else if (ch != ' ' && ch != '\t')
			break;
	}
	rl_attempted_completion_over = 1; /* no file names */
	struct cands c = { 0 };
	strand_query_complete(completion_session, text, first, add_cand, &c);
	if (c.n == 0) {
		free(c.v);
		return NULL;
	}
	char **matches = calloc(c.n + 2, sizeof *matches);
	if (!matches)
		return NULL;
	/* matches[0] is the common prefix readline inserts */
	size_t lcp = strlen(c.v[0]);
	for (size_t k = 1; k < c.n; k++) {
		size_t m = 0;
		while (m < lcp && c.v[k][m] == c.v[0][m])
			m++;
		lcp = m;
	}
	matches[0] = strndup(c.v[0], lcp);
	for (size_t k = 0; k < c.n; k++)
		matches[k + 1] = c.v[k];
	free(c.v);
	if (c.n == 1) { /* single match: readline wants it in [0] only */
		free(matches[0]);
		matches[0] = matches[1];
		matches[1] = NULL;
		if (matches[0][strlen(matches[0]) - 1] == '!')
			rl_completion_suppress_append = 1; /* "ntdll!" goes on */
	}
	return matches;
}
#endif

static void on_sigint(int sig)
{
	(void)sig;
	interrupt_flag = 1;
#ifdef STRAND_HAVE_READLINE
	if (at_prompt) { /* drop the line being typed, prompt again */
		(void)!write(STDOUT_FILENO, "\n", 1);
		rl_on_new_line();
		rl_replace_line("", 0);
		rl_redisplay();
	}
#endif
}

/* One interactive line; empty: the last motion command again (as gdb
 * repeats `stepi` on Enter). */
static void run_line(struct run *rn, const char *line)
{
	const char *p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p) {
		if (rn->last_motion[0])
			strand_query_split(rn->last_motion, run_one, rn);
		return;
	}
	if (strand_query_is_motion(line))
		snprintf(rn->last_motion, sizeof rn->last_motion, "%s", line);
	strand_query_split(line, run_one, rn);
}

static int run_interactive(struct run *rn, const char *trace)
{
	uint64_t nev = 0;
	strand_query_events(rn->q, &nev);
	struct strand_replay *r = strand_query_replay(rn->q);
	const struct strand_trace_info *info = strand_replay_info(r);
	erase_progress(rn);
	if (!rn->json)
		printf("strand query: %s (%s %s), %llu events, positions 0..%llu\n"
		       "'help' lists commands, 'quit' ends.\n",
		       trace, strand_arch_str(info->arch), strand_abi_str(info->abi),
		       (unsigned long long)nev,
		       (unsigned long long)strand_replay_end(r));
	char prompt[256];
	struct sigaction sa = { 0 }, old_sa;
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_sa);
	strand_query_set_interrupt(rn->q, &interrupt_flag);
#ifdef STRAND_HAVE_READLINE
	rl_catch_signals = 0; /* on_sigint handles Ctrl-C at the prompt */
	completion_session = rn->q;
	rl_readline_name = "strand";
	rl_attempted_completion_function = complete;
	rl_completer_word_break_characters = (char *)" \t[]()+-*/&|^~,;";
	char hist[4096] = "";
	const char *home = getenv("HOME");
	if (home) {
		snprintf(hist, sizeof hist, "%s/.strand_query_history", home);
		read_history(hist);
	}
	for (;;) {
		strand_query_prompt(rn->q, prompt, sizeof prompt);
		at_prompt = 1;
		char *line = readline(prompt);
		at_prompt = 0;
		if (!line) {
			putchar('\n');
			break;
		}
		if (line[0]) {
			add_history(line);
			if (hist[0])
				append_history(1, hist); /* kept even if the session is killed */
		}
		run_line(rn, line);
		free(line);
		if (rn->quit)
			break;
	}
	if (hist[0])
		write_history(hist);
	completion_session = NULL;
#else
	char *line = NULL;
	size_t cap = 0;
	for (;;) {
		strand_query_prompt(rn->q, prompt, sizeof prompt);
		fputs(prompt, stdout);
		fflush(stdout);
		if (getline(&line, &cap, stdin) < 0) {
			putchar('\n');
			break;
		}
		line[strcspn(line, "\r\n")] = '\0';
		run_line(rn, line);
		if (rn->quit)
			break;
	}
	free(line);
#endif
	strand_query_set_interrupt(rn->q, NULL);
	sigaction(SIGINT, &old_sa, NULL);
	return 0;
}

int cmd_query(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "command", required_argument, NULL, 'c' },
		{ "file", required_argument, NULL, 'f' },
		{ "max-instructions", required_argument, NULL, 'I' },
		{ "max-memory", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t max_insns = 0, max_mem = 0;
	struct run rn = { 0 };
	const char *cmds = NULL, *script = NULL;
	bool quiet = false;
	int opt, rc = 0;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+jkqc:f:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j': rn.json = true; break;
		case 'k': rn.keep_going = true; break;
		case 'q': quiet = true; break;
		case 'c': cmds = optarg; break;
		case 'f': script = optarg; break;
		case 'I':
		case 'M':
			if (!cli_parse_size(optarg, opt == 'I' ? &max_insns : &max_mem))
				return cli_failf("query", rn.json, true, "bad --%s '%s'",
						 opt == 'I' ? "max-instructions" : "max-memory", optarg);
			break;
		default:
			return cli_failf("query", rn.json, true, "bad option '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cli_failf("query", rn.json, true, "expected one TRACE argument");
	if (cmds && script)
		return cli_failf("query", rn.json, true, "-c and -f exclude each other");
	const char *trace = argv[optind];

	FILE *in = NULL;
	if (script) {
		in = strcmp(script, "-") ? fopen(script, "r") : stdin;
		if (!in)
			return cli_failf("query", rn.json, false, "cannot open script %s: %s",
					 script, strerror(errno));
	}

	struct strand_replay_options ro = { 0 };
	ro.max_instructions = max_insns;
	ro.max_memory = max_mem;
	if (cli_progress_enabled(quiet)) {
		ro.progress = query_progress;
		ro.progress_ud = &rn;
	}
	strand_error err;
	strand_status st = strand_query_open(trace, &ro, &rn.q, &err);
	if (st < 0) {
		if (in && in != stdin)
			fclose(in);
		strand_error_wrap(&err, st, "cannot open trace %s", trace);
		return cli_fail("query", rn.json, &err);
	}

	if (cmds) {
		rn.source = "-c";
		strand_query_split(cmds, cmd_counter, &rn);
	} else if (script) {
		rn.source = script;
		run_lines(&rn, in);
		if (in != stdin)
			fclose(in);
	} else if (isatty(STDIN_FILENO)) {
		rn.interactive = true;
		run_interactive(&rn, trace);
	} else {
		rn.source = "<stdin>";
		run_lines(&rn, stdin);
	}
	erase_progress(&rn);
	if (!rn.interactive && rn.failures)
		rc = 1;
	strand_query_result_fini(&rn.res);
	strand_query_free(rn.q);
	return rc;
}
