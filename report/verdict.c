/* The report's decisions: the verdict (failure, crash, hang, interrupted,
 * no failure found) with its reason, and the cause with how it was found.
 *
 * Order of evidence, strongest first:
 *   1. a crash: the crash facts (faulting instruction, bad value and its
 *      origin by data flow); a kernel call only if that flow reaches one;
 *   2. a recording the process did not end itself: the blocked threads
 *      (wait graph);
 *   3. an exit status the knowledge base documents as the program's
 *      normal answer, with no diagnostic line: not a failure;
 *   4. a kernel call the symptom's value reaches by data flow, or by
 *      control flow (the compare that chose an error constant);
 *   5. heuristic, labelled and ranked below: a failed kernel call whose
 *      object or status the error line names;
 *   6. otherwise no kernel failure: the program's own code produced the
 *      error (the chain's constant origin and the branch that chose it).
 * No list of benign calls or paths: a failure that no evidence connects to
 * the symptom is not the cause. */
#include "report/verdict.h"
#include "report/calltab.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const symptom_priority[] = { "crash", "service_stop", "error_log",
						"exit_status" };

uint64_t rc_call_status(const struct strand_rnode *call)
{
	const struct strand_rnode *e = strand_rnode_get(call, "error");
	return e ? e->v.u : strand_rnode_u64(call, "result", 0);
}

uint32_t rc_ordered_symptoms(const struct strand_rnode *ef, const struct strand_rnode **out,
			     uint32_t n)
{
	const struct strand_rnode *list = strand_rnode_get(ef, "symptoms");
	uint32_t k = 0;
	for (size_t p = 0; p < sizeof symptom_priority / sizeof symptom_priority[0]; p++)
		for (const struct strand_rnode *s = list ? list->first : NULL; s && k < n; s = s->next)
			if (!strcmp(strand_rnode_str(s, "kind", ""), symptom_priority[p]))
				out[k++] = s;
	return k;
}

static const struct strand_rnode *symptom_of(const struct strand_rnode *const *sy, uint32_t n,
					     const char *kind)
{
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(strand_rnode_str(sy[i], "kind", ""), kind))
			return sy[i];
	return NULL;
}

static const char *errno_name(const struct rc_inputs *in, uint64_t v)
{
	if (in->info->abi == STRAND_ABI_LINUX) {
		int64_t e = (int64_t)v;
		const struct strand_code *c = e < 0 ? strand_errno_lookup((uint32_t)-e) : NULL;
		return c ? c->name : NULL;
	}
	const struct strand_code *c = strand_ntstatus_lookup((uint32_t)v);
	return c ? c->name : NULL;
}

/* Is line[at..at+n) a whole token: not glued to more digits, letters,
 * dots or colons (so "10.0.0.1" is not found in "110.0.0.12")? */
static bool whole_token(const char *line, const char *at, size_t n)
{
	const char *chars = ".:";
	char b = at > line ? at[-1] : ' ', a = at[n];
	bool glued_b = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
		       (b && strchr(chars, b));
	bool glued_a = (a >= '0' && a <= '9') || (a >= 'a' && a <= 'z') || (a >= 'A' && a <= 'Z') ||
		       (a && strchr(chars, a) && at[n + 1] >= '0' && at[n + 1] <= '9');
	return !glued_b && !glued_a;
}

/* A socket address "HOST:PORT" ("[V6]:PORT") named the way programs
 * print one: "HOST:PORT", "HOST port PORT", "('HOST', PORT)", "HOST
 * PORT": the host as a whole token with the port as the next number
 * within a few characters. */
static bool line_names_sockaddr(const char *line, const char *obj)
{
	const char *colon = strrchr(obj, ':');
	if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return false;
	char host[80];
	const char *h = obj;
	size_t hn = (size_t)(colon - obj);
	if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
		h++;
		hn -= 2;
	}
	if (hn == 0 || hn >= sizeof host)
		return false;
	memcpy(host, h, hn);
	host[hn] = 0;
	const char *port = colon + 1;
	size_t pn = strlen(port);
	for (const char *at = strstr(line, host); at; at = strstr(at + 1, host)) {
		if (!whole_token(line, at, hn))
			continue;
		const char *p = at + hn;
		for (int k = 0; k < 12 && *p; k++, p++) {
			if (*p < '0' || *p > '9')
				continue;
			if (!strncmp(p, port, pn) && whole_token(line, p, pn))
				return true;
			break; /* the next number is another one */
		}
	}
	return false;
}

/* Does the line name the object (the whole name, or its last component
 * when that is distinctive)?  A descriptor's object ("5 → 127.0.0.1:1",
 * "3 → out.txt") is named by what the descriptor names. */
/* Does `line` hold `word` as a whole name: not inside a longer name
 * ("d" in "ln: d: hard link", not in "directory")? */
static bool line_has_word(const char *line, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = strstr(line, word); p; p = strstr(p + 1, word)) {
		bool before = p == line || !(isalnum((unsigned char)p[-1]) || strchr("_.-/", p[-1]));
		bool after = !p[n] || !(isalnum((unsigned char)p[n]) || strchr("_.-/", p[n]));
		if (before && after)
			return true;
	}
	return false;
}

static bool line_names(const char *line, const char *obj)
{
	if (!line || !obj || !obj[0])
		return false;
	if (strlen(obj) < 3 && !strstr(obj, "→ ")) /* a short name: as a whole word only */
		return line_has_word(line, obj);
	if (strstr(line, obj))
		return true;
	const char *arrow = strstr(obj, "→ ");
	if (arrow)
		return line_names(line, arrow + strlen("→ "));
	if (line_names_sockaddr(line, obj))
		return true;
	const char *b = strrchr(obj, '/');
	if (!b)
		b = strrchr(obj, '\\');
	return b && strlen(b + 1) >= 3 && strstr(line, b + 1);
}

static void add_candidate(struct rc *rc, const struct rc_candidate *c)
{
	/* keep the best RC_MAX_CANDIDATES by score, then nearest (later) */
	uint32_t i = rc->ncand;
	if (i == RC_MAX_CANDIDATES) {
		const struct rc_candidate *w = &rc->cand[i - 1];
		if (c->score < w->score || (c->score == w->score && c->pos < w->pos))
			return;
		i--;
	} else {
		rc->ncand++;
	}
	while (i > 0 && (rc->cand[i - 1].score < c->score ||
			 (rc->cand[i - 1].score == c->score && rc->cand[i - 1].pos < c->pos))) {
		rc->cand[i] = rc->cand[i - 1];
		i--;
	}
	rc->cand[i] = *c;
}

/* Two names of one file: equal, or an absolute name ending in "/" and a
 * relative one (the trace does not say the working directory; an
 * absolute name that ends in the relative one is taken as the same). */
static bool same_object(const char *a, const char *b)
{
	if (!strcmp(a, b))
		return true;
	if (a[0] != '/') {
		const char *t = a;
		a = b;
		b = t;
	}
	size_t la = strlen(a), lb = strlen(b);
	return a[0] == '/' && b[0] && b[0] != '/' && la > lb && a[la - lb - 1] == '/' &&
	       !strcmp(a + la - lb, b);
}

/* A search path's miss: the failed call's name and a later successful
 * same call's name differ only in the directory ("/usr/sbin/head", then
 * "/usr/bin/head" as execvp walks PATH; a library or module found in the
 * next directory).  Both absolute, same last component. */
static bool found_elsewhere(const char *failed, const char *later)
{
	const char *a = strrchr(failed, '/'), *b = strrchr(later, '/');
	return failed[0] == '/' && later[0] == '/' && a && b && a[1] && !strcmp(a, b) &&
	       strcmp(failed, later);
}

/* Is d a use of c's object: not a release, and the same file, or the same
 * call finding the name in another directory? */
static bool uses_object(const struct rc_call *c, const struct rc_call *d, void *ud)
{
	strand_abi abi = *(const strand_abi *)ud;
	return !strand_syscall_releases(abi, d->name) &&
	       (same_object(d->obj, c->obj) || (!strcmp(d->name, c->name) && found_elsewhere(c->obj, d->obj)));
}

/* Position of a later successful kernel call of c's thread on the object
 * of the failed call c (the same file), at or before POS; 0 if none.
 * Closing it is not a use. */
static uint64_t used_later(strand_abi abi, const struct rc_calltab *t, const struct rc_call *c, uint64_t pos)
{
	if (!c->obj[0])
		return 0;
	const struct rc_call *d = rc_calltab_same_last(t, c, pos, uses_object, &abi);
	return d ? d->pos : 0;
}

/* Failed kernel calls before the symptom, ranked by what the error line
 * says about them. */
static void rank_by_text(const struct rc_inputs *in, const struct strand_rnode *symptom,
			 const struct strand_rnode *line, struct rc *rc)
{
	uint64_t spos = strand_rnode_u64(symptom, "position", ~0ull);
	uint64_t stid = strand_rnode_u64(symptom, "tid", 0);
	const char *text = line ? strand_rnode_str(line, "description", NULL) : NULL;
	const char *st_in_text = line ? strand_rnode_str(line, "status_in_text", NULL) : NULL;
	struct rc_calltab tab;
	strand_error terr;
	if (rc_calltab_build(strand_rnode_get(in->sc, "calls"), &tab, &terr) != STRAND_OK)
		return; /* no memory: no heuristic candidates */
	for (uint32_t ci = 0; ci < tab.n; ci++) {
		const struct rc_call *row = &tab.rows[ci];
		const struct strand_rnode *c = row->node;
		if (!row->failed || row->pos > spos)
			continue;
		struct rc_candidate k = { 0 };
		k.pos = strand_rnode_u64(c, "position", 0);
		k.tid = strand_rnode_u64(c, "tid", 0);
		k.status = rc_call_status(c);
		if (strand_rnode_get(c, "error")) {
			k.out_param = true;
			k.status_addr = strand_rnode_u64(c, "error_address", 0);
			k.status_raw = (uint64_t)-(int64_t)k.status;
		}
		k.syscall = strand_rnode_str(c, "name", "?");
		k.object = strand_rnode_str(c, "object", NULL);
		k.found_by = "heuristic";
		const char *sn = errno_name(in, k.status);
		/* a call of two names (link, rename) fails for both: the
		 * message may name either */
		bool names_obj = line_names(text, k.object) ||
				 line_names(text, strand_rnode_str(c, "other_object", NULL));
		bool names_status = st_in_text && sn && !strcmp(st_in_text, sn);
		k.score = (names_obj ? 4 : 0) + (names_status ? 3 : 0) + (k.tid == stid ? 1 : 0);
		snprintf(k.why, sizeof k.why, "%s%s%s",
			 names_obj ? "the error line names its object" : "",
			 names_obj && names_status ? " and its status" : names_status
				 ? "the error line carries its status message" : "",
			 !names_obj && !names_status ? "a failed kernel call before the symptom; "
				 "nothing connects it to the symptom" : "");
		uint64_t used = k.score >= 3 ? used_later(in->info->abi, &tab, row, spos) : 0;
		if (used) {
			/* the thread went on to use the object (readlink of a
			 * regular file: EINVAL, then the file is opened): the
			 * failure did not stop it */
			k.score = k.tid == stid ? 1 : 0;
			size_t l = strlen(k.why);
			snprintf(k.why + l, sizeof k.why - l, "; but the same object was used "
				 "successfully afterwards (@%" PRIu64 ")", used);
		}
		add_candidate(rc, &k);
	}
	rc_calltab_free(&tab);
}

/* The error value a successful kernel call wrote into user memory, when
 * that value is what the flow followed to the symptom: the call's result
 * said "done", the bytes it wrote said what went wrong (an error reported
 * through an out-parameter).  Linux: a positive errno in an int-sized
 * location.  Returns the value, 0 if none. */
static uint64_t out_param_error(const struct rc_inputs *in, const struct strand_rnode *o)
{
	const struct strand_rnode *w = strand_rnode_get(o, "out_parameter");
	if (!w || in->info->abi != STRAND_ABI_LINUX)
		return 0;
	uint64_t size = strand_rnode_u64(w, "size", 0), v = strand_rnode_u64(w, "value", 0);
	if (size < 4 || size > 8 || v == 0 || v > 4095 || !strand_errno_lookup((uint32_t)v))
		return 0;
	return v;
}

static bool chain_reaches_kernel(const struct rc_inputs *in, const struct strand_rnode *o)
{
	if (!o || strcmp(strand_rnode_str(o, "kind", ""), "syscall"))
		return false;
	if (strand_rnode_u64(o, "failed", 0) || out_param_error(in, o))
		return true;
	/* a Windows status that is not success but not an error either
	 * (STATUS_TIMEOUT, STATUS_BUFFER_OVERFLOW, a wait result) counts when
	 * data flow carried it to the symptom */
	return in->info->abi == STRAND_ABI_WINDOWS_NT && strand_rnode_u64(o, "status", 0) != 0;
}

static void decide_incomplete(const struct rc_inputs *in, struct rc *rc);

/* An error line that names no status (no error code, no status message:
 * "No rule to make target 'x'") is not followed to a kernel call: its
 * bytes tell how the message was built (a failed message-catalog lookup
 * chose the untranslated text, a length decided what was copied), not
 * why the program failed; the exit status and the program's own decision
 * say that. */
static bool line_says_no_status(const struct strand_rnode *sym)
{
	return !strcmp(strand_rnode_str(sym, "kind", ""), "error_log") &&
	       strand_rnode_u64(sym, "value", 0) == 0;
}

/* Where the program's own code produced the value: the program's frame
 * when the origin lies in a library, else the origin ("cp+0x4a3c",
 * "libpython3.11.so.1.0!Py_RunMain+0x1c1"). */
const char *rc_user_where(const struct strand_rnode *user)
{
	const char *pf = strand_rnode_str(user, "program_frame", NULL);
	return pf ? pf : strand_rnode_str(user, "where", "?");
}

void rc_decide(const struct rc_inputs *in, struct rc *rc)
{
	memset(rc, 0, sizeof *rc);
	rc->verdict = "no_failure_found";
	const struct strand_rnode *sy[16];
	uint32_t n = rc_ordered_symptoms(in->ef, sy, 16);
	if (n)
		rc->symptom = sy[0];
	const struct strand_rnode *line = symptom_of(sy, n, "error_log");
	const struct strand_rnode *exit = symptom_of(sy, n, "exit_status");
	const struct strand_rnode *service = symptom_of(sy, n, "service_stop");

	/* 1. a crash */
	if (in->crash && strand_rnode_u64(in->crash, "crashed", 0)) {
		rc->verdict = "crash";
		rc->kind = RC_CRASH;
		rc->found_by = "crash origin";
		const struct strand_rnode *o = strand_rnode_get(in->crash, "origin");
		snprintf(rc->reason, sizeof rc->reason, "%s at %s: %s",
			 strand_rnode_str(in->crash, "signal", "fault"),
			 strand_rnode_str(in->crash, "where", "?"),
			 strand_rnode_str(in->crash, "explanation", ""));
		rc->confidence = "crash origin: the faulting instruction and the origin of its bad "
				 "value by data flow";
		if (o && !strcmp(strand_rnode_str(o, "kind", ""), "syscall") &&
		    strand_rnode_u64(o, "failed", 0)) {
			rc->found = true;
			rc->pos = strand_rnode_u64(o, "position", 0);
			rc->tid = strand_rnode_u64(o, "tid", 0);
			rc->status = strand_rnode_u64(o, "status", 0);
			rc->syscall = strand_rnode_str(o, "syscall", "?");
			rc->confidence = "crash origin: the bad value was followed back to this kernel "
					 "call by data flow";
		}
		return;
	}
	/* 1b. the trace ends before the process did: no final answer, only
	 * what the recorded part shows */
	if (in->incomplete) {
		decide_incomplete(in, rc);
		return;
	}
	/* 2. the process did not end by itself */
	if (!in->partial && in->hang && strcmp(strand_rnode_str(in->hang, "ended_by", "process"), "process")) {
		rc->verdict = strand_rnode_str(in->hang, "verdict", "interrupted");
		rc->kind = RC_WAIT;
		rc->found_by = "wait graph";
		rc->confidence = "wait graph: what each thread was blocked on when the recording ended";
		snprintf(rc->reason, sizeof rc->reason, "%s", strand_rnode_str(in->hang, "reason", ""));
		return;
	}
	if (!n) {
		snprintf(rc->reason, sizeof rc->reason, "no crash, no failed service stop, no "
			 "diagnostic line, exit status 0");
		return;
	}
	if (!exit && !service && !in->partial) {
		snprintf(rc->reason, sizeof rc->reason, "the process wrote a diagnostic line (\"%s\") "
			 "but ended with exit status 0", strand_rnode_str(line, "description", ""));
		rc->symptom = NULL;
		return;
	}
	/* 3. a documented normal exit status */
	if (exit && !service && in->kb) {
		const struct kb_entry *e = kb_exit_lookup(in->kb, in->program,
							  strand_rnode_u64(exit, "value", 0), line != NULL,
							  in->args);
		if (e) {
			rc->normal_exit = e;
			rc->found_by = "knowledge base";
			snprintf(rc->reason, sizeof rc->reason, "%s exited with status %" PRIu64 ": %s "
				 "(source: %s)", in->program, strand_rnode_u64(exit, "value", 0), e->text,
				 e->source);
			return;
		}
	}
	rc->verdict = "failure";
	/* 4. data flow / control flow from a symptom */
	for (uint32_t i = 0; i < n; i++) {
		const struct strand_rnode *ch = strand_rnode_get(sy[i], "chain");
		const struct strand_rnode *o = strand_rnode_get(ch, "origin");
		if (!chain_reaches_kernel(in, o) || line_says_no_status(sy[i]))
			continue;
		rc->found = true;
		rc->kind = RC_KERNEL;
		rc->pos = strand_rnode_u64(o, "position", 0);
		rc->tid = strand_rnode_u64(o, "tid", 0);
		rc->status = strand_rnode_u64(o, "status", 0);
		rc->syscall = strand_rnode_str(o, "syscall", "?");
		rc->object = strand_rnode_str(o, "object", NULL);
		uint64_t ov = strand_rnode_u64(o, "failed", 0) ? 0 : out_param_error(in, o);
		if (ov) {
			const struct strand_rnode *w = strand_rnode_get(o, "out_parameter");
			rc->out_param = true;
			rc->status_raw = ov;
			rc->status_addr = strand_rnode_u64(w, "address", 0);
			rc->status = (uint64_t)-(int64_t)ov;
		}
		rc->found_by = strcmp(strand_rnode_str(ch, "found_by", "data flow"), "control flow")
				       ? "data flow" : "control flow";
		if (rc->out_param)
			snprintf(rc->found_by_buf, sizeof rc->found_by_buf,
				 "%s: the %s symptom's value was followed back to an error value "
				 "(%" PRIu64 ") this kernel call wrote into user memory at 0x%" PRIx64
				 " (an out-parameter; the call itself returned success)",
				 rc->found_by, strand_rnode_str(sy[i], "kind", "?"), rc->status_raw,
				 rc->status_addr);
		else
			snprintf(rc->found_by_buf, sizeof rc->found_by_buf,
				 "%s: the %s symptom's value was followed back to this kernel call",
				 rc->found_by, strand_rnode_str(sy[i], "kind", "?"));
		rc->confidence = rc->found_by_buf;
		rc->chain = ch;
		snprintf(rc->reason, sizeof rc->reason, "%s", strand_rnode_str(sy[i], "description", ""));
		return;
	}
	/* 4b. a child's exit status collected by a wait call: the failure is
	 * inside the child (Linux wait4/waitid: the kernel writes the status) */
	for (uint32_t i = 0; i < n && in->info->abi == STRAND_ABI_LINUX; i++) {
		const struct strand_rnode *ch = strand_rnode_get(sy[i], "chain");
		const struct strand_rnode *o = strand_rnode_get(ch, "origin");
		const char *nm = strand_rnode_str(o, "syscall", "");
		if (!o || strcmp(strand_rnode_str(o, "kind", ""), "syscall") ||
		    (strcmp(nm, "wait4") && strcmp(nm, "waitid")))
			continue;
		rc->kind = RC_CHILD;
		rc->user = o;
		rc->chain = ch;
		rc->found_by = "data flow";
		snprintf(rc->reason, sizeof rc->reason, "%s: the value is a child process's exit "
			 "status, collected by %s (child pid %" PRIu64 "); the failure is inside the "
			 "child", strand_rnode_str(sy[i], "description", ""), nm,
			 strand_rnode_u64(o, "status", 0));
		return;
	}
	/* 5. heuristic: the error line names a failed call's object/status */
	rank_by_text(in, line ? line : sy[0], line, rc);
	if (rc->ncand && rc->cand[0].score >= 3) {
		const struct rc_candidate *c = &rc->cand[0];
		rc->found = true;
		rc->kind = RC_KERNEL;
		rc->pos = c->pos;
		rc->tid = c->tid;
		rc->status = c->status;
		rc->syscall = c->syscall;
		rc->object = c->object;
		rc->out_param = c->out_param;
		rc->status_addr = c->status_addr;
		rc->status_raw = c->status_raw;
		rc->found_by = "heuristic";
		snprintf(rc->found_by_buf, sizeof rc->found_by_buf,
			 "heuristic: %s (data and control flow from the symptom did not reach a "
			 "kernel failure)", c->why);
		rc->confidence = rc->found_by_buf;
		rc->chosen = *c;
		rc->chosen.chosen = true;
		memmove(rc->cand, rc->cand + 1, (rc->ncand - 1) * sizeof rc->cand[0]);
		rc->ncand--;
		snprintf(rc->reason, sizeof rc->reason, "%s", strand_rnode_str(sy[0], "description", ""));
		return;
	}
	/* 6. no kernel failure: the program decided */
	rc->kind = RC_USER_CODE;
	for (uint32_t i = 0; i < n && !rc->user; i++) {
		const struct strand_rnode *ch = strand_rnode_get(sy[i], "chain");
		const struct strand_rnode *o = strand_rnode_get(ch, "origin");
		if (o && !strcmp(strand_rnode_str(o, "kind", ""), "constant")) {
			rc->user = o;
			rc->chain = ch;
			rc->found_by = strcmp(strand_rnode_str(ch, "found_by", "data flow"), "control flow")
					       ? "data flow" : "control flow";
		}
	}
	if (!rc->found_by)
		rc->found_by = "heuristic";
	snprintf(rc->reason, sizeof rc->reason, "%s; no failing kernel call lies on the data or "
		 "control path to it%s%s", strand_rnode_str(sy[0], "description", "failure"),
		 rc->user ? ": the value was produced by the program's code at " : "",
		 rc->user ? rc_user_where(rc->user) : "");
}

/* Verdict "incomplete": the process's end is not in the trace, so no
 * cause is final.  The symptoms of the recorded part (a diagnostic line
 * written before the end) are decided as usual, and a kernel failure they
 * reach is kept as what the recorded part shows, labelled tentative. */
static void decide_incomplete(const struct rc_inputs *in, struct rc *rc)
{
	struct rc_inputs sub = *in;
	sub.incomplete = false;
	sub.partial = true;
	struct rc *part = malloc(sizeof *part);
	rc->verdict = "incomplete";
	rc->kind = RC_INCOMPLETE;
	rc->found_by = "trace end";
	rc->confidence = "trace end: the trace holds no process exit";
	snprintf(rc->reason, sizeof rc->reason, "the trace ends before the process did: %" PRIu64
		 " instructions recorded, %s; the answer covers only that part", in->instructions,
		 in->truncated ? "then the file is cut (no footer: read up to its last whole chunk)"
			       : "and no process exit (the recording was stopped or the recorder killed)");
	if (!part)
		return;
	rc_decide(&sub, part);
	if (part->found && part->kind == RC_KERNEL) {
		rc->so_far = true;
		struct rc_candidate *t = &rc->tentative;
		t->pos = part->pos;
		t->tid = part->tid;
		t->status = part->status;
		t->syscall = part->syscall;
		t->object = part->object;
		t->found_by = part->found_by;
		t->out_param = part->out_param;
		snprintf(rc->tentative_how, sizeof rc->tentative_how, "%s", part->confidence);
		rc->symptom = part->symptom;
		rc->chain = part->chain;
	}
	memcpy(rc->cand, part->cand, sizeof rc->cand);
	rc->ncand = part->ncand;
	free(part);
}

/* The chain's deciding branch (a control step), if any. */
static const struct strand_rnode *deciding_branch(const struct strand_rnode *chain)
{
	const struct strand_rnode *steps = strand_rnode_get(chain, "steps");
	const struct strand_rnode *last = NULL;
	for (const struct strand_rnode *s = steps ? steps->first : NULL; s; s = s->next) {
		const char *what = strand_rnode_str(s, "what", "");
		if (strstr(what, "branch") || strstr(what, "compare"))
			last = s;
	}
	return last;
}

void rc_emit_verdict(struct strand_rnode *root, const struct rc *rc)
{
	strand_r_string(root, "verdict", rc->verdict);
	if (rc->reason[0])
		strand_r_string(root, "verdict_reason", rc->reason);
}

void rc_emit(struct strand_rnode *root, const struct rc_inputs *in, const struct rc *rc)
{
	struct strand_rnode *r = (struct strand_rnode *)strand_rnode_get(root, "root_cause");
	if (rc->kind == RC_CRASH) {
		if (!r)
			r = strand_r_object(root, "root_cause");
		strand_r_string(r, "kind", "crash");
		if (!rc->found)
			strand_r_string(r, "found_by", rc->found_by);
		struct strand_rnode *c = strand_r_object(r, "crash");
		for (const struct strand_rnode *f = in->crash->first; f; f = f->next)
			if (strcmp(f->name, "crashed"))
				strand_r_copy(c, NULL, f);
	} else if (rc->kind == RC_WAIT) {
		r = strand_r_object(root, "root_cause");
		strand_r_string(r, "kind", "wait");
		strand_r_string(r, "found_by", rc->found_by);
		strand_r_string(r, "found_by_detail", rc->confidence);
		for (const struct strand_rnode *f = in->hang->first; f; f = f->next)
			if (strcmp(f->name, "verdict") && strcmp(f->name, "ended_by"))
				strand_r_copy(r, NULL, f);
	} else if (rc->kind == RC_INCOMPLETE) {
		r = strand_r_object(root, "root_cause");
		strand_r_string(r, "kind", "incomplete");
		strand_r_string(r, "found_by", rc->found_by);
		strand_r_string(r, "explanation", rc->reason);
		strand_r_uint(r, "instructions_recorded", in->instructions);
		if (rc->so_far) {
			const struct rc_candidate *t = &rc->tentative;
			struct strand_rnode *o = strand_r_object(r, "so_far");
			strand_r_string(o, "syscall", t->syscall ? t->syscall : "?");
			if (t->object)
				strand_r_string(o, "object", t->object);
			strand_r_hex(o, "status", t->status);
			const char *sn = errno_name(in, t->status);
			strand_r_string(o, "status_name", sn ? sn : "?");
			strand_r_position(o, "position", t->pos);
			strand_r_uint(o, "tid", t->tid);
			strand_r_string(o, "found_by", t->found_by ? t->found_by : "?");
			strand_r_string(o, "found_by_detail", rc->tentative_how);
			strand_r_string(o, "note", "tentative: a diagnostic written before the trace "
					"ends leads to this call; what the process did after it was not "
					"recorded");
		}
		/* where each thread stood when the trace ends */
		const struct strand_rnode *th = in->hang ? strand_rnode_get(in->hang, "threads") : NULL;
		if (th)
			strand_r_copy(r, "threads", th);
	} else if (rc->kind == RC_CHILD) {
		r = strand_r_object(root, "root_cause");
		strand_r_string(r, "kind", "child_process");
		strand_r_string(r, "found_by", rc->found_by);
		strand_r_string(r, "syscall", strand_rnode_str(rc->user, "syscall", "?"));
		strand_r_uint(r, "child_pid", strand_rnode_u64(rc->user, "status", 0));
		strand_r_position(r, "position", strand_rnode_u64(rc->user, "position", 0));
		strand_r_uint(r, "tid", strand_rnode_u64(rc->user, "tid", 0));
		strand_r_string(r, "explanation", "the symptom's value is the exit status of a child "
				"process, which the kernel wrote for this wait call; the child's own "
				"failing call is inside the child (a trace of the process tree shows it)");
	} else if (rc->kind == RC_USER_CODE) {
		r = strand_r_object(root, "root_cause");
		strand_r_string(r, "kind", "user_code");
		strand_r_string(r, "found_by", rc->found_by);
		strand_r_string(r, "explanation", "no failing kernel call lies on the data or control "
				"path to the symptom: the program's own code produced the error");
		if (rc->user) {
			strand_r_string(r, "where", strand_rnode_str(rc->user, "where", "?"));
			if (strand_rnode_get(rc->user, "program_frame"))
				strand_r_string(r, "program_frame", strand_rnode_str(rc->user, "program_frame", "?"));
			strand_r_position(r, "position", strand_rnode_u64(rc->user, "position", 0));
			strand_r_uint(r, "tid", strand_rnode_u64(rc->user, "tid", 0));
			const struct strand_rnode *v = strand_rnode_get(rc->user, "value");
			if (v)
				strand_r_copy(r, "value", v);
		}
		const struct strand_rnode *b = deciding_branch(rc->chain);
		if (b) {
			struct strand_rnode *d = strand_r_object(r, "decision");
			static const char *const keys[] = { "position", "where", "instruction", "what" };
			for (size_t i = 0; i < 4; i++)
				strand_r_copy(d, NULL, strand_rnode_get(b, keys[i]));
		}
	}
	if (rc->normal_exit) {
		struct strand_rnode *ne = strand_r_object(root, "normal_exit");
		strand_r_string(ne, "program", rc->normal_exit->program);
		strand_r_uint(ne, "status", rc->normal_exit->exit_status);
		strand_r_string(ne, "meaning", rc->normal_exit->text);
		strand_r_string(ne, "source", rc->normal_exit->source);
	}
	bool chose = rc->found && !strcmp(rc->found_by, "heuristic") && rc->chosen.chosen;
	if (!rc->ncand && !chose)
		return;
	struct strand_rnode *cl = strand_r_list(root, "candidates");
	if (cl)
		cl->flags |= STRAND_RF_TABLE;
	for (uint32_t i = chose ? 0 : 1; i <= rc->ncand; i++) {
		const struct rc_candidate *c = i == 0 ? &rc->chosen : &rc->cand[i - 1];
		struct strand_rnode *o = strand_r_object(cl, NULL);
		strand_r_uint(o, "rank", chose ? i + 1 : i);
		strand_r_string(o, "ruling", c->chosen ? "ruled in" : "ruled out");
		strand_r_position(o, "position", c->pos);
		strand_r_uint(o, "tid", c->tid);
		strand_r_string(o, "syscall", c->syscall ? c->syscall : "?");
		if (c->object)
			strand_r_string(o, "object", c->object);
		strand_r_hex(o, "status", c->status);
		const char *sn = errno_name(in, c->status);
		strand_r_string(o, "status_name", sn ? sn : "?");
		strand_r_string(o, "found_by", c->found_by);
		if (c->chosen)
			strand_r_string(o, "why", c->why);
		else
			strand_r_stringf(o, "why", "%s; ruled out: %s", c->why,
					 rc->found && strcmp(rc->found_by, "heuristic")
					 ? "the symptom's value was followed by flow to another call"
					 : chose ? "ranked below the call taken"
					 : rc->kind == RC_INCOMPLETE ? "the trace ends before the process did"
					 : "below the heuristic's threshold (the error line names neither its "
					   "object nor its status)");

	}
}
