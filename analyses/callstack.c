/* callstack: a shadow call stack per thread from the replayed calls and
 * returns (the tracker other plugins borrow), and the plugin that shows
 * stacks at chosen positions and the call-depth timeline.
 *
 * Matching returns.  A ret pops up to the frame whose pushed return
 * address it jumps to (several frames at once after longjmp or unwinding).
 * A ret that matches no frame is counted and changes nothing (push/ret
 * used as a jump, or a return into code entered before the trace began);
 * frames left below the stack pointer by such non-local exits are dropped
 * when a later ret moves the stack pointer above them.  A tail call (jmp
 * to another function) leaves the frame as it was: its return address is
 * still the right one, and frame 0 is always symbolized from the pc. */
#include "strand/analysis.h"
#include "strand/dataflow.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct cs_frame {
	uint64_t func;      /* call target */
	uint64_t ret_addr;  /* return address pushed */
	uint64_t sp;        /* stack pointer after the call */
	uint64_t call_pos;  /* position of the call */
};

struct cs_thread {
	uint32_t tid;
	uint32_t n, cap;            /* frames in use, allocated */
	struct cs_frame *f;         /* f[0] outermost */
	uint64_t unmatched_rets;
};

/* A copy of every thread's shadow stack (strand_callstack_keep_snapshots):
 * the stacks as they are at `pos`, before the call or ret at `pos`. */
struct cs_snap {
	uint64_t pos;
	uint32_t thread_first, nthreads; /* into snap_th */
};

struct cs_snap_thread {
	uint32_t tid;
	uint32_t n;                 /* frames, from frame_first in snap_f */
	uint64_t frame_first;
};

/* Memory bound of the copies: past it no more are taken. */
#define CS_SNAP_MAX_BYTES (64ull << 20)

struct strand_callstack {
	struct strand_replay *r;    /* borrowed */
	strand_obs_id call_id, ret_id, ev_id;
	struct cs_thread *th;       /* owned */
	uint32_t nth, capth;
	unsigned psz;               /* pointer size, bytes */
	uint64_t calls, rets, unmatched;
	bool oom;
	/* copies: every snap_every instructions (0 = none), at the first
	 * call or ret at or after snap_next */
	uint64_t snap_every, snap_next, snap_bytes;
	struct cs_snap *snaps; uint32_t nsnaps, capsnaps;
	struct cs_snap_thread *snap_th; uint32_t nsnap_th, capsnap_th;
	struct cs_frame *snap_f; uint64_t nsnap_f, capsnap_f;
};

static struct cs_thread *thread_get(struct strand_callstack *cs, uint32_t tid, bool create)
{
	for (uint32_t i = 0; i < cs->nth; i++)
		if (cs->th[i].tid == tid)
			return &cs->th[i];
	if (!create)
		return NULL;
	if (cs->nth == cs->capth) {
		uint32_t cap = cs->capth ? cs->capth * 2 : 8;
		struct cs_thread *n = realloc(cs->th, cap * sizeof *n);
		if (!n) {
			cs->oom = true;
			return NULL;
		}
		cs->th = n;
		cs->capth = cap;
	}
	struct cs_thread *t = &cs->th[cs->nth++];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	return t;
}

static bool grow_array(void **p, uint64_t *cap, uint64_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	uint64_t ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(*p, ncap * elem);
	if (!n)
		return false;
	*p = n;
	*cap = ncap;
	return true;
}

/* Copy every thread's frames as they are before the call or ret at
 * `pos`.  No call or ret happened since snap_next (else it would have
 * taken the copy), so the copy holds at the last multiple of snap_every
 * at or before pos: it is labelled there, as early as it is valid. */
static void snap_take(struct strand_callstack *cs, uint64_t pos)
{
	uint64_t label = pos / cs->snap_every * cs->snap_every;
	cs->snap_next = label + cs->snap_every;
	pos = label;
	uint64_t frames = 0;
	for (uint32_t i = 0; i < cs->nth; i++)
		frames += cs->th[i].n;
	uint64_t bytes = frames * sizeof(struct cs_frame) + cs->nth * sizeof(struct cs_snap_thread) +
			 sizeof(struct cs_snap);
	if (cs->snap_bytes + bytes > CS_SNAP_MAX_BYTES)
		return;
	uint64_t capsn = cs->capsnaps, capth = cs->capsnap_th;
	if (!grow_array((void **)&cs->snaps, &capsn, cs->nsnaps + 1, sizeof *cs->snaps))
		return;
	cs->capsnaps = (uint32_t)capsn;
	if (!grow_array((void **)&cs->snap_th, &capth, cs->nsnap_th + cs->nth, sizeof *cs->snap_th))
		return;
	cs->capsnap_th = (uint32_t)capth;
	if (!grow_array((void **)&cs->snap_f, &cs->capsnap_f, cs->nsnap_f + frames, sizeof *cs->snap_f))
		return;
	struct cs_snap *sn = &cs->snaps[cs->nsnaps++];
	sn->pos = pos;
	sn->thread_first = cs->nsnap_th;
	sn->nthreads = cs->nth;
	for (uint32_t i = 0; i < cs->nth; i++) {
		struct cs_snap_thread *st = &cs->snap_th[cs->nsnap_th++];
		st->tid = cs->th[i].tid;
		st->n = cs->th[i].n;
		st->frame_first = cs->nsnap_f;
		memcpy(cs->snap_f + cs->nsnap_f, cs->th[i].f, cs->th[i].n * sizeof *cs->snap_f);
		cs->nsnap_f += cs->th[i].n;
	}
	cs->snap_bytes += bytes;
}

static void maybe_snap(struct strand_callstack *cs, uint64_t pos)
{
	if (cs->snap_every && pos >= cs->snap_next)
		snap_take(cs, pos);
}

static void on_call(struct strand_replay *r, void *ud, const struct strand_call_info *c)
{
	struct strand_callstack *cs = ud;
	maybe_snap(cs, c->position);
	struct cs_thread *t = thread_get(cs, c->tid, true);
	cs->calls++;
	if (!t)
		return;
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 32;
		if (cap > 1u << 20)
			return; /* runaway recursion: keep the stack bounded */
		struct cs_frame *n = realloc(t->f, cap * sizeof *n);
		if (!n) {
			cs->oom = true;
			return;
		}
		t->f = n;
		t->cap = cap;
	}
	t->f[t->n++] = (struct cs_frame){ c->to, c->ret_addr, c->sp_after, c->position };
}

static void on_ret(struct strand_replay *r, void *ud, const struct strand_call_info *c)
{
	struct strand_callstack *cs = ud;
	maybe_snap(cs, c->position);
	struct cs_thread *t = thread_get(cs, c->tid, true);
	cs->rets++;
	if (!t)
		return;
	for (uint32_t k = t->n; k-- > 0;) {
		if (t->f[k].ret_addr == c->to && t->f[k].sp < c->sp_after) {
			t->n = k;
			return;
		}
		if (t->n - k > 256)
			break;
	}
	/* No frame returns here.  Frames whose stack is already released are
	 * dead (non-local exit); drop them. */
	while (t->n && t->f[t->n - 1].sp + cs->psz < c->sp_after)
		t->n--;
	t->unmatched_rets++;
	cs->unmatched++;
}

/* The module being unloaded (still listed before its event applies) is
 * the main executable. */
static bool main_module_goes(const struct strand_replay *r, uint32_t id)
{
	uint32_t n = 0;
	const struct strand_module *const *m = strand_replay_modules(r, &n);
	for (uint32_t i = 0; i < n; i++)
		if (m[i]->id == id)
			return (m[i]->flags & STRAND_MODULE_F_MAIN) != 0;
	return false;
}

static void on_event(struct strand_replay *r, void *ud, const struct strand_record *rec,
		     bool after)
{
	struct strand_callstack *cs = ud;
	if (after && rec->type == STRAND_REC_THREAD_EXIT) {
		struct cs_thread *t = thread_get(cs, rec->tid, false);
		if (t)
			t->n = 0;
	}
	if (!after && rec->type == STRAND_REC_MODULE_UNLOAD && main_module_goes(r, rec->u.module_id)) {
		/* the main image goes (an exec replaced the program): no frame
		 * of any thread returns into the old one */
		for (uint32_t i = 0; i < cs->nth; i++)
			cs->th[i].n = 0;
	}
}

strand_status strand_callstack_new(struct strand_replay *r, struct strand_callstack **out,
				   strand_error *err)
{
	struct strand_callstack *cs = calloc(1, sizeof *cs);
	if (!cs)
		return strand_error_set(err, STRAND_ERR_NOMEM, "callstack: out of memory");
	cs->r = r;
	cs->psz = strand_replay_info(r)->arch == STRAND_ARCH_X86_64 ? 8 : 4;
	cs->call_id = strand_replay_on_call(r, on_call, cs);
	cs->ret_id = strand_replay_on_ret(r, on_ret, cs);
	cs->ev_id = strand_replay_on_event(r, on_event, cs);
	*out = cs;
	return STRAND_OK;
}

void strand_callstack_free(struct strand_callstack *cs)
{
	if (!cs)
		return;
	strand_replay_observer_del(cs->r, cs->call_id);
	strand_replay_observer_del(cs->r, cs->ret_id);
	strand_replay_observer_del(cs->r, cs->ev_id);
	for (uint32_t i = 0; i < cs->nth; i++)
		free(cs->th[i].f);
	free(cs->th);
	free(cs->snaps);
	free(cs->snap_th);
	free(cs->snap_f);
	free(cs);
}

void strand_callstack_keep_snapshots(struct strand_callstack *cs, uint64_t interval)
{
	cs->snap_every = interval;
	cs->snap_next = 0;
}

uint64_t strand_callstack_snapshot_before(const struct strand_callstack *cs, uint64_t pos)
{
	uint32_t lo = 0, hi = cs ? cs->nsnaps : 0; /* first snapshot with pos > `pos` */
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (cs->snaps[mid].pos <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? cs->snaps[lo - 1].pos : 0;
}

strand_status strand_callstack_new_from(struct strand_replay *r, const struct strand_callstack *src,
					uint64_t at, struct strand_callstack **out,
					strand_error *err)
{
	strand_status st = strand_callstack_new(r, out, err);
	if (st < 0 || !src)
		return st;
	struct strand_callstack *cs = *out;
	const struct cs_snap *sn = NULL;
	for (uint32_t i = src->nsnaps; i-- > 0 && !sn;)
		if (src->snaps[i].pos == at)
			sn = &src->snaps[i];
	if (!sn)
		return STRAND_OK; /* position 0 or no copy: empty stacks */
	for (uint32_t i = 0; i < sn->nthreads; i++) {
		const struct cs_snap_thread *t = &src->snap_th[sn->thread_first + i];
		struct cs_thread *d = thread_get(cs, t->tid, true);
		if (!d || (t->n && !(d->f = malloc(t->n * sizeof *d->f)))) {
			strand_callstack_free(cs);
			*out = NULL;
			return strand_error_set(err, STRAND_ERR_NOMEM, "callstack: out of memory");
		}
		memcpy(d->f, src->snap_f + t->frame_first, t->n * sizeof *d->f);
		d->n = d->cap = t->n;
	}
	return STRAND_OK;
}

uint32_t strand_callstack_depth(const struct strand_callstack *cs, uint32_t tid)
{
	for (uint32_t i = 0; cs && i < cs->nth; i++)
		if (cs->th[i].tid == tid)
			return cs->th[i].n;
	return 0;
}

static uint64_t read_ptr(struct strand_replay *r, uint64_t addr, unsigned psz, bool *ok)
{
	uint8_t b[8] = { 0 };
	*ok = strand_replay_read(r, addr, b, psz, NULL) == psz;
	uint64_t v = 0;
	for (unsigned i = 0; i < psz; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

/* Compare the frame-pointer chain of the running thread with the shadow
 * frames s->frames[1..]: the chain may skip frames (functions without a
 * frame pointer), but each return address it holds must be one of the
 * shadow return addresses, in the same order. */
static void compare_frame_chain(struct strand_callstack *cs, struct strand_stack *s,
				const struct strand_cpu *cpu)
{
	uint64_t bp = cpu->gpr[STRAND_REG_RBP];
	uint32_t next = 1; /* next shadow frame the chain may match */
	bool ok;
	for (int depth = 0; depth < 64 && bp && next < s->nframes; depth++) {
		if (bp < cpu->gpr[STRAND_REG_RSP] || bp % cs->psz)
			break; /* not a frame of this stack (code without frame pointers) */
		uint64_t ret = read_ptr(cs->r, bp + cs->psz, cs->psz, &ok);
		if (!ok)
			break;
		uint32_t k = next;
		while (k < s->nframes && s->frames[k].pc != ret)
			k++;
		if (k == s->nframes) {
			char sym[128];
			strand_replay_symbolize(cs->r, ret, sym, sizeof sym);
			if (!strncmp(sym, "0x", 2))
				break; /* not a return address into any module: rbp
					  holds data, not a frame pointer */
			s->fp_disagree_at = (int32_t)next;
			snprintf(s->fp_note, sizeof s->fp_note,
				 "frame pointer chain has return address 0x%" PRIx64
				 " (%s) at ebp=0x%" PRIx64 " that the shadow stack does not",
				 ret, sym, bp);
			return;
		}
		next = k + 1;
		uint64_t nbp = read_ptr(cs->r, bp, cs->psz, &ok);
		if (!ok || nbp <= bp)
			break;
		bp = nbp;
	}
}

strand_status strand_callstack_capture(struct strand_callstack *cs, uint32_t tid,
				       struct strand_stack **out, strand_error *err)
{
	struct cs_thread *t = thread_get(cs, tid, false);
	uint32_t n = t ? t->n : 0;
	struct strand_stack *s = calloc(1, sizeof *s);
	if (!s || !(s->frames = calloc(n + 1, sizeof *s->frames))) {
		free(s);
		return strand_error_set(err, STRAND_ERR_NOMEM, "callstack: out of memory");
	}
	s->tid = tid;
	s->position = strand_replay_position(cs->r);
	s->fp_disagree_at = -1;
	bool running = strand_replay_thread(cs->r) == tid;
	struct strand_cpu cpu;
	bool have_cpu = running && strand_replay_cpu(cs->r, &cpu, NULL) == STRAND_OK;
	/* frame 0: where the thread is */
	struct strand_frame *f0 = &s->frames[0];
	f0->pc = have_cpu ? cpu.rip : (n ? t->f[n - 1].func : 0);
	f0->func = n ? t->f[n - 1].func : 0;
	f0->call_pos = n ? t->f[n - 1].call_pos : 0;
	strand_replay_symbolize(cs->r, f0->pc, f0->symbol, sizeof f0->symbol);
	s->nframes = 1;
	for (uint32_t i = n; i-- > 0;) {
		struct strand_frame *f = &s->frames[s->nframes++];
		f->pc = t->f[i].ret_addr;
		f->func = i ? t->f[i - 1].func : 0;
		f->call_pos = i ? t->f[i - 1].call_pos : 0;
		strand_replay_symbolize(cs->r, f->pc, f->symbol, sizeof f->symbol);
	}
	if (have_cpu)
		compare_frame_chain(cs, s, &cpu);
	*out = s;
	return STRAND_OK;
}

strand_status strand_callstack_at(const char *trace, uint64_t pos, uint32_t tid,
				  struct strand_stack **out, strand_error *err)
{
	struct strand_replay *r = NULL;
	struct strand_callstack *cs = NULL;
	strand_status st = strand_replay_open(trace, NULL, &r, err);
	if (st < 0)
		goto out;
	st = strand_callstack_new(r, &cs, err);
	if (st < 0)
		goto out;
	st = strand_replay_seek(r, pos, err);
	if (st < 0) {
		strand_error_wrap(err, st, "callstack: replay to position=%" PRIu64, pos);
		goto out;
	}
	st = strand_callstack_capture(cs, tid ? tid : strand_replay_thread(r), out, err);
out:
	strand_callstack_free(cs);
	strand_replay_close(r);
	return st;
}

/* ------------------------------------------------------------- plugin */

struct depth_sample {
	uint64_t pos;
	uint32_t depth;
};

/* Memory bound of the timeline: a thread keeps its first TL_RAW depth
 * changes exactly; past that they are folded into TL_BUCKETS buckets over
 * the trace's positions, each holding its deepest sample.  So a thread
 * costs at most TL_RAW + TL_BUCKETS samples whatever the trace's length. */
#define TL_RAW 4096u
#define TL_BUCKETS 1024u

struct tl_thread {
	uint32_t tid;
	uint32_t last_depth;
	struct depth_sample *s;  /* owned: raw samples, or TL_BUCKETS buckets */
	size_t n, cap;
	bool folded;             /* s[] holds buckets (depth UINT32_MAX = empty) */
};

struct callstack_plugin {
	struct strand_analysis *a;
	struct strand_callstack *cs; /* borrowed: the run's shared one */
	uint64_t at;                 /* UINT64_MAX: none */
	bool timeline;
	struct tl_thread *tl;        /* owned */
	uint32_t ntl, captl;
	uint32_t max_depth;
	uint64_t bucket_width;       /* positions per bucket, >= 1 */
};

static struct tl_thread *tl_get(struct callstack_plugin *p, uint32_t tid)
{
	for (uint32_t i = 0; i < p->ntl; i++)
		if (p->tl[i].tid == tid)
			return &p->tl[i];
	if (p->ntl == p->captl) {
		uint32_t cap = p->captl ? p->captl * 2 : 8;
		struct tl_thread *n = realloc(p->tl, cap * sizeof *n);
		if (!n)
			return NULL;
		p->tl = n;
		p->captl = cap;
	}
	struct tl_thread *t = &p->tl[p->ntl++];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	t->last_depth = UINT32_MAX;
	return t;
}

static void bucket_put(struct callstack_plugin *p, struct tl_thread *t, uint64_t pos, uint32_t d)
{
	uint64_t b = pos / p->bucket_width;
	if (b >= TL_BUCKETS)
		b = TL_BUCKETS - 1;
	struct depth_sample *x = &t->s[b];
	if (x->depth == UINT32_MAX || d > x->depth)
		*x = (struct depth_sample){ pos, d };
}

/* Raw samples into buckets (the thread reached TL_RAW changes). */
static bool tl_fold(struct callstack_plugin *p, struct tl_thread *t)
{
	struct depth_sample *b = malloc(TL_BUCKETS * sizeof *b);
	if (!b)
		return false;
	for (uint32_t i = 0; i < TL_BUCKETS; i++)
		b[i] = (struct depth_sample){ 0, UINT32_MAX };
	struct depth_sample *raw = t->s;
	size_t n = t->n;
	t->s = b;
	t->n = t->cap = TL_BUCKETS;
	t->folded = true;
	for (size_t i = 0; i < n; i++)
		bucket_put(p, t, raw[i].pos, raw[i].depth);
	free(raw);
	return true;
}

static void tl_sample(struct callstack_plugin *p, uint32_t tid, uint64_t pos)
{
	uint32_t d = strand_callstack_depth(p->cs, tid);
	struct tl_thread *t = tl_get(p, tid);
	if (!t || d == t->last_depth)
		return;
	if (d > p->max_depth)
		p->max_depth = d;
	t->last_depth = d;
	if (!t->folded && t->n >= TL_RAW && !tl_fold(p, t))
		return;
	if (t->folded) {
		bucket_put(p, t, pos, d);
		return;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct depth_sample *n = realloc(t->s, cap * sizeof *n);
		if (!n)
			return;
		t->s = n;
		t->cap = cap;
	}
	t->s[t->n++] = (struct depth_sample){ pos, d };
}

static void tl_call(struct strand_replay *r, void *ud, const struct strand_call_info *c)
{
	tl_sample(ud, c->tid, c->position);
}

static const struct strand_plugin_option callstack_options[] = {
	{ "at", "also capture every thread's stack at this position", NULL },
	{ "timeline", "record call depth per thread over time (1/0)", "0" },
	{ NULL, NULL, NULL },
};

static strand_status callstack_init(struct strand_analysis *a,
				    const struct strand_plugin_args *args, void **state,
				    strand_error *err)
{
	struct callstack_plugin *p = calloc(1, sizeof *p);
	if (!p)
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	*state = p;
	p->a = a;
	strand_status st = strand_plugin_opt_u64(args, "at", UINT64_MAX, &p->at, err);
	if (st < 0)
		return st;
	p->timeline = strand_plugin_opt_bool(args, "timeline");
	p->bucket_width = strand_replay_end(strand_analysis_replay(a)) / TL_BUCKETS + 1;
	p->cs = strand_analysis_callstack(a, err);
	if (!p->cs)
		return STRAND_ERR_NOMEM;
	if (p->timeline) {
		/* registered after the shared tracker: sees the updated depth */
		strand_replay_on_call(strand_analysis_replay(a), tl_call, p);
		strand_replay_on_ret(strand_analysis_replay(a), tl_call, p);
	}
	return STRAND_OK;
}

/* Thin a thread's samples to at most `max` (keeping each bucket's deepest
 * sample, so spikes stay visible). */
static void emit_samples(struct strand_rnode *list, const struct tl_thread *t, size_t max)
{
	if (t->folded) {
		/* buckets: the non-empty ones, grouped to at most max */
		size_t groups = max < TL_BUCKETS ? max : TL_BUCKETS;
		for (size_t g = 0; g < groups; g++) {
			size_t lo = TL_BUCKETS * g / groups, hi = TL_BUCKETS * (g + 1) / groups;
			const struct depth_sample *best = NULL;
			for (size_t i = lo; i < hi; i++)
				if (t->s[i].depth != UINT32_MAX && (!best || t->s[i].depth > best->depth))
					best = &t->s[i];
			if (!best)
				continue;
			struct strand_rnode *o = strand_r_object(list, NULL);
			strand_r_position(o, "position", best->pos);
			strand_r_uint(o, "depth", best->depth);
		}
		return;
	}
	if (t->n <= max) {
		for (size_t i = 0; i < t->n; i++) {
			struct strand_rnode *o = strand_r_object(list, NULL);
			strand_r_position(o, "position", t->s[i].pos);
			strand_r_uint(o, "depth", t->s[i].depth);
		}
		return;
	}
	for (size_t b = 0; b < max; b++) {
		size_t lo = t->n * b / max, hi = t->n * (b + 1) / max;
		size_t best = lo;
		for (size_t i = lo; i < hi; i++)
			if (t->s[i].depth > t->s[best].depth)
				best = i;
		struct strand_rnode *o = strand_r_object(list, NULL);
		strand_r_position(o, "position", t->s[best].pos);
		strand_r_uint(o, "depth", t->s[best].depth);
	}
}

static strand_status callstack_finish(struct strand_analysis *a, void *state,
				      struct strand_rnode *out, strand_error *err)
{
	struct callstack_plugin *p = state;
	struct strand_callstack *cs = p->cs;
	strand_r_uint(out, "calls", cs->calls);
	strand_r_uint(out, "returns", cs->rets);
	strand_r_uint(out, "unmatched_returns", cs->unmatched);
	if (p->timeline) {
		struct strand_rnode *t = strand_r_object(out, "timeline");
		if (t)
			t->flags |= STRAND_RF_TIMELINE | STRAND_RF_NOTEXT;
		strand_r_position(t, "start", 0);
		strand_r_position(t, "end", strand_replay_end(strand_analysis_replay(a)));
		strand_r_uint(t, "max_depth", p->max_depth);
		struct strand_rnode *threads = strand_r_list(t, "threads");
		for (uint32_t i = 0; i < p->ntl; i++) {
			struct strand_rnode *o = strand_r_object(threads, NULL);
			strand_r_uint(o, "tid", p->tl[i].tid);
			emit_samples(strand_r_list(o, "samples"), &p->tl[i], 400);
		}
		strand_r_list(t, "marks");
	}
	if (p->at != UINT64_MAX) {
		struct strand_replay *r = NULL;
		struct strand_callstack *xcs = NULL;
		strand_status st = strand_analysis_open_pass(a, "callstack", &r, err);
		if (st >= 0)
			st = strand_callstack_new(r, &xcs, err);
		if (st >= 0) {
			st = strand_analysis_drive(a, r, "callstack at", p->at, err);
		}
		struct strand_rnode *at = strand_r_object(out, "at");
		strand_r_position(at, "position", strand_replay_position(r));
		struct strand_rnode *stacks = strand_r_list(at, "threads");
		uint32_t alive[256], nalive = 0;
		if (st >= 0 && strand_replay_threads(r, alive, 256, &nalive) != STRAND_OK)
			nalive = 0;
		for (uint32_t i = 0; st >= 0 && i < xcs->nth; i++) {
			bool is_alive = false;
			for (uint32_t k = 0; k < nalive && k < 256; k++)
				is_alive = is_alive || alive[k] == xcs->th[i].tid;
			if (!is_alive)
				continue; /* exited before this position */
			struct strand_stack *s = NULL;
			st = strand_callstack_capture(xcs, xcs->th[i].tid, &s, err);
			if (st < 0)
				break;
			struct strand_rnode *o = strand_r_object(stacks, NULL);
			strand_r_uint(o, "tid", s->tid);
			strand_r_bool(o, "running", s->tid == strand_replay_thread(r));
			strand_r_stack(o, "stack", s);
			if (s->fp_disagree_at >= 0)
				strand_r_string(o, "frame_chain_disagrees", s->fp_note);
			strand_stack_free(s);
		}
		strand_callstack_free(xcs);
		strand_replay_close(r);
		if (st < 0)
			return st;
	}
	return STRAND_OK;
}

static void callstack_destroy(void *state)
{
	struct callstack_plugin *p = state;
	if (!p)
		return;
	for (uint32_t i = 0; i < p->ntl; i++)
		free(p->tl[i].s);
	free(p->tl);
	free(p);
}

const struct strand_plugin strand_plugin_callstack = {
	.abi_version = STRAND_PLUGIN_ABI_VERSION,
	.name = "callstack",
	.description = "shadow call stack per thread; stacks at a position; call-depth timeline",
	.options = callstack_options,
	.init = callstack_init,
	.finish = callstack_finish,
	.destroy = callstack_destroy,
};
