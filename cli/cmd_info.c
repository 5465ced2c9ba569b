/*
 * strand info [--json] TRACE: what a trace holds, from its header, index
 * and snapshot: format, architecture, ABI, recorder, modules, threads,
 * instruction count, events by kind, sizes and compression ratio.
 *
 * Modules and threads come from the snapshot; when the index counts more
 * MODULE/THREAD records than the snapshot holds (module loads, thread
 * creations), the whole trace is read to list them too.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/grow.h"
#include "cli/cli.h"
#include "strand/knowledge.h"
#include "strand/json.h"
#include "strand/trace.h"

struct info_module {
	uint32_t id, flags, nsyms;
	uint64_t base, size, position;
	char *name, *path;
};

struct info_thread {
	uint32_t tid;
	uint64_t position, rip;
	char *name;
};

/* What info gathers from the records (owned; info_free). */
struct info {
	struct info_module *mods;
	size_t nmods, cap_mods;
	struct info_thread *threads;
	size_t nthreads, cap_threads;
	struct strand_systable *systab; /* the trace's NOTE syscall-table, NULL if none */
};

static void print_tree(const char *path, bool json, struct strand_json *j);

static void info_free(struct info *in)
{
	for (size_t i = 0; i < in->nmods; i++) {
		free(in->mods[i].name);
		free(in->mods[i].path);
	}
	for (size_t i = 0; i < in->nthreads; i++)
		free(in->threads[i].name);
	free(in->mods);
	free(in->threads);
	strand_systable_free(in->systab);
}

static strand_status info_add(struct info *in, const struct strand_record *rec,
			      strand_error *err)
{
	if (rec->type == STRAND_REC_MODULE) {
		if (!STRAND_GROW(in->mods, in->cap_mods, in->nmods, 1))
			goto nomem;
		struct info_module *m = in->mods;
		const struct strand_module *s = &rec->u.module;
		m[in->nmods] = (struct info_module){ s->id, s->flags, s->nsyms, s->base, s->size,
						     rec->position, strdup(s->name),
						     strdup(s->path) };
		if (!m[in->nmods].name || !m[in->nmods].path) {
			free(m[in->nmods].name);
			free(m[in->nmods].path);
			goto nomem;
		}
		in->nmods++;
	} else if (rec->type == STRAND_REC_THREAD) {
		if (!STRAND_GROW(in->threads, in->cap_threads, in->nthreads, 1))
			goto nomem;
		struct info_thread *t = in->threads;
		t[in->nthreads] = (struct info_thread){ rec->tid, rec->position,
							rec->u.thread.cpu.rip,
							strdup(rec->u.thread.name) };
		if (!t[in->nthreads].name)
			goto nomem;
		in->nthreads++;
	} else if (rec->type == STRAND_REC_NOTE && strcmp(rec->u.note.key, "syscall-table") == 0 && !in->systab) {
		return strand_systable_parse(rec->u.note.data, rec->u.note.len, &in->systab, err);
	}
	return STRAND_OK;
nomem:
	return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
}

static strand_status info_gather(struct strand_reader *r, struct info *in, strand_error *err)
{
	const struct strand_trace_summary *sum = strand_reader_summary(r);
	const struct strand_record *rec;
	strand_status st;
	bool snapshot = true;
	while ((st = strand_reader_next(r, &rec, err)) == STRAND_OK) {
		if (rec->type == STRAND_REC_SNAPSHOT_END)
			snapshot = false;
		st = info_add(in, rec, err);
		if (st != STRAND_OK)
			return st;
		if (!snapshot && in->nmods >= sum->count_by_type[STRAND_REC_MODULE] &&
		    in->nthreads >= sum->count_by_type[STRAND_REC_THREAD])
			return STRAND_OK;
	}
	return st == STRAND_END ? STRAND_OK : st;
}

static void format_time(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000u);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%" PRIu64 " ns", ns);
}

static double ratio(const struct strand_trace_summary *s)
{
	return s->file_size ? (double)s->uncompressed_size / (double)s->file_size : 0.0;
}

static bool is_event_type(unsigned t)
{
	return t >= STRAND_REC_SYSCALL && t < STRAND_REC_TYPE_MAX;
}

/* Header flags as words: "none", "ordinal-positions", plus unknown bits. */
static void flags_str(uint32_t flags, char *buf, size_t len)
{
	uint32_t other = flags & ~(uint32_t)STRAND_TRACE_F_ORDINAL_POSITIONS;
	snprintf(buf, len, "%s", flags & STRAND_TRACE_F_ORDINAL_POSITIONS ? "ordinal-positions"
									 : other ? "" : "none");
	if (other) {
		size_t n = strlen(buf);
		snprintf(buf + n, len - n, "%s0x%" PRIx32, n ? " " : "", other);
	}
}

static void print_json(const char *path, struct strand_reader *r, const struct info *in,
		       const char *read_error)
{
	const struct strand_trace_info *ti = strand_reader_info(r);
	const struct strand_trace_summary *s = strand_reader_summary(r);
	char buf[128];
	struct strand_json *j = strand_json_new(stdout, true);
	if (!j)
		return;
	strand_json_start_object(j);
	strand_json_string_field(j, "trace", path);
	strand_json_name(j, "format");
	strand_json_stringf(j, "%u.%u", ti->format_major, ti->format_minor);
	strand_json_string_field(j, "arch", strand_arch_str(ti->arch));
	strand_json_string_field(j, "abi", strand_abi_str(ti->abi));
	strand_json_string_field(j, "recorder", ti->recorder);
	strand_json_string_field(j, "recorder_version", ti->recorder_version);
	if (ti->abi == STRAND_ABI_WINDOWS_NT) {
		strand_json_string_field(j, "personality", in->systab ? strand_systable_personality(in->systab) : "standin");
		strand_json_string_field(j, "syscall_table", in->systab ? strand_systable_source(in->systab)
									: "built in: Windows Server 2003 SP2 numbers");
	}
	format_time(ti->created_unix_ns, buf, sizeof buf);
	strand_json_string_field(j, "created", buf);
	strand_json_uint_field(j, "created_unix_ns", ti->created_unix_ns);
	strand_json_name(j, "flags");
	strand_json_start_array(j);
	if (ti->flags & STRAND_TRACE_F_ORDINAL_POSITIONS)
		strand_json_string(j, "ordinal-positions");
	strand_json_end_array(j);
	/* ordinal traces count kernel transitions, not instructions */
	strand_json_name(j, "instructions");
	if (ti->flags & STRAND_TRACE_F_ORDINAL_POSITIONS)
		strand_json_null(j);
	else
		strand_json_uint(j, s->last_position);
	strand_json_uint_field(j, "last_position", s->last_position);
	strand_json_uint_field(j, "records", s->nrecords);
	strand_json_uint_field(j, "chunks", s->nchunks);
	strand_json_uint_field(j, "file_size", s->file_size);
	strand_json_uint_field(j, "uncompressed_size", s->uncompressed_size);
	strand_json_double_field(j, "compression_ratio", ratio(s));
	strand_json_bool_field(j, "complete", s->complete);
	strand_json_bool_field(j, "truncated", s->truncated);
	if (s->truncated)
		strand_json_string_field(j, "warning", "trace is truncated (no valid footer): "
					 "read up to its last complete chunk");
	if (read_error)
		strand_json_string_field(j, "read_error", read_error);

	strand_json_name(j, "modules");
	strand_json_start_array(j);
	for (size_t i = 0; i < in->nmods; i++) {
		const struct info_module *m = &in->mods[i];
		strand_json_start_object(j);
		strand_json_uint_field(j, "id", m->id);
		strand_json_string_field(j, "name", m->name);
		strand_json_string_field(j, "path", m->path);
		strand_json_hex_field(j, "base", m->base);
		strand_json_hex_field(j, "size", m->size);
		strand_json_uint_field(j, "symbols", m->nsyms);
		strand_json_bool_field(j, "main", m->flags & STRAND_MODULE_F_MAIN);
		strand_json_uint_field(j, "position", m->position);
		strand_json_end_object(j);
	}
	strand_json_end_array(j);

	strand_json_name(j, "threads");
	strand_json_start_array(j);
	for (size_t i = 0; i < in->nthreads; i++) {
		const struct info_thread *t = &in->threads[i];
		strand_json_start_object(j);
		strand_json_uint_field(j, "tid", t->tid);
		strand_json_string_field(j, "name", t->name);
		strand_json_hex_field(j, "rip", t->rip);
		strand_json_uint_field(j, "position", t->position);
		strand_json_end_object(j);
	}
	strand_json_end_array(j);

	strand_json_name(j, "events");
	strand_json_start_object(j);
	for (unsigned t = 0; t < STRAND_REC_TYPE_MAX; t++)
		if (is_event_type(t))
			strand_json_uint_field(j, strand_rec_type_str(t), s->count_by_type[t]);
	strand_json_end_object(j);
	strand_json_name(j, "records_by_type");
	strand_json_start_object(j);
	for (unsigned t = 0; t < STRAND_REC_TYPE_MAX; t++)
		if (s->count_by_type[t])
			strand_json_uint_field(j, strand_rec_type_str(t), s->count_by_type[t]);
	strand_json_end_object(j);
	print_tree(path, true, j);
	strand_json_end_object(j);
	strand_json_free(j);
}

/* One process of the tree, for print_tree. */
struct tree_row {
	uint32_t pid, ppid;
	int depth;
	struct strand_process_facts f;
};

struct tree_rows {
	struct tree_row *v;
	size_t n, cap;
};

static strand_status add_row(const char *kid, const struct strand_process *p, int depth, void *ud,
			     strand_error *err)
{
	struct tree_rows *t = ud;
	if (!STRAND_GROW(t->v, t->cap, t->n, 1))
		return strand_error_set(err, STRAND_ERR_NOMEM, "out of memory");
	struct tree_row *row = &t->v[t->n++];
	row->pid = p->pid;
	row->ppid = p->ppid;
	row->depth = depth;
	return strand_trace_process_facts(kid, &row->f, err);
}

/* The process tree: the root and every embedded child trace; nothing
 * for a trace without children. */
static void print_tree(const char *path, bool json, struct strand_json *j)
{
	struct tree_rows t = { 0 };
	strand_error err;
	strand_error_clear(&err);
	strand_status st = strand_trace_walk(path, add_row, &t, &err);
	if (st != STRAND_OK)
		fprintf(stderr, "strand info: warning: %s: cannot read every child process trace: %s\n",
			path, err.msg);
	if (t.n == 0) {
		free(t.v);
		return;
	}
	struct strand_process_facts root;
	if (strand_trace_process_facts(path, &root, &err) != STRAND_OK)
		memset(&root, 0, sizeof root);
	char e1[1024];
	if (json) {
		strand_json_name(j, "processes");
		strand_json_start_array(j);
		for (size_t i = 0; i < t.n; i++) {
			const struct tree_row *r = &t.v[i];
			strand_json_start_object(j);
			strand_json_uint_field(j, "pid", r->pid);
			strand_json_uint_field(j, "ppid", r->ppid);
			strand_json_uint_field(j, "depth", (uint64_t)r->depth);
			strand_json_string_field(j, "argv", r->f.argv);
			strand_json_int_field(j, "exit_code", r->f.exit_code);
			strand_json_uint_field(j, "last_position", r->f.last_position);
			strand_json_end_object(j);
		}
		strand_json_end_array(j);
	} else {
		printf("\nprocesses (%zu, the traced one and %zu children; 'strand query TRACE "
		       "processes'):\n", t.n + 1, t.n);
		printf("  %-10s %-8s %-6s %-14s %s\n", "pid", "parent", "exit",
		       root.ordinal ? "events" : "instructions", "argv");
		char rpid[32];
		snprintf(rpid, sizeof rpid, "%u", root.pid);
		printf("  %-10s %-8s %-6" PRId64 " %-14" PRIu64 " %s\n", root.pid ? rpid : "(root)", "-",
		       root.exit_code, root.last_position, cli_term(root.argv, e1, sizeof e1));
		for (size_t i = 0; i < t.n; i++) {
			const struct tree_row *r = &t.v[i];
			char pid[32];
			snprintf(pid, sizeof pid, "%*s%u", 2 * (r->depth - 1), "", r->pid);
			printf("  %-10s %-8u %-6" PRId64 " %-14" PRIu64 " %s\n", pid, r->ppid,
			       r->f.exit_code, r->f.last_position, cli_term(r->f.argv, e1, sizeof e1));
		}
	}
	free(t.v);
}

static void print_text(const char *path, struct strand_reader *r, const struct info *in)
{
	const struct strand_trace_info *ti = strand_reader_info(r);
	const struct strand_trace_summary *s = strand_reader_summary(r);
	char buf[128];
	printf("trace:        %s\n", path);
	printf("format:       %u.%u\n", ti->format_major, ti->format_minor);
	printf("arch:         %s\n", strand_arch_str(ti->arch));
	printf("abi:          %s\n", strand_abi_str(ti->abi));
	char e1[256], e2[256];
	printf("recorder:     %s %s\n", cli_term(ti->recorder, e1, sizeof e1),
	       cli_term(ti->recorder_version, e2, sizeof e2));
	if (ti->abi == STRAND_ABI_WINDOWS_NT) {
		/* which system DLLs the process ran, and whose service numbers */
		printf("personality:  %s\n", in->systab ? cli_term(strand_systable_personality(in->systab), e1, sizeof e1)
						       : "standin (the project's stand-in system DLLs)");
		printf("syscalls:     %s\n", in->systab ? cli_term(strand_systable_source(in->systab), e1, sizeof e1)
						       : "built in: Windows Server 2003 SP2 numbers");
	}
	format_time(ti->created_unix_ns, buf, sizeof buf);
	printf("created:      %s\n", buf);
	flags_str(ti->flags, buf, sizeof buf);
	printf("flags:        %s\n", buf);
	if (ti->flags & STRAND_TRACE_F_ORDINAL_POSITIONS)
		printf("instructions: not counted (ordinal positions; last position %" PRIu64
		       " = syscall/nondet events before the last record)\n", s->last_position);
	else
		printf("instructions: %" PRIu64 "\n", s->last_position);
	printf("records:      %" PRIu64 " in %" PRIu32 " chunks%s\n", s->nrecords, s->nchunks,
	       s->complete ? "" : " (no process exit)");
	printf("complete:     %s\n", s->complete && !s->truncated ? "yes (ends with the process exit)"
			       : s->truncated ? "no: truncated trace (no footer), incomplete"
					      : "no: incomplete trace (no process exit recorded)");
	printf("size:         %" PRIu64 " bytes, %" PRIu64 " uncompressed (ratio %.2f)\n",
	       s->file_size, s->uncompressed_size, ratio(s));

	printf("\nmodules (%zu):\n", in->nmods);
	for (size_t i = 0; i < in->nmods; i++) {
		const struct info_module *m = &in->mods[i];
		printf("  %-20s 0x%016" PRIx64 " size 0x%-8" PRIx64 " %6" PRIu32 " symbols%s",
		       cli_term(m->name, e1, sizeof e1), m->base, m->size, m->nsyms,
		       m->flags & STRAND_MODULE_F_MAIN ? "  main" : "");
		if (m->position)
			printf("  loaded at %" PRIu64, m->position);
		printf("\n");
	}
	printf("\nthreads (%zu):\n", in->nthreads);
	for (size_t i = 0; i < in->nthreads; i++) {
		const struct info_thread *t = &in->threads[i];
		printf("  tid %-8" PRIu32 " rip 0x%016" PRIx64 "%s%s", t->tid, t->rip,
		       t->name[0] ? "  " : "", cli_term(t->name, e1, sizeof e1));
		if (t->position)
			printf("  created at %" PRIu64, t->position);
		printf("\n");
	}
	printf("\nevents:\n");
	for (unsigned t = 0; t < STRAND_REC_TYPE_MAX; t++)
		if (is_event_type(t) && s->count_by_type[t])
			printf("  %-14s %" PRIu64 "\n", strand_rec_type_str(t), s->count_by_type[t]);
	print_tree(path, false, NULL);
}

int cmd_info(int argc, char **argv)
{
	bool json;
	const char *path;
	int urc = cli_args_json_trace("info", argc, argv, &json, &path);
	if (urc)
		return urc;

	strand_error err;
	struct strand_reader *r = NULL;
	struct info in = { 0 };
	int rc = 0;
	strand_status st = strand_reader_open(path, &r, &err);
	if (st != STRAND_OK) {
		strand_error_wrap(&err, st, "%s", path);
		rc = cli_fail("info", json, &err);
		goto out;
	}
	/* A damaged chunk does not hide the header and the index: describe
	 * what can be read, say what could not, and leave judging to verify. */
	const char *read_error = NULL;
	if (info_gather(r, &in, &err) != STRAND_OK) {
		read_error = err.msg;
		fprintf(stderr, "strand info: warning: %s: cannot read every record "
			"(modules and threads may be missing; see strand verify): %s\n",
			path, err.msg);
	}
	const struct strand_trace_summary *s = strand_reader_summary(r);
	if (s->truncated)
		fprintf(stderr, "strand info: warning: %s is truncated (no valid footer): "
			"read up to its last complete chunk\n", path);
	if (json)
		print_json(path, r, &in, read_error);
	else
		print_text(path, r, &in);
out:
	info_free(&in);
	strand_reader_close(r);
	return rc;
}
