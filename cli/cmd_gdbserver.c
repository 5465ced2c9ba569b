/*
 * strand gdbserver: serve one replay to gdb over the remote protocol.
 *
 *   strand gdbserver [--port N | --stdio] [--at POS] [--frames N] [--debug] [-q] TRACE
 *
 * TCP: listens on 127.0.0.1 only (a trace can hold secrets), accepts one
 * connection, serves it, exits.  "listening on port N" goes to stderr
 * once the socket is ready, so scripts can start gdb after it.  --stdio:
 * the protocol runs on stdin/stdout (gdb's `target remote | CMD`).
 * gdb/server.h does the work; docs/gdb.md shows a session.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "gdb/server.h"
#include "strand/query.h"

static int listen_on(unsigned port, unsigned *bound, strand_error *err)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		strand_error_set(err, STRAND_ERR_IO, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		strand_error_set(err, STRAND_ERR_IO, "cannot listen on 127.0.0.1:%u: %s", port,
				 strerror(errno));
		close(fd);
		return -1;
	}
	*bound = ntohs(a.sin_port);
	return fd;
}

int cmd_gdbserver(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "stdio", no_argument, NULL, 's' },
		{ "at", required_argument, NULL, 'a' },
		{ "debug", no_argument, NULL, 'd' },
		{ "frames", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned port = 2159;
	bool use_stdio = false, have_port = false, quiet = false;
	const char *at = NULL;
	struct gdb_server_options gopt = { 0 };
	bool learn = true;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+q", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (!*optarg || *end || v > 65535)
				return cli_failf("gdbserver", false, true, "bad port '%s' (0..65535)",
						 optarg);
			port = (unsigned)v;
			have_port = true;
			break;
		}
		case 'f': { /* instructions the frame-learning pass replays; 0: none */
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (!*optarg || *end || errno || optarg[0] == '-')
				return cli_failf("gdbserver", false, true,
						 "bad --frames '%s' (a number of instructions)", optarg);
			gopt.cfi_max_insns = v;
			learn = v > 0;
			break;
		}
		case 's': use_stdio = true; break;
		case 'a': at = optarg; break;
		case 'd': gopt.debug = true; break;
		case 'q': quiet = true; break;
		default:
			return cli_failf("gdbserver", false, true, "bad option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cli_failf("gdbserver", false, true, "expected one TRACE argument");
	if (use_stdio && have_port)
		return cli_failf("gdbserver", false, true, "--port and --stdio exclude each other");
	const char *trace = argv[optind];
	gopt.trace = learn ? trace : NULL;
	signal(SIGPIPE, SIG_IGN);

	struct strand_replay_options ro = { 0 };
	if (!use_stdio && cli_progress_enabled(quiet)) {
		ro.progress = cli_progress;
		ro.progress_ud = (void *)"gdbserver";
	}
	strand_error err;
	struct strand_query *q = NULL;
	int lfd = -1, cfd = -1, rc = 1;
	strand_status st = strand_query_open(trace, &ro, &q, &err);
	if (st < 0) {
		strand_error_wrap(&err, st, "cannot open trace %s", trace);
		return cli_fail("gdbserver", false, &err);
	}
	if (at) {
		char cmd[512];
		snprintf(cmd, sizeof cmd, "seek %s", at);
		struct strand_query_result res = { 0 };
		st = strand_query_exec(q, cmd, &res, &err);
		strand_query_result_fini(&res);
		if (st < 0) {
			cli_fail("gdbserver", false, &err);
			goto out;
		}
	}
	if (ro.progress)
		cli_progress_done();
	if (use_stdio) {
		st = gdb_serve(q, STDIN_FILENO, STDOUT_FILENO, &gopt, &err);
	} else {
		unsigned bound = 0;
		if ((lfd = listen_on(port, &bound, &err)) < 0) {
			cli_fail("gdbserver", false, &err);
			goto out;
		}
		fprintf(stderr, "strand gdbserver: %s at position %llu; listening on port %u\n",
			trace, (unsigned long long)strand_replay_position(strand_query_replay(q)),
			bound);
		fflush(stderr);
		do
			cfd = accept(lfd, NULL, NULL);
		while (cfd < 0 && errno == EINTR);
		if (cfd < 0) {
			strand_error_set(&err, STRAND_ERR_IO, "accept: %s", strerror(errno));
			cli_fail("gdbserver", false, &err);
			goto out;
		}
		int one = 1;
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		st = gdb_serve(q, cfd, cfd, &gopt, &err);
	}
	if (st < 0) {
		cli_fail("gdbserver", false, &err);
		goto out;
	}
	rc = 0;
out:
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	strand_query_free(q);
	return rc;
}
