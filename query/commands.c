/*
 * The command table of the query language and the commands that need only
 * the target (navigation, state, the event index).  The whole-trace
 * queries (calls, memory, origin, find, report, and bt when an exact call
 * stack is available) come from the target's `struct qext`.
 *
 * Every command writes the same result twice: text with qtext() and the
 * fields of the JSON "result" object with strand_json_*().  The schema of
 * each is in docs/query.md; keep the two in step.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "query/query_int.h"

#define T(q) ((q)->t)
#define OPS(q) ((q)->ops)

/* ===================================================================== */
/* Small helpers                                                          */
/* ===================================================================== */

static const char *const event_names[STRAND_REC_TYPE_MAX] = {
	[STRAND_REC_MODULE] = "module-load",
	[STRAND_REC_THREAD] = "thread-create",
	[STRAND_REC_SYSCALL] = "syscall",
	[STRAND_REC_NONDET] = "nondet",
	[STRAND_REC_THREAD_SWITCH] = "thread-switch",
	[STRAND_REC_THREAD_EXIT] = "thread-exit",
	[STRAND_REC_MEMORY] = "memory",
	[STRAND_REC_EXCEPTION] = "exception",
	[STRAND_REC_MODULE_UNLOAD] = "module-unload",
	[STRAND_REC_OUTPUT] = "output",
	[STRAND_REC_KEYFRAME] = "keyframe",
	[STRAND_REC_PROCESS_EXIT] = "process-exit",
};

const char *qevent_name(unsigned type)
{
	return type < STRAND_REC_TYPE_MAX ? event_names[type] : NULL;
}

int qevent_type(const char *name)
{
	if (!strcmp(name, "any"))
		return 0;
	for (unsigned t = 0; t < STRAND_REC_TYPE_MAX; t++)
		if (event_names[t] && !strcmp(event_names[t], name))
			return (int)t;
	return -1;
}

/* Parse a count argument: a positive expression (default `def`). */
static strand_status arg_count(struct strand_query *q, struct qargs *a, int i,
			       uint64_t def, uint64_t max, uint64_t *n,
			       strand_error *err)
{
	if (i >= a->argc) {
		*n = def;
		return STRAND_OK;
	}
	strand_status st = qeval(q, a->argv[i], n, err);
	if (st < 0)
		return st;
	if ((int64_t)*n < 0)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"count %" PRId64 " is negative (1..%" PRIu64 "; backward: "
					"back, prev, rcontinue)", (int64_t)*n, max);
	if (*n == 0 || *n > max)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"count %" PRIu64 " out of range (1..%" PRIu64 ")",
					*n, max);
	return STRAND_OK;
}

static void say_interrupted(struct strand_query *q, struct qout *o);

/* After motion: where we are, and whether motion hit the start/end. */
static strand_status moved(struct strand_query *q, struct qout *o,
			   strand_status st)
{
	if (st < 0)
		return st;
	if (st == STRAND_END) {
		bool at_start = OPS(q)->position(T(q)) == 0;
		qtext(o, "reached the %s of the trace\n", at_start ? "start" : "end");
		strand_json_string_field(o->j, "reached", at_start ? "start" : "end");
	}
	qwhere(q, o);
	return st;
}

static void json_stop(struct qout *o, const struct qstop *qs)
{
	const struct strand_stop *s = &qs->s;
	strand_json_start_object(o->j);
	strand_json_uint_field(o->j, "id", qs->id);
	strand_json_string_field(o->j, "kind", s->kind == STRAND_STOP_BREAK ? "break"
				 : s->kind == STRAND_STOP_WATCH ? "watch"
				 : s->kind == STRAND_STOP_EVENT ? "event" : "position");
	if (s->kind == STRAND_STOP_BREAK || s->kind == STRAND_STOP_WATCH)
		strand_json_hex_field(o->j, "address", s->addr);
	if (s->kind == STRAND_STOP_WATCH) {
		strand_json_uint_field(o->j, "length", s->len);
		strand_json_string_field(o->j, "access",
					 s->access == STRAND_WATCH_READ ? "r"
					 : s->access == STRAND_WATCH_WRITE ? "w" : "rw");
	}
	if (s->kind == STRAND_STOP_EVENT)
		strand_json_string_field(o->j, "event",
					 s->rec_type ? qevent_name(s->rec_type) : "any");
	strand_json_bool_field(o->j, "enabled", qs->enabled);
	strand_json_uint_field(o->j, "hits", qs->hits);
	if (qs->cond[0])
		strand_json_string_field(o->j, "condition", qs->cond);
	if (qs->temp)
		strand_json_bool_field(o->j, "temporary", true);
	strand_json_end_object(o->j);
}

/* ===================================================================== */
/* Navigation                                                             */
/* ===================================================================== */

static strand_status cmd_pos(struct strand_query *q, struct qargs *a,
			     struct qout *o, strand_error *err)
{
	qwhere(q, o);
	uint64_t end = OPS(q)->end(T(q));
	qtext(o, "trace: positions 0 .. %" PRIu64 "\n", end);
	strand_json_uint_field(o->j, "end", end);
	return STRAND_OK;
}

/* Index of the first event after position `pos` (or at it, when `at`). */
static uint64_t event_after(struct strand_query *q, uint64_t pos, bool at)
{
	uint64_t lo = 0, hi = q->nevents;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		bool before = at ? q->events[mid].position < pos
				 : q->events[mid].position <= pos;
		if (before)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static strand_status need_index(struct strand_query *q, strand_error *err)
{
	if (!q->events && q->nevents == 0)
		return strand_error_set(err, STRAND_ERR_UNSUPPORTED,
					"the session has no event index (opened without a trace path)");
	return STRAND_OK;
}

static void json_event(struct strand_query *q, struct qout *o,
		       const struct strand_query_event *e, const char *obj);

static const char *syscall_name(struct strand_query *q, uint64_t number)
{
	return q->ext && q->ext->syscall_name ? q->ext->syscall_name(q, number) : NULL;
}

void qdescribe(struct strand_query *q, uint64_t v, bool syscall, char *buf,
	       size_t len)
{
	buf[0] = '\0';
	if (q->ext && q->ext->describe)
		q->ext->describe(q, v, syscall, buf, len);
}

static strand_status seek_event(struct strand_query *q, struct qargs *a,
				struct qout *o, strand_error *err)
{
	strand_status st;
	if ((st = need_index(q, err)) < 0)
		return st;
	if (a->argc < 3)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"usage: seek event TYPE [N] | seek event INDEX");
	const char *what = a->argv[2];
	uint64_t idx;
	int type = qevent_type(what);
	if (type < 0) {
		/* an index */
		if ((st = qeval(q, what, &idx, err)) < 0)
			return strand_error_set(err, STRAND_ERR_INVALID,
						"'%s' is neither an event type (syscall, exception, "
						"thread-switch, module-load, output, ..., any) nor an event index",
						what);
		if (a->argc > 3)
			return strand_error_set(err, STRAND_ERR_INVALID,
						"usage: seek event INDEX");
		if (idx >= q->nevents)
			return strand_error_set(err, STRAND_ERR_INVALID,
						"event index %" PRIu64 " out of range (the trace has %" PRIu64 " events)",
						idx, q->nevents);
	} else {
		int64_t n = 1;
		if (a->argc > 3) {
			uint64_t v;
			const char *s = a->argv[3];
			if ((st = qeval(q, s, &v, err)) < 0)
				return st;
			n = (int64_t)v;
			if (n == 0)
				return strand_error_set(err, STRAND_ERR_INVALID,
							"event count must not be 0");
		}
		uint64_t pos = OPS(q)->position(T(q));
		bool found = false;
		if (n > 0) {
			for (uint64_t i = event_after(q, pos, false); i < q->nevents; i++) {
				if (type && q->events[i].type != (uint32_t)type)
					continue;
				if (--n == 0) {
					idx = i, found = true;
					break;
				}
			}
		} else {
			for (uint64_t i = event_after(q, pos, true); i-- > 0;) {
				if (type && q->events[i].type != (uint32_t)type)
					continue;
				if (++n == 0) {
					idx = i, found = true;
					break;
				}
			}
		}
		if (!found) {
			qtext(o, "no further %s event\n", type ? what : "");
			strand_json_name(o->j, "event");
			strand_json_null(o->j);
			return moved(q, o, STRAND_NOT_FOUND);
		}
	}
	const struct strand_query_event *e = &q->events[idx];
	if ((st = OPS(q)->seek(T(q), e->position, err)) < 0)
		return st;
	qtext(o, "event %" PRIu64 ": %s (tid %" PRIu32 ") at position %" PRIu64 "\n",
	      e->index, qevent_name(e->type) ? qevent_name(e->type) : "?", e->tid,
	      e->position);
	strand_json_name(o->j, "event");
	json_event(q, o, e, NULL);
	return moved(q, o, STRAND_OK);
}

static strand_status cmd_seek(struct strand_query *q, struct qargs *a,
			      struct qout *o, strand_error *err)
{
	const char *arg = a->argv[1];
	uint64_t pos = OPS(q)->position(T(q)), end = OPS(q)->end(T(q)), v;
	strand_status st;
	if (!strcmp(arg, "event"))
		return seek_event(q, a, o, err);
	if (a->argc > 2)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"usage: seek POS|+N|-N|N%%|start|end|end-N|event ...");
	size_t al = strlen(arg);
	if (!strcmp(arg, "start")) {
		pos = 0;
	} else if (!strcmp(arg, "end")) {
		pos = end;
	} else if (al > 1 && arg[al - 1] == '%') {
		/* a share of the trace: seek 50% */
		char e[256];
		snprintf(e, sizeof e, "%.*s", (int)(al - 1), arg);
		if ((st = qeval(q, e, &v, err)) < 0)
			return st;
		if (v > 100)
			return strand_error_set(err, STRAND_ERR_INVALID,
						"%" PRIu64 "%% is not a share of the trace (0..100%%)", v);
		pos = (uint64_t)((unsigned __int128)end * v / 100);
	} else if ((!strncmp(arg, "end", 3) || !strncmp(arg, "start", 5)) &&
		   (arg[arg[0] == 'e' ? 3 : 5] == '-' || arg[arg[0] == 'e' ? 3 : 5] == '+')) {
		/* relative to an end: seek end-10, seek start+100 */
		const char *op = arg + (arg[0] == 'e' ? 3 : 5);
		if ((st = qeval(q, op + 1, &v, err)) < 0)
			return st;
		uint64_t base = arg[0] == 'e' ? end : 0;
		if (*op == '-')
			pos = v > base ? 0 : base - v;
		else
			pos = v > end - base ? end : base + v;
	} else if (arg[0] == '+' || arg[0] == '-') {
		if ((st = qeval(q, arg + 1, &v, err)) < 0)
			return st;
		if (arg[0] == '+')
			pos = v > end - pos ? end : pos + v;
		else
			pos = v > pos ? 0 : pos - v;
	} else {
		if ((st = qeval(q, arg, &pos, err)) < 0)
			return st;
		if (pos > end)
			return strand_error_set(err, STRAND_ERR_INVALID,
						"position %" PRIu64 " is past the end (%" PRIu64 ")",
						pos, end);
	}
	if ((st = OPS(q)->seek(T(q), pos, err)) < 0)
		return st;
	return moved(q, o, STRAND_OK);
}

static strand_status do_step(struct strand_query *q, struct qargs *a,
			     struct qout *o, strand_error *err, int sign)
{
	uint64_t n;
	strand_status st = arg_count(q, a, 1, 1, INT64_MAX, &n, err);
	if (st < 0)
		return st;
	if (!qinterruptible(q))
		return moved(q, o, OPS(q)->step(T(q), sign * (int64_t)n, err));
	/* interruptible: in slices */
	while (n > 0) {
		uint64_t k = n < QSLICE ? n : QSLICE;
		st = OPS(q)->step(T(q), sign * (int64_t)k, err);
		n -= k;
		if (st != STRAND_OK || n == 0)
			break;
		if (qinterrupted(q)) {
			say_interrupted(q, o);
			break;
		}
	}
	return moved(q, o, st);
}

static strand_status cmd_step(struct strand_query *q, struct qargs *a,
			      struct qout *o, strand_error *err)
{
	return do_step(q, a, o, err, 1);
}

static strand_status cmd_back(struct strand_query *q, struct qargs *a,
			      struct qout *o, strand_error *err)
{
	return do_step(q, a, o, err, -1);
}

static strand_status do_over(struct strand_query *q, struct qargs *a,
			     struct qout *o, strand_error *err, strand_dir dir)
{
	uint64_t n;
	strand_status st = arg_count(q, a, 1, 1, 1000000, &n, err);
	if (st < 0)
		return st;
	st = STRAND_OK;
	for (uint64_t i = 0; i < n && st == STRAND_OK; i++) {
		st = OPS(q)->step_over(T(q), dir, err);
		if (st == STRAND_OK && i + 1 < n && qinterrupted(q)) {
			say_interrupted(q, o);
			break;
		}
	}
	return moved(q, o, st);
}

static strand_status cmd_next(struct strand_query *q, struct qargs *a,
			      struct qout *o, strand_error *err)
{
	return do_over(q, a, o, err, STRAND_FORWARD);
}

static strand_status cmd_prev(struct strand_query *q, struct qargs *a,
			      struct qout *o, strand_error *err)
{
	return do_over(q, a, o, err, STRAND_BACKWARD);
}

static strand_status cmd_finish(struct strand_query *q, struct qargs *a,
				struct qout *o, strand_error *err)
{
	strand_status st = OPS(q)->step_out(T(q), STRAND_FORWARD, err);
	if (st == STRAND_NOT_FOUND)
		qtext(o, "the current function does not return in the trace\n");
	return moved(q, o, st);
}

static strand_status cmd_rfinish(struct strand_query *q, struct qargs *a,
				 struct qout *o, strand_error *err)
{
	strand_status st = OPS(q)->step_out(T(q), STRAND_BACKWARD, err);
	if (st == STRAND_NOT_FOUND)
		qtext(o, "the call that entered the current function is not in the trace\n");
	return moved(q, o, st);
}

/* ---------------------------------------------------------------- stops */

static struct qstop *qstop_by_id(struct strand_query *q, uint64_t id)
{
	for (uint32_t i = 0; i < q->nstops; i++)
		if (q->stops[i].id == id)
			return &q->stops[i];
	return NULL;
}

static struct qstop *qstop_by_rid(struct strand_query *q, uint32_t rid)
{
	for (uint32_t i = 0; rid && i < q->nstops; i++)
		if (q->stops[i].rid == rid)
			return &q->stops[i];
	return NULL;
}

/* A new stop on the target, numbered by the session. */
static strand_status qstop_add(struct strand_query *q, const struct strand_stop *s,
			       const char *cond, bool temp, struct qstop **out,
			       strand_error *err)
{
	if (!STRAND_GROW(q->stops, q->cap_stops, q->nstops, 1))
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot add a stop: stops=%" PRIu32,
					q->nstops);
	uint32_t rid;
	strand_status st = OPS(q)->stop_add(T(q), s, &rid, err);
	if (st < 0)
		return st;
	struct qstop *n = &q->stops[q->nstops++];
	memset(n, 0, sizeof *n);
	n->id = ++q->next_stop_id;
	n->rid = rid;
	n->s = *s;
	n->s.id = n->id;
	n->enabled = true;
	n->temp = temp;
	snprintf(n->cond, sizeof n->cond, "%s", cond ? cond : "");
	*out = n;
	return STRAND_OK;
}

static void qstop_del(struct strand_query *q, struct qstop *st)
{
	if (st->rid)
		OPS(q)->stop_del(T(q), st->rid);
	size_t i = (size_t)(st - q->stops);
	memmove(st, st + 1, (q->nstops - i - 1) * sizeof *st);
	q->nstops--;
}

/* Run to the next stop of the target in `dir`; when interruptible, in
 * slices (a position stop between them).  *intr: stopped for an interrupt. */
static strand_status run_sliced(struct strand_query *q, strand_dir dir,
				struct strand_stop_hit *hit, bool *intr, strand_error *err)
{
	for (;;) {
		uint64_t pos = OPS(q)->position(T(q)), end = OPS(q)->end(T(q));
		bool sliced = qinterruptible(q) &&
			      (dir == STRAND_FORWARD ? end - pos > QSLICE : pos > QSLICE);
		uint32_t sid = 0;
		strand_status st;
		if (sliced) {
			struct strand_stop p = { .kind = STRAND_STOP_POSITION, .enabled = true,
						 .position = dir == STRAND_FORWARD ? pos + QSLICE
										   : pos - QSLICE };
			if ((st = OPS(q)->stop_add(T(q), &p, &sid, err)) < 0)
				return st;
		}
		memset(hit, 0, sizeof *hit);
		st = OPS(q)->run(T(q), dir, hit, err);
		if (sliced)
			OPS(q)->stop_del(T(q), sid);
		if (st == STRAND_STOPPED && sliced && hit->stop_id == sid) {
			if (qinterrupted(q)) {
				*intr = true;
				return STRAND_OK;
			}
			continue;
		}
		return st;
	}
}

static void say_interrupted(struct strand_query *q, struct qout *o)
{
	qtext(o, "interrupted at position %" PRIu64 "\n", OPS(q)->position(T(q)));
	strand_json_bool_field(o->j, "interrupted", true);
}

static strand_status do_run(struct strand_query *q, struct qout *o,
			    strand_error *err, strand_dir dir)
{
	struct strand_stop_hit hit;
	struct qstop *qs = NULL;
	strand_status st;
	bool intr = false;
	/* conditions are the session's: a stop whose condition is false is
	 * run past */
	for (;;) {
		st = run_sliced(q, dir, &hit, &intr, err);
		if (st < 0)
			return st;
		if (intr) {
			say_interrupted(q, o);
			return moved(q, o, STRAND_OK);
		}
		if (st != STRAND_STOPPED)
			break;
		qs = qstop_by_rid(q, hit.stop_id);
		if (!qs || !qs->cond[0])
			break;
		uint64_t v;
		strand_error ce;
		if (qeval(q, qs->cond, &v, &ce) < 0) {
			qtext(o, "condition of stop %" PRIu32 " cannot be evaluated here: %s\n",
			      qs->id, ce.msg);
			break; /* as gdb does: stop, and say why */
		}
		if (v)
			break;
		if (qinterrupted(q)) {
			say_interrupted(q, o);
			return moved(q, o, STRAND_OK);
		}
	}
	if (st == STRAND_STOPPED) {
		char sym[256];
		uint32_t id = qs ? qs->id : hit.stop_id;
		qsym(q, hit.addr, sym, sizeof sym);
		strand_json_name(o->j, "hit");
		strand_json_start_object(o->j);
		strand_json_uint_field(o->j, "id", id);
		if (hit.kind == STRAND_STOP_WATCH) {
			const char *acc = hit.access == STRAND_WATCH_READ ? "read" : "write";
			qtext(o, "watchpoint %" PRIu32 ": %s of %" PRIu32 " bytes at 0x%" PRIx64 " (%s)\n",
			      id, acc, hit.size, hit.addr, sym);
			strand_json_string_field(o->j, "kind", "watch");
			strand_json_string_field(o->j, "access", acc);
			strand_json_uint_field(o->j, "size", hit.size);
		} else if (hit.kind == STRAND_STOP_BREAK) {
			qtext(o, "breakpoint %" PRIu32 " at 0x%" PRIx64 " (%s)\n", id, hit.addr, sym);
			strand_json_string_field(o->j, "kind", "break");
		} else {
			qtext(o, "stop %" PRIu32 "\n", id);
			strand_json_string_field(o->j, "kind",
						 hit.kind == STRAND_STOP_EVENT ? "event" : "position");
		}
		strand_json_hex_field(o->j, "address", hit.addr);
		strand_json_uint_field(o->j, "position", hit.position);
		if (qs)
			qs->hits++; /* shown by 'list' */
		strand_json_end_object(o->j);
		if (qs && qs->temp) {
			qtext(o, "temporary breakpoint %" PRIu32 " deleted\n", qs->id);
			qstop_del(q, qs);
		}
	}
	return moved(q, o, st);
}

static strand_status cmd_continue(struct strand_query *q, struct qargs *a,
				  struct qout *o, strand_error *err)
{
	return do_run(q, o, err, STRAND_FORWARD);
}

static strand_status cmd_rcontinue(struct strand_query *q, struct qargs *a,
				   struct qout *o, strand_error *err)
{
	return do_run(q, o, err, STRAND_BACKWARD);
}

/* "ADDR [if EXPR]": the condition joined from the words after "if". */
static strand_status break_args(struct qargs *a, char *cond, size_t cap, strand_error *err)
{
	cond[0] = '\0';
	if (a->argc == 2)
		return STRAND_OK;
	if (strcmp(a->argv[2], "if") || a->argc < 4)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"usage: break ADDR [if EXPR] (not '%s')", a->argv[2]);
	for (int i = 3; i < a->argc; i++) {
		size_t l = strlen(cond);
		snprintf(cond + l, cap - l, "%s%s", i > 3 ? " " : "", a->argv[i]);
	}
	return STRAND_OK;
}

static strand_status do_break(struct strand_query *q, struct qargs *a, struct qout *o,
			      strand_error *err, bool temp)
{
	struct strand_stop s = { .kind = STRAND_STOP_BREAK, .enabled = true };
	char cond[256];
	strand_status st = break_args(a, cond, sizeof cond, err);
	if (st < 0 || (st = qeval(q, a->argv[1], &s.addr, err)) < 0)
		return st;
	if (cond[0]) { /* check the condition's syntax now */
		uint64_t v;
		strand_error ce;
		if (qeval(q, cond, &v, &ce) < 0 && strstr(ce.msg, "expected"))
			return strand_error_set(err, STRAND_ERR_INVALID, "condition: %s", ce.msg);
	}
	struct qstop *qs;
	if ((st = qstop_add(q, &s, cond, temp, &qs, err)) < 0)
		return st;
	char sym[256];
	qsym(q, s.addr, sym, sizeof sym);
	qtext(o, "%sbreakpoint %" PRIu32 " at 0x%" PRIx64 " (%s)%s%s\n", temp ? "temporary " : "",
	      qs->id, s.addr, sym, cond[0] ? " if " : "", cond);
	strand_json_name(o->j, "stop");
	json_stop(o, qs);
	strand_json_string_field(o->j, "symbol", sym);
	return STRAND_OK;
}

static strand_status cmd_break(struct strand_query *q, struct qargs *a,
			       struct qout *o, strand_error *err)
{
	return do_break(q, a, o, err, false);
}

static strand_status cmd_tbreak(struct strand_query *q, struct qargs *a,
				struct qout *o, strand_error *err)
{
	return do_break(q, a, o, err, true);
}

static strand_status cmd_watch(struct strand_query *q, struct qargs *a,
			       struct qout *o, strand_error *err)
{
	struct strand_stop s = { .kind = STRAND_STOP_WATCH, .enabled = true,
				 .access = STRAND_WATCH_WRITE };
	int i = 1;
	const char *acc = a->argv[1];
	if (!strcmp(acc, "r") || !strcmp(acc, "w") || !strcmp(acc, "rw")) {
		s.access = (strchr(acc, 'r') ? STRAND_WATCH_READ : 0) |
			   (strchr(acc, 'w') ? STRAND_WATCH_WRITE : 0);
		i++;
	}
	if (a->argc != i + 2)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"usage: watch [r|w|rw] ADDR LEN");
	strand_status st = qeval(q, a->argv[i], &s.addr, err);
	if (st < 0 || (st = qeval(q, a->argv[i + 1], &s.len, err)) < 0)
		return st;
	if (s.len == 0 || s.len > (1u << 20))
		return strand_error_set(err, STRAND_ERR_INVALID,
					"watch length %" PRId64 " out of range (1..1048576)",
					(int64_t)s.len);
	struct qstop *qs;
	if ((st = qstop_add(q, &s, NULL, false, &qs, err)) < 0)
		return st;
	qtext(o, "watchpoint %" PRIu32 " on %s of 0x%" PRIx64 "..0x%" PRIx64 "\n", qs->id,
	      s.access == STRAND_WATCH_READ ? "reads" : s.access == STRAND_WATCH_WRITE
							? "writes" : "reads and writes",
	      s.addr, s.addr + s.len);
	strand_json_name(o->j, "stop");
	json_stop(o, qs);
	return STRAND_OK;
}

/* The stops named by words i.. ("all" = every one): ids into out[]. */
static strand_status stop_ids(struct strand_query *q, struct qargs *a, int i,
			      uint32_t *out, uint32_t *n, strand_error *err)
{
	*n = 0;
	if (i < a->argc && !strcmp(a->argv[i], "all")) {
		for (uint32_t k = 0; k < q->nstops && *n < QMAX_ARGS * 8; k++)
			out[(*n)++] = q->stops[k].id;
		return STRAND_OK;
	}
	for (; i < a->argc; i++) {
		uint64_t id;
		strand_status st = qeval(q, a->argv[i], &id, err);
		if (st < 0)
			return st;
		if (!qstop_by_id(q, id))
			return strand_error_set(err, STRAND_ERR_INVALID,
						"no stop with id %" PRIu64 " (see 'list')", id);
		out[(*n)++] = (uint32_t)id;
	}
	return STRAND_OK;
}

static strand_status cmd_delete(struct strand_query *q, struct qargs *a,
				struct qout *o, strand_error *err)
{
	uint32_t ids[QMAX_ARGS * 8], n;
	strand_json_name(o->j, "deleted");
	strand_json_start_array(o->j);
	strand_status st = stop_ids(q, a, 1, ids, &n, err);
	bool all = !strcmp(a->argv[1], "all");
	for (uint32_t k = 0; st >= 0 && k < n; k++) {
		struct qstop *qs = qstop_by_id(q, ids[k]);
		if (!qs)
			continue;
		qstop_del(q, qs);
		strand_json_uint(o->j, ids[k]);
		if (!all)
			qtext(o, "deleted %" PRIu32 "\n", ids[k]);
	}
	if (all && st >= 0)
		qtext(o, "deleted %" PRIu32 " stops\n", n);
	strand_json_end_array(o->j);
	return st;
}

static strand_status do_enable(struct strand_query *q, struct qargs *a, struct qout *o,
			       strand_error *err, bool on)
{
	uint32_t ids[QMAX_ARGS * 8], n;
	strand_status st = stop_ids(q, a, 1, ids, &n, err);
	if (st < 0)
		return st;
	strand_json_name(o->j, on ? "enabled" : "disabled");
	strand_json_start_array(o->j);
	for (uint32_t k = 0; k < n; k++) {
		struct qstop *qs = qstop_by_id(q, ids[k]);
		if (qs->enabled != on) {
			if (on) {
				uint32_t rid;
				if ((st = OPS(q)->stop_add(T(q), &qs->s, &rid, err)) < 0)
					break;
				qs->rid = rid;
			} else {
				OPS(q)->stop_del(T(q), qs->rid);
				qs->rid = 0;
			}
			qs->enabled = on;
		}
		qtext(o, "%s %" PRIu32 "\n", on ? "enabled" : "disabled", qs->id);
		strand_json_uint(o->j, qs->id);
	}
	strand_json_end_array(o->j);
	return st;
}

static strand_status cmd_enable(struct strand_query *q, struct qargs *a,
				struct qout *o, strand_error *err)
{
	return do_enable(q, a, o, err, true);
}

static strand_status cmd_disable(struct strand_query *q, struct qargs *a,
				 struct qout *o, strand_error *err)
{
	return do_enable(q, a, o, err, false);
}

static strand_status cmd_list(struct strand_query *q, struct qargs *a,
			      struct qout *o, strand_error *err)
{
	uint32_t n = q->nstops;
	const struct qstop *s = q->stops;
	strand_json_name(o->j, "stops");
	strand_json_start_array(o->j);
	if (n == 0)
		qtext(o, "no breakpoints or watchpoints\n");
	else
		qtext(o, "%-4s %-6s %-18s %-8s %s\n", "id", "kind", "address", "access", "where");
	for (uint32_t i = 0; i < n; i++) {
		char sym[256] = "";
		if (s[i].s.kind == STRAND_STOP_BREAK || s[i].s.kind == STRAND_STOP_WATCH)
			qsym(q, s[i].s.addr, sym, sizeof sym);
		if (s[i].s.kind == STRAND_STOP_WATCH)
			qtext(o, "%-4" PRIu32 " %-6s 0x%-16" PRIx64 " %-8s %" PRIu64 " bytes", s[i].id,
			      "watch", s[i].s.addr,
			      s[i].s.access == STRAND_WATCH_READ ? "r"
			      : s[i].s.access == STRAND_WATCH_WRITE ? "w" : "rw", s[i].s.len);
		else
			qtext(o, "%-4" PRIu32 " %-6s 0x%-16" PRIx64 " %-8s %s", s[i].id, "break",
			      s[i].s.addr, "x", sym);
		if (s[i].cond[0])
			qtext(o, "  if %s", s[i].cond);
		if (s[i].hits)
			qtext(o, "  (hit %" PRIu64 " time%s)", s[i].hits, s[i].hits == 1 ? "" : "s");
		if (s[i].temp)
			qtext(o, "  [temporary]");
		if (!s[i].enabled)
			qtext(o, "  [disabled]");
		qtext(o, "\n");
		json_stop(o, &s[i]);
	}
	strand_json_end_array(o->j);
	return STRAND_OK;
}

/* ===================================================================== */
/* State                                                                  */
/* ===================================================================== */

static const char *const regs32[] = { "eax", "ebx", "ecx", "edx", "esi", "edi",
				      "ebp", "esp", "eip", "eflags", NULL };
static const char *const regs64[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi",
				      "rbp", "rsp", "r8", "r9", "r10", "r11",
				      "r12", "r13", "r14", "r15", "rip", "rflags",
				      NULL };
static const char *const segs[] = { "cs", "ss", "ds", "es", "fs", "gs",
				    "fs_base", "gs_base", NULL };

static strand_status cmd_regs(struct strand_query *q, struct qargs *a,
			      struct qout *o, strand_error *err)
{
	const char *const *names = q->arch == STRAND_ARCH_X86_64 ? regs64 : regs32;
	int w = q->arch == STRAND_ARCH_X86_64 ? 16 : 8;
	strand_json_name(o->j, "registers");
	strand_json_start_object(o->j);
	int col = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (const char *const *n = pass ? segs : names; *n; n++) {
			uint64_t v;
			if (OPS(q)->reg(T(q), *n, &v) != STRAND_OK)
				continue;
			strand_json_hex_field(o->j, *n, v);
			bool sel = pass && !strstr(*n, "base");
			qtext(o, "%-7s %0*" PRIx64 "%s", *n, sel ? 4 : w, v,
			      ++col % 4 == 0 ? "\n" : "  ");
		}
		if (col % 4)
			qtext(o, "\n");
		col = 0;
	}
	strand_json_end_object(o->j);
	return STRAND_OK;
}

static strand_status cmd_reg(struct strand_query *q, struct qargs *a,
			     struct qout *o, strand_error *err)
{
	strand_json_name(o->j, "registers");
	strand_json_start_object(o->j);
	for (int i = 1; i < a->argc; i++) {
		const char *n = a->argv[i][0] == '@' ? a->argv[i] + 1 : a->argv[i];
		uint64_t v;
		if (OPS(q)->reg(T(q), n, &v) != STRAND_OK)
			return strand_error_set(err, STRAND_ERR_INVALID,
						"unknown register '%s'", n);
		char desc[256];
		qdescribe(q, v, false, desc, sizeof desc);
		qtext(o, "%s = 0x%" PRIx64 " (%" PRIu64 ")%s%s\n", n, v, v,
		      desc[0] ? "  " : "", desc);
		strand_json_hex_field(o->j, n, v);
	}
	strand_json_end_object(o->j);
	return STRAND_OK;
}

static strand_status cmd_print(struct strand_query *q, struct qargs *a,
			       struct qout *o, strand_error *err)
{
	/* the whole rest of the line is one expression */
	char expr[1024] = "";
	for (int i = 1; i < a->argc; i++) {
		strncat(expr, a->argv[i], sizeof expr - strlen(expr) - 2);
		if (i + 1 < a->argc)
			strcat(expr, " ");
	}
	uint64_t v;
	strand_status st = qeval(q, expr, &v, err);
	if (st < 0)
		return st;
	char sym[256];
	qsym(q, v, sym, sizeof sym);
	qtext(o, "0x%" PRIx64 " = %" PRIu64 "%s%s\n", v, v,
	      strncmp(sym, "0x", 2) ? " = " : "", strncmp(sym, "0x", 2) ? sym : "");
	strand_json_hex_field(o->j, "value", v);
	strand_json_uint_field(o->j, "decimal", v);
	strand_json_string_field(o->j, "symbol", strncmp(sym, "0x", 2) ? sym : NULL);
	char desc[256];
	qdescribe(q, v, false, desc, sizeof desc);
	if (desc[0])
		qtext(o, "  %s\n", desc);
	strand_json_string_field(o->j, "meaning", desc[0] ? desc : NULL);
	return STRAND_OK;
}

/* Append the UTF-8 encoding of code point `cp` to s (room for 4 bytes). */
static size_t put_utf8(char *s, uint32_t cp)
{
	if (cp < 0x80) {
		s[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		s[0] = (char)(0xC0 | (cp >> 6));
		s[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		s[0] = (char)(0xE0 | (cp >> 12));
		s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		s[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	s[0] = (char)(0xF0 | (cp >> 18));
	s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	s[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	s[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* mem str / mem wstr: read up to `max` characters until a NUL. */
static strand_status mem_string(struct strand_query *q, struct qout *o,
				uint64_t addr, uint64_t max, bool wide,
				strand_error *err)
{
	unsigned cs = wide ? 2 : 1;
	size_t nbytes = (size_t)max * cs;
	uint8_t *buf = malloc(nbytes);
	uint8_t *valid = malloc(nbytes);
	char *s = malloc((size_t)max * 4 + 1);
	strand_status st = STRAND_OK;
	if (!buf || !valid || !s) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate %zu bytes", nbytes);
		goto out;
	}
	OPS(q)->read(T(q), addr, buf, nbytes, valid);
	if (!valid[0]) {
		st = strand_error_set(err, STRAND_ERR_INVALID,
				      "memory at 0x%" PRIx64 " is not mapped", addr);
		goto out;
	}
	size_t len = 0, nchars = 0;
	bool terminated = false;
	for (size_t i = 0; i + cs <= nbytes; i += cs) {
		if (!valid[i] || (wide && !valid[i + 1]))
			break;
		uint32_t c = wide ? (uint32_t)(buf[i] | buf[i + 1] << 8) : buf[i];
		if (c == 0) {
			terminated = true;
			break;
		}
		if (wide && c >= 0xD800 && c < 0xDC00 && i + 4 <= nbytes && valid[i + 2]) {
			uint32_t lo = (uint32_t)(buf[i + 2] | buf[i + 3] << 8);
			if (lo >= 0xDC00 && lo < 0xE000) {
				c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
				i += 2;
			}
		}
		if (!wide && c >= 0x80)
			c = '?'; /* ASCII strings: show other bytes as '?' */
		len += put_utf8(s + len, c);
		nchars++;
	}
	s[len] = '\0';
	qtext(o, "0x%" PRIx64 ": %s\"%s\"%s\n", addr, wide ? "L" : "", s,
	      terminated ? "" : " (not terminated)");
	strand_json_hex_field(o->j, "address", addr);
	strand_json_string_field(o->j, "type", wide ? "wstr" : "str");
	strand_json_name(o->j, "string");
	strand_json_string_len(o->j, s, len);
	strand_json_uint_field(o->j, "length", nchars);
	strand_json_bool_field(o->j, "terminated", terminated);
out:
	free(buf);
	free(valid);
	free(s);
	return st;
}

static strand_status cmd_mem(struct strand_query *q, struct qargs *a,
			     struct qout *o, strand_error *err)
{
	static const struct { const char *name; unsigned size; } types[] = {
		{ "u8", 1 }, { "u16", 2 }, { "u32", 4 }, { "u64", 8 }, { "ptr", 0 },
		{ "str", 1 }, { "wstr", 2 },
	};
	int i = 1;
	const char *type = NULL;
	unsigned size = 0;
	for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
		if (!strcmp(a->argv[1], types[k].name)) {
			type = types[k].name;
			size = types[k].size ? types[k].size : q->ptr_size;
			i = 2;
		}
	}
	if (a->argc <= i || a->argc > i + 2)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"usage: mem [u8|u16|u32|u64|ptr|str|wstr] ADDR [LEN|COUNT]");
	uint64_t addr, n;
	strand_status st = qeval(q, a->argv[i], &addr, err);
	if (st < 0)
		return st;
	if (type && (!strcmp(type, "str") || !strcmp(type, "wstr"))) {
		if ((st = arg_count(q, a, i + 1, 256, 65536, &n, err)) < 0)
			return st;
		return mem_string(q, o, addr, n, size == 2, err);
	}
	if ((st = arg_count(q, a, i + 1, type ? 1 : 64, type ? 8192 : 65536, &n, err)) < 0)
		return st;
	size_t nbytes = type ? (size_t)n * size : (size_t)n;
	uint8_t *buf = malloc(nbytes), *valid = malloc(nbytes);
	if (!buf || !valid) {
		free(buf);
		free(valid);
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate %zu bytes", nbytes);
	}
	size_t got = OPS(q)->read(T(q), addr, buf, nbytes, valid);
	if (got == 0) {
		st = strand_error_set(err, STRAND_ERR_INVALID,
				      "memory at 0x%" PRIx64 " (%zu bytes) is not mapped",
				      addr, nbytes);
		goto out;
	}
	strand_json_hex_field(o->j, "address", addr);
	if (!type) {
		qout_hexdump(o, addr, buf, valid, nbytes);
		strand_json_uint_field(o->j, "length", nbytes);
		strand_json_name(o->j, "bytes"); /* hex, "??" for unmapped bytes */
		char *hex = malloc(nbytes * 2 + 1);
		if (hex) {
			for (size_t k = 0; k < nbytes; k++) {
				if (valid[k])
					snprintf(hex + 2 * k, 3, "%02x", buf[k]);
				else
					memcpy(hex + 2 * k, "??", 3);
			}
			hex[2 * nbytes] = '\0';
		}
		strand_json_string(o->j, hex ? hex : "");
		free(hex);
		goto out;
	}
	strand_json_string_field(o->j, "type", type);
	strand_json_name(o->j, "values"); /* hex strings, null if unmapped */
	strand_json_start_array(o->j);
	for (uint64_t k = 0; k < n; k++) {
		uint64_t v = 0;
		bool ok = true;
		for (unsigned b = 0; b < size; b++) {
			ok = ok && valid[k * size + b];
			v |= (uint64_t)buf[k * size + b] << (8 * b);
		}
		if (k % (16 / size < 1 ? 1 : 16 / size) == 0)
			qtext(o, "%s%08" PRIx64 " ", k ? "\n" : "", addr + k * size);
		if (ok)
			qtext(o, " %0*" PRIx64, (int)size * 2, v);
		else
			qtext(o, " %.*s", (int)size * 2, "????????????????");
		if (ok)
			strand_json_hex(o->j, v);
		else
			strand_json_null(o->j);
	}
	qtext(o, "\n");
	strand_json_end_array(o->j);
	if (!strcmp(type, "ptr") && n == 1 && valid[0]) {
		uint64_t v = 0;
		for (unsigned b = 0; b < size; b++)
			v |= (uint64_t)buf[b] << (8 * b);
		char sym[256];
		qsym(q, v, sym, sizeof sym);
		if (strncmp(sym, "0x", 2)) {
			qtext(o, "  -> %s\n", sym);
			strand_json_string_field(o->j, "symbol", sym);
		}
	}
out:
	free(buf);
	free(valid);
	return st;
}

static strand_status cmd_disas(struct strand_query *q, struct qargs *a,
			       struct qout *o, strand_error *err)
{
	struct strand_cpu cpu;
	uint64_t pc = 0, addr, n;
	strand_status st;
	if (OPS(q)->cpu(T(q), &cpu, NULL) == STRAND_OK)
		pc = cpu.rip;
	else
		OPS(q)->reg(T(q), "rip", &pc);
	addr = pc;
	if (a->argc > 1 && (st = qeval(q, a->argv[1], &addr, err)) < 0)
		return st;
	if ((st = arg_count(q, a, 2, 8, 1000, &n, err)) < 0)
		return st;
	strand_json_name(o->j, "instructions");
	strand_json_start_array(o->j);
	for (uint64_t k = 0; k < n; k++) {
		char text[128], sym[256];
		uint32_t len = 0;
		if (OPS(q)->disas(T(q), addr, text, sizeof text, &len) < 0 || len == 0) {
			if (k == 0) {
				strand_json_end_array(o->j);
				return strand_error_set(err, STRAND_ERR_INVALID,
							"cannot disassemble at 0x%" PRIx64, addr);
			}
			break;
		}
		uint8_t bytes[16] = { 0 };
		OPS(q)->read(T(q), addr, bytes, len > 16 ? 16 : len, NULL);
		char hex[40] = "";
		for (uint32_t b = 0; b < len && b < 12; b++)
			snprintf(hex + 2 * b, 3, "%02x", bytes[b]);
		qsym(q, addr, sym, sizeof sym);
		qtext(o, "%s 0x%08" PRIx64 " %-28s %-16s %s\n", addr == pc ? "=>" : "  ",
		      addr, sym, hex, text);
		strand_json_start_object(o->j);
		strand_json_hex_field(o->j, "address", addr);
		strand_json_string_field(o->j, "symbol", sym);
		strand_json_string_field(o->j, "bytes", hex);
		strand_json_string_field(o->j, "text", text);
		strand_json_bool_field(o->j, "current", addr == pc);
		strand_json_end_object(o->j);
		addr += len;
	}
	strand_json_end_array(o->j);
	return STRAND_OK;
}

/* bt without an exact call stack: walk the frame-pointer chain. */
static strand_status bt_frames(struct strand_query *q, struct qargs *a,
			       struct qout *o, strand_error *err)
{
	struct strand_cpu cpu;
	strand_status st = OPS(q)->cpu(T(q), &cpu, err);
	if (st < 0)
		return st;
	unsigned ps = q->ptr_size;
	uint64_t pc = cpu.rip, fp = cpu.gpr[STRAND_REG_RBP];
	if (ps == 4) {
		pc &= 0xffffffffu;
		fp &= 0xffffffffu;
	}
	strand_json_string_field(o->j, "method", "frame-pointer");
	strand_json_name(o->j, "frames");
	strand_json_start_array(o->j);
	for (unsigned k = 0; k < 64; k++) {
		char sym[256];
		qsym(q, pc, sym, sizeof sym);
		qtext(o, "#%-2u 0x%08" PRIx64 " %s\n", k, pc, sym);
		strand_json_start_object(o->j);
		strand_json_uint_field(o->j, "frame", k);
		strand_json_hex_field(o->j, "pc", pc);
		strand_json_string_field(o->j, "symbol", sym);
		strand_json_end_object(o->j);
		uint8_t b[16];
		if (fp == 0 || OPS(q)->read(T(q), fp, b, 2 * ps, NULL) != 2 * ps)
			break;
		uint64_t next = 0, ret = 0;
		for (unsigned i = 0; i < ps; i++) {
			next |= (uint64_t)b[i] << (8 * i);
			ret |= (uint64_t)b[ps + i] << (8 * i);
		}
		if (ret == 0)
			break;
		pc = ret;
		/* a chain must go up the stack; 0 ends it after this frame */
		fp = next > fp ? next : 0;
	}
	strand_json_end_array(o->j);
	qtext(o, "(frame-pointer walk: frames without a frame pointer are missing)\n");
	return STRAND_OK;
}

static strand_status cmd_bt(struct strand_query *q, struct qargs *a,
			    struct qout *o, strand_error *err)
{
	bool fp = a->argc > 1;
	if (fp && strcmp(a->argv[1], "fp"))
		return strand_error_set(err, STRAND_ERR_INVALID,
					"usage: bt [fp] (not '%s')", a->argv[1]);
	if (!fp && q->ext && q->ext->bt)
		return q->ext->bt(q, a, o, err);
	return bt_frames(q, a, o, err);
}

static strand_status cmd_threads(struct strand_query *q, struct qargs *a,
				 struct qout *o, strand_error *err)
{
	uint32_t tids[1024], n = 0;
	strand_status st = OPS(q)->threads(T(q), tids, 1024, &n);
	if (st < 0)
		return strand_error_set(err, st, "cannot list threads");
	uint32_t cur = OPS(q)->thread(T(q));
	strand_json_uint_field(o->j, "current", cur);
	strand_json_name(o->j, "threads");
	strand_json_start_array(o->j);
	for (uint32_t i = 0; i < n && i < 1024; i++) {
		qtext(o, "%s tid %" PRIu32 "\n", tids[i] == cur ? "*" : " ", tids[i]);
		strand_json_uint(o->j, tids[i]);
	}
	strand_json_end_array(o->j);
	return STRAND_OK;
}

static strand_status cmd_thread(struct strand_query *q, struct qargs *a,
				struct qout *o, strand_error *err)
{
	if (a->argc == 1) {
		qwhere(q, o);
		return STRAND_OK;
	}
	uint64_t tid;
	strand_status st = qeval(q, a->argv[1], &tid, err);
	if (st < 0)
		return st;
	if (tid == OPS(q)->thread(T(q))) {
		qwhere(q, o);
		return STRAND_OK;
	}
	if ((st = need_index(q, err)) < 0)
		return st;
	uint64_t pos = OPS(q)->position(T(q));
	for (uint64_t i = event_after(q, pos, false); i < q->nevents; i++) {
		const struct strand_query_event *e = &q->events[i];
		if (e->type == STRAND_REC_THREAD_SWITCH && e->tid == tid) {
			if ((st = OPS(q)->seek(T(q), e->position, err)) < 0)
				return st;
			qtext(o, "thread %" PRIu64 " runs next at position %" PRIu64 "\n",
			      tid, e->position);
			return moved(q, o, STRAND_OK);
		}
	}
	return strand_error_set(err, STRAND_ERR_INVALID,
				"thread %" PRIu64 " does not run after position %" PRIu64,
				tid, pos);
}

static strand_status cmd_modules(struct strand_query *q, struct qargs *a,
				 struct qout *o, strand_error *err)
{
	uint32_t n = 0;
	const struct strand_module *const *m = OPS(q)->modules(T(q), &n);
	strand_json_name(o->j, "modules");
	strand_json_start_array(o->j);
	qtext(o, "%-18s %-18s %-20s %8s  %s\n", "base", "end", "name", "symbols", "path");
	for (uint32_t i = 0; i < n; i++) {
		qtext(o, "0x%-16" PRIx64 " 0x%-16" PRIx64 " %-20s %8" PRIu32 "  %s\n",
		      m[i]->base, m[i]->base + m[i]->size, m[i]->name, m[i]->nsyms,
		      m[i]->path);
		strand_json_start_object(o->j);
		strand_json_string_field(o->j, "name", m[i]->name);
		strand_json_string_field(o->j, "path", m[i]->path);
		strand_json_hex_field(o->j, "base", m[i]->base);
		strand_json_hex_field(o->j, "size", m[i]->size);
		strand_json_uint_field(o->j, "symbols", m[i]->nsyms);
		strand_json_bool_field(o->j, "main", m[i]->flags & STRAND_MODULE_F_MAIN);
		strand_json_end_object(o->j);
	}
	strand_json_end_array(o->j);
	return STRAND_OK;
}

static strand_status cmd_sym(struct strand_query *q, struct qargs *a,
			     struct qout *o, strand_error *err)
{
	uint64_t v;
	strand_status st = qeval(q, a->argv[1], &v, err);
	if (st < 0)
		return st;
	char sym[256];
	qsym(q, v, sym, sizeof sym);
	bool known = strncmp(sym, "0x", 2) != 0;
	qtext(o, "0x%" PRIx64 " = %s\n", v, known ? sym : "(no module or symbol)");
	strand_json_hex_field(o->j, "address", v);
	strand_json_string_field(o->j, "symbol", known ? sym : NULL);
	return STRAND_OK;
}

/* ===================================================================== */
/* The event index                                                        */
/* ===================================================================== */

/* One event as JSON; `obj`: the syscall's decoded object, or NULL. */
static void json_event(struct strand_query *q, struct qout *o,
		       const struct strand_query_event *e, const char *obj)
{
	strand_json_start_object(o->j);
	strand_json_uint_field(o->j, "index", e->index);
	strand_json_uint_field(o->j, "position", e->position);
	strand_json_string_field(o->j, "type", qevent_name(e->type));
	strand_json_uint_field(o->j, "tid", e->tid);
	if (e->type == STRAND_REC_SYSCALL) {
		char sym[256], desc[256] = "";
		qsym(q, e->pc, sym, sizeof sym);
		strand_json_hex_field(o->j, "pc", e->pc);
		strand_json_string_field(o->j, "symbol", sym);
		strand_json_hex_field(o->j, "number", e->number);
		strand_json_string_field(o->j, "name", syscall_name(q, e->number));
		strand_json_name(o->j, "args");
		strand_json_start_array(o->j);
		for (int k = 0; k < 4; k++)
			strand_json_hex(o->j, e->args[k]);
		strand_json_end_array(o->j);
		strand_json_hex_field(o->j, "result", e->result);
		qdescribe(q, e->result, true, desc, sizeof desc);
		strand_json_string_field(o->j, "result_text", desc[0] ? desc : NULL);
		strand_json_bool_field(o->j, "failed", e->failed);
		if (obj)
			strand_json_string_field(o->j, "object", obj[0] ? obj : NULL);
	} else if (e->type == STRAND_REC_EXCEPTION) {
		strand_json_hex_field(o->j, "pc", e->pc);
		strand_json_hex_field(o->j, "code", e->number);
	} else if (e->type == STRAND_REC_THREAD_EXIT ||
		   e->type == STRAND_REC_PROCESS_EXIT) {
		strand_json_hex_field(o->j, "code", e->number);
	}
	strand_json_end_object(o->j);
}

/* Does `name` contain `pat`, ignoring case? */
static bool name_has(const char *name, const char *pat)
{
	size_t n = strlen(name), m = strlen(pat);
	for (size_t i = 0; i + m <= n; i++) {
		size_t k = 0;
		while (k < m && tolower((unsigned char)name[i + k]) == tolower((unsigned char)pat[k]))
			k++;
		if (k == m)
			return true;
	}
	return false;
}

static strand_status cmd_syscalls(struct strand_query *q, struct qargs *a,
				  struct qout *o, strand_error *err)
{
	strand_status st = need_index(q, err);
	if (st < 0)
		return st;
	bool failed = false;
	const char *name = NULL;
	uint64_t tid = 0, from = 0, to = UINT64_MAX, limit = q->max_rows, skip = 0;
	bool have_tid = false;
	for (int i = 1; i < a->argc; i++) {
		const char *opt = a->argv[i];
		uint64_t *num = !strcmp(opt, "--tid") ? &tid : !strcmp(opt, "--from") ? &from
				: !strcmp(opt, "--to") ? &to : !strcmp(opt, "--limit") ? &limit
				: !strcmp(opt, "--skip") ? &skip : NULL;
		if (!strcmp(opt, "--failed")) {
			failed = true;
		} else if (!strcmp(opt, "--name") && i + 1 < a->argc) {
			name = a->argv[++i];
		} else if (num && i + 1 < a->argc) {
			if ((st = qeval(q, a->argv[++i], num, err)) < 0)
				return st;
			if ((int64_t)*num < 0)
				return strand_error_set(err, STRAND_ERR_INVALID, "%s %" PRId64
							" is negative", opt, (int64_t)*num);
			have_tid = have_tid || num == &tid;
		} else {
			return strand_error_set(err, STRAND_ERR_INVALID,
						"unknown option '%s' (usage: syscalls [--failed] "
						"[--name TEXT] [--tid TID] [--from POS] [--to POS] "
						"[--limit N] [--skip N])", opt);
		}
	}
	if (limit == 0)
		return strand_error_set(err, STRAND_ERR_INVALID, "--limit must be at least 1");
	bool objects = q->ext && q->ext->syscall_object;
	if (objects && !q->ext->syscall_object(q, 0, err))
		return strand_error_wrap(err, err->status, "cannot decode syscall objects");
	strand_json_name(o->j, "syscalls");
	strand_json_start_array(o->j);
	qtext(o, "%-6s %-10s %-6s %-28s %-10s %s\n", "event", "position", "tid",
	      "syscall", "result", "object / caller");
	uint64_t rows = 0, total = 0;
	for (uint64_t i = 0; i < q->nevents; i++) {
		const struct strand_query_event *e = &q->events[i];
		if (e->type != STRAND_REC_SYSCALL || (failed && !e->failed))
			continue;
		if (e->position < from || e->position > to || (have_tid && e->tid != tid))
			continue;
		const char *nm = syscall_name(q, e->number);
		char name_buf[64];
		if (nm)
			snprintf(name_buf, sizeof name_buf, "%s", nm);
		else
			snprintf(name_buf, sizeof name_buf, "0x%" PRIx64, e->number);
		if (name && !name_has(name_buf, name))
			continue;
		total++;
		if (total <= skip || rows >= limit)
			continue;
		rows++;
		char sym[256], desc[256];
		qsym(q, e->pc, sym, sizeof sym);
		const char *obj = objects ? q->ext->syscall_object(q, e->index, err) : NULL;
		qtext(o, "%-6" PRIu64 " %-10" PRIu64 " %-6" PRIu32 " %-28s 0x%08" PRIx64 " %s%s\n",
		      e->index, e->position, e->tid, name_buf, e->result,
		      obj && obj[0] ? obj : sym, e->failed ? "  FAILED" : "");
		if (e->failed) {
			qdescribe(q, e->result, true, desc, sizeof desc);
			if (desc[0])
				qtext(o, "       %s\n", desc);
		}
		json_event(q, o, e, obj);
	}
	strand_json_end_array(o->j);
	strand_json_uint_field(o->j, "count", total);
	bool more = total > skip + rows;
	strand_json_bool_field(o->j, "truncated", more);
	if (skip)
		strand_json_uint_field(o->j, "skipped", skip);
	qtext(o, "%" PRIu64 " %ssyscalls%s\n", total, failed ? "failed " : "",
	      more ? " (first rows shown)" : "");
	if (more) {
		/* the next page: the same command, further on */
		qtext(o, "next page: syscalls");
		for (int i = 1; i < a->argc; i++) {
			if (!strcmp(a->argv[i], "--skip")) {
				i++;
				continue;
			}
			qtext(o, " %s", a->argv[i]);
		}
		qtext(o, " --skip %" PRIu64 "\n", skip + rows);
		strand_json_uint_field(o->j, "next_skip", skip + rows);
	}
	return STRAND_OK;
}

static strand_status cmd_events(struct strand_query *q, struct qargs *a,
				struct qout *o, strand_error *err)
{
	strand_status st = need_index(q, err);
	if (st < 0)
		return st;
	int type = 0;
	if (a->argc > 1 && (type = qevent_type(a->argv[1])) < 0)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"unknown event type '%s'", a->argv[1]);
	strand_json_name(o->j, "events");
	strand_json_start_array(o->j);
	qtext(o, "%-6s %-10s %-6s %s\n", "event", "position", "tid", "type");
	uint64_t rows = 0, total = 0;
	for (uint64_t i = 0; i < q->nevents; i++) {
		const struct strand_query_event *e = &q->events[i];
		if (type && e->type != (uint32_t)type)
			continue;
		total++;
		if (rows >= q->max_rows)
			continue;
		rows++;
		qtext(o, "%-6" PRIu64 " %-10" PRIu64 " %-6" PRIu32 " %s", e->index,
		      e->position, e->tid, qevent_name(e->type) ? qevent_name(e->type) : "?");
		if (e->type == STRAND_REC_SYSCALL)
			qtext(o, " 0x%" PRIx64 " -> 0x%" PRIx64 "%s", e->number, e->result,
			      e->failed ? " FAILED" : "");
		else if (e->type == STRAND_REC_EXCEPTION || e->type == STRAND_REC_PROCESS_EXIT ||
			 e->type == STRAND_REC_THREAD_EXIT)
			qtext(o, " code 0x%" PRIx64, e->number);
		qtext(o, "\n");
		json_event(q, o, e, NULL);
	}
	strand_json_end_array(o->j);
	strand_json_uint_field(o->j, "count", total);
	strand_json_bool_field(o->j, "truncated", total > rows);
	return STRAND_OK;
}

/* ===================================================================== */
/* Whole-trace queries: the target's                                      */
/* ===================================================================== */

#define EXT_CMD(fn, field)                                                    \
	static strand_status fn(struct strand_query *q, struct qargs *a,      \
				struct qout *o, strand_error *err)            \
	{                                                                     \
		if (!q->ext || !q->ext->field)                                \
			return strand_error_set(err, STRAND_ERR_UNSUPPORTED,  \
						"not available for this target"); \
		return q->ext->field(q, a, o, err);                           \
	}
EXT_CMD(ext_calls_cmd, calls)
EXT_CMD(cmd_memory, memory)
EXT_CMD(ext_origin_cmd, origin)

/* calls FUNC where FUNC's module is not loaded here: found where a module
 * load makes it resolve, and the query runs there (symbols resolve), then
 * the session goes back. */
static strand_status cmd_calls(struct strand_query *q, struct qargs *a,
			       struct qout *o, strand_error *err)
{
	uint64_t v;
	strand_error e;
	if (qeval(q, a->argv[1], &v, &e) == STRAND_OK || !q->events)
		return ext_calls_cmd(q, a, o, err);
	uint64_t here = OPS(q)->position(T(q)), end = OPS(q)->end(T(q));
	strand_status st;
	for (uint64_t i = 0; i < q->nevents; i++) {
		const struct strand_query_event *ev = &q->events[i];
		if (ev->type != STRAND_REC_MODULE)
			continue;
		for (uint64_t at = ev->position; at <= ev->position + 1 && at <= end; at++) {
			if ((st = OPS(q)->seek(T(q), at, err)) < 0)
				return st;
			if (qeval(q, a->argv[1], &v, &e) != STRAND_OK)
				continue;
			st = ext_calls_cmd(q, a, o, err);
			strand_status back = OPS(q)->seek(T(q), here, err);
			return st < 0 ? st : back < 0 ? back : st;
		}
	}
	if ((st = OPS(q)->seek(T(q), here, err)) < 0)
		return st;
	return ext_calls_cmd(q, a, o, err); /* says why FUNC does not resolve */
}

/* origin [ADDR] LEN: the brackets name the memory at ADDR (as in the
 * display of a memory step), not the pointer read from it. */
static strand_status cmd_origin(struct strand_query *q, struct qargs *a,
				struct qout *o, strand_error *err)
{
	char *w = a->argv[1];
	size_t n = strlen(w);
	if (n >= 3 && w[0] == '[' && w[n - 1] == ']') {
		int depth = 0;
		size_t k;
		for (k = 0; k < n; k++) {
			depth += w[k] == '[' ? 1 : w[k] == ']' ? -1 : 0;
			if (depth == 0)
				break;
		}
		if (k == n - 1) { /* one bracket pair around the whole word: (ADDR),
				     an address even when ADDR is a register */
			w[0] = '(';
			w[n - 1] = ')';
		}
	}
	return ext_origin_cmd(q, a, o, err);
}
EXT_CMD(cmd_find, find)
EXT_CMD(cmd_processes, processes)
EXT_CMD(cmd_process, process)
EXT_CMD(cmd_report, report)

/* ===================================================================== */
/* Session                                                                */
/* ===================================================================== */

static strand_status cmd_help(struct strand_query *q, struct qargs *a,
			      struct qout *o, strand_error *err)
{
	if (a->argc > 1) {
		const struct qcmd *c = qcmd_find(a->argv[1]);
		if (!c)
			return strand_error_set(err, STRAND_ERR_INVALID,
						"unknown command '%s'", a->argv[1]);
		qtext(o, "%s\n    %s\n", c->synopsis, c->summary);
		if (c->alias)
			qtext(o, "    (short: %s)\n", c->alias);
		if (c->help)
			qtext(o, "%s", c->help);
		strand_json_string_field(o->j, "name", c->name);
		strand_json_string_field(o->j, "alias", c->alias);
		strand_json_string_field(o->j, "synopsis", c->synopsis);
		strand_json_string_field(o->j, "summary", c->summary);
		strand_json_string_field(o->j, "help", c->help ? c->help : "");
		return STRAND_OK;
	}
	strand_json_name(o->j, "commands");
	strand_json_start_array(o->j);
	for (const struct qcmd *c = qcmd_table; c->name; c++) {
		qtext(o, "  %-44s %s\n", c->synopsis, c->summary);
		strand_json_start_object(o->j);
		strand_json_string_field(o->j, "name", c->name);
		strand_json_string_field(o->j, "synopsis", c->synopsis);
		strand_json_string_field(o->j, "summary", c->summary);
		strand_json_end_object(o->j);
	}
	strand_json_end_array(o->j);
	qtext(o, "Expressions: 0x1f 31 eax @eax mod!sym+0x10 [esp+4] (a+b)*2 << >> & | ^ ~\n"
		 "Separate commands with ';'.  'help CMD' shows details.\n");
	return STRAND_OK;
}

static strand_status cmd_quit(struct strand_query *q, struct qargs *a,
			      struct qout *o, strand_error *err)
{
	q->quit = true;
	return STRAND_OK;
}

const struct qcmd qcmd_table[] = {
	/* navigation */
	{ "pos", "where", "pos", "show the current position, thread and instruction",
	  NULL, 0, 0, cmd_pos },
	{ "seek", "s", "seek POS|+N|-N|start|end|event TYPE [N]|event INDEX",
	  "go to a position, relative, to the start/end, or to an event",
	  "    seek 1200        absolute position (an expression)\n"
	  "    seek +10, -10    relative\n"
	  "    seek start|end   first / last position\n"
	  "    seek event syscall [N]  the Nth next event of a type (N<0: back);\n"
	  "                     types: syscall exception thread-switch thread-create\n"
	  "                     thread-exit module-load module-unload memory output\n"
	  "                     nondet keyframe process-exit any\n"
	  "    seek event 12    the event with index 12 (see 'events')\n",
	  1, 3, cmd_seek },
	{ "step", "t", "step [N]", "execute N instructions forward (default 1)", NULL,
	  0, 1, cmd_step },
	{ "back", "tb", "back [N]", "go N instructions backward (default 1)", NULL, 0,
	  1, cmd_back },
	{ "next", "p", "next [N]", "step over calls, forward", NULL, 0, 1, cmd_next },
	{ "prev", "pb", "prev [N]", "step over calls, backward", NULL, 0, 1, cmd_prev },
	{ "finish", "gu", "finish", "run until the current function returns", NULL,
	  0, 0, cmd_finish },
	{ "rfinish", "gub", "rfinish",
	  "go back to the call that entered the current function", NULL, 0, 0,
	  cmd_rfinish },
	{ "continue", "g", "continue", "run forward to the next breakpoint or watchpoint",
	  NULL, 0, 0, cmd_continue },
	{ "rcontinue", "gb", "rcontinue",
	  "run backward to the previous breakpoint or watchpoint", NULL, 0, 0,
	  cmd_rcontinue },
	{ "break", "bp", "break ADDR|module!sym [if EXPR]",
	  "stop before the instruction at an address executes",
	  "    break ntdll!NtCreateFile               every time\n"
	  "    break ntdll!NtCreateFile if [esp+8] == 0x40100080\n"
	  "                                           only where EXPR is non-zero\n"
	  "    (gdb: b; WinDbg: bp; 'tbreak' stops once)\n",
	  1, -1, cmd_break },
	{ "tbreak", NULL, "tbreak ADDR [if EXPR]",
	  "a breakpoint deleted when it first stops motion", NULL, 1, -1, cmd_tbreak },
	{ "watch", "ba", "watch [r|w|rw] ADDR LEN",
	  "stop after an instruction reads/writes a memory range (default w)", NULL, 2,
	  3, cmd_watch },
	{ "delete", "bc", "delete ID...|all", "delete breakpoints or watchpoints", NULL,
	  1, -1, cmd_delete },
	{ "list", "bl", "list", "list breakpoints and watchpoints, with their hit counts", NULL,
	  0, 0, cmd_list },
	{ "disable", NULL, "disable ID...|all", "keep stops but do not stop at them (WinDbg: bd)",
	  NULL, 1, -1, cmd_disable },
	{ "enable", NULL, "enable ID...|all", "stop at disabled stops again (WinDbg: be)", NULL,
	  1, -1, cmd_enable },
	/* state */
	{ "regs", "r", "regs", "show the registers of the current thread", NULL, 0, 0,
	  cmd_regs },
	{ "reg", NULL, "reg NAME...", "show registers by name (eax, al, rip, xmm0...)",
	  NULL, 1, -1, cmd_reg },
	{ "print", "?", "print EXPR", "evaluate an expression", NULL, 1, -1, cmd_print },
	{ "mem", "db", "mem [u8|u16|u32|u64|ptr|str|wstr] ADDR [LEN|COUNT]",
	  "hex dump (LEN bytes, default 64) or typed values (COUNT, default 1)",
	  "    mem esp 32        hex dump\n"
	  "    mem u32 esp 4     four 32-bit values\n"
	  "    mem ptr [esp]     a pointer, with its symbol\n"
	  "    mem str ADDR      ASCII string up to NUL (at most COUNT chars, default 256)\n"
	  "    mem wstr ADDR     UTF-16 string up to NUL\n",
	  1, 3, cmd_mem },
	{ "disas", "u", "disas [ADDR] [N]", "disassemble N instructions (default: pc, 8)",
	  NULL, 0, 2, cmd_disas },
	{ "bt", "k", "bt [fp]", "call stack of the current thread",
	  "    bt       the shadow stack: every call and return replayed from the start\n"
	  "             (exact, also through functions without a frame pointer)\n"
	  "    bt fp    walk the frame-pointer chain in memory now (what a debugger\n"
	  "             without the recording would see)\n",
	  0, 1, cmd_bt },
	{ "threads", NULL, "threads", "threads alive at the current position", NULL, 0,
	  0, cmd_threads },
	{ "thread", NULL, "thread [TID]",
	  "show the current thread, or go forward to where TID next runs", NULL, 0, 1,
	  cmd_thread },
	{ "modules", "lm", "modules", "modules loaded at the current position", NULL, 0,
	  0, cmd_modules },
	{ "processes", NULL, "processes",
	  "the process tree: the traced process and every child recorded with it",
	  "  pid, parent, exit status, instructions and the program each ran last;\n"
	  "  '*' marks the process the other commands act on\n", 0, 0, cmd_processes },
	{ "process", NULL, "process [PID|root]",
	  "show the current process, or make the commands act on process PID",
	  "  the session moves to the start of that process's trace; breakpoints and\n"
	  "  watchpoints are deleted (their addresses belong to the other process)\n",
	  0, 1, cmd_process },
	{ "sym", "ln", "sym ADDR|NAME", "symbol of an address, or address of a symbol",
	  NULL, 1, 1, cmd_sym },
	/* whole trace */
	{ "events", NULL, "events [TYPE]", "list the events of the trace (index order)",
	  NULL, 0, 1, cmd_events },
	{ "syscalls", NULL, "syscalls [--failed] [--name TEXT] [--tid TID] [--from POS] [--to POS] [--limit N] [--skip N]",
	  "list kernel transitions with their results",
	  "    --failed          only the failed ones\n"
	  "    --name TEXT       names containing TEXT (any case): --name CreateFile\n"
	  "    --tid TID         one thread's\n"
	  "    --from POS, --to POS  positions in [POS, POS]\n"
	  "    --limit N         rows per page (default 1000); the last line says how to\n"
	  "    --skip N          get the next page (skip the first N matches)\n",
	  0, -1, cmd_syscalls },
	{ "calls", NULL, "calls FUNC",
	  "every call of a function: thread, positions, arguments, return value", NULL,
	  1, 2, cmd_calls },
	{ "memory", NULL, "memory ADDR LEN [r|w|rw]",
	  "every access to a memory range over the whole trace", NULL, 2, 3, cmd_memory },
	{ "origin", NULL, "origin REG|ADDR|[ADDR] [LEN]",
	  "where the current value of a register or memory came from",
	  "    Follows the value back by data and control flow (the engine of\n"
	  "    strand report): registers, memory, the kernel's outputs, table\n"
	  "    lookups (by their subscript and the search loop's key) and the\n"
	  "    branch that chose a constant, to the kernel call or constant it\n"
	  "    started from.  Each step says what it is (register, load, store,\n"
	  "    table, compare, control, constant, syscall).  History is replayed\n"
	  "    in bounded windows before the position, so the cost does not grow\n"
	  "    with the distance from the start.  ADDR reads LEN bytes (default\n"
	  "    pointer size).  --passes is accepted and ignored.\n",
	  1, 3, cmd_origin },
	{ "find", NULL, "find VALUE [SIZE [MAX]]",
	  "positions where a register or memory took a value, over time",
	  "    VALUE is compared on SIZE bytes (1, 2, 4, 8; default pointer size);\n"
	  "    MAX rows are shown (default 1000), 'count' says how many there are.\n"
	  "    Registers are per thread: a row is a register of that thread taking\n"
	  "    the value (written by the instruction shown) or a memory write.\n",
	  1, 3, cmd_find },
	{ "report", NULL, "report", "the root-cause report of the trace", NULL, 0, 0,
	  cmd_report },
	/* session */
	{ "help", "h", "help [CMD]", "list commands, or show one command's help", NULL,
	  0, 1, cmd_help },
	{ "quit", "q", "quit", "end the session", NULL, 0, 0, cmd_quit },
	{ NULL, NULL, NULL, NULL, NULL, 0, 0, NULL },
};

const struct qcmd *qcmd_find(const char *name)
{
	for (const struct qcmd *c = qcmd_table; c->name; c++)
		if (!strcmp(c->name, name) || (c->alias && !strcmp(c->alias, name)))
			return c;
	if (!strcmp(name, "exit"))
		return qcmd_find("quit");
	return NULL;
}
