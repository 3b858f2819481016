/* cairn-hello: a small static test program for the Cairn lab's container images.
 *
 *   cairn-hello                       print "cairn-hello: hello", then sleep forever
 *   cairn-hello serve PORT            HTTP/1.0 server on 0.0.0.0:PORT, every request
 *                                     gets "200 OK" and "hello from HOSTNAME\n"
 *   cairn-hello get HOST PORT [TRIES] GET / from HOST:PORT, print the body, exit 0 on
 *                                     200; up to TRIES (default 30) tries 1 s apart
 *   cairn-hello get-loop HOST PORT    the same GET every 2 s, forever
 *
 * HOST is a dotted IPv4 address or a name (getaddrinfo, IPv4 only). SIGINT and
 * SIGTERM end every mode with status 0, also when running as PID 1 of a container.
 *
 * Build: musl-gcc -std=c11 -static -Os -s -Wall -Wextra -Werror -o cairn-hello cairn-hello.c
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_S 5      /* read/write/connect timeout of one connection */
#define REQ_MAX 8192        /* request bytes read before answering anyway */
#define RESP_MAX 65536      /* response bytes kept by the client */

static void die_signal(int sig) { (void)sig; _exit(0); }

static void setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = die_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static void err(const char *fmt, ...)
{
	va_list ap;

	fputs("cairn-hello: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static void sleep_s(unsigned s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = 0 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void sleep_forever(void)
{
	for (;;)
		pause();
}

/* Strict decimal in [lo, hi]; -1 if not. */
static long parse_num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	return v;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S, .tv_usec = 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- serve ---------------------------------------------------------------- */

/* Read until the end of the request head, a full buffer, EOF, an error or
 * IO_TIMEOUT_S in all. Returns the number of bytes read. The content is never interpreted. */
static size_t read_request(int fd, char *buf, size_t cap)
{
	struct timespec t0, now;
	size_t len = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (len < cap - 1) {
		ssize_t r;

		/* SO_RCVTIMEO bounds each read; this bounds a trickling sender too. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= IO_TIMEOUT_S)
			break;
		r = recv(fd, buf + len, cap - 1 - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			break;
	}
	return len;
}

static int serve(const char *portstr)
{
	char host[256], body[300], head[200];
	static char req[REQ_MAX];
	struct sockaddr_in addr;
	long port = parse_num(portstr, 1, 65535);
	int one = 1, lfd, bl, hl;

	if (port < 0) {
		err("serve: bad PORT '%s' (want 1..65535)", portstr);
		return 2;
	}
	if (gethostname(host, sizeof host) != 0)
		strcpy(host, "unknown");
	host[sizeof host - 1] = '\0';
	bl = snprintf(body, sizeof body, "hello from %s\n", host);
	hl = snprintf(head, sizeof head,
		      "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
		      "Content-Length: %d\r\nConnection: close\r\n\r\n", bl);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		err("serve: socket: %s", strerror(errno));
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)port);
	addr.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0) {
		err("serve: bind 0.0.0.0:%ld: %s", port, strerror(errno));
		return 1;
	}
	if (listen(lfd, 16) != 0) {
		err("serve: listen: %s", strerror(errno));
		return 1;
	}
	printf("cairn-hello: serving on %ld as %s\n", port, host);
	fflush(stdout);

	for (;;) {
		int cfd = accept(lfd, NULL, NULL);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				sleep_s(1);
			continue; /* EINTR, ECONNABORTED, network errors: next one */
		}
		set_timeouts(cfd);
		if (read_request(cfd, req, sizeof req) > 0 &&
		    send_all(cfd, head, (size_t)hl) == 0)
			send_all(cfd, body, (size_t)bl);
		shutdown(cfd, SHUT_WR);
		close(cfd);
	}
}

/* ---- get ------------------------------------------------------------------ */

/* Connect to addr within IO_TIMEOUT_S. Returns fd or -1 with errno set. */
static int connect_timeout(const struct sockaddr *sa, socklen_t salen)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int e = 0;
	socklen_t el = sizeof e;
	struct pollfd pfd;

	if (fd < 0)
		return -1;
	if (connect(fd, sa, salen) != 0) {
		if (errno != EINPROGRESS)
			goto fail;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		for (;;) {
			int r = poll(&pfd, 1, IO_TIMEOUT_S * 1000);
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0)
				errno = ETIMEDOUT;
			if (r <= 0)
				goto fail;
			break;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
			goto fail;
		if (e != 0) {
			errno = e;
			goto fail;
		}
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
		goto fail;
	set_timeouts(fd);
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* One GET. Returns 0 and prints the body on 200, else -1 with *why filled. */
static int get_once(const char *host, const char *port, char *why, size_t whylen)
{
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	static char resp[RESP_MAX + 1];
	struct addrinfo hints, *ai = NULL;
	size_t len = 0;
	const char *body;
	int fd, rc, status;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0 || ai == NULL) {
		snprintf(why, whylen, "cannot resolve %s: %s", host,
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		if (ai)
			freeaddrinfo(ai);
		return -1;
	}
	fd = connect_timeout(ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (fd < 0) {
		snprintf(why, whylen, "connect: %s", strerror(errno));
		return -1;
	}
	if (send_all(fd, req, sizeof req - 1) != 0) {
		snprintf(why, whylen, "send: %s", strerror(errno));
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r;
		if (len == RESP_MAX) {
			snprintf(why, whylen, "response longer than %d bytes", RESP_MAX);
			close(fd);
			return -1;
		}
		r = recv(fd, resp + len, RESP_MAX - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, whylen, "receive: %s",
				 errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : strerror(errno));
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	resp[len] = '\0';

	if (len == 0) {
		snprintf(why, whylen, "empty response");
		return -1;
	}
	if (sscanf(resp, "HTTP/%*d.%*d %3d", &status) != 1) {
		snprintf(why, whylen, "not an HTTP response");
		return -1;
	}
	if (status != 200) {
		snprintf(why, whylen, "HTTP status %d", status);
		return -1;
	}
	body = strstr(resp, "\r\n\r\n");
	if (body) {
		body += 4;
	} else if ((body = strstr(resp, "\n\n")) != NULL) {
		body += 2;
	} else {
		snprintf(why, whylen, "response has no end of header");
		return -1;
	}
	fwrite(body, 1, len - (size_t)(body - resp), stdout);
	fflush(stdout);
	return 0;
}

static int check_port(const char *mode, const char *port)
{
	if (parse_num(port, 1, 65535) < 0) {
		err("%s: bad PORT '%s' (want 1..65535)", mode, port);
		return -1;
	}
	return 0;
}

static int get(const char *host, const char *port, const char *triesstr)
{
	long tries = 30, i;
	char why[256];

	if (check_port("get", port) != 0)
		return 2;
	if (triesstr && (tries = parse_num(triesstr, 1, 1000000)) < 0) {
		err("get: bad TRIES '%s' (want a positive number)", triesstr);
		return 2;
	}
	for (i = 1; i <= tries; i++) {
		if (get_once(host, port, why, sizeof why) == 0)
			return 0;
		err("get %s:%s try %ld/%ld: %s", host, port, i, tries, why);
		if (i < tries)
			sleep_s(1);
	}
	return 1;
}

static int get_loop(const char *host, const char *port)
{
	char why[256];

	if (check_port("get-loop", port) != 0)
		return 2;
	for (;;) {
		if (get_once(host, port, why, sizeof why) != 0)
			err("get %s:%s: %s", host, port, why);
		sleep_s(2);
	}
}

static int usage(void)
{
	fputs("usage: cairn-hello                         print a line, sleep forever\n"
	      "       cairn-hello serve PORT              HTTP server on 0.0.0.0:PORT\n"
	      "       cairn-hello get HOST PORT [TRIES]   GET / (default 30 tries, 1 s apart)\n"
	      "       cairn-hello get-loop HOST PORT      GET / every 2 s, forever\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	setup_signals();
	if (argc == 1) {
		puts("cairn-hello: hello");
		fflush(stdout);
		sleep_forever();
	}
	if (strcmp(argv[1], "serve") == 0 && argc == 3)
		return serve(argv[2]);
	if (strcmp(argv[1], "get") == 0 && (argc == 4 || argc == 5))
		return get(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	if (strcmp(argv[1], "get-loop") == 0 && argc == 4)
		return get_loop(argv[2], argv[3]);
	return usage();
}
