/*
 * Checkpoints out of and into a replay handle, for the index sidecar
 * (index/): strand_replay_checkpoint_export() serialises the newest
 * chain checkpoint, strand_replay_checkpoint_import() appends one to
 * another handle on the same trace, its pages left in the file until a
 * restore reads them.
 *
 * Blob layout (all little-endian; docs/trace-format.md, "Checkpoint
 * blob", is the specification):
 *
 *   OFFSET SIZE DESCRIPTION
 *   0      4    magic "CKPT"
 *   4      4    version 1
 *   8      8    position
 *   16     8    reader cursor of the next record (u32 chunk, u32 record)
 *   24     8    cursor of the last applied event (u32 chunk, u32 record)
 *   32     4    flags: bit 0 a last event exists, bit 1 process exited
 *   36     4    running thread index
 *   40     4    nthreads
 *   44     4    nlayout
 *   48     4    nmods
 *   52     4    npages
 *   56     8    mapping generation counter at the checkpoint
 *   64     8    meta_size: bytes of everything before the page data
 *   72     ...  nthreads x thread, nlayout x mapping, nmods x u8 loaded,
 *               npages x page entry, then the page data (4096 bytes each,
 *               in page-entry order, data pages only)
 *
 *   module:  after the nmods loaded flags, nmods x (u32 chunk, u32 record):
 *            the cursor of each module's MODULE record
 *   thread:  u32 tid, u32 flags (bit 0 alive, bit 1 has run), u16 sel[6],
 *            u32 zero, u64 fs_base, gs_base, teb, stack_base,
 *            stack_limit, cpu at creation (704), cpu now (704)
 *   mapping: u64 addr, size, generation; u32 prot, kind, tracked;
 *            u32 name length + bytes
 *   page:    u64 addr, u32 kind (0 data, 1 zero), u32 zero, u64 XXH3-64
 *            of the 4096 bytes (0 for zero pages)
 *
 * A cpu is struct strand_cpu as in the trace's "cpu" encoding (704 bytes,
 * which is its in-memory layout on the little-endian hosts strand runs
 * on).  Pages are the ones that changed since the previous checkpoint of
 * the exporting handle: an importer must import every checkpoint of the
 * chain, in order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "replay/replay_int.h"

#define CK_MAGIC 0x54504b43u /* "CKPT" */
#define CK_VERSION 1u
#define CK_HEADER 72u
#define CK_THREAD (4 + 4 + 12 + 4 + 5 * 8 + 2 * (uint64_t)sizeof(struct strand_cpu))
#define CK_PAGE 24u

_Static_assert(sizeof(struct strand_cpu) == 704, "strand_cpu is the trace's cpu encoding");

struct wbuf {
	uint8_t *p;
	size_t n, cap;
	bool fail;
};

static void put(struct wbuf *w, const void *src, size_t len)
{
	if (w->fail)
		return;
	if (w->n + len > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		while (cap < w->n + len)
			cap *= 2;
		uint8_t *q = realloc(w->p, cap);
		if (!q) {
			w->fail = true;
			return;
		}
		w->p = q;
		w->cap = cap;
	}
	memcpy(w->p + w->n, src, len);
	w->n += len;
}

static void put32(struct wbuf *w, uint32_t v) { put(w, &v, 4); }
static void put64(struct wbuf *w, uint64_t v) { put(w, &v, 8); }

strand_status strand_replay_checkpoint_export(struct strand_replay *r, uint8_t **out,
					      size_t *len, strand_error *err)
{
	*out = NULL;
	*len = 0;
	if (r->nckpts < 2)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"checkpoint export: no checkpoint after the snapshot yet");
	const struct rp_ckpt *c = &r->ckpts[r->nckpts - 1];
	if (c->pos != r->pos || c->cursor.chunk != r->next_cursor.chunk ||
	    c->cursor.record != r->next_cursor.record || r->diverged)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"checkpoint export: the handle is not at its newest checkpoint "
					"(position=%" PRIu64 ", checkpoint at %" PRIu64 ")",
					r->pos, c->pos);
	struct wbuf w = { 0 };
	put32(&w, CK_MAGIC);
	put32(&w, CK_VERSION);
	put64(&w, c->pos);
	put32(&w, c->cursor.chunk);
	put32(&w, c->cursor.record);
	put32(&w, c->last_event.chunk);
	put32(&w, c->last_event.record);
	put32(&w, (c->have_last_event ? 1u : 0u) | (c->exited ? 2u : 0u));
	put32(&w, c->cur);
	put32(&w, c->nthreads);
	put32(&w, c->nlayout);
	put32(&w, c->nmods);
	put32(&w, c->npages);
	put64(&w, r->ckpt_gen);
	put64(&w, 0); /* meta_size, patched below */
	for (uint32_t i = 0; i < c->nthreads; i++) {
		const struct rp_thread *t = &c->threads[i];
		struct strand_cpu now;
		/* the handle stands at the checkpoint: live state is its state */
		if (t->has_ctx && i < r->nthreads)
			rp_thread_cpu(r, i, &now);
		else
			now = t->init;
		put32(&w, t->tid);
		put32(&w, (t->alive ? 1u : 0u) | (t->has_ctx ? 2u : 0u));
		put(&w, t->sel, sizeof t->sel);
		put32(&w, 0);
		put64(&w, t->fs_base);
		put64(&w, t->gs_base);
		put64(&w, t->teb);
		put64(&w, t->stack_base);
		put64(&w, t->stack_limit);
		put(&w, &t->init, sizeof t->init);
		put(&w, &now, sizeof now);
	}
	for (uint32_t i = 0; i < c->nlayout; i++) {
		const struct rp_layout_ent *l = &c->layout[i];
		put64(&w, l->addr);
		put64(&w, l->size);
		put64(&w, l->gen);
		put32(&w, l->prot);
		put32(&w, l->kind);
		put32(&w, l->tracked ? 1u : 0u);
		uint32_t nl = (uint32_t)strlen(l->name);
		put32(&w, nl);
		put(&w, l->name, nl);
	}
	for (uint32_t i = 0; i < c->nmods; i++) {
		uint8_t b = c->mod_loaded[i] ? 1 : 0;
		put(&w, &b, 1);
	}
	for (uint32_t i = 0; i < c->nmods; i++) {
		put32(&w, i < r->nmods ? r->mods[i].cursor.chunk : 0);
		put32(&w, i < r->nmods ? r->mods[i].cursor.record : 0);
	}
	for (uint32_t i = 0; i < c->npages; i++) {
		const struct rp_page *pg = &c->pages[i];
		bool data = pg->kind != RP_PG_ZERO;
		put64(&w, pg->addr);
		put32(&w, data ? 0u : 1u);
		put32(&w, 0);
		put64(&w, data ? (pg->kind == RP_PG_LAZY ? pg->hash : XXH3_64bits(pg->data, RP_PAGE)) : 0);
	}
	uint64_t meta = w.n;
	for (uint32_t i = 0; i < c->npages && !w.fail; i++) {
		struct rp_page *pg = &r->ckpts[r->nckpts - 1].pages[i];
		if (pg->kind == RP_PG_ZERO)
			continue;
		if (pg->kind == RP_PG_LAZY) {
			uint8_t buf[RP_PAGE];
			if (r->imp_fd < 0 || pread(r->imp_fd, buf, RP_PAGE, (off_t)pg->src) != RP_PAGE) {
				free(w.p);
				return strand_error_set(err, STRAND_ERR_IO,
							"checkpoint export: cannot read page 0x%" PRIx64, pg->addr);
			}
			put(&w, buf, RP_PAGE);
		} else {
			put(&w, pg->data, RP_PAGE);
		}
	}
	if (w.fail) {
		free(w.p);
		return strand_error_set(err, STRAND_ERR_NOMEM, "checkpoint export: out of memory");
	}
	memcpy(w.p + 64, &meta, 8);
	*out = w.p;
	*len = w.n;
	return STRAND_OK;
}

/* ===================================================================== */
/* Import                                                                 */
/* ===================================================================== */

struct rbuf {
	const uint8_t *p;
	uint64_t n, at;
	bool bad;
};

static const uint8_t *take(struct rbuf *b, uint64_t len)
{
	if (b->bad || len > b->n - b->at) {
		b->bad = true;
		return NULL;
	}
	const uint8_t *q = b->p + b->at;
	b->at += len;
	return q;
}

static uint32_t get32(struct rbuf *b)
{
	uint32_t v = 0;
	const uint8_t *q = take(b, 4);
	if (q)
		memcpy(&v, q, 4);
	return v;
}

static uint64_t get64(struct rbuf *b)
{
	uint64_t v = 0;
	const uint8_t *q = take(b, 8);
	if (q)
		memcpy(&v, q, 8);
	return v;
}

static strand_status imp_fd_for(struct strand_replay *r, const char *path, strand_error *err)
{
	if (r->imp_fd >= 0 && r->imp_path && strcmp(r->imp_path, path) == 0)
		return STRAND_OK;
	if (r->imp_fd >= 0)
		return strand_error_set(err, STRAND_ERR_INVALID,
					"checkpoint import: checkpoints already come from %s",
					r->imp_path);
	r->imp_path = strdup(path);
	if (!r->imp_path)
		return strand_error_set(err, STRAND_ERR_NOMEM, "checkpoint import: out of memory");
	r->imp_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->imp_fd < 0)
		return strand_error_set(err, STRAND_ERR_IO, "cannot open %s: %s", path,
					strerror(errno));
	return STRAND_OK;
}

/* Modules the checkpoint knows and the handle not yet (loaded by events
 * before the checkpoint): read from their records in the trace. */
static strand_status import_modules(struct strand_replay *r, struct rbuf *b, uint32_t nmods,
				    const char *path, uint64_t offset, strand_error *err)
{
	strand_status st = STRAND_OK;
	for (uint32_t i = 0; i < nmods && st == STRAND_OK; i++) {
		struct strand_cursor cur;
		cur.chunk = get32(b);
		cur.record = get32(b);
		if (b->bad)
			return strand_error_set(err, STRAND_ERR_CORRUPT,
						"%s at offset=%" PRIu64 ": checkpoint modules cut short",
						path, offset);
		if (i < r->nmods)
			continue;
		const struct strand_record *rec = NULL;
		if (!r->imp_rd && (st = strand_reader_open(r->rd_path, &r->imp_rd, err)) != STRAND_OK)
			break;
		if ((st = strand_reader_seek(r->imp_rd, &cur, err)) == STRAND_OK &&
		    (st = strand_reader_next(r->imp_rd, &rec, err)) == STRAND_OK) {
			if (rec->type != STRAND_REC_MODULE)
				st = strand_error_set(err, STRAND_ERR_CORRUPT,
						      "%s at offset=%" PRIu64 ": checkpoint module %u "
						      "names a %s record", path, offset, i,
						      strand_rec_type_str(rec->type));
			else if ((st = rp_module_add(r, &rec->u.module, &cur, err)) == STRAND_OK) {
				/* known from now on, loaded only from the checkpoint on */
				for (uint32_t k = 0; k < r->nmods; k++)
					if (r->mods[k].m.id == rec->u.module.id && k >= i)
						r->mods[k].loaded = false;
				r->modview_dirty = true;
			}
		} else if (st == STRAND_END) {
			st = strand_error_set(err, STRAND_ERR_CORRUPT,
					      "%s at offset=%" PRIu64 ": checkpoint module %u is past "
					      "the trace's end", path, offset, i);
		}
	}
	if (st == STRAND_OK && r->nmods < nmods)
		st = strand_error_set(err, STRAND_ERR_CORRUPT,
				      "%s at offset=%" PRIu64 ": checkpoint modules do not match the trace",
				      path, offset);
	return st;
}

#define BAD(...) do { st = strand_error_set(err, STRAND_ERR_CORRUPT, __VA_ARGS__); goto out; } while (0)

strand_status strand_replay_checkpoint_import(struct strand_replay *r, const char *path,
					      uint64_t offset, uint64_t len, strand_error *err)
{
	strand_status st = imp_fd_for(r, path, err);
	if (st != STRAND_OK)
		return st;
	struct rp_ckpt c;
	memset(&c, 0, sizeof c);
	uint8_t *meta = NULL;
	uint8_t hdr[CK_HEADER];
	if (len < CK_HEADER || pread(r->imp_fd, hdr, CK_HEADER, (off_t)offset) != CK_HEADER)
		return strand_error_set(err, STRAND_ERR_CORRUPT,
					"%s at offset=%" PRIu64 ": checkpoint header cannot be read",
					path, offset);
	struct rbuf h = { hdr, CK_HEADER, 0, false };
	if (get32(&h) != CK_MAGIC || get32(&h) != CK_VERSION)
		return strand_error_set(err, STRAND_ERR_CORRUPT,
					"%s at offset=%" PRIu64 ": not a version 1 checkpoint", path, offset);
	uint64_t meta_size;
	memcpy(&meta_size, hdr + 64, 8);
	if (meta_size < CK_HEADER || meta_size > len || meta_size > (256u << 20))
		return strand_error_set(err, STRAND_ERR_CORRUPT,
					"%s at offset=%" PRIu64 ": checkpoint meta_size=%" PRIu64
					" outside its %" PRIu64 " bytes", path, offset, meta_size, len);
	meta = malloc(meta_size);
	if (!meta)
		return strand_error_set(err, STRAND_ERR_NOMEM, "checkpoint import: out of memory");
	if (pread(r->imp_fd, meta, meta_size, (off_t)offset) != (ssize_t)meta_size)
		BAD("%s at offset=%" PRIu64 ": checkpoint cannot be read", path, offset);
	struct rbuf b = { meta, meta_size, 8, false };
	c.pos = get64(&b);
	c.cursor.chunk = get32(&b);
	c.cursor.record = get32(&b);
	c.last_event.chunk = get32(&b);
	c.last_event.record = get32(&b);
	uint32_t flags = get32(&b);
	c.have_last_event = flags & 1;
	c.exited = (flags & 2) != 0;
	c.cur = get32(&b);
	c.nthreads = get32(&b);
	c.nlayout = get32(&b);
	c.nmods = get32(&b);
	c.npages = get32(&b);
	uint64_t gen = get64(&b);
	(void)get64(&b);
	uint64_t newest = r->nckpts ? r->ckpts[r->nckpts - 1].pos : 0;
	if (r->nckpts && c.pos <= newest)
		BAD("%s at offset=%" PRIu64 ": checkpoint at position %" PRIu64
		    " does not follow the newest held (%" PRIu64 ")", path, offset, c.pos, newest);
	if (c.pos > r->end)
		BAD("%s at offset=%" PRIu64 ": checkpoint at position %" PRIu64
		    " beyond the trace's end %" PRIu64, path, offset, c.pos, r->end);
	/* counts against the bytes that must hold them */
	uint64_t left = meta_size - b.at;
	if (c.nthreads == 0 || c.cur >= c.nthreads || c.nthreads > left / CK_THREAD ||
	    c.nlayout > left / 40 || c.nmods > left || c.npages > left / CK_PAGE)
		BAD("%s at offset=%" PRIu64 ": checkpoint counts do not fit its %" PRIu64 " bytes",
		    path, offset, meta_size);
	c.threads = calloc(c.nthreads, sizeof *c.threads);
	c.cpus = calloc(c.nthreads, sizeof *c.cpus);
	c.layout = calloc(c.nlayout ? c.nlayout : 1, sizeof *c.layout);
	c.mod_loaded = calloc(c.nmods ? c.nmods : 1, sizeof *c.mod_loaded);
	c.pages = calloc(c.npages ? c.npages : 1, sizeof *c.pages);
	if (!c.threads || !c.cpus || !c.layout || !c.mod_loaded || !c.pages) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "checkpoint import: out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < c.nthreads; i++) {
		struct rp_thread *t = &c.threads[i];
		t->tid = get32(&b);
		uint32_t tf = get32(&b);
		t->alive = tf & 1;
		t->has_ctx = (tf & 2) != 0;
		const uint8_t *q = take(&b, sizeof t->sel);
		if (q)
			memcpy(t->sel, q, sizeof t->sel);
		(void)get32(&b);
		t->fs_base = get64(&b);
		t->gs_base = get64(&b);
		t->teb = get64(&b);
		t->stack_base = get64(&b);
		t->stack_limit = get64(&b);
		if ((q = take(&b, sizeof t->init)))
			memcpy(&t->init, q, sizeof t->init);
		if ((q = take(&b, sizeof c.cpus[i])))
			memcpy(&c.cpus[i], q, sizeof c.cpus[i]);
	}
	for (uint32_t i = 0; i < c.nlayout && !b.bad; i++) {
		struct rp_layout_ent *l = &c.layout[i];
		l->addr = get64(&b);
		l->size = get64(&b);
		l->gen = get64(&b);
		l->prot = get32(&b);
		l->kind = get32(&b);
		l->tracked = get32(&b) != 0;
		uint32_t nl = get32(&b);
		const uint8_t *q = take(&b, nl);
		if (!q)
			break;
		if (memchr(q, 0, nl) || (l->addr & ~RP_PAGE_MASK) || (l->size & ~RP_PAGE_MASK) ||
		    !l->size || l->addr + l->size < l->addr ||
		    (i && l->addr < c.layout[i - 1].addr + c.layout[i - 1].size))
			BAD("%s at offset=%" PRIu64 ": checkpoint mapping %u is malformed", path,
			    offset, i);
		l->name = strndup((const char *)q, nl);
		if (!l->name) {
			st = strand_error_set(err, STRAND_ERR_NOMEM, "checkpoint import: out of memory");
			goto out;
		}
		if (l->gen > gen)
			gen = l->gen;
	}
	const uint8_t *mods = take(&b, c.nmods);
	for (uint32_t i = 0; mods && i < c.nmods; i++)
		c.mod_loaded[i] = mods[i] != 0;
	if (c.nmods > left / 9)
		BAD("%s at offset=%" PRIu64 ": checkpoint module count %u does not fit", path, offset,
		    c.nmods);
	st = import_modules(r, &b, c.nmods, path, offset, err);
	if (st != STRAND_OK)
		goto out;
	uint64_t data_at = offset + meta_size, ndata = 0;
	for (uint32_t i = 0; i < c.npages && !b.bad; i++) {
		struct rp_page *pg = &c.pages[i];
		pg->addr = get64(&b);
		uint32_t kind = get32(&b);
		(void)get32(&b);
		pg->hash = get64(&b);
		if ((pg->addr & ~RP_PAGE_MASK) || kind > 1 ||
		    (i && pg->addr <= c.pages[i - 1].addr))
			BAD("%s at offset=%" PRIu64 ": checkpoint page %u is malformed", path, offset, i);
		if (kind == 1) {
			pg->kind = RP_PG_ZERO;
		} else {
			pg->kind = RP_PG_LAZY;
			pg->src = data_at + ndata * RP_PAGE;
			ndata++;
		}
	}
	if (b.bad)
		BAD("%s at offset=%" PRIu64 ": checkpoint ends inside its fields", path, offset);
	if (meta_size + ndata * RP_PAGE != len)
		BAD("%s at offset=%" PRIu64 ": checkpoint of %" PRIu64 " bytes holds %" PRIu64
		    " data pages after %" PRIu64 " bytes of fields", path, offset, len, ndata, meta_size);
	/* the page hashes describe the newest checkpoint from now on */
	for (uint32_t i = 0; i < c.npages; i++)
		if (!rp_ph_set(r, c.pages[i].addr,
			       c.pages[i].kind == RP_PG_ZERO ? r->zero_hash : c.pages[i].hash)) {
			st = strand_error_set(err, STRAND_ERR_NOMEM, "checkpoint import: out of memory");
			goto out;
		}
	if (gen > r->map_gen)
		r->map_gen = gen;
	r->ckpt_gen = r->map_gen;
	if (r->nckpts >= 1 && r->nckpts == 1 && c.pos > r->ckpts[0].pos) {
		/* the importer's interval is the exporter's (seek cost) */
		r->ckpt_interval = c.pos - r->ckpts[0].pos;
		r->fine_step = r->ckpt_interval / 16 > 4096 ? r->ckpt_interval / 16 : 4096;
	}
	st = rp_ckpt_push(r, &c, err);
out:
	free(meta);
	rp_ckpt_free(&c);
	return st;
}

/* ===================================================================== */
/* Checking the state against an imported checkpoint                      */
/* ===================================================================== */

strand_status strand_replay_checkpoint_check(struct strand_replay *r, strand_error *err)
{
	const struct rp_ckpt *c = NULL;
	for (uint32_t k = 0; k < r->nckpts; k++)
		if (r->ckpts[k].pos == r->pos && r->ckpts[k].cpus)
			c = &r->ckpts[k];
	if (!c)
		return STRAND_OK;
	if (c->nthreads != r->nthreads || c->cur != r->cur)
		return strand_error_set(err, STRAND_ERR_DIVERGENCE,
					"divergence at position %" PRIu64 ": %u threads (running index %u), "
					"the index's checkpoint has %u (running %u)", r->pos,
					r->nthreads, r->cur, c->nthreads, c->cur);
	bool is64 = r->mode == UC_MODE_64;
	uint64_t wmask = is64 ? UINT64_MAX : 0xffffffffu;
	for (uint32_t i = 0; i < c->nthreads; i++) {
		if (!c->threads[i].has_ctx)
			continue;
		struct strand_cpu now;
		rp_thread_cpu(r, i, &now);
		const struct strand_cpu *w = &c->cpus[i];
		int bad = -1;
		for (int g = 0; g < (is64 ? 16 : 8) && bad < 0; g++)
			if ((now.gpr[g] & wmask) != (w->gpr[g] & wmask))
				bad = g;
		if (bad >= 0 || (now.rip & wmask) != (w->rip & wmask) ||
		    (now.rflags & 0xcd5) != (w->rflags & 0xcd5))
			return strand_error_set(err, STRAND_ERR_DIVERGENCE,
						"divergence at position %" PRIu64 ": tid=%u: %s differs from the "
						"next segment's start (0x%" PRIx64 ", index has 0x%" PRIx64 ")",
						r->pos, c->threads[i].tid,
						bad >= 0 ? strand_reg_name((unsigned)bad) : "rip/rflags",
						bad >= 0 ? now.gpr[bad] : now.rip,
						bad >= 0 ? w->gpr[bad] : w->rip);
	}
	for (uint32_t i = 0; i < c->npages; i++) {
		const struct rp_page *pg = &c->pages[i];
		uint8_t live[RP_PAGE];
		uint8_t valid[RP_PAGE];
		strand_replay_read(r, pg->addr, live, RP_PAGE, valid);
		bool same;
		if (pg->kind == RP_PG_ZERO) {
			static const uint8_t zero[RP_PAGE];
			same = memcmp(live, zero, RP_PAGE) == 0;
		} else if (pg->kind == RP_PG_LAZY) {
			same = XXH3_64bits(live, RP_PAGE) == pg->hash;
		} else {
			same = memcmp(live, pg->data, RP_PAGE) == 0;
		}
		if (!same)
			return strand_error_set(err, STRAND_ERR_DIVERGENCE,
						"divergence at position %" PRIu64 ": page 0x%" PRIx64
						" differs from the next segment's start in the index", r->pos,
						pg->addr);
	}
	return STRAND_OK;
}
