/* test_ctl_vm.c - cairnctl's vm commands (`get vms`, `vm start|stop|restart`, `vm monitor`,
 * `vm console`), run as the real (ASan) binary CAIRNCTL_HOST on 127.0.0.1:
 * - against the real cairnd (CAIRND_HOST, --no-controllers, secure mode after an
 *   apply-config --insecure): the usage errors, and one clear line per command whether or
 *   not the node has the VM endpoints yet (404 "no such endpoint", or the node's VM errors);
 * - `vm console` against a small mTLS server in this file (GnuTLS, the node certificate of
 *   `gen config`) that speaks the contract's upgrade (services/api is another engineer's):
 *   the request head, 101 with console bytes in the same TLS record, both directions with
 *   piped stdin, the output after stdin's end until the server closes, 256 KiB each way, a
 *   409 refusal, and a terminal (a pty): raw mode, the escape, detach, restored on SIGTERM;
 * - end to end, when the test guest (GUEST_DIR/vmlinuz, initramfs.img) and QEMU are there:
 *   cairnd with its VM controller and init --host (INIT_HOST) run a VirtualMachine, and
 *   `vm console` reaches the guest's serial port through cairnd's relay (the guest echoes
 *   what it gets), `vm monitor` queries it, `vm stop` ends the console session.
 * Every cairnctl run must exit normally (a sanitizer finding exits 99). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "yaml_json.h"

#ifndef CAIRNCTL_HOST
#error "CAIRNCTL_HOST: the path of the cairnctl binary under test"
#endif
#ifndef CAIRND_HOST
#define CAIRND_HOST "build/cairnd-host"
#endif
#ifndef INIT_HOST_DEFAULT
#define INIT_HOST_DEFAULT "build/init-host"
#endif
#ifndef GUEST_DIR
#define GUEST_DIR "out/guest"
#endif
#define QEMU "/usr/bin/qemu-system-x86_64"

#define BULK_SIZE (256 * 1024)

static char out_text[1 << 20], err_text[1 << 16];
static int cairnd_port, fake_port;
static pid_t fake_pid, init_pid;
static struct cairnd cairnd;
static char cairnconfig[600];

/* ---- helpers ---- */

static void write_bytes(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void child_environment(void)
{
	setenv("ASAN_OPTIONS", "detect_leaks=1:exitcode=99", 1);
	setenv("LSAN_OPTIONS", "exitcode=99", 1);
	setenv("UBSAN_OPTIONS", "print_stacktrace=1:exitcode=99", 1);
	setenv("CAIRNCONFIG", cairnconfig, 1);
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
}

/* The files of a run's stdout and stderr: TAG.stdout, TAG.stderr. */
static char *output_path(const char *tag, const char *stream)
{
	char name[64];

	snprintf(name, sizeof name, "%s.%s", tag, stream);
	return test_path(name);
}

/* Starts cairnctl with ARGV in the temporary folder: stdin from STDIN_FILE (NULL:
 * /dev/null), or from the terminal TTY when TTY >= 0; stdout and stderr to the files of TAG
 * ("" for the usual ones; runs at the same time need their own). */
static pid_t spawn_tagged(const char **argv, const char *stdin_file, int tty, const char *tag)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int out = open(output_path(tag, "stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(output_path(tag, "stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int in = tty >= 0 ? tty : open(stdin_file ? test_path(stdin_file) : "/dev/null",
					       O_RDONLY);
		if (out < 0 || err < 0 || in < 0 || chdir(test_dir()) < 0)
			_exit(127);
		if (tty >= 0) {
			setsid();
			ioctl(tty, TIOCSCTTY, 0);
		}
		child_environment();
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execv(CAIRNCTL_HOST, (char **)argv);
		_exit(127);
	}
	return pid;
}

#define spawn(argv, stdin_file, tty) spawn_tagged(argv, stdin_file, tty, "")

/* Waits for the run PID of TAG; its output into out_text and err_text; its exit code. */
static int collect_tagged(pid_t pid, const char *tag)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	file_read_into(output_path(tag, "stdout"), out_text, sizeof out_text);
	file_read_into(output_path(tag, "stderr"), err_text, sizeof err_text);
	if (!WIFEXITED(status))
		fail_msg("cairnctl died (signal %d)\nstderr: %s", WTERMSIG(status), err_text);
	if (WEXITSTATUS(status) == 99)
		fail_msg("sanitizer finding:\n%s", err_text);
	return WEXITSTATUS(status);
}

#define collect(pid) collect_tagged(pid, "")
#define ARGV_MAX 32

static void build_argv(const char **argv, const char *arg, va_list ap)
{
	int argc = 1;

	argv[0] = CAIRNCTL_HOST;
	for (const char *a = arg; a && argc < ARGV_MAX - 1; a = va_arg(ap, const char *))
		argv[argc++] = a;
	argv[argc] = NULL;
}

/* Runs cairnctl with the NULL-terminated arguments, stdin from STDIN_FILE (NULL: none). */
static int run_with(const char *stdin_file, const char *arg, ...)
{
	const char *argv[ARGV_MAX];
	va_list ap;

	va_start(ap, arg);
	build_argv(argv, arg, ap);
	va_end(ap);
	return collect(spawn(argv, stdin_file, -1));
}

#define run(...) run_with(NULL, __VA_ARGS__)

static void expect_ok(int rc)
{
	if (rc != 0)
		fail_msg("cairnctl exit %d\nstdout: %s\nstderr: %s", rc, out_text, err_text);
}

static void expect_in(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("expected '%s' in:\n%s", needle, haystack);
}

static int count_lines(const char *text)
{
	int lines = 0;

	for (; *text; text++)
		lines += *text == '\n';
	return lines;
}

/* ---- cairnd ---- */

/* cairnd for node n1; WITH_VM: its VM controller too (else --no-controllers). */
static void start_cairnd(bool with_vm)
{
	const char *vm[] = { "--controllers", "vm", "--vm-state", test_path("vms"), NULL },
		   *none[] = { "--no-controllers", NULL };

	cairnd.port = cairnd_port;
	cairnd.kmsg = "/dev/kmsg";
	cairnd_start(&cairnd, "state", "cairnd.log", with_vm ? vm : none);
}

/* ---- the console server: the contract's upgrade over mTLS, one connection at a time ----
 * GET /v1/vms/NAME/console with the upgrade headers; NAME chooses the behaviour:
 *   echo:    101 and a banner in the same record, then every byte back upper-cased;
 *   late:    101, waits for a line, then (0.5 s later) "late: LINE" and closes;
 *   bulk:    101, every byte back as it is; closes after BULK_SIZE bytes;
 *   burst:   101, then one full TLS record (16 KiB) and silence: bytes a short read leaves
 *            inside TLS must still come out, though the socket shows nothing more;
 *   tty:     101 and a banner; keeps what arrives;
 *   reset:   101 and a banner, then a TCP reset (no TLS close);
 *   stopped: 409 {"error": ...}.
 * Everything a connection's client sent after the head goes to the file "received". */

static char *context_pem(const json_t *config, const char *key)
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

static int tls_write(gnutls_session_t session, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = gnutls_record_send(session, data, len);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static void reply_json(gnutls_session_t session, int status, const char *reason,
		       const char *body)
{
	char head[512];

	snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n\r\n%s", status, reason, strlen(body), body);
	tls_write(session, head, strlen(head));
}

static void serve_upgraded(gnutls_session_t session, const char *name, FILE *received)
{
	char buf[16384], line[256] = "";
	size_t total = 0, line_len = 0;
	ssize_t n;

	if (strcmp(name, "echo") == 0 || strcmp(name, "tty") == 0 || strcmp(name, "reset") == 0) {
		char first[256];
		snprintf(first, sizeof first, "HTTP/1.1 101 Switching Protocols\r\n"
			 "Connection: Upgrade\r\nUpgrade: cairn-console\r\n\r\n%s console\r\n", name);
		tls_write(session, first, strlen(first));   /* one record: head and bytes */
	} else {
		const char *head = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
				   "Upgrade: cairn-console\r\n\r\n";
		tls_write(session, head, strlen(head));
	}
	if (strcmp(name, "reset") == 0) {
		struct linger now = { .l_onoff = 1, .l_linger = 0 };
		sleep_ms(200);
		setsockopt(gnutls_transport_get_int(session), SOL_SOCKET, SO_LINGER, &now,
			   sizeof now);
		return;   /* the caller's close() sends RST */
	}
	if (strcmp(name, "burst") == 0) {
		for (size_t i = 0; i < sizeof buf; i++)
			buf[i] = (char)('a' + i % 26);
		tls_write(session, buf, sizeof buf);   /* 16384: one record */
	}
	while ((n = tls_read(session, buf, sizeof buf)) > 0) {
		fwrite(buf, 1, (size_t)n, received);
		fflush(received);
		total += (size_t)n;
		if (strcmp(name, "echo") == 0) {
			for (ssize_t i = 0; i < n; i++)
				buf[i] = (char)toupper((unsigned char)buf[i]);
			tls_write(session, buf, (size_t)n);
		} else if (strcmp(name, "bulk") == 0) {
			tls_write(session, buf, (size_t)n);
			if (total >= BULK_SIZE)
				break;
		} else if (strcmp(name, "late") == 0) {
			size_t take = (size_t)n < sizeof line - 1 - line_len ? (size_t)n :
				sizeof line - 1 - line_len;
			memcpy(line + line_len, buf, take);
			line_len += take;
			line[line_len] = '\0';
			if (strchr(line, '\n')) {
				char reply[300];
				sleep_ms(500);
				snprintf(reply, sizeof reply, "late: %s", line);
				tls_write(session, reply, strlen(reply));
				break;
			}
		}
	}
	gnutls_bye(session, GNUTLS_SHUT_WR);
}

static void serve_connection(gnutls_certificate_credentials_t credentials, int fd)
{
	gnutls_session_t session;
	char head[8192], name[64] = "";
	size_t len = 0;
	unsigned verify = 1;
	FILE *received = fopen(test_path("received"), "w");
	int rc;

	gnutls_init(&session, GNUTLS_SERVER);
	gnutls_priority_set_direct(session, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL);
	gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, credentials);
	gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
	gnutls_transport_set_int(session, fd);
	do
		rc = gnutls_handshake(session);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0)
		goto out;
	if (gnutls_certificate_verify_peers2(session, &verify) < 0 || verify != 0) {
		reply_json(session, 401, "Unauthorized", "{\"error\":\"client certificate\"}");
		goto out;
	}
	while (!memmem(head, len, "\r\n\r\n", 4) && len < sizeof head - 1) {
		ssize_t n = tls_read(session, head + len, sizeof head - 1 - len);
		if (n <= 0)
			goto out;
		len += (size_t)n;
		head[len] = '\0';
	}
	if (sscanf(head, "GET /v1/vms/%63[^/ ]/console HTTP/1.1\r\n", name) != 1) {
		reply_json(session, 404, "Not Found", "{\"error\":\"no such endpoint\"}");
	} else if (!strcasestr(head, "\r\nConnection: Upgrade\r\n") ||
		   !strcasestr(head, "\r\nUpgrade: cairn-console\r\n") ||
		   !strcasestr(head, "\r\nHost: 127.0.0.1:")) {
		reply_json(session, 400, "Bad Request", "{\"error\":\"upgrade headers missing\"}");
	} else if (strcmp(name, "stopped") == 0) {
		reply_json(session, 409, "Conflict", "{\"error\":\"VM stopped is not running\","
			   "\"details\":[\"state: shutdown\"]}");
	} else {
		serve_upgraded(session, name, received);
	}
out:
	if (received)
		fclose(received);
	gnutls_deinit(session);
	close(fd);
}

static void start_fake_server(void)
{
	char err[YAML_JSON_ERROR_MAX], text[1 << 16];
	json_t *config = NULL;
	size_t len = file_read_into(test_path("lab/fake.yaml"), text, sizeof text);
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)fake_port),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	assert_int_equal(yaml_to_json("fake.yaml", text, len, &config, NULL, err), 0);
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	assert_int_equal(bind(listener, (struct sockaddr *)&addr, sizeof addr), 0);
	assert_int_equal(listen(listener, 8), 0);
	fake_pid = fork();
	assert_true(fake_pid >= 0);
	if (fake_pid == 0) {
		gnutls_certificate_credentials_t credentials;
		char *ca = context_pem(config, "ca"), *cert = context_pem(config, "cert");
		char *key = context_pem(config, "key");
		gnutls_datum_t ca_d = { (unsigned char *)ca, (unsigned)strlen(ca) };
		gnutls_datum_t cert_d = { (unsigned char *)cert, (unsigned)strlen(cert) };
		gnutls_datum_t key_d = { (unsigned char *)key, (unsigned)strlen(key) };
		signal(SIGPIPE, SIG_IGN);
		gnutls_certificate_allocate_credentials(&credentials);
		if (gnutls_certificate_set_x509_trust_mem(credentials, &ca_d, GNUTLS_X509_FMT_PEM) < 1 ||
		    gnutls_certificate_set_x509_key_mem(credentials, &cert_d, &key_d,
							GNUTLS_X509_FMT_PEM) < 0)
			_exit(2);
		for (;;) {
			int fd = accept(listener, NULL, NULL);
			if (fd >= 0)
				serve_connection(credentials, fd);
		}
	}
	close(listener);
	json_decref(config);
}

/* ---- set-up: a cluster of n1 (the real cairnd) and fake (the console server) ---- */

static int group_setup(void **state)
{
	char nodes[128];

	(void)state;
	if (test_dir_make("test-ctl-vm") < 0)
		return -1;
	cairnd_port = port_free();
	do
		fake_port = port_free();
	while (fake_port == cairnd_port);
	snprintf(nodes, sizeof nodes, "n1=127.0.0.1:%d,fake=127.0.0.1:%d", cairnd_port,
		 fake_port);
	snprintf(cairnconfig, sizeof cairnconfig, "%s", test_path("lab/cairnconfig"));
	if (run("gen", "config", "lab", "--nodes", nodes, "--out", "lab", NULL) != 0) {
		fprintf(stderr, "gen config failed: %s", err_text);
		return -1;
	}
	start_cairnd(false);
	if (run("apply-config", "--insecure", "-n", "n1", "-f", "lab/n1.yaml", NULL) != 0) {
		fprintf(stderr, "apply-config failed: %s", err_text);
		return -1;
	}
	for (int i = 0; i < 100 && run("health", "-n", "n1", NULL) != 0; i++)
		sleep_ms(50);
	start_fake_server();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	child_stop(&cairnd.pid, 3000);
	child_stop(&fake_pid, 3000);
	child_stop(&init_pid, 3000);
	test_dir_remove();
	return 0;
}

/* ---- the tests ---- */

static void test_usage_errors(void **state)
{
	(void)state;
	assert_int_equal(run("vm", NULL), 2);
	expect_in(err_text, "cairnctl: vm: what to do? start, stop, restart, monitor or console");
	assert_int_equal(run("vm", "explode", "web-1", NULL), 2);
	expect_in(err_text, "cairnctl: vm: unknown action 'explode'");
	assert_int_equal(run("vm", "start", NULL), 2);
	expect_in(err_text, "cairnctl: vm start: expected one NAME");
	assert_int_equal(run("vm", "stop", "Web_1", NULL), 2);
	expect_in(err_text, "cairnctl: vm stop: 'Web_1' is not a VM name");
	assert_int_equal(run("vm", "restart", "../x", NULL), 2);
	assert_int_equal(run("vm", "start", "a", "b", NULL), 2);
	assert_int_equal(run("vm", "monitor", "web-1", NULL), 2);
	expect_in(err_text, "cairnctl: vm monitor: expected NAME and COMMAND");
	assert_int_equal(run("vm", "monitor", "web-1", "query status", NULL), 2);
	expect_in(err_text, "is not a QMP command");
	assert_int_equal(run("vm", "console", NULL), 2);
	assert_int_equal(run("vm", "console", "web-1", "-n", "n1,fake", NULL), 2);
	assert_string_equal(err_text, "cairnctl: vm console: -n: a console talks to one node, "
				      "not several (see 'cairnctl help vm console')\n");
	assert_int_equal(run("vm", "console", "web-1", "--timeout", "soon", NULL), 2);
	expect_in(err_text, "--timeout: 'soon' is not a duration");
	assert_int_equal(run("vm", "console", "web-1", "--escape", "ab", NULL), 2);
	expect_in(err_text, "--escape: 'ab' is not one character, ^X or none");
	assert_int_equal(run("vm", "console", "web-1", "--bogus", NULL), 2);
	/* help */
	expect_ok(run("help", "vm", NULL));
	expect_in(out_text, "usage: cairnctl vm start NAME");
	expect_in(out_text, "usage: cairnctl vm console NAME [--timeout DURATION] [--escape CHAR]");
	expect_ok(run("vm", "console", "-h", NULL));
	expect_in(out_text, "Ctrl-] then q detaches");
	expect_ok(run("vm", "--help", NULL));
	expect_in(out_text, "usage: cairnctl vm monitor NAME COMMAND");
	expect_ok(run("help", NULL));
	expect_in(out_text, "  vm console ");
}

/* Whether the node has the VM endpoints (engineer E's): else the reply is a 404 of the
 * router, which must come out as one line. */
static bool vm_endpoints(void)
{
	int rc = run("vm", "start", "nosuchvm", NULL);

	assert_int_not_equal(rc, 0);
	assert_int_equal(count_lines(err_text), 1);
	if (strstr(err_text, "HTTP 404: no such endpoint")) {
		fprintf(stderr, "test_ctl_vm: the node has no VM endpoints yet: %s", err_text);
		return false;
	}
	return true;
}

static void test_against_cairnd(void **state)
{
	bool present = vm_endpoints();

	(void)state;
	/* vm start|stop|restart: one line naming the node and the node's reason (a 404 of the
	 * router, or with the endpoints and --no-controllers E's 503 / a 404 for the VM) */
	assert_int_equal(run("vm", "stop", "nosuchvm", "-n", "n1", NULL), 1);
	expect_in(err_text, present ? "cairnctl: n1: HTTP " : "cairnctl: n1: HTTP 404: ");
	assert_int_equal(count_lines(err_text), 1);
	assert_string_equal(out_text, "");
	/* vm monitor: the same; the body is {"execute": ...} */
	assert_int_equal(run("vm", "monitor", "nosuchvm", "query-status", NULL), 1);
	expect_in(err_text, present ? "cairnctl: n1: HTTP " : "cairnctl: n1: HTTP 404: ");
	assert_null(strstr(err_text, "HTTP 400"));   /* the body was understood */
	assert_int_equal(count_lines(err_text), 1);
	/* vm console: the node's JSON error, in the console's words */
	assert_int_equal(run("vm", "console", "nosuchvm", "--timeout", "2s", NULL), 1);
	expect_in(err_text, "cairnctl: n1: vm console nosuchvm: HTTP ");
	assert_null(strstr(err_text, "HTTP 400"));   /* the upgrade headers were accepted */
	assert_int_equal(count_lines(err_text), 1);
	assert_string_equal(out_text, "");
	if (!present) {
		assert_string_equal(err_text, "cairnctl: n1: vm console nosuchvm: HTTP 404: no such "
					      "endpoint\n");
		/* get vms: the node does not know the kind yet */
		assert_int_equal(run("get", "vms", NULL), 1);
		expect_in(err_text, "cairnctl: n1: HTTP 404");
		return;
	}
	fprintf(stderr, "test_ctl_vm: vm console from cairnd: %s", err_text);
	/* no VMs here, so get vms is the header alone (or the kind is not published without
	 * the controllers) */
	if (run("get", "vms", NULL) == 0)
		assert_string_equal(out_text, "NODE   NAME   STATE   QMP_STATUS   ACCEL   CPUS   "
					      "MEMORY_MIB   PID   UPTIME_S   RESTARTS   LAST_EXIT   ERROR\n");
	else
		expect_in(err_text, "cairnctl: n1: HTTP 404");
}

static void test_console_refused_and_down(void **state)
{
	(void)state;
	assert_int_equal(run("vm", "console", "stopped", "-n", "fake", NULL), 1);
	assert_string_equal(err_text, "cairnctl: fake: vm console stopped: HTTP 409: VM stopped "
				      "is not running: state: shutdown\n");
	/* nothing listens: the retries of every command, then one line */
	char address[32];
	snprintf(address, sizeof address, "127.0.0.1:%d", port_free());
	assert_int_equal(run("vm", "console", "x", "-n", address, "--retries", "1", NULL), 1);
	char wanted[160];
	snprintf(wanted, sizeof wanted, "cairnctl: %s: vm console x: cannot connect: Connection "
		 "refused (2 attempts)\n", address);
	assert_string_equal(err_text, wanted);
	/* the TLS set-up of every command: a name the node's certificate does not list */
	snprintf(address, sizeof address, "localhost:%d", fake_port);
	assert_int_equal(run("vm", "console", "echo", "-n", address, NULL), 1);
	expect_in(err_text, "vm console echo: TLS: the node's certificate is not valid for this "
			    "address");
	assert_int_equal(count_lines(err_text), 1);
}

static void test_console_piped(void **state)
{
	long long start;
	char received[256];

	(void)state;
	/* both ways: the banner that came with the 101, then the echo of stdin */
	write_bytes(test_path("hello.txt"), "hello\nworld\n", 12);
	start = now_ms();
	expect_ok(run_with("hello.txt", "vm", "console", "echo", "-n", "fake", "--timeout",
			   "1500ms", NULL));
	assert_true(now_ms() - start >= 1400);
	assert_string_equal(out_text, "echo console\r\nHELLO\nWORLD\n");
	assert_string_equal(err_text, "");   /* no hint, no escape: stdin is not a terminal */
	file_read_into(test_path("received"), received, sizeof received);
	assert_string_equal(received, "hello\nworld\n");
	/* after stdin's end the output still comes, until the node closes (before --timeout) */
	write_bytes(test_path("ping.txt"), "ping\n", 5);
	start = now_ms();
	expect_ok(run_with("ping.txt", "vm", "console", "late", "-n", "fake", "--timeout", "20s",
			   NULL));
	assert_true(now_ms() - start < 10000);
	assert_string_equal(out_text, "late: ping\n");
	/* a connection reset is no clean end: one line, exit 1, after what came before */
	assert_int_equal(run("vm", "console", "reset", "-n", "fake", "--timeout", "20s", NULL), 1);
	assert_string_equal(out_text, "reset console\r\n");
	expect_in(err_text, "cairnctl: fake: vm console reset: connection lost: ");
	assert_int_equal(count_lines(err_text), 1);
	/* no --timeout and a node that stays: SIGINT ends it, as the signal does */
	const char *argv[] = { CAIRNCTL_HOST, "vm", "console", "echo", "-n", "fake", NULL };
	int status;
	pid_t pid = spawn(argv, NULL, -1);
	sleep_ms(1000);
	kill(pid, SIGINT);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGINT);
	/* the escape byte is data when stdin is not a terminal */
	write_bytes(test_path("escape.txt"), "a\x1dq\n", 4);
	expect_ok(run_with("escape.txt", "vm", "console", "late", "-n", "fake", "--timeout", "20s",
			   NULL));
	assert_string_equal(out_text, "late: a\x1dq\n");
}

static void test_console_bulk(void **state)
{
	char *data = malloc(BULK_SIZE);
	size_t len;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < BULK_SIZE; i++)
		data[i] = (char)((i * 7 + i / 1000) & 0xff);
	write_bytes(test_path("bulk.bin"), data, BULK_SIZE);
	expect_ok(run_with("bulk.bin", "vm", "console", "bulk", "-n", "fake", "--timeout", "30s",
			   NULL));
	len = file_read_into(output_path("", "stdout"), out_text, sizeof out_text);
	assert_int_equal(len, BULK_SIZE);
	assert_memory_equal(out_text, data, BULK_SIZE);
	/* one record, then the node is quiet and stays connected: all of it by --timeout */
	expect_ok(run("vm", "console", "burst", "-n", "fake", "--timeout", "1s", NULL));
	assert_int_equal(strlen(out_text), 16384);
	for (size_t i = 0; i < 16384; i++)
		if (out_text[i] != (char)('a' + i % 26))
			fail_msg("burst byte %zu is '%c'", i, out_text[i]);
	free(data);
}

/* ---- a terminal on stdin ---- */

static bool is_raw(int tty)
{
	struct termios t;

	return tcgetattr(tty, &t) == 0 && !(t.c_lflag & (ICANON | ECHO | ISIG));
}

static bool is_cooked(int tty)
{
	struct termios t;

	return tcgetattr(tty, &t) == 0 && (t.c_lflag & ICANON) && (t.c_lflag & ECHO) &&
		(t.c_lflag & ISIG);
}

/* Starts `vm console tty -n fake` on a new pty; waits until it made the terminal raw. */
static pid_t start_on_pty(int *master, int *slave)
{
	const char *argv[] = { CAIRNCTL_HOST, "vm", "console", "tty", "-n", "fake", NULL };
	pid_t pid;

	assert_int_equal(openpty(master, slave, NULL, NULL, NULL), 0);
	assert_true(is_cooked(*slave));
	pid = spawn(argv, NULL, *slave);
	for (int i = 0; i < 500 && !is_raw(*slave); i++)
		sleep_ms(10);
	assert_true(is_raw(*slave));
	return pid;
}

/* Waits until the server has received WANT (LEN bytes). */
static void wait_received(const char *want, size_t len)
{
	char received[256];
	size_t got = 0;

	for (int i = 0; i < 300; i++) {
		got = file_read_into(test_path("received"), received, sizeof received);
		if (got == len && memcmp(received, want, len) == 0)
			return;
		sleep_ms(10);
	}
	fail_msg("the server received %zu bytes '%s', not '%s'", got, received, want);
}

static void test_console_terminal(void **state)
{
	int master, slave, status;
	pid_t pid;

	(void)state;
	pid = start_on_pty(&master, &slave);
	/* keys go as they are typed, Ctrl-C included; the escape twice sends one */
	assert_int_equal(write(master, "ab\x03", 3), 3);
	wait_received("ab\x03", 3);
	assert_int_equal(write(master, "\x1d\x1d" "c\x1dx", 5), 5);
	wait_received("ab\x03\x1d" "c\x1dx", 7);
	/* escape, q: detach, the terminal as it was */
	assert_int_equal(write(master, "\x1dq", 2), 2);
	assert_int_equal(collect(pid), 0);
	expect_in(err_text, "cairnctl: fake: vm console tty: connected; Ctrl-] then q detaches\n");
	expect_in(err_text, "cairnctl: fake: vm console tty: detached\n");
	assert_true(is_cooked(slave));
	wait_received("ab\x03\x1d" "c\x1dx", 7);
	close(master);
	close(slave);
	/* SIGTERM: the terminal is restored, then the signal ends cairnctl */
	pid = start_on_pty(&master, &slave);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	assert_true(is_cooked(slave));
	close(master);
	close(slave);
}


/* ---- end to end: a VM run by cairnd's controller and init --host ---- */

static void start_init(void)
{
	mkdir(test_path("run/services"), 0755);
	init_pid = init_start("run", "run/services");
}

static void test_console_end_to_end(void **state)
{
	char config[1 << 16], vm[1024];
	size_t len;
	bool echoed = false;
	long long start;

	(void)state;
	if (access(GUEST_DIR "/vmlinuz", R_OK) < 0 || access(GUEST_DIR "/initramfs.img", R_OK) < 0 ||
	    access(QEMU, X_OK) < 0) {
		fprintf(stderr, "test_ctl_vm: end to end skipped: no %s/vmlinuz, initramfs.img "
			"or %s\n", GUEST_DIR, QEMU);
		skip();
	}
	if (!vm_endpoints()) {
		fprintf(stderr, "test_ctl_vm: end to end skipped: cairnd has no VM endpoints\n");
		skip();
	}
	start_init();
	child_stop(&cairnd.pid, 3000);
	start_cairnd(true);
	len = file_read_into(test_path("lab/n1.yaml"), config, sizeof config);
	snprintf(vm, sizeof vm, "---\napiVersion: cairn.dev/v1alpha1\nkind: VirtualMachine\n"
		 "metadata:\n  name: web-1\nspec:\n  node: n1\n  memory: 128Mi\n  boot:\n"
		 "    kernel: %s/vmlinuz\n    initrd: %s/initramfs.img\n"
		 "    cmdline: \"console=ttyS0 panic=-1 cairn.guest.hostname=web-1\"\n",
		 GUEST_DIR, GUEST_DIR);
	snprintf(config + len, sizeof config - len, "%s", vm);
	write_bytes(test_path("n1-vm.yaml"), config, strlen(config));
	for (int i = 0; i < 100 && run("health", "-n", "n1", NULL) != 0; i++)
		sleep_ms(50);
	expect_ok(run("apply-config", "-n", "n1", "-f", "n1-vm.yaml", NULL));
	/* QEMU runs: the monitor answers */
	for (int i = 0; i < 150; i++) {
		if (run("vm", "monitor", "web-1", "query-status", NULL) == 0)
			break;
		sleep_ms(200);
	}
	expect_ok(run("vm", "monitor", "web-1", "query-status", NULL));
	expect_in(out_text, "\"status\": \"running\"");
	/* get vms: the VM's row (it answers QMP, so the controller has published it running) */
	expect_ok(run("get", "vms", NULL));
	expect_in(out_text, "\nn1     web-1   running   running      ");
	expect_in(out_text, "   1      128          ");
	assert_int_equal(run("vm", "monitor", "web-1", "quit", NULL), 1);
	expect_in(err_text, "cairnctl: n1: HTTP 400: quit is not a read-only monitor command");
	/* both ways through cairnd's relay: the line comes back once the guest is up (its
	 * tty's echo, and guest-init's "echo LINE" with its state) */
	write_bytes(test_path("ping.txt"), "cairnctl-ping\n", 14);
	for (int i = 0; i < 30 && !echoed; i++) {
		expect_ok(run_with("ping.txt", "vm", "console", "web-1", "--timeout", "2s", NULL));
		echoed = strstr(out_text, "cairnctl-ping") != NULL;
	}
	if (!echoed)
		fail_msg("the guest never echoed; last output:\n%s", out_text);
	/* vm stop while a console is attached: the node closes it, well before --timeout */
	const char *argv[] = { CAIRNCTL_HOST, "vm", "console", "web-1", "--timeout", "60s", NULL };
	start = now_ms();
	pid_t console = spawn_tagged(argv, NULL, -1, "console");
	sleep_ms(1000);
	expect_ok(run("vm", "stop", "web-1", NULL));
	assert_string_equal(out_text, "NODE   VM      ACTION\nn1     web-1   stop\n");
	expect_ok(collect_tagged(console, "console"));
	assert_true(now_ms() - start < 40000);
	/* stopped: the console is refused with the node's reason */
	for (int i = 0; i < 100 && run("vm", "monitor", "web-1", "query-status", NULL) == 0; i++)
		sleep_ms(100);
	assert_int_equal(run("vm", "console", "web-1", NULL), 1);
	expect_in(err_text, "cairnctl: n1: vm console web-1: HTTP 409: ");
	assert_int_equal(count_lines(err_text), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_against_cairnd),
		cmocka_unit_test(test_console_refused_and_down),
		cmocka_unit_test(test_console_piped),
		cmocka_unit_test(test_console_bulk),
		cmocka_unit_test(test_console_terminal),
		cmocka_unit_test(test_console_end_to_end),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
