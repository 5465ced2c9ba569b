/*
 * Following a failure into a child process: a trace of a process tree
 * embeds the trace of every child (trace.h, "Process trees").  When the
 * parent's report ends at a child (the symptom's value is the child's
 * exit status, which wait4/waitid wrote), or finds no failing kernel call
 * of its own while a child failed, the child's own report says which call
 * failed inside it; it is added under root_cause.inside_child with the
 * link (pid, exit status, how it was found), and the summary says it.
 * The child's report follows its own children the same way.
 */
#define _GNU_SOURCE /* asprintf */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/children.h"
#include "strand/trace.h"

/* strand_trace_walk callback: keep the trace of process f->pid. */
struct find {
	uint32_t pid;          /* wanted; 0: the first child that exited non-zero */
	char *kept;            /* owned temporary path, once found */
	struct strand_process p;
	struct strand_process_facts facts;
};

static strand_status find_cb(const char *kid, const struct strand_process *p, int depth,
			     void *ud, strand_error *err)
{
	struct find *f = ud;
	struct strand_process_facts facts;
	if (f->pid ? p->pid != f->pid : depth != 1)
		return STRAND_OK;
	if (strand_trace_process_facts(kid, &facts, err) < 0)
		return STRAND_OK; /* unreadable: not this one */
	if (!f->pid && facts.exit_code <= 0)
		return STRAND_OK;
	if (asprintf(&f->kept, "%s.r", kid) < 0) {
		f->kept = NULL;
		return strand_error_set(err, STRAND_ERR_NOMEM, "report: out of memory");
	}
	if (rename(kid, f->kept) < 0) {
		free(f->kept);
		f->kept = NULL;
		return STRAND_OK;
	}
	f->p = *p;
	f->facts = facts;
	return STRAND_END;
}

strand_status rp_follow_child(const char *trace, const struct strand_report_options *opt,
			      struct strand_result *res, strand_error *err)
{
	struct strand_rnode *root = strand_result_root(res);
	struct strand_rnode *rc = (struct strand_rnode *)strand_rnode_get(root, "root_cause");
	const char *kind = strand_rnode_str(rc, "kind", "");
	if (!rc || !strcmp(kind, "kernel_call") || !strcmp(kind, "crash"))
		return STRAND_OK;
	struct find f = { 0 };
	bool by_wait = !strcmp(kind, "child_process");
	if (by_wait)
		f.pid = (uint32_t)strand_rnode_u64(rc, "child_pid", 0);
	strand_error e;
	strand_error_clear(&e);
	if (strand_trace_walk(trace, find_cb, &f, &e) < 0 || !f.kept) {
		if (f.kept)
			unlink(f.kept);
		free(f.kept);
		return STRAND_OK; /* no such child recorded: the report stands as it is */
	}
	struct strand_result *cres = strand_result_new();
	strand_status st = STRAND_OK;
	if (!cres) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "report: out of memory");
		goto out;
	}
	if ((st = strand_report_build(f.kept, opt, cres, err)) < 0) {
		strand_error_wrap(err, st, "report of child process pid=%u", f.p.pid);
		goto out;
	}
	const struct strand_rnode *croot = strand_result_root(cres);
	struct strand_rnode *ic = strand_r_object(rc, "inside_child");
	strand_r_uint(ic, "pid", f.p.pid);
	strand_r_uint(ic, "parent_pid", f.p.ppid);
	strand_r_string(ic, "program", f.facts.argv);
	strand_r_int(ic, "exit_status", f.facts.exit_code);
	if (by_wait)
		strand_r_stringf(ic, "link", "the parent's %s returned pid %u with its exit status %"
				 PRId64 ", which flowed into the symptom",
				 strand_rnode_str(rc, "syscall", "wait"), f.p.pid, f.facts.exit_code);
	else
		strand_r_stringf(ic, "link", "no failing kernel call of the parent explains the "
				 "symptom; its child pid %u exited with status %" PRId64,
				 f.p.pid, f.facts.exit_code);
	const struct strand_rnode *crc = strand_rnode_get(croot, "root_cause");
	if (crc)
		strand_r_copy(ic, "root_cause", crc);
	const char *csum = strand_rnode_str(croot, "summary", "");
	strand_r_string(ic, "summary", csum);
	/* the summary goes on into the child: the new text lives in this
	 * result (a node of inside_child), so the summary node can point to it */
	struct strand_rnode *sum = (struct strand_rnode *)strand_rnode_get(root, "summary");
	if (sum && sum->kind == STRAND_R_STRING) {
		struct strand_rnode *full = strand_r_stringf(ic, "parent_summary",
			"%s Inside child process %u (%s, exit status %" PRId64 "): %s", sum->v.s,
			f.p.pid, f.facts.argv, f.facts.exit_code, csum);
		if (full) {
			full->flags |= STRAND_RF_NOTEXT;
			sum->v.s = full->v.s;
		}
	}
	if (strand_result_status(res) < 0)
		st = strand_error_set(err, STRAND_ERR_NOMEM, "report: out of memory");
out:
	strand_result_free(cres);
	unlink(f.kept);
	free(f.kept);
	return st;
}
