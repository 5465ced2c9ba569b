/*
 * The index: built by one replay pass (observers for calls and returns,
 * the checkpoint of every segment boundary exported from the replay
 * core, the trace's events read with a reader), written as the sidecar
 * (index_format.c), then used for whole-trace queries, to give replay
 * handles their checkpoints (strand_index_attach) and to verify a trace
 * segment by segment on several cores (strand_index_verify).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/grow.h"
#include "index/index_int.h"
#include "strand/knowledge.h"

#define AUTO_SEGMENT 1000000ull
#define MAX_SEGMENTS 4096ull

/* ===================================================================== */
/* Paths                                                                  */
/* ===================================================================== */

strand_status strand_index_path(const char *trace, char *buf, size_t len, strand_error *err)
{
	int n = snprintf(buf, len, "%s.sidx", trace);
	if (n < 0 || (size_t)n >= len)
		return strand_error_set(err, STRAND_ERR_INVALID, "index path of %s is too long", trace);
	return STRAND_OK;
}

/* ===================================================================== */
/* Building                                                               */
/* ===================================================================== */

struct callent {
	uint64_t target;   /* 0 = empty slot (0 is never a call target we keep) */
	uint64_t count;
	uint64_t first;
};

struct build {
	struct strand_index *ix;
	size_t cap_segs, cap_ckpts;   /* allocated entries of ix->segs, ix->ckpts */
	size_t cap_calls;
	size_t cap_pages;
	/* calls of the segment being replayed: open addressing by target */
	struct callent *cmap;
	uint32_t cmap_cap, cmap_n;
	uint64_t seg_calls, seg_rets;
	/* pages the segment being replayed accessed: open addressing by
	 * page number + 1 (0 = empty), with their IX_ACCESS_* flags */
	uint64_t *amap;
	uint8_t *aflags;
	uint32_t amap_cap, amap_n;
	uint64_t last_page;       /* page number + 1 of the last access: most
				     accesses hit the page of the one before */
	uint8_t last_flags;
	size_t cap_access;
	bool nomem;
};

static bool cmap_grow(struct build *b)
{
	if (b->cmap_cap && (b->cmap_n + 1) * 2 < b->cmap_cap)
		return true;
	uint32_t ncap = b->cmap_cap ? b->cmap_cap * 2 : 1024;
	struct callent *n = calloc(ncap, sizeof *n);
	if (!n)
		return false;
	for (uint32_t i = 0; i < b->cmap_cap; i++) {
		if (!b->cmap[i].target)
			continue;
		uint32_t j = (uint32_t)((b->cmap[i].target * 0x9E3779B97F4A7C15ull) >> 40) & (ncap - 1);
		while (n[j].target)
			j = (j + 1) & (ncap - 1);
		n[j] = b->cmap[i];
	}
	free(b->cmap);
	b->cmap = n;
	b->cmap_cap = ncap;
	return true;
}

static void on_call(struct strand_replay *r, void *ud, const struct strand_call_info *c)
{
	struct build *b = ud;
	b->seg_calls++;
	if (!c->to || !cmap_grow(b)) {
		if (c->to)
			b->nomem = true;
		return;
	}
	uint32_t j = (uint32_t)((c->to * 0x9E3779B97F4A7C15ull) >> 40) & (b->cmap_cap - 1);
	while (b->cmap[j].target && b->cmap[j].target != c->to)
		j = (j + 1) & (b->cmap_cap - 1);
	if (!b->cmap[j].target) {
		b->cmap[j].target = c->to;
		b->cmap[j].first = c->position;
		b->cmap_n++;
	}
	b->cmap[j].count++;
}

static void on_ret(struct strand_replay *r, void *ud, const struct strand_call_info *c)
{
	((struct build *)ud)->seg_rets++;
}

static uint32_t amap_slot(const uint64_t *map, uint32_t cap, uint64_t key)
{
	uint32_t j = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 40) & (cap - 1);
	while (map[j] && map[j] != key)
		j = (j + 1) & (cap - 1);
	return j;
}

static bool amap_grow(struct build *b)
{
	if (b->amap_cap && (b->amap_n + 1) * 2 < b->amap_cap)
		return true;
	uint32_t ncap = b->amap_cap ? b->amap_cap * 2 : 1024;
	uint64_t *n = calloc(ncap, sizeof *n);
	uint8_t *f = calloc(ncap, 1);
	if (!n || !f) {
		free(n);
		free(f);
		return false;
	}
	for (uint32_t i = 0; i < b->amap_cap; i++) {
		if (!b->amap[i])
			continue;
		uint32_t j = amap_slot(n, ncap, b->amap[i]);
		n[j] = b->amap[i];
		f[j] = b->aflags[i];
	}
	free(b->amap);
	free(b->aflags);
	b->amap = n;
	b->aflags = f;
	b->amap_cap = ncap;
	return true;
}

/* Page `key` (page number + 1) accessed with `flag` in this segment. */
static void access_page(struct build *b, uint64_t key, uint8_t flag)
{
	if (key == b->last_page && (b->last_flags & flag))
		return;
	if (!amap_grow(b)) {
		b->nomem = true;
		return;
	}
	uint32_t j = amap_slot(b->amap, b->amap_cap, key);
	if (!b->amap[j]) {
		b->amap[j] = key;
		b->amap_n++;
	}
	b->aflags[j] |= flag;
	b->last_page = key;
	b->last_flags = b->aflags[j];
}

static void on_mem(struct strand_replay *r, void *ud, uint64_t position, uint64_t pc,
		   uint64_t addr, uint32_t size, bool is_write, uint64_t value)
{
	struct build *b = ud;
	uint8_t flag = is_write ? IX_ACCESS_WRITE : IX_ACCESS_READ;
	uint64_t first = addr >> 12;
	uint64_t last = size && addr + size - 1 >= addr ? (addr + size - 1) >> 12 : first;
	for (uint64_t p = first; p <= last && p - first < (1u << 20); p++)
		access_page(b, p + 1, flag);
}

/* Bytes a recorded event wrote: their pages, as IX_ACCESS_KERNEL. */
static void kernel_writes(struct build *b, const struct strand_effects *fx)
{
	for (uint32_t i = 0; i < fx->nwrites; i++) {
		const struct strand_memwrite *w = &fx->writes[i];
		if (!w->len)
			continue;
		uint64_t first = w->addr >> 12;
		uint64_t last = w->addr + w->len - 1 >= w->addr ? (w->addr + w->len - 1) >> 12
								 : UINT64_MAX >> 12;
		for (uint64_t p = first; p <= last; p++) {
			access_page(b, p + 1, IX_ACCESS_KERNEL);
			if (p == UINT64_MAX >> 12)
				break;
		}
	}
}

/* The events whose memory effects the data-flow engine follows
 * (analyses/dataflow.c, log_effects): the same four kinds. */
static void on_event(struct strand_replay *r, void *ud, const struct strand_record *rec,
		     bool after)
{
	struct build *b = ud;
	if (!after)
		return;
	switch (rec->type) {
	case STRAND_REC_SYSCALL: kernel_writes(b, &rec->u.syscall.fx); break;
	case STRAND_REC_NONDET: kernel_writes(b, &rec->u.nondet.fx); break;
	case STRAND_REC_MEMORY: kernel_writes(b, &rec->u.memory); break;
	case STRAND_REC_EXCEPTION: kernel_writes(b, &rec->u.exception.fx); break;
	default: break;
	}
}

/* Room for `need` elements in all in *p (strand_grow: doubling, overflow
 * checked); every allocated element is kept. */
static bool grow(void **p, size_t *cap, uint64_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	if (need > SIZE_MAX)
		return false;
	return strand_grow(p, cap, *cap, (size_t)need - *cap, elem, 256);
}

/* Close segment `s` [start, end): its counters and call rows. */
static bool seg_close(struct build *b, uint64_t start, uint64_t end)
{
	struct strand_index *ix = b->ix;
	size_t had = b->cap_ckpts;
	if (!grow((void **)&ix->segs, &b->cap_segs, ix->nsegs + 1, sizeof *ix->segs) ||
	    !grow((void **)&ix->ckpts, &b->cap_ckpts, ix->nsegs + 2, sizeof *ix->ckpts))
		return false;
	if (b->cap_ckpts > had)
		memset(ix->ckpts + had, 0, (b->cap_ckpts - had) * sizeof *ix->ckpts);
	struct strand_index_segment *s = &ix->segs[ix->nsegs];
	memset(s, 0, sizeof *s);
	s->start = start;
	s->end = end;
	s->ncalls = b->seg_calls;
	s->nrets = b->seg_rets;
	s->ncall_targets = b->cmap_n;
	if ((uint64_t)ix->ncalls + b->cmap_n > UINT32_MAX ||
	    !grow((void **)&ix->calls, &b->cap_calls, (uint64_t)ix->ncalls + b->cmap_n,
		  sizeof *ix->calls))
		return false;
	for (uint32_t i = 0; i < b->cmap_cap; i++) {
		if (!b->cmap[i].target)
			continue;
		struct strand_index_calls *c = &ix->calls[ix->ncalls++];
		c->segment = ix->nsegs;
		c->target = b->cmap[i].target;
		c->count = b->cmap[i].count;
		c->first = b->cmap[i].first;
	}
	if (b->cmap)
		memset(b->cmap, 0, b->cmap_cap * sizeof *b->cmap);
	b->cmap_n = 0;
	if (!grow((void **)&ix->access, &b->cap_access, ix->naccess + b->amap_n,
		  sizeof *ix->access))
		return false;
	for (uint32_t i = 0; i < b->amap_cap; i++) {
		if (!b->amap[i])
			continue;
		struct ix_access *a = &ix->access[ix->naccess++];
		a->addr = (b->amap[i] - 1) << 12;
		a->segment = ix->nsegs;
		a->flags = b->aflags[i];
	}
	if (b->amap) {
		memset(b->amap, 0, b->amap_cap * sizeof *b->amap);
		memset(b->aflags, 0, b->amap_cap);
	}
	b->amap_n = 0;
	b->last_page = 0;
	b->last_flags = 0;
	b->seg_calls = b->seg_rets = 0;
	ix->nsegs++;
	return true;
}

/* The page addresses of a checkpoint blob (replay/ckpt_io.c layout),
 * appended as page rows of segment `seg`; *n gets their count.  False if
 * the blob is not as expected or memory runs out. */
static bool blob_pages(struct build *b, const uint8_t *blob, size_t len, uint32_t seg,
		       uint32_t *n)
{
	uint32_t nthreads, nlayout, nmods, npages;
	uint64_t meta;
	if (len < 72)
		return false;
	memcpy(&nthreads, blob + 40, 4);
	memcpy(&nlayout, blob + 44, 4);
	memcpy(&nmods, blob + 48, 4);
	memcpy(&npages, blob + 52, 4);
	memcpy(&meta, blob + 64, 8);
	uint64_t at = 72 + (uint64_t)nthreads * (4 + 4 + 12 + 4 + 40 + 2 * 704);
	for (uint32_t i = 0; i < nlayout; i++) {
		uint32_t nl;
		if (at + 40 > meta)
			return false;
		memcpy(&nl, blob + at + 36, 4);
		at += 40 + (uint64_t)nl;
	}
	at += (uint64_t)nmods * 9;
	if (at + (uint64_t)npages * 24 > meta)
		return false;
	struct strand_index *ix = b->ix;
	if (!grow((void **)&ix->pages, &b->cap_pages, ix->npages + npages, sizeof *ix->pages))
		return false;
	for (uint32_t i = 0; i < npages; i++) {
		uint64_t a;
		memcpy(&a, blob + at + (uint64_t)i * 24, 8);
		ix->pages[ix->npages].addr = a;
		ix->pages[ix->npages].segment = seg;
		ix->npages++;
	}
	*n = npages;
	return true;
}

strand_status strand_index_read_events(const char *trace, struct strand_index_event **out,
				       uint64_t *nout, strand_error *err)
{
	struct strand_reader *rd = NULL;
	struct strand_index_event *ev = NULL;
	size_t n = 0, cap = 0;
	*out = NULL;
	*nout = 0;
	strand_status st = strand_reader_open(trace, &rd, err);
	if (st != STRAND_OK)
		goto out;
	strand_abi abi = strand_reader_info(rd)->abi;
	strand_arch arch = strand_reader_info(rd)->arch;
	bool in_snapshot = true;
	for (;;) {
		const struct strand_record *rec;
		st = strand_reader_next(rd, &rec, err);
		if (st == STRAND_END) {
			st = STRAND_OK;
			break;
		}
		if (st != STRAND_OK)
			goto out;
		if (in_snapshot) {
			if (rec->type == STRAND_REC_SNAPSHOT_END)
				in_snapshot = false;
			continue;
		}
		if (rec->type == STRAND_REC_KEYFRAME) /* verification data, not news */
			continue;
		if (!STRAND_GROW(ev, cap, n, 1)) {
			st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot list events: events=%zu",
					      n);
			goto out;
		}
		struct strand_index_event *e = &ev[n++];
		memset(e, 0, sizeof *e);
		e->position = rec->position;
		e->type = rec->type;
		e->tid = rec->tid;
		switch (rec->type) {
		case STRAND_REC_SYSCALL:
			e->pc = rec->u.syscall.pc;
			e->number = rec->u.syscall.number;
			e->result = rec->u.syscall.result;
			for (uint32_t k = 0; k < 4 && k < rec->u.syscall.nargs; k++)
				e->args[k] = rec->u.syscall.args[k];
			e->failed = strand_syscall_failed(abi, arch, e->result) &&
				    !(abi == STRAND_ABI_LINUX &&
				      strand_syscall_resumes_context(abi, strand_syscall_name(abi, arch, e->number)));
			break;
		case STRAND_REC_NONDET:
			e->pc = rec->u.nondet.pc;
			e->number = rec->u.nondet.kind;
			break;
		case STRAND_REC_EXCEPTION:
			e->pc = rec->u.exception.pc;
			e->number = rec->u.exception.code;
			e->failed = true;
			break;
		case STRAND_REC_THREAD_EXIT:
		case STRAND_REC_PROCESS_EXIT:
			e->number = rec->u.exit_code;
			break;
		case STRAND_REC_MODULE_UNLOAD:
			e->number = rec->u.module_id;
			break;
		default:
			break;
		}
	}
	*out = ev;
	*nout = n;
	ev = NULL;
out:
	free(ev);
	strand_reader_close(rd);
	if (st < 0)
		strand_error_wrap(err, st, "cannot list the events of %s", trace);
	return st;
}

static int call_cmp(const void *a, const void *b)
{
	const struct strand_index_calls *x = a, *y = b;
	if (x->target != y->target)
		return x->target < y->target ? -1 : 1;
	return x->segment < y->segment ? -1 : x->segment > y->segment;
}

static int access_cmp(const void *a, const void *b)
{
	const struct ix_access *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->segment < y->segment ? -1 : x->segment > y->segment;
}

static int page_cmp(const void *a, const void *b)
{
	const struct ix_page *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->segment < y->segment ? -1 : x->segment > y->segment;
}

/* The index is written into an unnamed file in OUT's directory
 * (O_TMPFILE), so an interrupted or killed build leaves nothing behind;
 * ix_tmp_publish gives it a name and renames it over OUT.  Where the file
 * system has no O_TMPFILE a named "OUT.tmp.XXXXXX" is used instead, and
 * *named is set.  TMP (N bytes) receives the temporary name for messages.
 * Returns the fd or -1 (errno). */
static int ix_tmp_open(const char *out, char *tmp, size_t n, int *named)
{
	char dir[4096];
	const char *slash = strrchr(out, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == out)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - out), out);
	snprintf(tmp, n, "%s.tmp.XXXXXX", out);
	*named = 0;
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	*named = 1;
	return mkostemp(tmp, O_CLOEXEC);
}

/* Name the unnamed file FD as TMP (a fresh name reserved with mkostemp,
 * then linked) and rename it over OUT.  Returns 0 or -1 (errno). */
static int ix_tmp_publish(int fd, int named, char *tmp, const char *out)
{
	if (!named) {
		int r = mkostemp(tmp, O_CLOEXEC);
		if (r < 0)
			return -1;
		close(r);
		unlink(tmp);
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) != 0 &&
		    linkat(fd, "", AT_FDCWD, tmp, AT_EMPTY_PATH) != 0)
			return -1;
	}
	if (rename(tmp, out) != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

static strand_status write_blob(int fd, const char *path, const uint8_t *p, size_t n,
				uint64_t off, strand_error *err)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return strand_error_set(err, STRAND_ERR_IO, "cannot write %s: %s", path,
						strerror(errno));
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return STRAND_OK;
}

strand_status strand_index_build(const char *trace, const char *out,
				 const struct strand_index_options *opt, strand_error *err)
{
	char side[4096], tmp[4200] = "";
	int named = 0;
	struct build b = { 0 };
	struct strand_replay *r = NULL;
	uint8_t *blob = NULL;
	int fd = -1;
	strand_status st;
	if (!out) {
		if ((st = strand_index_path(trace, side, sizeof side, err)) != STRAND_OK)
			return st;
		out = side;
	}
	struct ix_fingerprint fp;
	if ((st = ix_fingerprint(trace, &fp, err)) != STRAND_OK)
		return st;
	b.ix = calloc(1, sizeof *b.ix);
	if (!b.ix)
		return strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate index");
	/* the segment length: the replay's checkpoint interval */
	struct strand_reader *rd = NULL;
	if ((st = strand_reader_open(trace, &rd, err)) != STRAND_OK)
		goto out;
	uint64_t end = strand_reader_summary(rd)->last_position;
	strand_reader_close(rd);
	uint64_t L = opt && opt->segment_length ? opt->segment_length : AUTO_SEGMENT;
	if (!(opt && opt->segment_length) && end / L >= MAX_SEGMENTS)
		L = end / MAX_SEGMENTS + 1;
	b.ix->end = end;
	b.ix->seglen = L;
	struct strand_replay_options ro = { .checkpoint_interval = L };
	if (opt) {
		ro.progress = opt->progress;
		ro.progress_ud = opt->progress_ud;
	}
	if ((st = strand_replay_open(trace, &ro, &r, err)) != STRAND_OK)
		goto out;
	if (!strand_replay_on_call(r, on_call, &b) || !strand_replay_on_ret(r, on_ret, &b) ||
	    !strand_replay_on_mem(r, on_mem, STRAND_WATCH_READ | STRAND_WATCH_WRITE, &b) ||
	    !strand_replay_on_event(r, on_event, &b)) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot observe calls");
		goto out;
	}
	fd = ix_tmp_open(out, tmp, sizeof tmp, &named);
	if (fd < 0) {
		st = strand_error_set(err, STRAND_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	uint64_t off = IX_HEADER;
	for (uint64_t start = 0;; start += L) {
		uint64_t stop = end - start > L ? start + L : end;
		if ((st = strand_replay_seek(r, stop, err)) != STRAND_OK)
			goto out;
		if (b.nomem) {
			st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot count calls or pages");
			goto out;
		}
		uint32_t seg = b.ix->nsegs;
		if (!seg_close(&b, start, stop)) {
			st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot index segment %u", seg);
			goto out;
		}
		b.ix->ckpts[seg].position = start;
		if (stop == end)
			break;
		size_t len = 0;
		if ((st = strand_replay_checkpoint_export(r, &blob, &len, err)) != STRAND_OK)
			goto out;
		uint32_t np = 0;
		if (!blob_pages(&b, blob, len, seg, &np)) {
			st = strand_error_set(err, STRAND_ERR_INVALID,
					      "checkpoint at %" PRIu64 " is not as expected", stop);
			goto out;
		}
		b.ix->segs[seg].npages = np;
		uint64_t meta;
		memcpy(&meta, blob + 64, 8);
		if ((st = write_blob(fd, tmp, blob, len, off, err)) != STRAND_OK)
			goto out;
		/* the next segment starts from this checkpoint */
		b.ix->ckpts[seg + 1].position = stop;
		b.ix->ckpts[seg + 1].offset = off;
		b.ix->ckpts[seg + 1].size = len;
		b.ix->ckpts[seg + 1].meta_hash = XXH3_64bits(blob, meta);
		off += len;
		free(blob);
		blob = NULL;
	}
	if ((st = strand_index_read_events(trace, &b.ix->events, &b.ix->nevents, err)) != STRAND_OK)
		goto out;
	for (uint64_t i = 0; i < b.ix->nevents; i++) {
		const struct strand_index_event *e = &b.ix->events[i];
		uint64_t s = e->position / L;
		if (s >= b.ix->nsegs)
			s = b.ix->nsegs - 1;
		if (e->type == STRAND_REC_SYSCALL)
			b.ix->segs[s].nsyscalls++;
		else if (e->type == STRAND_REC_THREAD_SWITCH)
			b.ix->segs[s].nswitches++;
	}
	if (b.ix->ncalls)
		qsort(b.ix->calls, b.ix->ncalls, sizeof *b.ix->calls, call_cmp);
	if (b.ix->npages)
		qsort(b.ix->pages, b.ix->npages, sizeof *b.ix->pages, page_cmp);
	if (b.ix->naccess)
		qsort(b.ix->access, b.ix->naccess, sizeof *b.ix->access, access_cmp);
	if ((st = ix_write_tail(fd, tmp, off, b.ix, &fp, err)) != STRAND_OK)
		goto out;
	if (ix_tmp_publish(fd, named, tmp, out) != 0) {
		st = strand_error_set(err, STRAND_ERR_IO, "cannot write %s: %s", out, strerror(errno));
		goto out;
	}
	named = 0;
out:
	if (fd >= 0)
		close(fd);
	if (named)
		unlink(tmp);
	free(blob);
	free(b.cmap);
	free(b.amap);
	free(b.aflags);
	strand_replay_close(r);
	ix_free(b.ix);
	if (st != STRAND_OK)
		strand_error_wrap(err, st, "cannot index %s", trace);
	return st;
}

/* ===================================================================== */
/* Opening                                                                */
/* ===================================================================== */

strand_status strand_index_open(const char *trace, const char *path,
				struct strand_index **out, strand_error *err)
{
	char side[4096];
	*out = NULL;
	if (!path) {
		strand_status st = strand_index_path(trace, side, sizeof side, err);
		if (st != STRAND_OK)
			return st;
		path = side;
	}
	return ix_read(trace, path, out, err);
}

strand_status strand_index_ensure(const char *trace, const struct strand_index_options *opt,
				  struct strand_index **out, bool *built, strand_error *err)
{
	char side[4096];
	strand_error e2;
	if (built)
		*built = false;
	strand_status st = strand_index_path(trace, side, sizeof side, err);
	if (st != STRAND_OK)
		return st;
	st = ix_read(trace, side, out, &e2);
	if (st == STRAND_OK)
		return st;
	/* missing, stale or damaged: build it (beside the trace, else in a
	 * temporary file) */
	const char *where = side;
	char tmp[4096] = "";
	if (access(side, F_OK) != 0) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s", side);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		if (access(slash ? dir : ".", W_OK) != 0) {
			const char *td = getenv("TMPDIR");
			snprintf(tmp, sizeof tmp, "%s/strand-index-%d-%p.sidx", td && *td ? td : "/tmp",
				 (int)getpid(), (void *)out);
			where = tmp;
		}
	} else if (access(side, W_OK) != 0) {
		const char *td = getenv("TMPDIR");
		snprintf(tmp, sizeof tmp, "%s/strand-index-%d-%p.sidx", td && *td ? td : "/tmp",
			 (int)getpid(), (void *)out);
		where = tmp;
	}
	if ((st = strand_index_build(trace, where, opt, err)) != STRAND_OK)
		return st;
	if (built)
		*built = true;
	st = ix_read(trace, where, out, err);
	if (st == STRAND_NOT_FOUND)
		st = strand_error_set(err, STRAND_ERR_IO, "index %s vanished after building", where);
	if (tmp[0] && st == STRAND_OK)
		(*out)->unlink_on_close = true;
	return st;
}

void strand_index_close(struct strand_index *ix)
{
	if (ix && ix->unlink_on_close && ix->path)
		unlink(ix->path);
	ix_free(ix);
}

/* ===================================================================== */
/* Queries                                                                */
/* ===================================================================== */

const struct strand_index_segment *strand_index_segments(const struct strand_index *ix,
							 uint32_t *n)
{
	*n = ix->nsegs;
	return ix->segs;
}

uint32_t strand_index_segment_of(const struct strand_index *ix, uint64_t pos)
{
	uint64_t s = pos / ix->seglen;
	return s >= ix->nsegs ? ix->nsegs - 1 : (uint32_t)s;
}

uint64_t strand_index_end(const struct strand_index *ix)
{
	return ix->end;
}

const struct strand_index_event *strand_index_events(const struct strand_index *ix,
						     uint64_t *n)
{
	*n = ix->nevents;
	return ix->events;
}

const struct strand_index_calls *strand_index_calls_to(const struct strand_index *ix,
						       uint64_t target, uint32_t *n,
						       uint64_t *total)
{
	uint32_t lo = 0, hi = ix->ncalls;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ix->calls[mid].target < target)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint32_t i = lo;
	uint64_t t = 0;
	while (i < ix->ncalls && ix->calls[i].target == target)
		t += ix->calls[i++].count;
	*n = i - lo;
	if (total)
		*total = t;
	return *n ? &ix->calls[lo] : NULL;
}

uint32_t strand_index_pages_changed(const struct strand_index *ix, uint64_t addr,
				    uint64_t len, uint32_t *segs, uint32_t max)
{
	if (!len)
		return 0;
	uint64_t first = addr & ~(uint64_t)4095;
	uint64_t last = (addr + len - 1 < addr ? UINT64_MAX : addr + len - 1) & ~(uint64_t)4095;
	/* a bitmap of segments: the answer is in segment order */
	uint8_t *hit = calloc(ix->nsegs, 1);
	if (!hit)
		return 0;
	uint64_t lo = 0, hi = ix->npages;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (ix->pages[mid].addr < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint64_t i = lo; i < ix->npages && ix->pages[i].addr <= last; i++)
		hit[ix->pages[i].segment] = 1;
	/* the last segment ends without a checkpoint: its pages are not
	 * listed, so it may always have changed them */
	hit[ix->nsegs - 1] = 1;
	uint32_t n = 0;
	for (uint32_t s = 0; s < ix->nsegs; s++)
		if (hit[s]) {
			if (n < max)
				segs[n] = s;
			n++;
		}
	free(hit);
	return n;
}

uint32_t strand_index_pages_accessed(const struct strand_index *ix, uint64_t addr,
				     uint64_t len, uint32_t access, uint32_t *segs,
				     uint32_t max)
{
	access &= IX_ACCESS_READ | IX_ACCESS_WRITE;
	if (!len || !access)
		return 0;
	uint64_t first = addr & ~(uint64_t)4095;
	uint64_t last = (addr + len - 1 < addr ? UINT64_MAX : addr + len - 1) & ~(uint64_t)4095;
	uint8_t *hit = calloc(ix->nsegs, 1); /* the answer is in segment order */
	if (!hit)
		return UINT32_MAX;
	uint64_t lo = 0, hi = ix->naccess;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (ix->access[mid].addr < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint64_t i = lo; i < ix->naccess && ix->access[i].addr <= last; i++)
		if (ix->access[i].flags & access)
			hit[ix->access[i].segment] = 1;
	uint32_t n = 0;
	for (uint32_t s = 0; s < ix->nsegs; s++)
		if (hit[s]) {
			if (n < max)
				segs[n] = s;
			n++;
		}
	free(hit);
	return n;
}

bool strand_index_may_write(const struct strand_index *ix, uint64_t addr, uint64_t len,
			    uint64_t lo, uint64_t hi)
{
	if (!len || lo >= hi || !ix->nsegs)
		return false;
	/* the segments [lo, hi) overlaps, widened by one position each way:
	 * an event at a segment boundary may be counted on either side */
	uint32_t s_lo = strand_index_segment_of(ix, lo ? lo - 1 : 0);
	uint32_t s_hi = strand_index_segment_of(ix, hi);
	uint64_t first = addr & ~(uint64_t)4095;
	uint64_t last = (addr + len - 1 < addr ? UINT64_MAX : addr + len - 1) & ~(uint64_t)4095;
	uint64_t lo_i = 0, hi_i = ix->naccess;
	while (lo_i < hi_i) {
		uint64_t mid = lo_i + (hi_i - lo_i) / 2;
		if (ix->access[mid].addr < first)
			lo_i = mid + 1;
		else
			hi_i = mid;
	}
	for (uint64_t i = lo_i; i < ix->naccess && ix->access[i].addr <= last; i++) {
		const struct ix_access *a = &ix->access[i];
		if ((a->flags & (IX_ACCESS_WRITE | IX_ACCESS_KERNEL)) && a->segment >= s_lo &&
		    a->segment <= s_hi)
			return true;
	}
	return false;
}

bool strand_index_may_write_cb(void *ix, uint64_t addr, uint64_t len, uint64_t lo, uint64_t hi)
{
	return strand_index_may_write(ix, addr, len, lo, hi);
}

/* ===================================================================== */
/* Restoring                                                              */
/* ===================================================================== */

strand_status strand_index_attach(struct strand_index *ix, struct strand_replay *r,
				  strand_error *err)
{
	if (strand_replay_end(r) != ix->end)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"index %s is of a trace of %" PRIu64 " instructions, the replay has %" PRIu64,
					ix->path, ix->end, strand_replay_end(r));
	int fd = open(ix->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strand_error_set(err, STRAND_ERR_IO, "cannot open index %s: %s", ix->path,
					strerror(errno));
	strand_status st = STRAND_OK;
	uint8_t *meta = NULL;
	for (uint32_t s = 1; s < ix->nsegs && st == STRAND_OK; s++) {
		const struct ix_ckpt *c = &ix->ckpts[s];
		if (!c->size)
			continue;
		uint64_t msize = 0;
		if (c->size < 72 || pread(fd, &msize, 8, (off_t)(c->offset + 64)) != 8 ||
		    msize < 72 || msize > c->size) {
			st = strand_error_set(err, STRAND_ERR_CORRUPT,
					      "index %s at offset=%" PRIu64 ": checkpoint of segment %u is cut short",
					      ix->path, c->offset, s);
			break;
		}
		free(meta);
		meta = malloc(msize);
		if (!meta) {
			st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot read index checkpoint");
			break;
		}
		if (pread(fd, meta, msize, (off_t)c->offset) != (ssize_t)msize ||
		    XXH3_64bits(meta, msize) != c->meta_hash) {
			st = strand_error_set(err, STRAND_ERR_CORRUPT,
					      "index %s at offset=%" PRIu64 ": checkpoint of segment %u: checksum mismatch",
					      ix->path, c->offset, s);
			break;
		}
		st = strand_replay_checkpoint_import(r, ix->path, c->offset, c->size, err);
	}
	free(meta);
	close(fd);
	if (st != STRAND_OK)
		strand_error_wrap(err, st, "cannot attach index %s", ix->path);
	return st;
}

/* ===================================================================== */
/* Segment-parallel verification                                          */
/* ===================================================================== */

struct verify {
	struct strand_index *ix;
	pthread_mutex_t lock;
	uint32_t next;           /* next segment to hand out */
	strand_status *status;   /* per segment */
	strand_error *errs;      /* per segment */
	struct strand_replay_stats sum; /* over all segments */
	strand_status setup_st;
	strand_error setup_err;
};

static void *verify_worker(void *ud)
{
	struct verify *v = ud;
	struct strand_index *ix = v->ix;
	struct strand_replay *r = NULL;
	strand_error err;
	strand_status st = strand_replay_open(ix->trace, NULL, &r, &err);
	if (st == STRAND_OK)
		st = strand_index_attach(ix, r, &err);
	if (st != STRAND_OK) {
		pthread_mutex_lock(&v->lock);
		if (v->setup_st == STRAND_OK) {
			v->setup_st = st;
			v->setup_err = err;
		}
		v->next = ix->nsegs;
		pthread_mutex_unlock(&v->lock);
		strand_replay_close(r);
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&v->lock);
		uint32_t s = v->next < ix->nsegs ? v->next++ : UINT32_MAX;
		pthread_mutex_unlock(&v->lock);
		if (s == UINT32_MAX)
			break;
		const struct strand_index_segment *g = &ix->segs[s];
		struct strand_replay_stats a, b;
		strand_replay_get_stats(r, &a);
		/* to the segment's start (its checkpoint), then execute it: to
		 * end - 1 first, so the checkpoint at end is not restored
		 * instead of executed */
		st = strand_replay_seek(r, g->start, &err);
		if (st == STRAND_OK && g->end > g->start + 1)
			st = strand_replay_seek(r, g->end - 1, &err);
		if (st == STRAND_OK && g->end > g->start)
			st = strand_replay_seek(r, g->end, &err);
		if (st == STRAND_OK && s + 1 < ix->nsegs)
			st = strand_replay_checkpoint_check(r, &err);
		strand_replay_get_stats(r, &b);
		pthread_mutex_lock(&v->lock);
		v->status[s] = st;
		if (st != STRAND_OK)
			v->errs[s] = err;
		v->sum.instructions += b.instructions - a.instructions;
		v->sum.events_applied += b.events_applied - a.events_applied;
		v->sum.keyframes_checked += b.keyframes_checked - a.keyframes_checked;
		v->sum.digests_checked += b.digests_checked - a.digests_checked;
		v->sum.syscalls_applied += b.syscalls_applied - a.syscalls_applied;
		v->sum.syscalls_checked += b.syscalls_checked - a.syscalls_checked;
		v->sum.outputs_applied += b.outputs_applied - a.outputs_applied;
		v->sum.outputs_checked += b.outputs_checked - a.outputs_checked;
		v->sum.output_bytes_checked += b.output_bytes_checked - a.output_bytes_checked;
		v->sum.restores += b.restores - a.restores;
		pthread_mutex_unlock(&v->lock);
		if (st != STRAND_OK) {
			/* a diverged handle refuses further motion: a fresh one */
			strand_replay_close(r);
			r = NULL;
			if (strand_replay_open(ix->trace, NULL, &r, &err) != STRAND_OK ||
			    strand_index_attach(ix, r, &err) != STRAND_OK)
				break;
		}
	}
	strand_replay_close(r);
	return NULL;
}

strand_status strand_index_verify(struct strand_index *ix, unsigned jobs,
				  struct strand_replay_stats *stats, strand_error *err)
{
	if (jobs == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = n > 0 ? (unsigned)n : 1;
	}
	if (jobs > ix->nsegs)
		jobs = ix->nsegs;
	if (jobs > 256)
		jobs = 256;
	struct verify v = { .ix = ix };
	pthread_mutex_init(&v.lock, NULL);
	v.status = calloc(ix->nsegs, sizeof *v.status);
	v.errs = calloc(ix->nsegs, sizeof *v.errs);
	pthread_t *th = calloc(jobs, sizeof *th);
	strand_status st = STRAND_OK;
	if (!v.status || !v.errs || !th) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot verify: out of memory");
		goto out;
	}
	unsigned started = 0;
	for (unsigned i = 1; i < jobs; i++)
		if (pthread_create(&th[i], NULL, verify_worker, &v) == 0)
			started = i;
		else
			break;
	verify_worker(&v); /* this thread works too */
	for (unsigned i = 1; i <= started; i++)
		pthread_join(th[i], NULL);
	if (v.setup_st != STRAND_OK) {
		st = v.setup_st;
		if (err)
			*err = v.setup_err;
		goto out;
	}
	/* the merge: the first segment (in trace order) that failed */
	for (uint32_t s = 0; s < ix->nsegs; s++)
		if (v.status[s] != STRAND_OK) {
			st = v.status[s];
			if (err)
				*err = v.errs[s];
			break;
		}
	if (stats)
		*stats = v.sum;
out:
	free(th);
	free(v.status);
	free(v.errs);
	pthread_mutex_destroy(&v.lock);
	return st;
}
