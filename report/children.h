/*
 * Private to report/: following a failure into a child process
 * (children.c).
 */
#ifndef STRAND_REPORT_CHILDREN_H
#define STRAND_REPORT_CHILDREN_H

#include "strand/report.h"

/* If the report in `res` of `trace` puts the failure in a child process
 * (root cause "child_process": the symptom is an exit status collected by
 * wait4/waitid) or finds no failing kernel call while a child exited with
 * a non-zero status, build the report of that child's embedded trace and
 * add it under root_cause.inside_child, extending the summary.  Nothing
 * for a trace without children. */
strand_status rp_follow_child(const char *trace, const struct strand_report_options *opt,
			      struct strand_result *res, strand_error *err);

#endif
