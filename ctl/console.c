/* console.c - `cairnctl vm console NAME [--timeout DURATION] [--escape CHAR]`: a VM's serial
 * console, both ways, through one node's API.
 *
 * libcurl connects and does the TLS 1.3 handshake with the cairnconfig's CA and client
 * certificate exactly as for the other requests (net_easy_setup, CURLOPT_CONNECT_ONLY), then
 * cairnctl speaks HTTP/1.1 itself over that connection: GET /v1/vms/NAME/console with
 * "Connection: Upgrade" and "Upgrade: cairn-console". On "101 Switching Protocols" it relays
 * raw bytes, stdin to the VM and the VM to stdout, with curl_easy_send/curl_easy_recv, polling
 * the connection's socket (CURLINFO_ACTIVESOCKET) and stdin. Any other reply is the node's
 * JSON error, printed as "cairnctl: NODE: vm console NAME: HTTP STATUS: ERROR".
 *
 * TLS hides bytes from poll(): a record may be half there (the socket is readable, yet recv
 * says CURLE_AGAIN), and one read of the socket may decrypt more than recv returned (the
 * bytes wait inside TLS, the socket is no longer readable). So after every successful recv
 * the relay calls recv again until CURLE_AGAIN before it polls.
 *
 * A terminal on stdin goes raw (every key goes to the VM, Ctrl-C included) and is restored
 * on every way out, SIGINT, SIGTERM and SIGHUP included (they are blocked except inside
 * ppoll()); the escape character (Ctrl-] unless --escape) then q detaches, the escape twice
 * sends it once. Stdin that is not a terminal is sent as it is; after its end the VM's output
 * is still printed until the node closes or --timeout ends the session. */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ctl.h"
#include "net.h"
#include "vm.h"

#define HEAD_MAX (64 * 1024)      /* the reply head, with an error reply's body */
#define RELAY_CHUNK 16384
#define ESCAPE_DEFAULT 0x1d       /* Ctrl-] */
#define DETACH_KEY 'q'
#define START_WAIT_MS 120000LL    /* how long a console waits for a starting VM, without --timeout */
#define START_POLL_MS 500
#define CONSOLE_AGAIN (-100)      /* console_run(): the VM is starting, ask again */

enum console_end { END_CLOSED, END_DETACHED, END_TIMEOUT, END_SIGNAL, END_FAILED };

struct console {
	char what[320];              /* "NODE: vm console NAME", before every message */
	CURL *easy;
	curl_socket_t sock;
	char errbuf[CURL_ERROR_SIZE];
	long request_timeout_ms;     /* connecting, and waiting for the reply head */
	long session_ms;             /* --timeout; 0: none */
	int escape;                  /* the escape byte; -1: none */
	bool tty;                    /* stdin is a terminal: raw mode and the escape */
	bool after_escape;
	bool waited;                 /* said once that the VM is starting */
	char pending[RELAY_CHUNK];   /* input the node has not taken yet */
	size_t pending_len;
	char head[HEAD_MAX + 1];     /* the reply head, then what came with it */
	size_t head_len, head_end;
};

static volatile sig_atomic_t caught_signal;
static bool terminal_raw;   /* messages then end with "\r\n": the terminal adds no '\r' */

static void on_signal(int signal)
{
	caught_signal = signal;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void console_error(const struct console *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void console_error(const struct console *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cairnctl: %s: ", c->what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(terminal_raw ? "\r\n" : "\n", stderr);
}

/* --escape: one character, "^X" for Ctrl-X ("^]", "^?"), or "none". -2: invalid. */
static int parse_escape(const char *text)
{
	if (strcmp(text, "none") == 0)
		return -1;
	if (text[0] == '^' && text[1] && !text[2]) {
		int key = toupper((unsigned char)text[1]);
		if (key == '?')
			return 0x7f;
		return key >= '@' && key <= '_' ? key & 0x1f : -2;
	}
	return text[0] && !text[1] ? (unsigned char)text[0] : -2;
}

static void escape_name(int escape, char *name, size_t size)
{
	if (escape == 0x7f)
		snprintf(name, size, "Ctrl-?");
	else if (escape < 0x20)
		snprintf(name, size, "Ctrl-%c", escape + 0x40);
	else
		snprintf(name, size, "'%c'", escape);
}

/* 1: the socket is ready for EVENTS; 0: DEADLINE (monotonic ms) passed; -1: poll failed. */
static int wait_socket(const struct console *c, short events, long long deadline)
{
	for (;;) {
		struct pollfd fd = { .fd = c->sock, .events = events };
		long long left = deadline - now_ms();
		int n;
		if (left <= 0)
			return 0;
		n = poll(&fd, 1, (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Connects and shakes hands, retrying a refused connection or a handshake that did not
 * finish in time, like the other commands (--retries, backoff from 250 ms). */
static int console_connect(struct console *c, const struct net_target *target,
			   const struct net_options *options)
{
	CURLcode code;

	c->easy = curl_easy_init();
	if (!c->easy || net_easy_setup(c->easy, target, target->nodes[0].url,
				       options->timeout_ms, c->errbuf) < 0) {
		console_error(c, "out of memory");
		return -1;
	}
	curl_easy_setopt(c->easy, CURLOPT_CONNECT_ONLY, 1L);
	for (int attempt = 1;; attempt++) {
		c->errbuf[0] = '\0';
		code = curl_easy_perform(c->easy);
		if (code == CURLE_OK)
			break;
		if ((code == CURLE_COULDNT_CONNECT || code == CURLE_OPERATION_TIMEDOUT) &&
		    attempt <= options->retries) {
			long delay = (long)NET_BACKOFF_FIRST_MS << (attempt - 1);
			nanosleep(&(struct timespec){ delay / 1000, (delay % 1000) * 1000000 }, NULL);
			continue;
		}
		char *reason = net_transport_reason(c->easy, code, c->errbuf, options->timeout_ms,
						    attempt);
		console_error(c, "%s", reason ? reason : "out of memory");
		free(reason);
		return -1;
	}
	if (curl_easy_getinfo(c->easy, CURLINFO_ACTIVESOCKET, &c->sock) != CURLE_OK ||
	    c->sock == CURL_SOCKET_BAD) {
		console_error(c, "no connection after the handshake");
		return -1;
	}
	return 0;
}

/* Sends all of DATA by DEADLINE (the request head). */
static int send_all(struct console *c, const char *data, size_t len, long long deadline)
{
	while (len > 0) {
		size_t sent = 0;
		CURLcode code = curl_easy_send(c->easy, data, len, &sent);
		if (code == CURLE_AGAIN) {
			if (wait_socket(c, POLLOUT, deadline) <= 0) {
				console_error(c, "cannot send the request within %ld ms",
					      c->request_timeout_ms);
				return -1;
			}
			continue;
		}
		if (code != CURLE_OK) {
			console_error(c, "sending the request: %s", curl_easy_strerror(code));
			return -1;
		}
		data += sent;
		len -= sent;
	}
	return 0;
}

/* Receives into the head buffer, waiting until DEADLINE. 1: got bytes; 0: the node closed;
 * -1: failed (printed). */
static int receive_head_bytes(struct console *c, long long deadline)
{
	for (;;) {
		size_t got = 0;
		CURLcode code;
		if (c->head_len == HEAD_MAX) {
			console_error(c, "the reply's head is larger than %d KiB", HEAD_MAX / 1024);
			return -1;
		}
		code = curl_easy_recv(c->easy, c->head + c->head_len, HEAD_MAX - c->head_len, &got);
		if (code == CURLE_AGAIN) {
			int ready = wait_socket(c, POLLIN, deadline);
			if (ready <= 0) {
				console_error(c, "no reply within %ld ms", c->request_timeout_ms);
				return -1;
			}
			continue;
		}
		if (code != CURLE_OK) {
			console_error(c, "reading the reply: %s", curl_easy_strerror(code));
			return -1;
		}
		c->head_len += got;
		c->head[c->head_len] = '\0';
		return got > 0;
	}
}

/* Reads the reply's head (to the blank line); returns its status, or -1 (printed). */
static long read_head(struct console *c, long long deadline)
{
	long status;
	char *end;
	int rc;

	while (!(end = memmem(c->head, c->head_len, "\r\n\r\n", 4))) {
		if ((rc = receive_head_bytes(c, deadline)) <= 0) {
			if (rc == 0)
				console_error(c, "the node closed the connection without a reply");
			return -1;
		}
	}
	c->head_end = (size_t)(end - c->head) + 4;
	if (sscanf(c->head, "HTTP/1.%*1[01] %3ld", &status) != 1 || status < 100) {
		console_error(c, "the node's reply is not HTTP/1.1: %.*s", (int)strcspn(c->head,
			      "\r\n") > 80 ? 80 : (int)strcspn(c->head, "\r\n"), c->head);
		return -1;
	}
	return status;
}

/* The value of header NAME in the reply head, or NULL; *LEN its length. */
static const char *header_value(const struct console *c, const char *name, size_t *len)
{
	size_t name_len = strlen(name);

	for (const char *line = strstr(c->head, "\r\n"); line && line < c->head + c->head_end;
	     line = strstr(line + 2, "\r\n")) {
		const char *value = line + 2 + name_len + 1;
		if (strncasecmp(line + 2, name, name_len) != 0 || line[2 + name_len] != ':')
			continue;
		value += strspn(value, " \t");
		*len = strcspn(value, "\r\n");
		return value;
	}
	return NULL;
}

/* A reply other than 101: reads its body (Content-Length, or to the close) and prints the
 * node's error, with its details. True, printing nothing, when the error is 409 "the VM is
 * starting": the caller may ask again. */
static bool report_refusal(struct console *c, long status, long long deadline)
{
	size_t len = 0, want = HEAD_MAX;
	const char *length = header_value(c, "Content-Length", &len), *body, *brace;
	json_t *reply, *details;
	const char *error;

	if (length && len > 0 && len < 10)
		want = c->head_end + strtoul(length, NULL, 10);
	while (c->head_len < want && c->head_len < HEAD_MAX) {
		int rc = receive_head_bytes(c, deadline);
		if (rc < 0)
			return false;
		if (rc == 0)   /* closed: the body is what came */
			break;
	}
	body = c->head + c->head_end;
	reply = json_loadb(body, c->head_len - c->head_end, 0, NULL);
	if (!reply && (brace = strchr(body, '{')))   /* a chunked body: the JSON inside */
		reply = json_loads(brace, JSON_DISABLE_EOF_CHECK, NULL);
	error = json_string_value(json_object_get(reply, "error"));
	if (status == 409 && error && strcmp(error, "the VM is starting") == 0) {
		json_decref(reply);
		return true;
	}
	if (!error) {
		const char *reason = c->head + strcspn(c->head, " ") + 1;
		reason += strspn(reason, "0123456789 ");
		fprintf(stderr, "cairnctl: %s: HTTP %ld: %.*s", c->what, status,
			(int)strcspn(reason, "\r\n"), reason);
	} else {
		fprintf(stderr, "cairnctl: %s: HTTP %ld: %s", c->what, status, error);
	}
	details = json_object_get(reply, "details");
	for (size_t i = 0; i < json_array_size(details); i++) {
		const json_t *detail = json_array_get(details, i);
		char *text = json_is_string(detail) ? strdup(json_string_value(detail)) :
			json_dumps(detail, JSON_COMPACT | JSON_ENCODE_ANY);
		if (text)
			fprintf(stderr, "%s%s", i ? "; " : ": ", text);
		free(text);
	}
	fputc('\n', stderr);
	json_decref(reply);
	return false;
}

static int write_out(const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			poll(&(struct pollfd){ .fd = STDOUT_FILENO, .events = POLLOUT }, 1, -1);
			continue;
		}
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Everything the node has for now, to stdout: recv until CURLE_AGAIN, so that no bytes
 * stay decrypted inside TLS while poll() sees nothing on the socket. 0: nothing more for
 * now; 1: the node closed the connection; -1: failed (printed). */
static int drain(struct console *c)
{
	char buf[RELAY_CHUNK];

	for (;;) {
		size_t got = 0;
		CURLcode code = curl_easy_recv(c->easy, buf, sizeof buf, &got);
		if (code == CURLE_AGAIN)
			return 0;
		if (code != CURLE_OK) {   /* a reset, a TLS error: not the node closing */
			console_error(c, "connection lost: %s%s%s", curl_easy_strerror(code),
				      c->errbuf[0] ? ": " : "", c->errbuf);
			return -1;
		}
		if (got == 0)
			return 1;
		if (write_out(buf, got) < 0) {
			console_error(c, "stdout: %s", strerror(errno));
			return -1;
		}
	}
}

/* Sends what it can of the pending input. 0, or -1 (printed). */
static int send_pending(struct console *c)
{
	while (c->pending_len > 0) {
		size_t sent = 0;
		CURLcode code = curl_easy_send(c->easy, c->pending, c->pending_len, &sent);
		if (code == CURLE_AGAIN)
			return 0;
		if (code != CURLE_OK) {
			console_error(c, "connection lost: %s", curl_easy_strerror(code));
			return -1;
		}
		memmove(c->pending, c->pending + sent, c->pending_len - sent);
		c->pending_len -= sent;
	}
	return 0;
}

/* Queues LEN bytes of input (at most half the pending buffer: an escape may double one);
 * on a terminal, applies the escape. 1: detach. */
static int take_input(struct console *c, const unsigned char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (c->after_escape) {
			c->after_escape = false;
			if (data[i] == DETACH_KEY)
				return 1;
			if (data[i] != c->escape)       /* escape, key: both go to the VM */
				c->pending[c->pending_len++] = (char)c->escape;
		} else if (c->tty && c->escape >= 0 && data[i] == c->escape) {
			c->after_escape = true;
			continue;
		}
		c->pending[c->pending_len++] = (char)data[i];
	}
	return 0;
}

/* The session after the 101: until the node closes, a detach, --timeout or a signal. The
 * signals are blocked but inside ppoll() (with UNBLOCKED). */
static enum console_end relay(struct console *c, const sigset_t *unblocked)
{
	long long deadline = c->session_ms ? now_ms() + c->session_ms : 0;
	bool stdin_open = true;
	int rc;

	if (c->head_len > c->head_end &&
	    write_out(c->head + c->head_end, c->head_len - c->head_end) < 0) {
		console_error(c, "stdout: %s", strerror(errno));
		return END_FAILED;
	}
	if ((rc = drain(c)) != 0)
		return rc > 0 ? END_CLOSED : END_FAILED;
	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = c->sock, .events = POLLIN | (c->pending_len ? POLLOUT : 0) },
			{ .fd = stdin_open && !c->pending_len ? STDIN_FILENO : -1, .events = POLLIN },
		};
		struct timespec wait, *timeout = NULL;
		int n;

		if (caught_signal)
			return END_SIGNAL;
		if (deadline) {
			long long left = deadline - now_ms();
			if (left <= 0)
				return END_TIMEOUT;
			wait = (struct timespec){ left / 1000, (left % 1000) * 1000000 };
			timeout = &wait;
		}
		n = ppoll(fds, 2, timeout, unblocked);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			console_error(c, "poll: %s", strerror(errno));
			return END_FAILED;
		}
		if (fds[0].revents && (rc = drain(c)) != 0)
			return rc > 0 ? END_CLOSED : END_FAILED;
		if (fds[1].revents) {
			unsigned char input[RELAY_CHUNK / 2];
			ssize_t got = read(STDIN_FILENO, input, sizeof input);
			if (got > 0 && take_input(c, input, (size_t)got))
				return END_DETACHED;
			if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
				stdin_open = false;   /* the end of the input: keep printing */
		}
		if (c->pending_len > 0 && send_pending(c) < 0)
			return END_FAILED;
	}
}

/* The signals that end a session, and the terminal, as they were before it. */
struct console_saved {
	sigset_t mask;
	struct sigaction interrupt, terminate, hangup, pipe;
	struct termios termios;
	bool raw;
};

static void session_begin(struct console *c, struct console_saved *saved)
{
	struct sigaction action = { .sa_handler = on_signal }, ignore = { .sa_handler = SIG_IGN };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &saved->mask);
	sigemptyset(&action.sa_mask);   /* no SA_RESTART: ppoll() returns EINTR */
	sigaction(SIGINT, &action, &saved->interrupt);
	sigaction(SIGTERM, &action, &saved->terminate);
	sigaction(SIGHUP, &action, &saved->hangup);
	sigaction(SIGPIPE, &ignore, &saved->pipe);   /* a closed stdout is an error, not death */
	saved->raw = false;
	if (c->tty && tcgetattr(STDIN_FILENO, &saved->termios) == 0) {
		struct termios raw = saved->termios;
		cfmakeraw(&raw);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		saved->raw = tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
		terminal_raw = saved->raw && isatty(STDERR_FILENO);
	}
}

static void session_end(struct console_saved *saved)
{
	if (saved->raw)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved->termios);
	terminal_raw = false;
	sigaction(SIGINT, &saved->interrupt, NULL);
	sigaction(SIGTERM, &saved->terminate, NULL);
	sigaction(SIGHUP, &saved->hangup, NULL);
	sigaction(SIGPIPE, &saved->pipe, NULL);
	sigprocmask(SIG_SETMASK, &saved->mask, NULL);   /* a caught signal is delivered here */
}

/* Connects, asks for the upgrade and runs the session. An exit code. */
static int console_run(struct console *c, const struct net_target *target,
		       const struct net_options *options, const char *name)
{
	const char *host = target->nodes[0].url + strlen("https://");
	long long deadline;
	struct console_saved saved;
	enum console_end end;
	char *request = NULL, key[16];
	long status;

	if (console_connect(c, target, options) < 0)
		return CTL_EXIT_FAIL;
	if (asprintf(&request, "GET /v1/vms/%s/console HTTP/1.1\r\nHost: %s\r\n"
		     "User-Agent: %s\r\nConnection: Upgrade\r\nUpgrade: cairn-console\r\n\r\n",
		     name, host, NET_USER_AGENT) < 0) {
		console_error(c, "out of memory");
		return CTL_EXIT_FAIL;
	}
	deadline = now_ms() + options->timeout_ms;
	status = send_all(c, request, strlen(request), deadline) < 0 ? -1 : read_head(c, deadline);
	free(request);
	if (status < 0)
		return CTL_EXIT_FAIL;
	if (status != 101)
		return report_refusal(c, status, deadline) ? CONSOLE_AGAIN : CTL_EXIT_FAIL;
	c->tty = isatty(STDIN_FILENO);
	if (c->tty) {
		escape_name(c->escape, key, sizeof key);
		if (c->escape >= 0)
			fprintf(stderr, "cairnctl: %s: connected; %s then q detaches\n", c->what, key);
		else
			fprintf(stderr, "cairnctl: %s: connected; no escape key (--escape none)\n",
				c->what);
	}
	session_begin(c, &saved);
	end = relay(c, &saved.mask);
	if (c->tty && end != END_FAILED)
		fputs("\r\n", stderr);   /* the VM's last line may be unfinished */
	session_end(&saved);
	if (c->tty && end == END_DETACHED)
		fprintf(stderr, "cairnctl: %s: detached\n", c->what);
	else if (c->tty && end == END_CLOSED)
		fprintf(stderr, "cairnctl: %s: the node closed the console\n", c->what);
	if (end == END_SIGNAL) {   /* the default action of a signal caught while blocked */
		signal(caught_signal, SIG_DFL);
		raise(caught_signal);
	}
	return end == END_FAILED ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

int ctl_cmd_vm_console(struct ctl_globals *globals, int argc, char **argv)
{
	enum { OPT_TIMEOUT = 1, OPT_ESCAPE };
	static const struct option long_options[] = {
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "escape", required_argument, NULL, OPT_ESCAPE },
		NET_LONG_OPTIONS, CTL_GLOBAL_LONG_OPTIONS, { 0 },
	};
	static const char cmd[] = "vm console";
	struct net_options options;
	struct net_target target;
	struct console *c;
	long session_ms = 0;
	int escape = ESCAPE_DEFAULT, opt, rc;
	const char *name;

	net_options_init(&options);
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS, long_options,
				  NULL)) != -1) {
		if (opt == OPT_TIMEOUT) {
			if ((session_ms = net_parse_duration(optarg)) <= 0)
				return ctl_usage_error(cmd, "--timeout: '%s' is not a duration (like "
						       "500ms, 30s, 5m)", optarg);
		} else if (opt == OPT_ESCAPE) {
			if ((escape = parse_escape(optarg)) == -2)
				return ctl_usage_error(cmd, "--escape: '%s' is not one character, "
						       "^X or none", optarg);
		} else if ((rc = net_option(globals, &options, opt, optarg, argv)) != CTL_EXIT_OK) {
			return rc == CTL_DONE ? CTL_EXIT_OK : rc;
		}
	}
	if (argc - optind != 1)
		return ctl_usage_error(cmd, "expected one NAME");
	name = argv[optind];
	if (!vm_name_valid(name))
		return ctl_usage_error(cmd, "'%s' is not a VM name (lower-case letters, digits, "
				       "'-', '.')", name);
	if (globals->nodes && globals->nodes[0] && globals->nodes[1])
		return ctl_usage_error(cmd, "-n: a console talks to one node, not several");
	if ((rc = net_target_open(&target, globals, &options, cmd)) != CTL_EXIT_OK)
		return rc;
	c = calloc(1, sizeof *c);
	if (!c || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(c);
		net_target_close(&target);
		ctl_error(cmd, "out of memory");
		return CTL_EXIT_FAIL;
	}
	snprintf(c->what, sizeof c->what, "%s: vm console %s", target.nodes[0].name, name);
	c->request_timeout_ms = options.timeout_ms;
	c->session_ms = session_ms;
	c->escape = escape;
	c->sock = CURL_SOCKET_BAD;
	fflush(stdout);
	/* a VM that is starting has no console yet: wait for it (--timeout, or START_WAIT_MS) */
	long long give_up = now_ms() + (session_ms > 0 ? session_ms : START_WAIT_MS);
	while ((rc = console_run(c, &target, &options, name)) == CONSOLE_AGAIN) {
		curl_easy_cleanup(c->easy);
		c->easy = NULL;
		c->sock = CURL_SOCKET_BAD;
		c->head_len = c->head_end = 0;
		if (now_ms() >= give_up) {
			fprintf(stderr, "cairnctl: %s: the VM is still starting after %lld s\n", c->what,
				(session_ms > 0 ? session_ms : START_WAIT_MS) / 1000);
			rc = CTL_EXIT_FAIL;
			break;
		}
		if (!c->waited)
			fprintf(stderr, "cairnctl: %s: the VM is starting; waiting for its console\n",
				c->what);
		c->waited = true;
		nanosleep(&(struct timespec){ 0, START_POLL_MS * 1000000L }, NULL);
	}
	curl_easy_cleanup(c->easy);
	curl_global_cleanup();
	free(c);
	net_target_close(&target);
	return rc;
}
