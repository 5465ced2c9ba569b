/*
 * Tracee memory for the ptrace recorder: /proc/PID/maps, reads through
 * /proc/PID/mem (which, unlike process_vm_readv, also reads PROT_NONE
 * pages of a mapping), and the growable effects buffer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record/ptrace/ptrace_rec.h"

#define PAGE 4096u

strand_status strand_ptrace_maps(pid_t pid, struct strand_ptrace_map **out,
				 size_t *n, strand_error *err)
{
	char path[64], line[1024];
	struct strand_ptrace_map *v = NULL;
	size_t nv = 0, cap = 0;
	strand_status st = STRAND_OK;

	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return strand_error_set(err, STRAND_ERR_RECORD, "cannot open %s: %s",
					path, strerror(errno));
	while (fgets(line, sizeof line, f)) {
		struct strand_ptrace_map m;
		char perms[8] = "", dev[16];
		int off = 0;
		memset(&m, 0, sizeof m);
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %15s %" SCNu64 " %n",
			   &m.start, &m.end, perms, &m.offset, dev, &m.inode, &off) < 6) {
			st = strand_error_set(err, STRAND_ERR_RECORD,
					      "cannot parse %s line: %.80s", path, line);
			goto out;
		}
		char *p = line + off;
		p[strcspn(p, "\n")] = 0;
		snprintf(m.path, sizeof m.path, "%s", p);
		m.prot = (perms[0] == 'r' ? STRAND_PROT_READ : 0) |
			 (perms[1] == 'w' ? STRAND_PROT_WRITE : 0) |
			 (perms[2] == 'x' ? STRAND_PROT_EXEC : 0);
		m.shared = perms[3] == 's';
		if (nv == cap) {
			size_t nc = cap ? cap * 2 : 64;
			void *t = realloc(v, nc * sizeof *v);
			if (!t) {
				st = strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
				goto out;
			}
			v = t;
			cap = nc;
		}
		v[nv++] = m;
	}
out:
	fclose(f);
	if (st != STRAND_OK) {
		free(v);
		return st;
	}
	*out = v;
	*n = nv;
	return STRAND_OK;
}

size_t strand_ptrace_read(int memfd, uint64_t addr, void *buf, size_t len)
{
	uint8_t *b = buf;
	size_t done = 0, good = 0;
	while (done < len) {
		ssize_t r = pread(memfd, b + done, len - done, (off_t)(addr + done));
		if (r > 0) {
			done += (size_t)r;
			good += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		/* unreadable page: zero it and go on with the next page */
		uint64_t a = addr + done;
		size_t skip = PAGE - (size_t)(a & (PAGE - 1));
		if (skip > len - done)
			skip = len - done;
		memset(b + done, 0, skip);
		done += skip;
	}
	return good;
}

bool strand_ptrace_read_exact(int memfd, uint64_t addr, void *buf, size_t len)
{
	return strand_ptrace_read(memfd, addr, buf, len) == len;
}

/* ---- effects buffer ---------------------------------------------------- */

void strand_ptrace_fx_reset(struct strand_ptrace_fx *fx)
{
	fx->nbytes = 0;
	fx->nw = 0;
	fx->nm = 0;
}

void strand_ptrace_fx_free(struct strand_ptrace_fx *fx)
{
	if (!fx)
		return;
	free(fx->bytes);
	free(fx->w);
	free(fx->m);
	free(fx->wview);
	free(fx->mview);
	memset(fx, 0, sizeof *fx);
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t nc = *cap ? *cap : 16;
	while (nc < need)
		nc *= 2;
	void *t = realloc(*p, nc * elem);
	if (!t)
		return false;
	*p = t;
	*cap = nc;
	return true;
}

/* Reserve len payload bytes; returns their offset or SIZE_MAX. */
static size_t reserve(struct strand_ptrace_fx *fx, size_t len)
{
	if (!grow((void **)&fx->bytes, &fx->capbytes, fx->nbytes + len, 1))
		return SIZE_MAX;
	size_t off = fx->nbytes;
	fx->nbytes += len;
	return off;
}

bool strand_ptrace_fx_write(struct strand_ptrace_fx *fx, uint64_t addr,
			    const void *data, uint32_t len)
{
	if (len == 0)
		return true;
	size_t off = reserve(fx, len);
	if (off == SIZE_MAX || !grow((void **)&fx->w, &fx->capw, fx->nw + 1, sizeof *fx->w))
		return false;
	memcpy(fx->bytes + off, data, len);
	fx->w[fx->nw].addr = addr;
	fx->w[fx->nw].len = len;
	fx->w[fx->nw].off = off;
	fx->nw++;
	fx->total_write_bytes += len;
	return true;
}

bool strand_ptrace_fx_capture(struct strand_ptrace_fx *fx, int memfd,
			      uint64_t addr, uint64_t len)
{
	if (len == 0 || addr == 0)
		return true;
	if (len > (64u << 20)) /* a kernel write is never this large here */
		len = 64u << 20;
	/* Usually one read does it; if not, read page by page so an
	 * unreadable tail (EFAULT for the kernel too) is simply not
	 * recorded. */
	size_t off0 = reserve(fx, (size_t)len);
	if (off0 == SIZE_MAX)
		return false;
	if (pread(memfd, fx->bytes + off0, (size_t)len, (off_t)addr) == (ssize_t)len) {
		if (!grow((void **)&fx->w, &fx->capw, fx->nw + 1, sizeof *fx->w))
			return false;
		fx->w[fx->nw].addr = addr;
		fx->w[fx->nw].len = (uint32_t)len;
		fx->w[fx->nw].off = off0;
		fx->nw++;
		fx->total_write_bytes += len;
		return true;
	}
	fx->nbytes = off0;
	uint64_t a = addr, end = addr + len;
	while (a < end) {
		uint64_t run_end = a;
		size_t off = reserve(fx, (size_t)(end - a));
		if (off == SIZE_MAX)
			return false;
		uint8_t *dst = fx->bytes + off;
		while (run_end < end) {
			uint64_t pe = (run_end & ~(uint64_t)(PAGE - 1)) + PAGE;
			if (pe > end)
				pe = end;
			ssize_t r = pread(memfd, dst + (run_end - a), (size_t)(pe - run_end),
					  (off_t)run_end);
			if (r != (ssize_t)(pe - run_end))
				break;
			run_end = pe;
		}
		fx->nbytes = off + (size_t)(run_end - a);
		if (run_end > a) {
			if (!grow((void **)&fx->w, &fx->capw, fx->nw + 1, sizeof *fx->w))
				return false;
			fx->w[fx->nw].addr = a;
			fx->w[fx->nw].len = (uint32_t)(run_end - a);
			fx->w[fx->nw].off = off;
			fx->nw++;
			fx->total_write_bytes += run_end - a;
		}
		if (run_end >= end)
			break;
		/* skip the unreadable page */
		a = (run_end & ~(uint64_t)(PAGE - 1)) + PAGE;
	}
	return true;
}

bool strand_ptrace_fx_map(struct strand_ptrace_fx *fx, int memfd, uint32_t op,
			  uint64_t addr, uint64_t size, uint32_t prot,
			  uint32_t kind, const char *name, bool with_data)
{
	if (!grow((void **)&fx->m, &fx->capm, fx->nm + 1, sizeof *fx->m))
		return false;
	size_t off = 0;
	if (with_data) {
		off = reserve(fx, (size_t)size);
		if (off == SIZE_MAX)
			return false;
		strand_ptrace_read(memfd, addr, fx->bytes + off, (size_t)size);
	}
	memset(&fx->m[fx->nm], 0, sizeof fx->m[fx->nm]);
	struct strand_mapchange *mc = &fx->m[fx->nm].mc;
	mc->op = op;
	mc->prot = prot;
	mc->addr = addr;
	mc->size = size;
	mc->kind = kind;
	snprintf(fx->m[fx->nm].name, sizeof fx->m[fx->nm].name, "%s", name ? name : "");
	fx->m[fx->nm].off = off;
	fx->m[fx->nm].has_data = with_data;
	fx->nm++;
	return true;
}

bool strand_ptrace_fx_view(struct strand_ptrace_fx *fx, struct strand_effects *eff)
{
	if (!grow((void **)&fx->wview, &fx->capview_w, fx->nw ? fx->nw : 1, sizeof *fx->wview) ||
	    !grow((void **)&fx->mview, &fx->capview_m, fx->nm ? fx->nm : 1, sizeof *fx->mview))
		return false;
	for (size_t i = 0; i < fx->nw; i++) {
		fx->wview[i].addr = fx->w[i].addr;
		fx->wview[i].len = fx->w[i].len;
		fx->wview[i].data = fx->bytes + fx->w[i].off;
	}
	for (size_t i = 0; i < fx->nm; i++) {
		fx->mview[i] = fx->m[i].mc;
		fx->mview[i].name = fx->m[i].name;
		fx->mview[i].data = fx->m[i].has_data ? fx->bytes + fx->m[i].off : NULL;
	}
	eff->nwrites = (uint32_t)fx->nw;
	eff->writes = fx->nw ? fx->wview : NULL;
	eff->nmaps = (uint32_t)fx->nm;
	eff->maps = fx->nm ? fx->mview : NULL;
	return true;
}
