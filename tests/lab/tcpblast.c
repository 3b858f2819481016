/* tcpblast.c - the replication link's own throughput, for `make bench`'s DRBD rows
 * (bench_drbd.py): one kernel TCP stream between two lab nodes, as DRBD's is, with nothing
 * written to a disk.
 *
 *   tcpblast listen PORT        accept one connection after another, read and discard what it
 *                               sends, close it at its end of stream;
 *   tcpblast send IP PORT FILE  connect, send FILE with sendfile(2) (the page cache's pages go
 *                               to TCP without a copy, as DRBD's sendpage does with a write's
 *                               pages), shut the sending side, wait for the receiver to close
 *                               (so every byte was read there), print
 *                               "tcpblast: sent N bytes in S s".
 *
 * Built static with musl by bench_drbd.py and carried into the nodes by a lab-only service. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static char buf[CHUNK];

static int fail(const char *what)
{
	printf("tcpblast: failed: %s: %s\n", what, strerror(errno));
	return 1;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0)
		return fail("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 4) < 0)
		return fail("bind");
	for (;;) {
		unsigned long long got = 0;
		ssize_t n;
		int c = accept(s, NULL, NULL);

		if (c < 0)
			return fail("accept");
		while ((n = read(c, buf, sizeof buf)) > 0)
			got += n;
		printf("tcpblast: received %llu bytes\n", got);
		fflush(stdout);
		close(c);
	}
}

static int send_to(const char *ip, int port, const char *path)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	unsigned long long sent = 0;
	struct stat st;
	double t0;
	int s = socket(AF_INET, SOCK_STREAM, 0), fd = open(path, O_RDONLY);

	if (s < 0)
		return fail("socket");
	if (fd < 0 || fstat(fd, &st) < 0)
		return fail(path);
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		printf("tcpblast: failed: %s is not an IPv4 address\n", ip);
		return 1;
	}
	t0 = now();
	if (connect(s, (struct sockaddr *)&a, sizeof a) < 0)
		return fail("connect");
	while (sent < (unsigned long long)st.st_size) {
		ssize_t n = sendfile(s, fd, NULL, st.st_size - sent);

		if (n <= 0)
			return fail("sendfile");
		sent += n;
	}
	shutdown(s, SHUT_WR);
	while (read(s, buf, sizeof buf) > 0)
		;
	printf("tcpblast: sent %llu bytes in %.3f s\n", sent, now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "listen") == 0)
		return listen_on(atoi(argv[2]));
	if (argc == 5 && strcmp(argv[1], "send") == 0)
		return send_to(argv[2], atoi(argv[3]), argv[4]);
	fprintf(stderr, "usage: tcpblast listen PORT | tcpblast send IP PORT FILE\n");
	return 2;
}
