/* What the threads of a trace did, read from the records alone (no
 * replay): names, when each ran (thread switches), when each waited (a
 * kernel call after which the kernel switched to another thread, until it
 * ran again), and the modules.  The report page draws it on the timeline;
 * `strand export` uses the same reading. */
#include "report/views.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "strand/knowledge.h"

enum { MAX_THREADS = 256, MAX_RUNS = 2000, MAX_WAITS = 2000 };

struct run { uint64_t from, to; };

struct athread {
	uint32_t tid;
	char name[64];
	struct run *runs;       /* owned; at most MAX_RUNS (later runs merged into the last) */
	uint32_t nruns, cap;
};

struct await {
	uint32_t tid;
	uint64_t position;      /* of the kernel call */
	uint64_t until;         /* when the thread ran again (end of trace if never) */
	char syscall[48];
	bool open;
};

struct scan {
	struct athread th[MAX_THREADS];
	uint32_t nth;
	struct await *waits;    /* owned, MAX_WAITS */
	uint32_t nwaits;
};

static struct athread *th_get(struct scan *s, uint32_t tid)
{
	for (uint32_t i = 0; i < s->nth; i++)
		if (s->th[i].tid == tid)
			return &s->th[i];
	if (s->nth == MAX_THREADS)
		return NULL;
	struct athread *t = &s->th[s->nth++];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	return t;
}

static void run_start(struct scan *s, uint32_t tid, uint64_t pos)
{
	struct athread *t = th_get(s, tid);
	if (!t)
		return;
	if (t->nruns == MAX_RUNS) { /* too many: the last run absorbs the rest */
		t->runs[t->nruns - 1].to = pos;
		return;
	}
	if (t->nruns == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 16;
		struct run *n = realloc(t->runs, cap * sizeof *n);
		if (!n)
			return;
		t->runs = n;
		t->cap = cap;
	}
	t->runs[t->nruns++] = (struct run){ pos, pos };
}

static void run_end(struct scan *s, uint32_t tid, uint64_t pos)
{
	struct athread *t = th_get(s, tid);
	if (t && t->nruns)
		t->runs[t->nruns - 1].to = pos;
}

strand_status strand_activity_scan(const char *trace, struct strand_rnode *out, strand_error *err)
{
	struct strand_reader *rd = NULL;
	struct strand_systable *systable = NULL; /* the trace's service table, NULL = built in */
	struct scan *s = calloc(1, sizeof *s);
	strand_status st = STRAND_OK;
	if (!s || !(s->waits = calloc(MAX_WAITS, sizeof *s->waits))) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "activity: out of memory");
		goto out;
	}
	st = strand_reader_open(trace, &rd, err);
	if (st < 0)
		goto out;
	const struct strand_trace_info *info = strand_reader_info(rd);
	struct strand_rnode *mods = strand_r_list(out, "modules");
	uint32_t running = 0;
	bool have_running = false, snapshot = true;
	uint64_t last_pos = 0;
	/* the last kernel call of the running thread, if nothing ran since */
	bool pending = false;
	uint64_t pend_pos = 0;
	uint32_t pend_nr = 0;
	const struct strand_record *rec;
	while ((st = strand_reader_next(rd, &rec, err)) == STRAND_OK) {
		last_pos = rec->position;
		switch (rec->type) {
		case STRAND_REC_THREAD: {
			struct athread *t = th_get(s, rec->tid);
			if (t && rec->u.thread.name && rec->u.thread.name[0])
				snprintf(t->name, sizeof t->name, "%s", rec->u.thread.name);
			if (!have_running) {
				running = rec->tid;
				have_running = true;
				run_start(s, running, rec->position);
			}
			break;
		}
		case STRAND_REC_MODULE: {
			struct strand_rnode *m = strand_r_object(mods, NULL);
			strand_r_string(m, "name", rec->u.module.name);
			strand_r_hex(m, "base", rec->u.module.base);
			strand_r_hex(m, "size", rec->u.module.size);
			strand_r_position(m, "loaded_at", snapshot ? 0 : rec->position);
			strand_r_string(m, "path", rec->u.module.path);
			break;
		}
		case STRAND_REC_SNAPSHOT_END:
			snapshot = false;
			break;
		case STRAND_REC_NOTE:
			/* a trace on real system DLLs numbers services as its
			 * ntdll does (docs/trace-format.md) */
			if (snapshot && !systable && !strcmp(rec->u.note.key, "syscall-table")) {
				/* a damaged note leaves the built-in numbering, as
				 * for the analyses (strand verify reports the file) */
				strand_error e = { 0 };
				if (strand_systable_parse(rec->u.note.data, rec->u.note.len, &systable, &e) < 0)
					systable = NULL;
			}
			break;
		case STRAND_REC_SYSCALL:
		case STRAND_REC_NONDET:
			if (!have_running) {
				running = rec->tid;
				have_running = true;
				run_start(s, running, rec->position);
			}
			pending = rec->type == STRAND_REC_SYSCALL;
			pend_pos = rec->position;
			pend_nr = rec->type == STRAND_REC_SYSCALL ? rec->u.syscall.number : 0;
			break;
		case STRAND_REC_THREAD_SWITCH:
			if (have_running && rec->tid == running)
				break;
			if (have_running) {
				run_end(s, running, rec->position);
				if (pending && pend_pos + 1 == rec->position && s->nwaits < MAX_WAITS) {
					struct await *w = &s->waits[s->nwaits++];
					w->tid = running;
					w->position = pend_pos;
					w->until = UINT64_MAX;
					w->open = true;
					const char *nm = strand_syscall_name_in(systable, info->abi, info->arch,
										pend_nr);
					if (nm)
						snprintf(w->syscall, sizeof w->syscall, "%s", nm);
					else
						snprintf(w->syscall, sizeof w->syscall, "syscall %" PRIu32, pend_nr);
				}
			}
			for (uint32_t i = 0; i < s->nwaits; i++)
				if (s->waits[i].open && s->waits[i].tid == rec->tid) {
					s->waits[i].until = rec->position;
					s->waits[i].open = false;
				}
			running = rec->tid;
			have_running = true;
			pending = false;
			run_start(s, running, rec->position);
			break;
		default:
			break;
		}
	}
	if (st == STRAND_END)
		st = STRAND_OK;
	if (st < 0)
		goto out;
	uint64_t end = last_pos;
	if (have_running)
		run_end(s, running, end);
	struct strand_rnode *threads = strand_r_list(out, "threads");
	for (uint32_t i = 0; i < s->nth; i++) {
		struct strand_rnode *o = strand_r_object(threads, NULL);
		strand_r_uint(o, "tid", s->th[i].tid);
		strand_r_string(o, "name", s->th[i].name);
		struct strand_rnode *runs = strand_r_list(o, "runs");
		for (uint32_t k = 0; k < s->th[i].nruns; k++) {
			if (s->th[i].runs[k].to <= s->th[i].runs[k].from)
				continue;
			struct strand_rnode *ro = strand_r_object(runs, NULL);
			strand_r_position(ro, "from", s->th[i].runs[k].from);
			strand_r_position(ro, "to", s->th[i].runs[k].to);
		}
	}
	struct strand_rnode *waits = strand_r_list(out, "waits");
	for (uint32_t i = 0; i < s->nwaits; i++) {
		struct strand_rnode *o = strand_r_object(waits, NULL);
		strand_r_uint(o, "tid", s->waits[i].tid);
		strand_r_position(o, "position", s->waits[i].position);
		strand_r_string(o, "syscall", s->waits[i].syscall);
		strand_r_position(o, "until", s->waits[i].open ? end : s->waits[i].until);
	}
out:
	strand_systable_free(systable);
	strand_reader_close(rd);
	if (s) {
		for (uint32_t i = 0; i < s->nth; i++)
			free(s->th[i].runs);
		free(s->waits);
	}
	free(s);
	return st;
}
