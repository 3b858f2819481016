/* test_ctl_retry.c - cairnctl's retry of a connection that the node closed before the request
 * was sent, run as the real (ASan) binary CAIRNCTL_HOST against the test's own TLS server on
 * 127.0.0.1 (GnuTLS, with the identity of a node made by `cairnctl gen config`). Each test
 * gives the server a plan, one letter per connection it accepts:
 *   F: reads the ClientHello, then closes (mid-handshake);
 *   R: resets the connection (SO_LINGER 0) as soon as it is accepted;
 *   A: completes the handshake, reads the whole request, then closes without a reply;
 *   S: completes the handshake, reads the whole request, answers 200 with JSON.
 * Connections beyond the plan are served like the last letter. The server writes one line
 * per connection to the file "conns" ("F", "R", "A POST /v1/config", ...), so a test sees
 * how many connections cairnctl made and which requests arrived whole. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "yaml_json.h"

#ifndef CAIRNCTL_HOST
#error "CAIRNCTL_HOST: the path of the cairnctl binary under test"
#endif

static char out_text[1 << 16], err_text[1 << 16], conns_text[1 << 14];
static char cairnconfig[600], address[64];
static int listener = -1;
static pid_t server_pid;

/* ---- helpers ---- */

#define ARGV_MAX 32

/* Runs cairnctl with the NULL-terminated arguments in the temporary folder; returns its exit
 * status, with its stdout and stderr in out_text and err_text. */
static int run(const char *arg, ...)
{
	const char *argv[ARGV_MAX];
	int argc = 1, status;
	va_list ap;
	pid_t pid;

	argv[0] = CAIRNCTL_HOST;
	va_start(ap, arg);
	for (const char *a = arg; a && argc < ARGV_MAX - 1; a = va_arg(ap, const char *))
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int out = open(test_path(".stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(test_path(".stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out < 0 || err < 0 || chdir(test_dir()) < 0)
			_exit(127);
		close(listener);
		setenv("ASAN_OPTIONS", "detect_leaks=1:exitcode=99", 1);
		setenv("LSAN_OPTIONS", "exitcode=99", 1);
		setenv("UBSAN_OPTIONS", "print_stacktrace=1:exitcode=99", 1);
		setenv("CAIRNCONFIG", cairnconfig, 1);
		unsetenv("https_proxy");
		unsetenv("HTTPS_PROXY");
		dup2(out, 1);
		dup2(err, 2);
		execv(CAIRNCTL_HOST, (char **)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	file_read_into(test_path(".stdout"), out_text, sizeof out_text);
	file_read_into(test_path(".stderr"), err_text, sizeof err_text);
	if (!WIFEXITED(status))
		fail_msg("cairnctl died (signal %d)\nstderr: %s", WTERMSIG(status), err_text);
	if (WEXITSTATUS(status) == 99)
		fail_msg("sanitizer finding:\n%s", err_text);
	return WEXITSTATUS(status);
}

static void expect_in(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, haystack);
}

static void expect_not_in(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle))
		fail_msg("did not expect \"%s\" in:\n%s", needle, haystack);
}

/* ---- the server ---- */

static char *identity_pem(const json_t *config, const char *key)
{
	const char *pem = json_string_value(json_object_get(json_object_get(json_object_get(
		config, "spec"), "identity"), key));

	return pem ? strdup(pem) : NULL;
}

static ssize_t tls_read(gnutls_session_t session, char *buf, size_t size)
{
	ssize_t n;

	do
		n = gnutls_record_recv(session, buf, size);
	while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	return n;
}

static void tls_write(gnutls_session_t session, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = gnutls_record_send(session, data, len);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n < 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

/* Reads a whole request (head and Content-Length body); fills LINE with "METHOD PATH".
 * 0, or -1 when the connection ended first. */
static int read_request(gnutls_session_t session, char *line, size_t line_size)
{
	static char buf[1 << 21];
	size_t len = 0, body = 0;
	char *end = NULL, *length;

	while (!end || len < (size_t)(end + 4 - buf) + body) {
		ssize_t n = tls_read(session, buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			length = strcasestr(buf, "\r\nContent-Length:");
			if (length && length < end)
				body = strtoul(length + 17, NULL, 10);
		}
	}
	snprintf(line, line_size, "%.*s", (int)strcspn(buf, "\r\n"), buf);
	if (strstr(line, " HTTP/"))
		*strstr(line, " HTTP/") = '\0';
	return 0;
}

static int read_exactly(int fd, char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = read(fd, buf, len);
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void serve(gnutls_certificate_credentials_t credentials, int fd, char what, FILE *log)
{
	static const char body[] = "{\"mode\":\"auto\",\"changes\":[],\"effective\":\"now\","
		"\"version\":\"0.1.0\",\"api\":\"v1\"}";
	char reply[512];
	gnutls_session_t session;
	char head[64], line[128] = "";
	int rc;

	if (what == 'R') {
		struct linger now = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
		fprintf(log, "R\n");
		return;
	}
	if (what == 'F') {
		/* the whole first record (the ClientHello), so that close() sends FIN, not RST */
		size_t record = 0;
		if (read_exactly(fd, head, 5) == 0) {
			record = (size_t)(unsigned char)head[3] << 8 | (unsigned char)head[4];
			while (record > 0 && read_exactly(fd, head, 1) == 0)
				record--;
		}
		fprintf(log, "F\n");
		return;
	}
	gnutls_init(&session, GNUTLS_SERVER);
	gnutls_priority_set_direct(session, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL);
	gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, credentials);
	gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST);
	gnutls_transport_set_int(session, fd);
	do
		rc = gnutls_handshake(session);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0) {
		fprintf(log, "%c handshake failed: %s\n", what, gnutls_strerror(rc));
	} else if (read_request(session, line, sizeof line) < 0) {
		fprintf(log, "%c no whole request\n", what);
	} else {
		fprintf(log, "%c %s\n", what, line);
		if (what == 'S') {
			snprintf(reply, sizeof reply, "HTTP/1.1 200 OK\r\nContent-Type: "
				 "application/json\r\nContent-Length: %zu\r\n\r\n%s",
				 strlen(body), body);
			tls_write(session, reply, strlen(reply));
			gnutls_bye(session, GNUTLS_SHUT_WR);
		}
	}
	gnutls_deinit(session);
}

/* Starts the server (a child process) on the listener with PLAN. */
static void start_server(const char *plan)
{
	char err[YAML_JSON_ERROR_MAX], text[1 << 16];
	json_t *config = NULL;
	size_t len = file_read_into(test_path("lab/n1.yaml"), text, sizeof text);

	assert_int_equal(yaml_to_json("n1.yaml", text, len, &config, NULL, err), 0);
	unlink(test_path("conns"));
	server_pid = fork();
	assert_true(server_pid >= 0);
	if (server_pid == 0) {
		gnutls_certificate_credentials_t credentials;
		char *cert = identity_pem(config, "cert"), *key = identity_pem(config, "key");
		gnutls_datum_t cert_d = { (unsigned char *)cert, (unsigned)strlen(cert) };
		gnutls_datum_t key_d = { (unsigned char *)key, (unsigned)strlen(key) };
		FILE *log = fopen(test_path("conns"), "w");
		signal(SIGPIPE, SIG_IGN);
		gnutls_certificate_allocate_credentials(&credentials);
		if (!log || gnutls_certificate_set_x509_key_mem(credentials, &cert_d, &key_d,
								GNUTLS_X509_FMT_PEM) < 0)
			_exit(2);
		for (size_t i = 0;; i++) {
			int fd = accept(listener, NULL, NULL);
			if (fd < 0)
				continue;
			serve(credentials, fd, plan[i < strlen(plan) ? i : strlen(plan) - 1], log);
			fflush(log);
			close(fd);
		}
	}
	json_decref(config);
}

/* Stops the server; its log of connections is then in conns_text. */
static void stop_server(void)
{
	kill(server_pid, SIGKILL);
	waitpid(server_pid, NULL, 0);
	file_read_into(test_path("conns"), conns_text, sizeof conns_text);
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* ---- tests ---- */

/* Closed mid-handshake, then reset: the apply goes out on the third connection, once. */
static void test_apply_retried_after_closes(void **state)
{
	int rc;

	(void)state;
	start_server("FRS");
	rc = run("apply-config", "--insecure", "-n", address, "-f", "lab/n1.yaml", NULL);
	stop_server();
	if (rc != 0)
		fail_msg("cairnctl exit %d\nstdout: %s\nstderr: %s", rc, out_text, err_text);
	expect_in(out_text, "applied, mode auto: 0 changes");
	expect_in(err_text, "connection closed before the request was sent; retrying (2/5)\n");
	expect_in(err_text, "connection closed before the request was sent; retrying (3/5)\n");
	expect_not_in(err_text, "(4/5)");
	assert_string_equal(conns_text, "F\nR\nS POST /v1/config?mode=auto\n");
}

/* The same for a secure GET (mutual TLS with the cairnconfig's credentials). */
static void test_secure_get_retried(void **state)
{
	int rc;

	(void)state;
	start_server("FS");
	rc = run("version", NULL);
	stop_server();
	if (rc != 0)
		fail_msg("cairnctl exit %d\nstdout: %s\nstderr: %s", rc, out_text, err_text);
	expect_in(out_text, "n1     0.1.0     v1");
	expect_in(err_text, "cairnctl: n1: connection closed before the request was sent; "
		  "retrying (2/5)\n");
	assert_string_equal(conns_text, "F\nS GET /v1/version\n");
}

/* A node that closes after the request arrived whole is not asked again: the apply may have
 * run. */
static void test_closed_after_request_not_retried(void **state)
{
	int rc;

	(void)state;
	start_server("AS");
	rc = run("apply-config", "--insecure", "-n", address, "-f", "lab/n1.yaml", NULL);
	stop_server();
	assert_int_equal(rc, 1);
	expect_not_in(err_text, "retrying");
	expect_not_in(out_text, "applied");
	expect_in(err_text, "cairnctl: n1: ");
	assert_string_equal(conns_text, "A POST /v1/config?mode=auto\n");
}

/* A node that keeps closing: 5 attempts in all, then the handshake's failure; --retries 0
 * makes one attempt, --retries 2 three. */
static void test_retries_bounded(void **state)
{
	(void)state;
	start_server("F");
	assert_int_equal(run("apply-config", "--insecure", "-n", address, "-f", "lab/n1.yaml",
			     NULL), 1);
	stop_server();
	expect_in(err_text, "retrying (5/5)\n");
	expect_not_in(err_text, "(6/");
	expect_in(err_text, "TLS handshake failed: ");
	expect_in(err_text, "(5 attempts)\n");
	assert_int_equal(count_lines(conns_text), 5);

	start_server("F");
	assert_int_equal(run("get", "hostname", "--retries", "0", NULL), 1);
	stop_server();
	expect_not_in(err_text, "retrying");
	expect_in(err_text, "cairnctl: n1: TLS handshake failed: ");
	assert_string_equal(conns_text, "F\n");

	start_server("R");
	assert_int_equal(run("get", "hostname", "--retries", "2", NULL), 1);
	stop_server();
	expect_in(err_text, "retrying (3/3)\n");
	assert_int_equal(count_lines(conns_text), 3);
}

/* ---- set-up: a cluster whose node n1 is the test's server ---- */

static int group_setup(void **state)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof addr;
	char nodes[128];

	(void)state;
	if (test_dir_make("test-ctl-retry") < 0)
		return -1;
	listener = socket(AF_INET, SOCK_STREAM, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 ||
	    getsockname(listener, (struct sockaddr *)&addr, &len) < 0 || listen(listener, 16) < 0)
		return -1;
	snprintf(address, sizeof address, "127.0.0.1:%d", ntohs(addr.sin_port));
	snprintf(nodes, sizeof nodes, "n1=%s", address);
	snprintf(cairnconfig, sizeof cairnconfig, "%s", test_path("lab/cairnconfig"));
	if (run("gen", "config", "lab", "--nodes", nodes, "--out", "lab", NULL) != 0) {
		fprintf(stderr, "gen config failed: %s", err_text);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	close(listener);
	test_dir_remove();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_retried_after_closes),
		cmocka_unit_test(test_secure_get_retried),
		cmocka_unit_test(test_closed_after_request_not_retried),
		cmocka_unit_test(test_retries_bounded),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
