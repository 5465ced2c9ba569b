/*
 * Process trees (docs/linux-recorder.md, "Process trees"): every child
 * process of a recorded one is recorded by a recorder process of its own,
 * forked from the recorder that saw the fork event, into a trace of its
 * own; when the recorded process ends, its recorder waits for those
 * recorders and embeds each child's complete trace in its own, as NOTE
 * records "process" (pid, parent pid, size) and "process-data" (slices of
 * the child's trace file), just before PROCESS_EXIT.  A child's trace
 * embeds its own children the same way, so the root trace holds the tree.
 * The encoding is in docs/trace-format.md, "Process trees".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "record/ptrace/ptrace_rec.h"

bool strand_ptrace_kids_add(struct strand_ptrace_kids *k, pid_t recorder, pid_t pid, pid_t ppid,
			    const char *path)
{
	struct strand_ptrace_kid *t = realloc(k->v, (k->n + 1) * sizeof *t);
	if (!t)
		return false;
	k->v = t;
	struct strand_ptrace_kid *c = &t[k->n];
	memset(c, 0, sizeof *c);
	c->recorder = recorder;
	c->pid = pid;
	c->ppid = ppid;
	snprintf(c->path, sizeof c->path, "%s", path);
	k->n++;
	return true;
}

bool strand_ptrace_kids_reaped(struct strand_ptrace_kids *k, pid_t p, int status)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->v[i].recorder == p && !k->v[i].reaped) {
			k->v[i].reaped = true;
			k->v[i].status = status;
			return true;
		}
	return false;
}

void strand_ptrace_kids_free(struct strand_ptrace_kids *k)
{
	free(k->v);
	k->v = NULL;
	k->n = 0;
}

/* Wait for kid c's recorder to end; false if it failed. */
static bool wait_recorder(struct strand_ptrace_kid *c)
{
	while (!c->reaped) {
		int status = 0;
		pid_t p = waitpid(c->recorder, &status, 0);
		if (p < 0 && errno == EINTR)
			continue;
		c->reaped = true;
		c->status = p < 0 ? 0 : status; /* ECHILD: reaped by a wait for any child */
	}
	return WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
}

/* True if fd holds a complete trace (the trailer's magic at its end). */
static bool complete_trace(int fd, uint64_t *size)
{
	struct stat sb;
	char tail[8];
	if (fstat(fd, &sb) < 0 || sb.st_size < 64 ||
	    pread(fd, tail, 8, sb.st_size - 8) != 8 || memcmp(tail, "STRNDEND", 8))
		return false;
	*size = (uint64_t)sb.st_size;
	return true;
}

strand_status strand_ptrace_kids_embed(struct strand_ptrace_kids *k, struct strand_writer *w,
				       uint64_t position, uint32_t tid, FILE *log,
				       uint64_t *embedded, strand_error *err)
{
	strand_status st = STRAND_OK;
	for (size_t i = 0; i < k->n && st == STRAND_OK; i++) {
		struct strand_ptrace_kid *c = &k->v[i];
		bool ok = wait_recorder(c);
		int fd = open(c->path, O_RDONLY | O_CLOEXEC);
		uint64_t size = 0;
		if (fd >= 0 && ok && complete_trace(fd, &size)) {
			struct strand_process p = { .pid = (uint32_t)c->pid, .ppid = (uint32_t)c->ppid };
			st = strand_writer_put_process(w, position, tid, &p, c->path, err);
			if (st == STRAND_OK && embedded)
				(*embedded)++;
		} else if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == STRAND_PTRACE_KID_REFUSED) {
			st = strand_error_set(err, STRAND_ERR_UNSUPPORTED,
					      "child process pid=%d cannot be recorded (the reason is "
					      "above)", (int)c->pid);
		} else if (log) {
			fprintf(log, "strand record: warning: the recording of child process pid=%d "
				"failed (recorder status=0x%x); its trace is left out\n",
				(int)c->pid, c->status);
		}
		if (fd >= 0)
			close(fd);
		unlink(c->path);
	}
	return st;
}

void strand_ptrace_kids_abandon(struct strand_ptrace_kids *k)
{
	for (size_t i = 0; i < k->n; i++) {
		if (!k->v[i].reaped)
			kill(k->v[i].recorder, SIGTERM); /* it stops its program, as on Ctrl-C */
		wait_recorder(&k->v[i]);
		unlink(k->v[i].path);
	}
}
