/* A non-blocking connect to a closed local port: connect() says
 * EINPROGRESS, poll() says the socket is ready, and the refusal is only in
 * the value getsockopt(SO_ERROR) writes into its out-parameter (the call
 * itself succeeds).  The message and the exit status are made from that
 * value. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

__attribute__((noinline)) static int connect_to(const char *ip, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errno;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	inet_pton(AF_INET, ip, &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	if (poll(&p, 1, 5000) != 1)
		return ETIMEDOUT;
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return errno;
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	const char *ip = argc > 1 ? argv[1] : "127.0.0.1";
	int port = argc > 2 ? atoi(argv[2]) : 1;
	int err = connect_to(ip, port);
	if (err) {
		fprintf(stderr, "sockerr: connect to %s port %d: %s\n", ip, port, strerror(err));
		return err;
	}
	puts("connected");
	return 0;
}
