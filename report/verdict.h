/* Internal: the report's decisions (report/verdict.c): which symptom,
 * which cause, which verdict, and how each was found. */
#ifndef STRAND_REPORT_VERDICT_H
#define STRAND_REPORT_VERDICT_H

#include "knowledge/kb.h"
#include "strand/analysis.h"

/* What the report reads: results of one run (borrowed). */
struct rc_inputs {
	const struct strand_trace_info *info;
	const struct strand_rnode *ef;    /* errorflow */
	const struct strand_rnode *sc;    /* syscalls */
	const struct strand_rnode *crash; /* crash (may be NULL) */
	const struct strand_rnode *hang;  /* hang (may be NULL) */
	const struct kb *kb;
	const char *program;              /* basename of the executable, may be NULL */
	const char *args;                 /* its arguments (space-separated), NULL: not read */
	/* The trace's end (strand_reader_summary): `incomplete` when no
	 * PROCESS_EXIT was recorded (the recorder was killed, the file cut),
	 * `truncated` when the file has no footer; `instructions` recorded. */
	bool incomplete, truncated;
	uint64_t instructions;
	bool partial;                     /* internal: deciding on a part of the run */
};

enum rc_kind {
	RC_NONE = 0,
	RC_KERNEL = 1,    /* a kernel call's status */
	RC_CRASH = 2,     /* a fault: the crash facts */
	RC_USER_CODE = 3, /* no kernel failure: a decision of the program's own code */
	RC_WAIT = 4,      /* blocked threads (hang, interrupted recording) */
	RC_CHILD = 5,     /* the symptom's value came from a child process's exit status */
	RC_INCOMPLETE = 6,/* the trace ends before the process did: no final answer */
};

#define RC_MAX_CANDIDATES 6

/* A ranked alternative the report did not choose (or the heuristic one). */
struct rc_candidate {
	uint64_t pos, tid, status;
	const char *syscall, *object;     /* borrowed from the results */
	const char *found_by;             /* static */
	char why[200];
	int score;
	bool chosen;                      /* the heuristic took it as the cause */
	bool out_param;                   /* status read from memory the kernel wrote */
	uint64_t status_addr, status_raw; /* out_param: where, and the value written */
};

struct rc {
	const char *verdict;               /* "failure", "crash", "hang", "interrupted", "no_failure_found" */
	char reason[600];                  /* why this verdict */
	enum rc_kind kind;
	bool found;                        /* kind == RC_KERNEL */
	uint64_t pos, tid, status;
	const char *syscall, *object;
	const char *found_by;              /* "data flow", "control flow", "crash origin",
					      "wait graph", "heuristic", "knowledge base" (static) */
	const char *confidence;            /* longer text (static or in found_by_buf) */
	char found_by_buf[300];
	const struct strand_rnode *chain;   /* chain that reached it, or NULL */
	const struct strand_rnode *symptom; /* primary symptom */
	const struct strand_rnode *user;    /* RC_USER_CODE: the chain's constant origin;
					       RC_CHILD: the wait call the chain reached */
	const struct kb_entry *normal_exit; /* the documented normal exit, if that decided */
	struct rc_candidate cand[RC_MAX_CANDIDATES];
	uint32_t ncand;
	struct rc_candidate chosen;         /* found_by heuristic: the candidate taken */
	/* found by flow through an out-parameter: the kernel call succeeded and
	 * wrote the error value into user memory at status_addr (status holds
	 * it as -errno) */
	bool out_param;
	uint64_t status_addr, status_raw;
	/* RC_INCOMPLETE: what the recorded part shows (a kernel failure the
	 * partial run's symptoms reach), tentative */
	bool so_far;
	struct rc_candidate tentative;
	char tentative_how[300];
};

/* Symptoms of errorflow ordered by priority into out[] (max n). */
/* The status a call of the syscalls analysis's list failed with: its
 * result, or the error it reported through an out-parameter ("error"). */
uint64_t rc_call_status(const struct strand_rnode *call);
/* Where a user-code origin was decided: its program frame, else itself. */
const char *rc_user_where(const struct strand_rnode *user);
uint32_t rc_ordered_symptoms(const struct strand_rnode *ef, const struct strand_rnode **out,
			     uint32_t n);

/* Decide verdict and cause. */
void rc_decide(const struct rc_inputs *in, struct rc *rc);

/* Emit verdict and verdict_reason. */
void rc_emit_verdict(struct strand_rnode *root, const struct rc *rc);

/* After the kernel root cause (if any) is emitted: for causes that are not a kernel
 * call, the root_cause object; the ranked candidates. */
void rc_emit(struct strand_rnode *root, const struct rc_inputs *in, const struct rc *rc);

#endif
