/* test_api.c - cairnd: the pure pieces (routes, roles, apply options, listen address, store,
 * control replies) directly, then the real $(BUILD)/cairnd-host over HTTPS with curl and
 * certificates made by certtool: maintenance mode, mutual TLS and roles, apply (errors,
 * dry run, store), the service list and a reboot through the real init --host. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <poll.h>

#include "harness.h"
#include "server.h"

#ifndef CAIRND_HOST
#define CAIRND_HOST "build/cairnd-host"
#endif
#ifndef INIT_HOST_DEFAULT
#define INIT_HOST_DEFAULT "build/init-host"
#endif

static int port;
static pid_t init_pid;
static struct cairnd cairnd;   /* cairnd-host, on PORT */

/* --- certificates ------------------------------------------------------------------- */

/* --- configs ------------------------------------------------------------------------ */

/* A valid MachineConfig with the test identity, written to FILE. */
static void write_config(const char *file, const char *hostname, const char *server)
{
	char cert[64], key[64];

	static char text[16384];

	snprintf(text, sizeof text, "apiVersion: cairn.dev/v1alpha1\nkind: MachineConfig\n"
		 "metadata:\n  name: node-1\nspec:\n  hostname: %s\n  role: controlplane\n"
		 "  identity:\n", hostname);
	pem_append(text, sizeof text, "ca", "ca.pem");
	snprintf(cert, sizeof cert, "%s.pem", server);
	snprintf(key, sizeof key, "%s.key", server);
	pem_append(text, sizeof text, "cert", cert);
	pem_append(text, sizeof text, "key", key);
	file_put(test_path(file), text);
}

/* --- curl --------------------------------------------------------------------------- */

static void expect(int status, const char *method, const char *url, const char *client,
		   const char *data_file, const char *extra)
{
	int got = https(port, method, url, client, data_file, extra);
	if (got != status) {
		char *err = file_text(test_path("curl.err"), NULL), message[1024];
		snprintf(message, sizeof message, "%s", err ? err : "");
		free(err);
		fail_msg("%s %s as %s: HTTP %d, expected %d\nbody: %s\ncurl: %s", method, url,
			 client ? client : "(none)", got, status, https_body(), message);
	}
}

/* --- raw connections: exact bytes, trickles --------------------------------------------- */

struct raw {
	int fd;
	gnutls_session_t tls;                 /* NULL: plain TCP */
	gnutls_certificate_credentials_t creds;
};

/* Connects to cairnd: plain TCP (TLS false), or TLS 1.3 with the client certificate CLIENT
 * (NULL: none; the server is not verified). 0, or -1. */
static int raw_open(struct raw *raw, bool tls, const char *client)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int rc;

	memset(raw, 0, sizeof *raw);
	raw->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (raw->fd < 0 || connect(raw->fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		return -1;
	if (!tls)
		return 0;
	gnutls_certificate_allocate_credentials(&raw->creds);
	if (client) {
		char cert[512], key[512];
		snprintf(cert, sizeof cert, "%s/%s.pem", test_dir(), client);
		snprintf(key, sizeof key, "%s/%s.key", test_dir(), client);
		if (gnutls_certificate_set_x509_key_file(raw->creds, cert, key, GNUTLS_X509_FMT_PEM) < 0)
			return -1;
	}
	gnutls_init(&raw->tls, GNUTLS_CLIENT);
	gnutls_priority_set_direct(raw->tls, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL);
	gnutls_credentials_set(raw->tls, GNUTLS_CRD_CERTIFICATE, raw->creds);
	gnutls_transport_set_int(raw->tls, raw->fd);
	gnutls_handshake_set_timeout(raw->tls, 10000);
	do
		rc = gnutls_handshake(raw->tls);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	return rc < 0 ? -1 : 0;
}

static void raw_close(struct raw *raw)
{
	if (raw->tls)
		gnutls_deinit(raw->tls);
	if (raw->creds)
		gnutls_certificate_free_credentials(raw->creds);
	if (raw->fd >= 0)
		close(raw->fd);
	memset(raw, 0, sizeof *raw);
	raw->fd = -1;
}

/* 0, or -1 (the server closed the connection). */
static int raw_send(struct raw *raw, const char *data, size_t len)
{
	if (raw->tls)
		return gnutls_record_send(raw->tls, data, len) == (ssize_t)len ? 0 : -1;
	return send(raw->fd, data, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* Reads what arrives within TIMEOUT_MS into BUF (NUL-terminated). The byte count, 0 when the
 * server closed the connection, -1 when nothing came in time. */
static int raw_recv(struct raw *raw, char *buf, size_t size, int timeout_ms)
{
	struct pollfd fd = { .fd = raw->fd, .events = POLLIN };
	ssize_t n;

	buf[0] = '\0';
	if (!(raw->tls && gnutls_record_check_pending(raw->tls)) && poll(&fd, 1, timeout_ms) <= 0)
		return -1;
	if (raw->tls) {
		do
			n = gnutls_record_recv(raw->tls, buf, size - 1);
		while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	} else {
		n = recv(raw->fd, buf, size - 1, 0);
	}
	if (n < 0)
		return 0;   /* a reset or a TLS error: closed all the same */
	buf[n] = '\0';
	return (int)n;
}

/* Sends REQUEST on a new TLS connection as CLIENT and returns the reply's status (0: none),
 * its text in BUF. */
static int raw_request(const char *client, const char *request, char *buf, size_t size)
{
	struct raw raw;
	int status = 0, n, len = 0;

	buf[0] = '\0';
	if (raw_open(&raw, true, client) == 0 && raw_send(&raw, request, strlen(request)) == 0)
		while ((size_t)len < size - 1 && (n = raw_recv(&raw, buf + len, size - (size_t)len, 10000)) > 0)
			len += n;
	raw_close(&raw);
	sscanf(buf, "HTTP/1.%*d %d", &status);
	return status;
}

/* --- processes ---------------------------------------------------------------------- */

/* cairnd's state folder, log file, and kernel command line file (NULL: none) for the next
 * start_cairnd(); the config-source tests change them. */
static const char *cairnd_state = "state", *cairnd_log = "cairnd.log", *cairnd_cmdline;

static void start_cairnd(void)
{
	const char *extra[] = { "--no-controllers", NULL };

	cairnd.port = port;
	cairnd.cmdline = cairnd_cmdline;
	cairnd_start(&cairnd, cairnd_state, cairnd_log, extra);
}

/* Stops cairnd with SIGTERM: it must exit 0 (and ASan must find no leak). */
static int stop_cairnd(void)
{
	return cairnd_stop(&cairnd);
}

/* curl in the background, its output into OUT (in the test folder): for streams. */
static pid_t curl_background(const char *url, const char *client, const char *out)
{
	char target[512], cacert[512], cert[512], key[512];
	pid_t pid;

	snprintf(target, sizeof target, "https://127.0.0.1:%d%s", port, url);
	snprintf(cacert, sizeof cacert, "%s/ca.pem", test_dir());
	snprintf(cert, sizeof cert, "%s/%s.pem", test_dir(), client);
	snprintf(key, sizeof key, "%s/%s.key", test_dir(), client);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(test_path(out), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(test_path("curl-background.err"), O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 1);
		dup2(err, 2);
		execlp("curl", "curl", "-sSN", "--max-time", "20", "--cacert", cacert, "--cert", cert,
		       "--key", key, target, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void curl_background_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static void start_init(void)
{
	mkdir(test_path("svc"), 0755);
	file_put(test_path("svc/sleeper.service"), "command = /bin/sleep 1000\n");
	/* burst: once DIR/go exists, 12000 numbered lines of ~110 bytes: a log rotation */
	char burst[1024];
	snprintf(burst, sizeof burst, "command = /bin/sh -c 'echo waiting; while [ ! -e %s/go ]; do sleep 0.1; done; "
		 "awk \"BEGIN { for (i = 0; i < 12000; i++) printf \\\"tick %%d %%0100d\\\\n\\\", i, 0 }\"; "
		 "exec sleep 1000'\n", test_dir());
	file_put(test_path("svc/burst.service"), burst);
	file_put(test_path("svc/talker.service"),
		   "command = /bin/sh -c 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done'\n");
	init_pid = init_start("run", "svc");
}

static void http_stop(void);

static int group_setup(void **state)
{
	(void)state;
	if (test_dir_make("test-api") < 0)
		return -1;
	cert_ca("ca");
	cert_make("server", "ca", "cn = \"node-1\"\nip_address = \"127.0.0.1\"\n"
		  "expiration_days = 2\ntls_www_server\nsigning_key\n");
	cert_client("reader", "ca", "cairn:reader");
	cert_client("operator", "ca", "cairn:operator");
	cert_client("admin", "ca", "cairn:admin");
	cert_client("node", "ca", "cairn:node");
	cert_client("norole", "ca", "example:nobody");
	cert_ca("otherca");
	cert_client("intruder", "otherca", "cairn:admin");
	cert_make("server2", "ca", "cn = \"node-1-rotated\"\nip_address = \"127.0.0.1\"\n"
		  "expiration_days = 2\ntls_www_server\nsigning_key\n");
	write_config("config1.yaml", "node-1", "server");
	write_config("config2.yaml", "node-2", "server");
	write_config("config3.yaml", "node-2", "server2");
	port = port_free();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	stop_cairnd();
	http_stop();
	if (init_pid > 0) {
		kill(init_pid, SIGKILL);
		waitpid(init_pid, NULL, 0);
	}
	test_dir_remove();
	return 0;
}

/* --- pure pieces -------------------------------------------------------------------- */

static void test_routes(void **state)
{
	unsigned status = 0;
	const struct api_route *route;

	(void)state;
	route = route_find("GET", "/v1/version", &status);
	assert_non_null(route);
	assert_int_equal(route->role, ROLE_READER);
	route = route_find("POST", "/v1/config", &status);
	assert_non_null(route);
	assert_int_equal(route->role, ROLE_ADMIN);
	assert_true(route->maintenance);
	route = route_find("GET", "/v1/config", &status);
	assert_false(route->maintenance);
	assert_int_equal(route_find("POST", "/v1/reboot", &status)->role, ROLE_OPERATOR);
	assert_int_equal(route_find("POST", "/v1/shutdown", &status)->role, ROLE_OPERATOR);
	assert_null(route_find("DELETE", "/v1/config", &status));
	assert_int_equal(status, 405);
	assert_null(route_find("GET", "/v1/nothing", &status));
	assert_int_equal(status, 404);
	assert_null(route_find("GET", "/v1/version/", &status));
	assert_int_equal(status, 404);
	/* only apply-config works in maintenance mode */
	for (route = api_routes; route->method; route++)
		assert_int_equal(route->maintenance, strcmp(route->path, "/v1/config") == 0 &&
							     strcmp(route->method, "POST") == 0);
}

static void test_roles(void **state)
{
	(void)state;
	assert_int_equal(role_from_organization("cairn:admin", 11), ROLE_ADMIN);
	assert_int_equal(role_from_organization("cairn:operator", 14), ROLE_OPERATOR);
	assert_int_equal(role_from_organization("cairn:reader", 12), ROLE_READER);
	assert_int_equal(role_from_organization("cairn:node", 10), ROLE_NODE);
	assert_int_equal(role_from_organization("cairn:admin2", 12), ROLE_NONE);
	assert_int_equal(role_from_organization("cairn:admi", 10), ROLE_NONE);
	assert_int_equal(role_from_organization("Cairn:Admin", 11), ROLE_NONE);
	assert_int_equal(role_from_organization("", 0), ROLE_NONE);
	assert_true(ROLE_ADMIN > ROLE_OPERATOR && ROLE_OPERATOR > ROLE_READER &&
		    ROLE_READER > ROLE_NONE);
	assert_string_equal(role_name(ROLE_OPERATOR), "operator");
}

static void test_apply_options(void **state)
{
	struct apply_options options;
	const char *error = NULL;

	(void)state;
	assert_int_equal(apply_options_parse(NULL, NULL, &options, &error), 0);
	assert_int_equal(options.mode, APPLY_AUTO);
	assert_false(options.dry_run);
	assert_int_equal(apply_options_parse("try", "1", &options, &error), 0);
	assert_int_equal(options.mode, APPLY_TRY);
	assert_true(options.dry_run);
	assert_int_equal(apply_options_parse("no-reboot", "", &options, &error), 0);
	assert_int_equal(options.mode, APPLY_NO_REBOOT);
	assert_true(options.dry_run);
	assert_int_equal(apply_options_parse("staged", "false", &options, &error), 0);
	assert_false(options.dry_run);
	assert_int_equal(apply_options_parse("reboots", NULL, &options, &error), -1);
	assert_non_null(strstr(error, "mode"));
	assert_int_equal(apply_options_parse(NULL, "yes", &options, &error), -1);
	assert_non_null(strstr(error, "dry_run"));
	assert_string_equal(apply_mode_name(APPLY_NO_REBOOT), "no-reboot");
}

static void test_listen(void **state)
{
	struct sockaddr_storage addr;

	(void)state;
	assert_int_equal(server_parse_listen("0.0.0.0:50000", &addr), 0);
	assert_int_equal(addr.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&addr)->sin_port), 50000);
	assert_int_equal(server_parse_listen("[::1]:443", &addr), 0);
	assert_int_equal(addr.ss_family, AF_INET6);
	assert_int_equal(server_parse_listen("::1:443", &addr), -1);
	assert_int_equal(server_parse_listen("127.0.0.1", &addr), -1);
	assert_int_equal(server_parse_listen("127.0.0.1:0", &addr), -1);
	assert_int_equal(server_parse_listen("127.0.0.1:65536", &addr), -1);
	assert_int_equal(server_parse_listen("127.0.0.1:+80", &addr), -1);
	assert_int_equal(server_parse_listen("host:80", &addr), -1);
}

static void test_store(void **state)
{
	const char *what = NULL;
	char *text, store[600];
	size_t len;
	struct stat st;

	(void)state;
	snprintf(store, sizeof store, "%s/store", test_dir());
	assert_int_equal(mkdir(store, 0700), 0);
	assert_int_equal(store_read(store, &text, &len), 0);
	assert_int_equal(store_write(store, "one\n", 4, &what), 0);
	assert_int_equal(store_read(store, &text, &len), 1);
	assert_int_equal(len, 4);
	assert_string_equal(text, "one\n");
	free(text);
	assert_int_equal(stat(test_path("store/config.yaml.prev"), &st), -1);
	assert_int_equal(store_write(store, "two\n", 4, &what), 0);
	text = file_text(test_path("store/config.yaml.prev"), NULL);
	assert_string_equal(text, "one\n");
	free(text);
	assert_int_equal(store_write(store, "three\n", 6, &what), 0);
	text = file_text(test_path("store/config.yaml.prev"), NULL);
	assert_string_equal(text, "two\n");
	free(text);
	text = file_text(test_path("store/config.yaml"), NULL);
	assert_string_equal(text, "three\n");
	free(text);
	assert_int_equal(stat(test_path("store/config.yaml"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* no temp file is left behind */
	shell("test $(ls -A %s/store | wc -l) -eq 2", test_dir());
	/* a missing folder fails and says where */
	assert_int_equal(store_write(test_path("missing"), "x", 1, &what), -1);
	assert_string_equal(what, "create temp file");
}

static void test_initctl_reply(void **state)
{
	json_t *lines = NULL, *services;
	char *error = NULL;

	(void)state;
	assert_int_equal(initctl_parse_reply("ok 0\n", 5, &lines, &error), 1);
	assert_int_equal(json_array_size(lines), 0);
	json_decref(lines);
	assert_int_equal(initctl_parse_reply("ok 2\na 1\n", 9, &lines, &error), 0);
	assert_int_equal(initctl_parse_reply("ok", 2, &lines, &error), 0);
	assert_int_equal(initctl_parse_reply("error no such service: x\n", 25, &lines, &error), -2);
	assert_string_equal(error, "no such service: x");
	free(error);
	assert_int_equal(initctl_parse_reply("ok x\n", 5, &lines, &error), -1);
	free(error);
	assert_int_equal(initctl_parse_reply("hello\n", 6, &lines, &error), -1);
	free(error);
	const char *list = "ok 2\nweb running 42 0\nold stopped - 3\n";
	assert_int_equal(initctl_parse_reply(list, strlen(list), &lines, &error), 1);
	services = initctl_services_json(lines);
	json_decref(lines);
	assert_non_null(services);
	char *dump = json_dumps(services, JSON_COMPACT);
	assert_string_equal(dump, "[{\"name\":\"web\",\"state\":\"running\",\"pid\":42,\"restarts\":0},"
				  "{\"name\":\"old\",\"state\":\"stopped\",\"pid\":null,\"restarts\":3}]");
	free(dump);
	json_decref(services);
	lines = json_pack("[s]", "web running");
	assert_null(initctl_services_json(lines));
	json_decref(lines);
	/* an unreachable socket is an error that names it */
	assert_int_equal(initctl_request(test_path("nothing.sock"), "list", &lines, &error), -1);
	assert_non_null(strstr(error, "nothing.sock"));
	free(error);
}

static void test_args(void **state)
{
	long long ms = 0;
	long count = 0;
	bool flag = false;
	char buf[128];
	const char *error = NULL;
	struct apply_options options;

	(void)state;
	assert_int_equal(duration_parse("30s", &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(duration_parse("2m", &ms), 0);
	assert_int_equal(ms, 120000);
	assert_int_equal(duration_parse("1500ms", &ms), 0);
	assert_int_equal(ms, 1500);
	assert_int_equal(duration_parse("1h", &ms), 0);
	assert_int_equal(ms, 3600000);
	assert_int_equal(duration_parse("", &ms), -1);
	assert_int_equal(duration_parse("s", &ms), -1);
	assert_int_equal(duration_parse("-1s", &ms), -1);
	assert_int_equal(duration_parse("10", &ms), -1);
	assert_int_equal(duration_parse("10 s", &ms), -1);
	assert_int_equal(duration_parse("99999999999999999999s", &ms), -1);
	duration_format(30000, buf, sizeof buf);
	assert_string_equal(buf, "30s");
	duration_format(120000, buf, sizeof buf);
	assert_string_equal(buf, "2m");
	duration_format(1500, buf, sizeof buf);
	assert_string_equal(buf, "1500ms");
	assert_int_equal(apply_options_parse("try", NULL, &options, &error), 0);
	assert_int_equal(options.try_timeout_ms, 60000);
	assert_int_equal(apply_options_parse_timeout("2s", &options, &error), 0);
	assert_int_equal(options.try_timeout_ms, 2000);
	assert_int_equal(apply_options_parse_timeout("500ms", &options, &error), -1);
	assert_int_equal(apply_options_parse_timeout("25h", &options, &error), -1);
	assert_int_equal(apply_options_parse("auto", NULL, &options, &error), 0);
	assert_int_equal(apply_options_parse_timeout("2s", &options, &error), -1);
	assert_non_null(strstr(error, "mode=try"));
	assert_int_equal(flag_parse(NULL, &flag), 0);
	assert_false(flag);
	assert_int_equal(flag_parse("", &flag), 0);
	assert_true(flag);
	assert_int_equal(flag_parse("yes", &flag), -1);
	assert_int_equal(count_parse(NULL, 0, 10, 7, &count), 0);
	assert_int_equal(count, 7);
	assert_int_equal(count_parse("10", 0, 10, 7, &count), 0);
	assert_int_equal(count_parse("11", 0, 10, 7, &count), -1);
	assert_int_equal(count_parse("+1", 0, 10, 7, &count), -1);
	assert_int_equal(count_parse("", 0, 10, 7, &count), -1);
	assert_true(service_name_valid("web@1.x_y-z"));
	assert_false(service_name_valid(""));
	assert_false(service_name_valid(".web"));
	assert_false(service_name_valid("-web"));
	assert_false(service_name_valid("web 1"));
	assert_false(service_name_valid("web\n"));
	assert_false(service_name_valid("a/b"));
	assert_false(service_name_valid("0123456789012345678901234567890123456789012345678901234567890123"));
}

static void test_route_params(void **state)
{
	unsigned status = 0;
	char name[16];

	(void)state;
	assert_non_null(route_find("POST", "/v1/services/web/restart", &status));
	assert_int_equal(route_find("POST", "/v1/services/web/restart", &status)->role, ROLE_OPERATOR);
	assert_null(route_find("POST", "/v1/services//restart", &status));
	assert_int_equal(status, 404);
	assert_null(route_find("POST", "/v1/services/a/b/restart", &status));
	assert_null(route_find("GET", "/v1/services/web/restart", &status));
	assert_int_equal(status, 405);
	assert_int_equal(route_find("GET", "/v1/resources/links", &status)->role, ROLE_READER);
	assert_int_equal(route_find("POST", "/v1/config/confirm", &status)->role, ROLE_ADMIN);
	assert_int_equal(route_param("/v1/services/*/start", "/v1/services/web/start", 0, name,
				     sizeof name), 0);
	assert_string_equal(name, "web");
	assert_int_equal(route_param("/v1/logs/*", "/v1/logs/a-very-long-service-name", 0, name,
				     sizeof name), -1);
	assert_int_equal(route_param("/v1/logs/*", "/v1/dmesg", 0, name, sizeof name), -1);
}

static void test_url_expand(void **state)
{
	char out[64];
	const char *error = NULL;

	(void)state;
	assert_int_equal(url_expand("http://h/${mac}/${uuid}.yaml", "52:54:00:ab:cd:ef", "u-1", out,
				    sizeof out, &error), 0);
	assert_string_equal(out, "http://h/52:54:00:ab:cd:ef/u-1.yaml");
	assert_int_equal(url_expand("http://h/x", NULL, NULL, out, sizeof out, &error), 0);
	assert_string_equal(out, "http://h/x");
	assert_int_equal(url_expand("http://h/${mac}", NULL, "u", out, sizeof out, &error), -1);
	assert_non_null(strstr(error, "${mac}"));
	assert_int_equal(url_expand("http://h/${serial}", "m", "u", out, sizeof out, &error), -1);
	assert_non_null(strstr(error, "unknown variable"));
	assert_int_equal(url_expand("http://h/${mac", "m", "u", out, sizeof out, &error), -1);
	assert_int_equal(url_expand("http://h/$x", "m", "u", out, sizeof out, &error), 0);
	assert_int_equal(url_expand("http://0123456789/0123456789/0123456789/0123456789/${uuid}/${uuid}", "m",
				    "0123456789", out, sizeof out, &error), -1);
}

static void test_kmsg_and_overlap(void **state)
{
	char out[64];
	json_t *tail;

	(void)state;
	assert_int_equal(kmsg_format("6,1,2500000,-;hello", 19, out, sizeof out), 16);
	assert_string_equal(out, "[2.500000] hello");
	assert_true(kmsg_format("6,1,5,-,caller=T1;x", 19, out, sizeof out) > 0);
	assert_string_equal(out, "[0.000005] x");
	assert_int_equal(kmsg_format(" SUBSYSTEM=acpi", 15, out, sizeof out), -1);
	assert_int_equal(kmsg_format("6,1;x", 5, out, sizeof out), -1);
	assert_int_equal(kmsg_format("a,1,2,-;x", 9, out, sizeof out), -1);
	assert_int_equal(kmsg_format("no semicolon", 12, out, sizeof out), -1);
	tail = json_pack("[s,s,s]", "a", "b", "c");
	assert_int_equal(log_overlap(tail, "", 0), 0);
	assert_int_equal(log_overlap(tail, "d\ne\n", 4), 0);
	assert_int_equal(log_overlap(tail, "c\nd\n", 4), 2);
	assert_int_equal(log_overlap(tail, "b\nc\nd\n", 6), 4);
	assert_int_equal(log_overlap(tail, "a\nb\nc\n", 6), 6);
	assert_int_equal(log_overlap(tail, "c", 1), 0);   /* not a whole line */
	json_decref(tail);
}

/* --- the real server ---------------------------------------------------------------- */

static void test_maintenance(void **state)
{
	json_t *body;
	char *stored, *sent;

	(void)state;
	if (cairnd.pid <= 0)
		start_cairnd();
	expect(403, "GET", "/v1/version", "insecure", NULL, NULL);
	body = https_body_json();
	assert_non_null(strstr(json_string_value(json_object_get(body, "error")), "maintenance"));
	json_decref(body);
	expect(403, "GET", "/v1/config", "insecure", NULL, NULL);
	expect(403, "POST", "/v1/reboot", "insecure", NULL, NULL);
	/* TLS 1.3 only */
	expect(0, "GET", "/v1/version", "insecure", NULL, "--tls-max 1.2");
	/* an invalid config is rejected and nothing is stored */
	file_put(test_path("bad.yaml"), "apiVersion: cairn.dev/v1alpha1\nkind: MachineConfig\n"
					"spec:\n  role: worker\n");
	expect(400, "POST", "/v1/config", "insecure", "bad.yaml", NULL);
	assert_non_null(strstr(https_body(), "no .spec.identity"));
	assert_int_equal(access(test_path("state/config.yaml"), F_OK), -1);
	/* dry run in maintenance: the whole config is new, nothing is stored */
	expect(200, "POST", "/v1/config?dry_run=1", "insecure", "config1.yaml", NULL);
	assert_non_null(strstr(https_body(), "+ MachineConfig/node-1"));
	assert_int_equal(access(test_path("state/config.yaml"), F_OK), -1);
	/* apply: stored byte for byte */
	expect(200, "POST", "/v1/config", "insecure", "config1.yaml", NULL);
	body = https_body_json();
	assert_true(json_is_true(json_object_get(body, "applied")));
	json_decref(body);
	stored = file_text(test_path("state/config.yaml"), NULL);
	sent = file_text(test_path("config1.yaml"), NULL);
	assert_non_null(stored);
	assert_string_equal(stored, sent);
	free(stored);
	free(sent);
}

/* After the apply cairnd serves with the config's identity: wait for it. */
static void wait_secure(void)
{
	for (int i = 0; i < 100; i++) {
		if (https(port, "GET", "/v1/health", "admin", NULL, NULL) == 200)
			return;
		sleep_ms(50);
	}
	expect(200, "GET", "/v1/health", "admin", NULL, NULL);
}

static void test_secure_auth(void **state)
{
	json_t *body;

	(void)state;
	wait_secure();
	assert_non_null(strstr(https_body(), "\"mode\":\"secure\""));
	/* no client certificate: 401; the maintenance path is closed */
	expect(401, "GET", "/v1/version", NULL, NULL, NULL);
	body = https_body_json();
	assert_string_equal(json_string_value(json_object_get(body, "error")),
			    "client certificate required");
	json_decref(body);
	expect(401, "POST", "/v1/config", NULL, "config1.yaml", NULL);
	/* a certificate from another CA, even with O=cairn:admin */
	expect(401, "GET", "/v1/version", "intruder", NULL, NULL);
	assert_non_null(strstr(https_body(), "not trusted"));
	expect(401, "POST", "/v1/reboot", "intruder", NULL, NULL);
	/* a trusted certificate with no cairn role */
	expect(403, "GET", "/v1/version", "norole", NULL, NULL);
	/* reader: reads, nothing else */
	expect(200, "GET", "/v1/version", "reader", NULL, NULL);
	body = https_body_json();
	assert_string_equal(json_string_value(json_object_get(body, "version")), API_VERSION);
	json_decref(body);
	expect(200, "GET", "/v1/config", "reader", NULL, NULL);
	body = https_body_json();
	const json_t *identity = json_object_get(
		json_object_get(json_array_get(json_object_get(body, "config"), 0), "spec"), "identity");
	assert_string_equal(json_string_value(json_object_get(identity, "key")), "<redacted>");
	assert_non_null(strstr(json_string_value(json_object_get(identity, "ca")), "BEGIN CERTIFICATE"));
	json_decref(body);
	assert_null(strstr(https_body(), "PRIVATE KEY"));
	expect(403, "POST", "/v1/reboot", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "needs operator"));
	expect(403, "POST", "/v1/config", "reader", "config2.yaml", NULL);
	/* operator: lifecycle, not config */
	expect(403, "POST", "/v1/config", "operator", "config2.yaml", NULL);
	expect(404, "GET", "/v1/nothing", "reader", NULL, NULL);
	expect(405, "DELETE", "/v1/config", "admin", NULL, NULL);
	/* node (another node's certificate): only the node-to-node routes, which operators and
	 * admins may call too; no Volume here (no resource file under /run/cairn/drbd) */
	expect(403, "GET", "/v1/version", "node", NULL, NULL);
	assert_non_null(strstr(https_body(), "role node may not call"));
	expect(403, "POST", "/v1/volumes/data/peer-down", "node", NULL, NULL);
	expect(404, "POST", "/v1/volumes/cairn-test-none/outdate", "node", NULL, NULL);
	assert_non_null(strstr(https_body(), "no Volume with a replica on this node"));
	expect(400, "POST", "/v1/volumes/Data/outdate", "node", NULL, NULL);
	expect(403, "POST", "/v1/volumes/cairn-test-none/outdate", "reader", NULL, NULL);
	expect(404, "POST", "/v1/volumes/cairn-test-none/outdate", "operator", NULL, NULL);
	expect(403, "POST", "/v1/volumes/cairn-test-none/peer-down", "operator", NULL, NULL);
	expect(404, "POST", "/v1/volumes/cairn-test-none/peer-down", "admin", NULL, NULL);
	expect(403, "POST", "/v1/volumes/data/resolve?keep=node-1", "node", NULL, NULL);
	expect(403, "POST", "/v1/volumes/cairn-test-none/resolve?keep=node-1", "operator", NULL, NULL);
	expect(404, "POST", "/v1/volumes/cairn-test-none/resolve?keep=node-1", "admin", NULL, NULL);
	expect(400, "POST", "/v1/volumes/Data/resolve?keep=node-1", "admin", NULL, NULL);
	/* no supervisor yet: the lifecycle call says so */
	expect(503, "POST", "/v1/shutdown", "operator", NULL, NULL);
	assert_non_null(strstr(https_body(), "init.sock"));
}


/* --- the gate: strict parsing, key purpose, caps, deadlines ---------------------------- */

/* Waits up to MS for FILE, past its first FROM bytes, to hold a gate summary line whose
 * count before SUFFIX is not 0. */
static bool wait_for_count(const char *file, size_t from, const char *suffix, int ms)
{
	for (int waited = 0;; waited += 100) {
		char *text = file_text(test_path(file), NULL);
		bool found = false;
		for (char *at = text && strlen(text) > from ? strstr(text + from, suffix) : NULL; at && !found; at = strstr(at + 1, suffix)) {
			char *start = at;
			while (start > text + from && start[-1] >= '0' && start[-1] <= '9')
				start--;
			found = start < at && strtoul(start, NULL, 10) > 0;
		}
		free(text);
		if (found)
			return true;
		if (waited >= ms)
			return false;
		sleep_ms(100);
	}
}

/* Many pending connections from our one address (silent TCP, and TLS handshakes never
 * finished) cannot keep a fast client out: it gets through while they are open, and the
 * server shut most of them down (eviction of pending connections). */
static void flood_then(const char *client, int expect_status, const char *method,
		       const char *url, const char *data_file)
{
	enum { FLOOD = 200 };
	static struct raw flood[FLOOD];
	int closed = 0;

	for (int i = 0; i < FLOOD; i++) {
		assert_int_equal(raw_open(&flood[i], false, NULL), 0);
		if (i % 2)   /* half start a TLS ClientHello and stop: a record header only */
			assert_int_equal(raw_send(&flood[i], "\x16\x03\x01", 3), 0);
	}
	for (int attempt = 0; attempt < 3; attempt++)   /* bounded: no timing asserted */
		if (https(port, method, url, client, data_file, NULL) == expect_status)
			break;
	expect(expect_status, method, url, client, data_file, NULL);
	for (int i = 0; i < FLOOD; i++) {
		char buf[64];
		if (raw_recv(&flood[i], buf, sizeof buf, 0) == 0)
			closed++;
		raw_close(&flood[i]);
	}
	/* at most 32 pending connections per address stay open */
	assert_true(closed >= FLOOD - GATE_PENDING_PER_ADDR - 1);
}

/* Unauthenticated requests past their head are capped (8 per address): 8 bodies that never
 * come hold them all; a request whose body comes at once still gets through (the slowest
 * body gives its place up), and the body-rate watchdog ends the others. */
static void test_maintenance_caps(void **state)
{
	struct raw slow[GATE_UNAUTH_ACTIVE_PER_ADDR];
	char buf[2048];
	const char *head = "POST /v1/config?dry_run=1 HTTP/1.1\r\nHost: node\r\n"
			   "Content-Length: 4000\r\nExpect: 100-continue\r\n\r\n";

	(void)state;
	start_cairnd();
	for (int i = 0; i < GATE_UNAUTH_ACTIVE_PER_ADDR; i++) {
		assert_int_equal(raw_open(&slow[i], true, NULL), 0);
		assert_int_equal(raw_send(&slow[i], head, strlen(head)), 0);
		assert_true(raw_recv(&slow[i], buf, sizeof buf, 10000) > 0);   /* admitted */
		assert_non_null(strstr(buf, "100 Continue"));
	}
	expect(200, "POST", "/v1/config?dry_run=1", "insecure", "config1.yaml", NULL);
	/* the stalled bodies are cut (one for the dry run, the others at 1 KiB/s after 5 s) */
	for (int i = 0; i < GATE_UNAUTH_ACTIVE_PER_ADDR; i++) {
		int n;
		while ((n = raw_recv(&slow[i], buf, sizeof buf, 30000)) > 0)
			;
		assert_int_equal(n, 0);
		raw_close(&slow[i]);
	}
	/* then the dry run of a real client works, also during a flood of pending ones */
	flood_then("insecure", 200, "POST", "/v1/config?dry_run=1", "config1.yaml");
}

/* %00 in the path, in a query value and in a query key: 400, nothing applied */
static void test_strict_nul(void **state)
{
	char *before = file_text(test_path("state/config.yaml"), NULL), *after;

	(void)state;
	expect(400, "GET", "/v1/resources/services%00x", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "NUL"));
	expect(400, "POST", "/v1/config?mode=try%00x", "admin", "config2.yaml", NULL);
	assert_non_null(strstr(https_body(), "NUL"));
	expect(400, "POST", "/v1/config?mo%00de=try", "admin", "config2.yaml", NULL);
	after = file_text(test_path("state/config.yaml"), NULL);
	assert_string_equal(before, after);
	free(after);
	free(before);
}

/* A repeated query key: refused, not "first wins"; nothing applied */
static void test_strict_repeated_key(void **state)
{
	char *before = file_text(test_path("state/config.yaml"), NULL), *after;

	(void)state;
	expect(400, "POST", "/v1/config?dry_run=0&dry_run=1", "admin", "config2.yaml", NULL);
	assert_non_null(strstr(https_body(), "dry_run given more than once"));
	expect(400, "GET", "/v1/logs/talker?tail=1&tail=2", "reader", NULL, NULL);
	after = file_text(test_path("state/config.yaml"), NULL);
	assert_string_equal(before, after);   /* nothing applied */
	free(after);
	free(before);
}

/* Two different Content-Length headers, and Content-Length with chunked */
static void test_strict_content_length(void **state)
{
	char buf[4096];

	(void)state;
	assert_int_equal(raw_request("admin", "POST /v1/config?dry_run=1 HTTP/1.1\r\nHost: node\r\n"
				     "Content-Length: 4\r\nContent-Length: 2\r\nConnection: close\r\n\r\nabcd",
				     buf, sizeof buf), 400);
	assert_non_null(strstr(buf, "conflicting Content-Length headers"));
	/* Content-Length with chunked */
	assert_int_equal(raw_request("admin", "POST /v1/config?dry_run=1 HTTP/1.1\r\nHost: node\r\n"
				     "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n"
				     "Connection: close\r\n\r\n4\r\nabcd\r\n0\r\n\r\n", buf, sizeof buf), 400);
	assert_non_null(strstr(buf, "Content-Length and Transfer-Encoding"));
}

/* HTTP/1.1 without Host: 400; HTTP/1.0 needs none */
static void test_strict_host(void **state)
{
	char buf[4096];

	(void)state;
	assert_int_equal(raw_request("reader", "GET /v1/version HTTP/1.1\r\nConnection: close\r\n\r\n",
				     buf, sizeof buf), 400);
	assert_non_null(strstr(buf, "without a Host header"));
	assert_int_equal(raw_request("reader", "GET /v1/version HTTP/1.0\r\n\r\n", buf, sizeof buf), 200);
	assert_int_equal(raw_request("reader", "GET /v1/version HTTP/1.1\r\nHost: node\r\n"
				     "Connection: close\r\n\r\n", buf, sizeof buf), 200);
}

/* A CA-signed certificate naming cairn:admin with only the serverAuth key purpose is no
 * client certificate. */
static void test_key_purpose(void **state)
{
	char *before = file_text(test_path("state/config.yaml"), NULL), *after;
	int status;

	(void)state;
	cert_make("serveradmin", "ca", "cn = \"admin?\"\norganization = \"cairn:admin\"\n"
		  "expiration_days = 2\ntls_www_server\nsigning_key\n");
	status = https(port, "GET", "/v1/version", "serveradmin", NULL, NULL);
	assert_true(status == 401 || status == 403);
	assert_non_null(strstr(https_body(), "key purpose"));
	status = https(port, "POST", "/v1/config", "serveradmin", "config2.yaml", NULL);
	assert_true(status == 401 || status == 403);
	after = file_text(test_path("state/config.yaml"), NULL);
	assert_string_equal(before, after);
	free(after);
	free(before);
	/* a certificate with no key purpose extension at all is refused too */
	cert_make("nopurpose", "ca", "cn = \"plain\"\norganization = \"cairn:admin\"\n"
		  "expiration_days = 2\nsigning_key\n");
	status = https(port, "GET", "/v1/version", "nopurpose", NULL, NULL);
	assert_true(status == 401 || status == 403);
	expect(200, "GET", "/v1/version", "admin", NULL, NULL);
}

/* One certificate holds at most 8 streams; the 9th gets 429; another certificate is not
 * affected; a closed stream gives its place back. */
static void test_stream_cap(void **state)
{
	pid_t watchers[GATE_CERT_STREAM_MAX];
	char out[64];
	json_t *body;

	(void)state;
	for (int i = 0; i < GATE_CERT_STREAM_MAX; i++) {
		snprintf(out, sizeof out, "cap%d.out", i);
		watchers[i] = curl_background("/v1/resources/machinestatus?watch=1", "reader", out);
		assert_true(file_wait_for(test_path(out), "\"kind\":\"machinestatus\"", 10000));
	}
	expect(429, "GET", "/v1/resources/machinestatus?watch=1", "reader", NULL, NULL);
	body = https_body_json();
	assert_non_null(strstr(json_string_value(json_object_get(body, "error")),
			       "too many open streams with this client certificate (limit 8"));
	json_decref(body);
	/* not a stream: fine */
	expect(200, "GET", "/v1/resources/machinestatus", "reader", NULL, NULL);
	/* another certificate streams */
	pid_t admin_watch = curl_background("/v1/resources/machinestatus?watch=1", "admin", "capadmin.out");
	assert_true(file_wait_for(test_path("capadmin.out"), "\"kind\":\"machinestatus\"", 10000));
	curl_background_stop(admin_watch);
	/* one reader stream ends: its place is free again (the server notices within 0.5 s) */
	curl_background_stop(watchers[0]);
	int status = 0;
	for (int i = 0; i < 100 && (status = https(port, "GET", "/v1/resources/machinestatus?watch=1",
						  "reader", NULL, "--max-time 1")) == 429; i++)
		sleep_ms(100);   /* 429 while the old stream is still counted */
	assert_int_equal(status, 200);   /* curl stops the stream after 1 s */
	assert_non_null(strstr(https_body(), "\"kind\":\"machinestatus\""));
	for (int i = 1; i < GATE_CERT_STREAM_MAX; i++)
		curl_background_stop(watchers[i]);
}

/* The head deadline closes connections that trickle bytes (which the idle timeout never
 * would), also a TLS connection with a valid certificate; a body that trickles is cut by the
 * minimum upload rate. Each must see its close; the trickle goes on until then. */
static void test_deadlines(void **state)
{
	enum { TCP, TLS_HEAD, TLS_BODY, COUNT };
	struct raw conns[COUNT];
	bool closed[COUNT] = { false };
	const char *body_head = "POST /v1/config?dry_run=1 HTTP/1.1\r\nHost: node\r\n"
				"Transfer-Encoding: chunked\r\n\r\n";
	int open_count = COUNT;
	char *log = file_text(test_path(cairnd_log), NULL);
	size_t log_from = log ? strlen(log) : 0;

	(void)state;
	free(log);
	assert_int_equal(raw_open(&conns[TCP], false, NULL), 0);
	assert_int_equal(raw_open(&conns[TLS_HEAD], true, "admin"), 0);
	assert_int_equal(raw_open(&conns[TLS_BODY], true, "admin"), 0);
	assert_int_equal(raw_send(&conns[TLS_BODY], body_head, strlen(body_head)), 0);
	/* one byte a second each, at most 60 s (the deadline is 10 s, the body grace 5 s) */
	for (int second = 0; second < 60 && open_count > 0; second++) {
		for (int i = 0; i < COUNT; i++) {
			char buf[512];
			int n;
			if (closed[i])
				continue;
			/* TCP: a TLS record header announcing 512 bytes, then one byte a second */
			n = i == TCP ? (second == 0 ? raw_send(&conns[i], "\x16\x03\x01\x02\x00", 5) :
					raw_send(&conns[i], "", 1)) :
			    i == TLS_HEAD ? raw_send(&conns[i], second < 4 ? &"GET "[second] : "x", 1) :
			    raw_send(&conns[i], "1\r\nx\r\n", 6);
			if (n < 0 || raw_recv(&conns[i], buf, sizeof buf, 0) == 0) {
				closed[i] = true;
				open_count--;
			}
		}
		sleep_ms(1000);
	}
	for (int i = 0; i < COUNT; i++) {
		if (!closed[i])
			fail_msg("trickling connection %d was not closed", i);
		raw_close(&conns[i]);
	}
	/* and the gate says why, in its summary line (at most every 10 s) */
	assert_true(wait_for_count(cairnd_log, log_from, " past the 10s head deadline", 15000));
	assert_true(wait_for_count(cairnd_log, log_from, " bodies below 1024 bytes/s", 15000));
}

/* An admin request succeeds while 200 pending connections from the same address are open. */
static void test_flood_secure(void **state)
{
	(void)state;
	flood_then("admin", 200, "GET", "/v1/health", NULL);
	flood_then("admin", 200, "POST", "/v1/config?dry_run=1", "config1.yaml");
}

/* A connection whose handshake carried a valid client certificate is authenticated at the
 * end of its handshake, before its request head: TLS connections without a certificate that
 * come after it and idle (more than the per-address pending cap) push out each other, never
 * it. Under the bytes-per-second rule alone the older connection went first. */
static void test_authenticated_at_handshake(void **state)
{
	struct raw admin, others[GATE_PENDING_PER_ADDR + 8];
	const char *request = "GET /v1/health HTTP/1.1\r\nHost: node-1\r\nConnection: close\r\n\r\n";
	char reply[4096];
	int n, len = 0, status = 0;

	(void)state;
	assert_int_equal(raw_open(&admin, true, "admin"), 0);
	sleep_ms(1500);   /* older, so fewer bytes per second of its life than the newcomers */
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		if (raw_open(&others[i], true, NULL) < 0)
			raw_close(&others[i]);   /* evicted during its own handshake: fine */
		sleep_ms(5);
	}
	assert_int_equal(raw_send(&admin, request, strlen(request)), 0);
	while ((size_t)len < sizeof reply - 1 &&
	       (n = raw_recv(&admin, reply + len, sizeof reply - (size_t)len, 10000)) > 0)
		len += n;
	sscanf(reply, "HTTP/1.%*d %d", &status);
	if (status != 200)
		fail_msg("the authenticated connection got %d: %s", status, reply);
	raw_close(&admin);
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
		raw_close(&others[i]);
}

static void test_apply_errors(void **state)
{
	char *before, *after;
	json_t *body, *details;

	(void)state;
	before = file_text(test_path("state/config.yaml"), NULL);
	file_put(test_path("errors.yaml"),
		   "apiVersion: cairn.dev/v1alpha1\n"            /* 1 */
		   "kind: MachineConfig\n"                       /* 2 */
		   "spec:\n"                                     /* 3 */
		   "  hostname: -bad-\n"                         /* 4 */
		   "  role: boss\n"                              /* 5 */
		   "  network:\n"                                /* 6 */
		   "    interfaces:\n"                           /* 7 */
		   "      - name: eth0\n"                        /* 8 */
		   "        mtu: 70000\n"                        /* 9 */
		   "  colour: blue\n");                          /* 10 */
	expect(400, "POST", "/v1/config", "admin", "errors.yaml", NULL);
	body = https_body_json();
	assert_string_equal(json_string_value(json_object_get(body, "error")), "config rejected");
	details = json_object_get(body, "details");
	assert_int_equal(json_array_size(details), 4);
	const char *wanted[] = { "request:4: document 1 (MachineConfig): .spec.hostname: ",
				 "request:5: document 1 (MachineConfig): .spec.role: ",
				 "request:9: document 1 (MachineConfig): .spec.network.interfaces[0].mtu: ",
				 "request:10: document 1 (MachineConfig): .spec" };
	for (size_t i = 0; i < 4; i++) {
		const char *line = json_string_value(json_array_get(details, i));
		if (!line || strncmp(line, wanted[i], strlen(wanted[i])) != 0)
			fail_msg("detail %zu: %s, expected %s...", i, line ? line : "(none)", wanted[i]);
	}
	json_decref(body);
	/* a bad mode is refused before anything else */
	expect(400, "POST", "/v1/config?mode=sometimes", "admin", "config2.yaml", NULL);
	/* more than 1 MiB */
	shell("head -c 1100000 /dev/zero | tr '\\0' '#' > %s/big.yaml", test_dir());
	expect(413, "POST", "/v1/config", "admin", "big.yaml", NULL);
	after = file_text(test_path("state/config.yaml"), NULL);
	assert_string_equal(before, after);
	assert_int_equal(access(test_path("state/config.yaml.prev"), F_OK), -1);
	free(before);
	free(after);
}

static void test_dry_run_and_apply(void **state)
{
	char *before, *after, *prev, *sent;
	json_t *body;

	(void)state;
	before = file_text(test_path("state/config.yaml"), NULL);
	expect(200, "POST", "/v1/config?dry_run=1&mode=no-reboot", "admin", "config2.yaml", NULL);
	body = https_body_json();
	assert_true(json_is_true(json_object_get(body, "dry_run")));
	assert_string_equal(json_string_value(json_object_get(body, "mode")), "no-reboot");
	assert_int_equal(json_array_size(json_object_get(body, "changes")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(body, "changes"), 0)),
			    "~ MachineConfig/node-1 .spec.hostname: \"node-1\" -> \"node-2\"");
	json_decref(body);
	after = file_text(test_path("state/config.yaml"), NULL);
	assert_string_equal(before, after);
	free(after);
	expect(200, "GET", "/v1/config", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"hostname\":\"node-1\""));
	/* the real apply: stored, the old one kept, served at once */
	expect(200, "POST", "/v1/config?mode=try", "admin", "config2.yaml", NULL);
	body = https_body_json();
	assert_true(json_is_true(json_object_get(body, "applied")));
	assert_string_equal(json_string_value(json_object_get(body, "mode")), "try");
	json_decref(body);
	after = file_text(test_path("state/config.yaml"), NULL);
	sent = file_text(test_path("config2.yaml"), NULL);
	prev = file_text(test_path("state/config.yaml.prev"), NULL);
	assert_string_equal(after, sent);
	assert_string_equal(prev, before);
	free(after);
	free(sent);
	free(prev);
	free(before);
	expect(200, "GET", "/v1/config", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"hostname\":\"node-2\""));
	/* applying the same config again: no changes, still secure with the same identity */
	expect(200, "POST", "/v1/config", "admin", "config2.yaml", NULL);
	assert_non_null(strstr(https_body(), "\"changes\":[]"));
	expect(200, "GET", "/v1/version", "reader", NULL, NULL);
}

/* A new server certificate in the config: cairnd serves with it after the reply. */
static void test_identity_rotation(void **state)
{
	char *log;

	(void)state;
	expect(200, "GET", "/v1/version", "reader", NULL, "-v");
	log = file_text(test_path("curl.err"), NULL);
	assert_non_null(strstr(log, "subject: CN=node-1\n"));
	free(log);
	expect(200, "POST", "/v1/config", "admin", "config3.yaml", NULL);
	assert_non_null(strstr(https_body(), ".spec.identity.cert"));
	for (int i = 0; i < 100; i++) {
		expect(200, "GET", "/v1/version", "reader", NULL, "-v");
		log = file_text(test_path("curl.err"), NULL);
		bool rotated = strstr(log, "subject: CN=node-1-rotated") != NULL;
		free(log);
		if (rotated)
			return;
		sleep_ms(20);
	}
	fail_msg("cairnd still serves the old certificate");
}

static void test_restart_keeps_config(void **state)
{
	(void)state;
	assert_int_equal(stop_cairnd(), 0);
	start_cairnd();
	expect(200, "GET", "/v1/health", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"mode\":\"secure\""));
	expect(401, "GET", "/v1/health", NULL, NULL, NULL);
}

/* The service named NAME in a body {"services":[...]} or a snapshot {"items":[...]}. */
static json_t *find_service(json_t *body, const char *name)
{
	json_t *list = json_object_get(body, "services"), *item;
	size_t index;

	if (!list)
		list = json_object_get(body, "items");
	json_array_foreach(list, index, item)
		if (strcmp(json_string_value(json_object_get(item, "name")), name) == 0)
			return item;
	return NULL;
}

/* Waits until GET /v1/services shows NAME in STATE; returns its pid (0: none). */
static long long wait_service_state(const char *name, const char *state)
{
	for (int i = 0; i < 100; i++) {
		json_t *body, *service;
		expect(200, "GET", "/v1/services", "reader", NULL, NULL);
		body = https_body_json();
		service = find_service(body, name);
		if (service && strcmp(json_string_value(json_object_get(service, "state")), state) == 0) {
			long long pid = json_integer_value(json_object_get(service, "pid"));
			json_decref(body);
			return pid;
		}
		json_decref(body);
		sleep_ms(50);
	}
	fail_msg("service %s never reached state %s: %s", name, state, https_body());
	return 0;
}

static void test_resources(void **state)
{
	json_t *body, *item;

	(void)state;
	start_init();
	expect(200, "GET", "/v1/resources", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"services\""));
	assert_non_null(strstr(https_body(), "\"machinestatus\""));
	assert_non_null(strstr(https_body(), "\"links\""));
	expect(404, "GET", "/v1/resources/volcanoes", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "no such resource kind: volcanoes"));
	assert_non_null(strstr(https_body(), "known kinds: links, addresses"));
	expect(401, "GET", "/v1/resources/services", NULL, NULL, NULL);
	/* the services resource follows PID 1's list within about a second */
	for (int i = 0; i < 60; i++) {
		expect(200, "GET", "/v1/resources/services", "reader", NULL, NULL);
		if (strstr(https_body(), "\"sleeper\"") && strstr(https_body(), "\"talker\""))
			break;
		sleep_ms(100);
	}
	body = https_body_json();
	assert_string_equal(json_string_value(json_object_get(body, "kind")), "services");
	assert_true(json_integer_value(json_object_get(body, "revision")) >= 1);
	item = find_service(body, "sleeper");
	assert_non_null(item);
	assert_string_equal(json_string_value(json_object_get(item, "id")), "sleeper");
	assert_non_null(json_object_get(item, "restarts"));
	json_decref(body);
	expect(200, "GET", "/v1/resources/machinestatus", "reader", NULL, NULL);
	body = https_body_json();
	item = json_array_get(json_object_get(body, "items"), 0);
	assert_string_equal(json_string_value(json_object_get(item, "id")), "machine");
	assert_string_equal(json_string_value(json_object_get(item, "mode")), "secure");
	assert_string_equal(json_string_value(json_object_get(item, "stage")), "running");
	assert_int_equal(strlen(json_string_value(json_object_get(json_object_get(item, "config"),
								  "sha256"))), 64);
	assert_string_equal(json_string_value(json_object_get(json_object_get(item, "try"), "state")),
			    "none");
	assert_true(json_integer_value(json_object_get(item, "uptime_s")) > 0);
	/* read with the node's memory (this host's /proc/meminfo) */
	assert_true(json_integer_value(json_object_get(item, "memory_total_mib")) > 0);
	assert_true(json_integer_value(json_object_get(item, "memory_used_mib")) > 0);
	assert_int_equal(json_integer_value(json_object_get(item, "memory_used_mib")) +
			 json_integer_value(json_object_get(item, "memory_available_mib")),
			 json_integer_value(json_object_get(item, "memory_total_mib")));
	json_decref(body);
}

/* The number of entries in FOLDER (-1 when it cannot be opened). */
static int entries_in(const char *folder)
{
	DIR *dir = opendir(folder);
	struct dirent *e;
	int n = 0;

	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(dir);
	return n;
}

/* An upload route (POST /v1/images): a body past the 1 MiB of the others is streamed to a file
 * in RUN/uploads and the file is gone after the request; a folder that cannot take it fails the
 * request with the reason; a Content-Length past 1 GiB is refused from the headers. */
static void test_upload(void **state)
{
	static char chunk[65536];
	char buf[4096];
	struct stat st;
	FILE *f;
	bool containerd = stat("/run/containerd/containerd.sock", &st) == 0;

	(void)state;
	memset(chunk, 'x', sizeof chunk);
	f = fopen(test_path("image.tar"), "w");
	assert_non_null(f);
	for (int i = 0; i < 32; i++)   /* 2 MiB */
		assert_int_equal(fwrite(chunk, 1, sizeof chunk, f), sizeof chunk);
	assert_int_equal(fclose(f), 0);
	expect(403, "POST", "/v1/images", "reader", "image.tar", NULL);
	/* no containerd on the host: the handler got the whole body and said so (with one
	 * running, it refuses the bytes as an archive) */
	expect(containerd ? 422 : 409, "POST", "/v1/images", "admin", "image.tar", NULL);
	if (!containerd)
		assert_non_null(strstr(https_body(), "containerd is not running"));
	assert_int_equal(entries_in(test_path("run/uploads")), 0);

	/* the upload folder is a file: no place for the body */
	assert_int_equal(rmdir(test_path("run/uploads")), 0);
	file_put(test_path("run/uploads"), "in the way\n");
	expect(500, "POST", "/v1/images", "admin", "image.tar", NULL);
	assert_non_null(strstr(https_body(), "the node could not store the body in"));
	assert_non_null(strstr(https_body(), "Not a directory"));
	assert_int_equal(unlink(test_path("run/uploads")), 0);

	assert_int_equal(raw_request("admin", "POST /v1/images HTTP/1.1\r\nHost: node\r\n"
				     "Content-Length: 1073741825\r\nConnection: close\r\n\r\n",
				     buf, sizeof buf), 413);
	assert_non_null(strstr(buf, "limit 1024 MiB"));
	/* the ordinary routes keep their 1 MiB */
	expect(413, "POST", "/v1/config?dry_run=1", "admin", "image.tar", NULL);
}

static void test_service_actions(void **state)
{
	long long pid, new_pid;

	(void)state;
	pid = wait_service_state("sleeper", "ready");
	expect(403, "POST", "/v1/services/sleeper/restart", "reader", NULL, NULL);
	expect(202, "POST", "/v1/services/sleeper/restart", "operator", NULL, NULL);
	assert_string_equal(https_body(), "{\"service\":\"sleeper\",\"action\":\"restart\"}\n");
	for (int i = 0; i < 100; i++) {
		new_pid = wait_service_state("sleeper", "ready");
		if (new_pid != pid)
			break;
		sleep_ms(50);
	}
	assert_true(new_pid != pid);
	assert_non_null(strstr(https_body(), "\"restarts\":0"));
	/* kill: a crash on purpose; the supervisor restarts it and counts the restart */
	expect(403, "POST", "/v1/services/sleeper/kill", "reader", NULL, NULL);
	expect(202, "POST", "/v1/services/sleeper/kill", "operator", NULL, NULL);
	assert_string_equal(https_body(), "{\"service\":\"sleeper\",\"action\":\"kill\"}\n");
	pid = new_pid;
	for (int i = 0; i < 200; i++) {
		new_pid = wait_service_state("sleeper", "ready");
		if (new_pid != pid && strstr(https_body(), "\"restarts\":1"))
			break;
		sleep_ms(50);
	}
	assert_true(new_pid != pid);
	assert_non_null(strstr(https_body(), "\"restarts\":1"));
	expect(404, "POST", "/v1/services/nothing/restart", "operator", NULL, NULL);
	assert_non_null(strstr(https_body(), "no such service"));
	expect(400, "POST", "/v1/services/bad%20name/stop", "operator", NULL, NULL);
	expect(400, "POST", "/v1/services/-x/stop", "operator", NULL, NULL);
	expect(404, "POST", "/v1/services/sleeper/explode", "operator", NULL, NULL);
	expect(405, "GET", "/v1/services/sleeper/start", "admin", NULL, NULL);
}

/* A watch gets the snapshot at once, then one line per change: stop a service. */
static void test_watch(void **state)
{
	pid_t watcher;
	char *text;

	(void)state;
	wait_service_state("sleeper", "ready");
	watcher = curl_background("/v1/resources/services?watch=1", "reader", "watch.out");
	assert_true(file_wait_for(test_path("watch.out"), "\"kind\":\"services\"", 5000));
	expect(202, "POST", "/v1/services/sleeper/stop", "operator", NULL, NULL);
	assert_true(file_wait_for(test_path("watch.out"), "\"state\":\"stopped\"", 5000));
	curl_background_stop(watcher);
	text = file_text(test_path("watch.out"), NULL);
	/* NDJSON: every line a snapshot, revisions increasing */
	json_int_t last = -1;
	int count = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		json_t *snapshot = json_loads(line, 0, NULL);
		assert_non_null(snapshot);
		assert_true(json_integer_value(json_object_get(snapshot, "revision")) > last);
		last = json_integer_value(json_object_get(snapshot, "revision"));
		json_decref(snapshot);
		count++;
	}
	free(text);
	assert_true(count >= 2);
	expect(202, "POST", "/v1/services/sleeper/start", "operator", NULL, NULL);
	wait_service_state("sleeper", "ready");
	expect(400, "GET", "/v1/resources/services?watch=maybe", "reader", NULL, NULL);
}

/* "tick N" lines must follow one another: no line lost or repeated. Returns the count. */
static int check_ticks(const char *text)
{
	long previous = -1;
	int count = 0;

	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		long value;
		if (sscanf(line, "tick %ld", &value) != 1)
			fail_msg("not a tick line: %.40s", line);
		if (previous >= 0 && value != previous + 1)
			fail_msg("tick %ld after tick %ld:\n%s", value, previous, text);
		previous = value;
		count++;
		if (!strchr(line, '\n'))
			break;
	}
	return count;
}

static void test_logs(void **state)
{
	char *text;
	pid_t follower;

	(void)state;
	sleep_ms(500);   /* a few ticks */
	expect(200, "GET", "/v1/logs/talker?tail=3", "reader", NULL, NULL);
	assert_int_equal(check_ticks(https_body()), 3);
	expect(200, "GET", "/v1/logs/talker", "reader", NULL, NULL);
	assert_true(check_ticks(https_body()) >= 4);
	expect(404, "GET", "/v1/logs/nothing", "reader", NULL, NULL);
	expect(400, "GET", "/v1/logs/talker?tail=-1", "reader", NULL, NULL);
	expect(400, "GET", "/v1/logs/.hidden", "reader", NULL, NULL);
	expect(401, "GET", "/v1/logs/talker", NULL, NULL, NULL);
	/* follow: the tail, then new lines, none lost or repeated at the seam */
	follower = curl_background("/v1/logs/talker?tail=2&follow=1", "reader", "follow.out");
	sleep_ms(1500);
	curl_background_stop(follower);
	text = file_text(test_path("follow.out"), NULL);
	assert_non_null(text);
	int count = check_ticks(text);
	free(text);
	if (count < 8)
		fail_msg("follow gave only %d lines", count);
	/* a truncated file is read again from its start */
	follower = curl_background("/v1/logs/talker?tail=0&follow=1", "reader", "follow.out");
	sleep_ms(400);
	truncate(test_path("log/talker.log"), 0);
	sleep_ms(800);
	curl_background_stop(follower);
	/* lines written just before the truncation may be gone; those after it all arrive */
	char *file = file_text(test_path("log/talker.log"), NULL), first[32];
	text = file_text(test_path("follow.out"), NULL);
	assert_non_null(file);
	assert_non_null(text);
	snprintf(first, sizeof first, "%.*s", (int)strcspn(file, "\n") + 1, file);
	char *seen = strstr(text, first);
	if (!seen)
		fail_msg("after the truncation: %s not followed:\n%s", first, text);
	assert_true(check_ticks(seen) >= 3);
	free(text);
	free(file);
}

/* A follow across PID 1's rotation of burst.log (at 1 MiB) loses and repeats nothing. */
static void test_logs_rotation(void **state)
{
	pid_t follower;
	char *text;

	(void)state;
	follower = curl_background("/v1/logs/burst?tail=1&follow=1", "reader", "burst.out");
	assert_true(file_wait_for(test_path("burst.out"), "waiting\n", 5000));   /* the follow is open */
	file_put(test_path("go"), "");
	bool done = file_wait_for(test_path("burst.out"), "tick 11999 ", 10000);
	curl_background_stop(follower);
	if (!done)
		fail_msg("the follow did not reach the last line");
	assert_int_equal(access(test_path("log/burst.log.1"), F_OK), 0);
	text = file_text(test_path("burst.out"), NULL);
	assert_int_equal(strncmp(text, "waiting\ntick 0 ", 15), 0);
	assert_int_equal(check_ticks(text + 8), 12000);
	free(text);
}

static void test_dmesg(void **state)
{
	pid_t follower;

	(void)state;
	file_put(test_path("kmsg"), "6,1,1000,-;first line\n"
				    " SUBSYSTEM=acpi\n"
				    "6,2,2500000,-;second line\n"
				    "4,3,12345678,-,caller=T1;third line\n");
	expect(200, "GET", "/v1/dmesg?tail=2", "reader", NULL, NULL);
	assert_string_equal(https_body(), "[2.500000] second line\n[12.345678] third line\n");
	expect(200, "GET", "/v1/dmesg", "reader", NULL, NULL);
	assert_string_equal(https_body(), "[0.001000] first line\n[2.500000] second line\n"
					 "[12.345678] third line\n");
	expect(400, "GET", "/v1/dmesg?follow=sometimes", "reader", NULL, NULL);
	follower = curl_background("/v1/dmesg?tail=1&follow=1", "reader", "dmesg.out");
	assert_true(file_wait_for(test_path("dmesg.out"), "third line", 5000));
	shell("printf '6,4,13000000,-;fourth line\\n' >> %s/kmsg", test_dir());
	assert_true(file_wait_for(test_path("dmesg.out"), "[13.000000] fourth line\n", 5000));
	curl_background_stop(follower);
	char *text = file_text(test_path("dmesg.out"), NULL);
	assert_string_equal(text, "[12.345678] third line\n[13.000000] fourth line\n");
	free(text);
}

static const char *try_state(void)
{
	static char state_text[32];
	json_t *body;

	expect(200, "GET", "/v1/health", "reader", NULL, NULL);
	body = https_body_json();
	snprintf(state_text, sizeof state_text, "%s", json_string_value(json_object_get(
		json_object_get(body, "try"), "state")));
	json_decref(body);
	return state_text;
}

static void test_try_revert(void **state)
{
	char *before, *after;
	pid_t watcher;
	int status = -1;

	(void)state;
	before = file_text(test_path("state/config.yaml"), NULL);
	expect(200, "GET", "/v1/config", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"hostname\":\"node-2\""));
	write_config("config4.yaml", "node-4", "server");   /* another identity: a daemon restart */
	expect(400, "POST", "/v1/config?mode=try&timeout=soon", "admin", "config4.yaml", NULL);
	expect(400, "POST", "/v1/config?timeout=2s", "admin", "config4.yaml", NULL);
	watcher = curl_background("/v1/resources/machinestatus?watch=1", "reader", "watch3.out");
	assert_true(file_wait_for(test_path("watch3.out"), "\"kind\":\"machinestatus\"", 5000));
	expect(200, "POST", "/v1/config?mode=try&timeout=2s", "admin", "config4.yaml", NULL);
	/* the restart with the new identity ends open streams (clients reconnect) */
	for (int i = 0; i < 100 && waitpid(watcher, &status, WNOHANG) != watcher; i++)
		sleep_ms(20);
	if (!WIFEXITED(status)) {
		curl_background_stop(watcher);
		fail_msg("a watch stream kept the daemon from restarting with the new identity");
	}
	assert_non_null(strstr(https_body(), "\"state\":\"pending\""));
	assert_non_null(strstr(https_body(), "\"timeout\":\"2s\""));
	expect(200, "GET", "/v1/config", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"hostname\":\"node-4\""));
	assert_string_equal(try_state(), "pending");
	expect(200, "GET", "/v1/resources/machinestatus", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"state\":\"pending\""));
	assert_true(file_wait_for(test_path("cairnd.log"),
				  "cairnd: try: not confirmed in 2s: reverted to the previous config", 5000));
	expect(200, "GET", "/v1/config", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"hostname\":\"node-2\""));
	assert_string_equal(try_state(), "reverted");
	assert_int_equal(access(test_path("state/config.yaml.try"), F_OK), -1);
	after = file_text(test_path("state/config.yaml"), NULL);
	assert_string_equal(before, after);
	free(before);
	free(after);
	for (int i = 0; i < 50; i++) {
		expect(200, "GET", "/v1/resources/machinestatus", "reader", NULL, NULL);
		if (strstr(https_body(), "\"state\":\"reverted\""))
			break;
		sleep_ms(100);
	}
	assert_non_null(strstr(https_body(), "\"state\":\"reverted\""));
	assert_non_null(strstr(https_body(), "\"source\":\"try revert\""));
}

static void test_try_confirm(void **state)
{
	char *after, *sent;

	(void)state;
	expect(409, "POST", "/v1/config/confirm", "admin", NULL, NULL);
	expect(200, "POST", "/v1/config?mode=try&timeout=2s", "admin", "config4.yaml", NULL);
	expect(403, "POST", "/v1/config/confirm", "operator", NULL, NULL);
	expect(200, "POST", "/v1/config/confirm", "admin", NULL, NULL);
	assert_string_equal(try_state(), "confirmed");
	sleep_ms(2500);
	expect(200, "GET", "/v1/config", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"hostname\":\"node-4\""));
	assert_string_equal(try_state(), "confirmed");
	after = file_text(test_path("state/config.yaml"), NULL);
	sent = file_text(test_path("config4.yaml"), NULL);
	assert_string_equal(after, sent);
	free(after);
	free(sent);
	assert_int_equal(access(test_path("state/config.yaml.try"), F_OK), -1);
	/* a try still pending when cairnd stops is reverted when it starts again */
	expect(200, "POST", "/v1/config?mode=try&timeout=1m", "admin", "config2.yaml", NULL);
	assert_int_equal(access(test_path("state/config.yaml.try"), F_OK), 0);
	assert_int_equal(stop_cairnd(), 0);
	start_cairnd();
	expect(200, "GET", "/v1/config", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"hostname\":\"node-4\""));
	assert_string_equal(try_state(), "reverted");
	assert_true(file_wait_for(test_path("cairnd.log"),
				  "cairnd: try: pending when cairnd stopped: reverted to the previous config", 100));
	assert_int_equal(access(test_path("state/config.yaml.try"), F_OK), -1);
	after = file_text(test_path("state/config.yaml"), NULL);
	sent = file_text(test_path("config4.yaml"), NULL);
	assert_string_equal(after, sent);
	free(after);
	free(sent);
}

static void test_staged(void **state)
{
	char *after, *sent;
	json_t *body;

	(void)state;
	write_config("config5.yaml", "node-5", "server2");
	expect(200, "POST", "/v1/config?mode=staged", "admin", "config5.yaml", NULL);
	body = https_body_json();
	assert_string_equal(json_string_value(json_object_get(body, "effective")), "next boot");
	assert_string_equal(json_string_value(json_array_get(json_object_get(body, "changes"), 0)),
			    "~ MachineConfig/node-1 .spec.hostname: \"node-4\" -> \"node-5\"");
	json_decref(body);
	after = file_text(test_path("state/config.yaml"), NULL);
	sent = file_text(test_path("config5.yaml"), NULL);
	assert_string_equal(after, sent);
	free(after);
	free(sent);
	/* the running config is unchanged until the next start */
	expect(200, "GET", "/v1/config", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"hostname\":\"node-4\""));
	expect(200, "GET", "/v1/health", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"staged\":true"));
	assert_int_equal(stop_cairnd(), 0);
	start_cairnd();
	expect(200, "GET", "/v1/config", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"hostname\":\"node-5\""));
	expect(200, "GET", "/v1/health", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"staged\":false"));
}

static void test_services_and_reboot(void **state)
{
	json_t *body, *service;
	pid_t watcher;
	int status = -1;

	(void)state;
	wait_service_state("sleeper", "ready");
	expect(200, "GET", "/v1/services", "reader", NULL, NULL);
	body = https_body_json();
	assert_int_equal(json_array_size(json_object_get(body, "services")), 3);
	service = find_service(body, "sleeper");
	assert_non_null(service);
	assert_true(json_integer_value(json_object_get(service, "pid")) > 0);
	json_decref(body);
	expect(403, "POST", "/v1/reboot", "reader", NULL, NULL);
	assert_int_equal(waitpid(init_pid, &status, WNOHANG), 0);
	expect(202, "POST", "/v1/reboot", "operator", NULL, NULL);
	assert_non_null(strstr(https_body(), "rebooting"));
	for (int i = 0; i < 1000 && waitpid(init_pid, &status, WNOHANG) != init_pid; i++)
		sleep_ms(10);
	if (!WIFEXITED(status)) {
		kill(init_pid, SIGKILL);
		waitpid(init_pid, &status, 0);
		init_pid = 0;
		fail_msg("init --host did not exit after POST /v1/reboot");
	}
	init_pid = 0;
	assert_int_equal(WEXITSTATUS(status), 0);
	/* an open watch does not keep cairnd from stopping */
	watcher = curl_background("/v1/resources/machinestatus?watch=1", "reader", "watch2.out");
	assert_true(file_wait_for(test_path("watch2.out"), "\"rebooting\"", 5000));
	assert_int_equal(stop_cairnd(), 0);
	curl_background_stop(watcher);
}

/* --- config sources at start ---------------------------------------------------------- */

static pid_t http_pid;
static int http_port;

static void http_start(void)
{
	char port_text[16];

	snprintf(port_text, sizeof port_text, "%d", http_port);
	http_pid = fork();
	assert_true(http_pid >= 0);
	if (http_pid == 0) {
		int fd = open(test_path("http.log"), O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("python3", "python3", "-m", "http.server", port_text, "--bind", "127.0.0.1",
		       "--directory", test_path("www"), (char *)NULL);
		_exit(127);
	}
}

static void http_stop(void)
{
	if (http_pid > 0) {
		kill(http_pid, SIGTERM);
		waitpid(http_pid, NULL, 0);
	}
	http_pid = 0;
}

/* A fake sysfs: eth0 (Ethernet with a device), lo, br0 (no device); a product UUID. */
static void make_sysfs(void)
{
	static const struct { const char *name, *type, *index, *address; bool device; } links[] = {
		{ "lo", "772", "1", "00:00:00:00:00:00", false },
		{ "br0", "1", "2", "02:00:00:00:00:01", false },
		{ "eth1", "1", "4", "52:54:00:00:00:04", true },
		{ "eth0", "1", "3", "52:54:00:AB:CD:EF", true },
	};
	char path[600];

	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		shell("mkdir -p %s/sys/class/net/%s", test_dir(), links[i].name);
		snprintf(path, sizeof path, "sys/class/net/%s/type", links[i].name);
		file_put(test_path(path), links[i].type);
		snprintf(path, sizeof path, "sys/class/net/%s/ifindex", links[i].name);
		file_put(test_path(path), links[i].index);
		snprintf(path, sizeof path, "sys/class/net/%s/address", links[i].name);
		file_put(test_path(path), links[i].address);
		if (links[i].device)
			shell("mkdir -p %s/sys/class/net/%s/device", test_dir(), links[i].name);
	}
	shell("mkdir -p %s/sys/class/dmi/id %s/www", test_dir(), test_dir());
	file_put(test_path("sys/class/dmi/id/product_uuid"), "4C4C4544-0042-3510-8052-B4C04F4B4E31\n");
}

static void test_source_url(void **state)
{
	char cmdline[256], *stored, *sent;

	(void)state;
	make_sysfs();
	http_port = port_free();
	shell("cp %s/config1.yaml '%s/www/52:54:00:ab:cd:ef.yaml'", test_dir(), test_dir());
	snprintf(cmdline, sizeof cmdline, "console=ttyS0 cairn.config=http://127.0.0.1:%d/${mac}.yaml quiet\n",
		 http_port);
	file_put(test_path("cmdline-url"), cmdline);
	mkdir(test_path("state-url"), 0700);
	cairnd_state = "state-url";
	cairnd_log = "cairnd-url.log";
	cairnd_cmdline = "cmdline-url";
	start_cairnd();
	/* no server yet: the first attempt fails, with the reason; maintenance meanwhile */
	snprintf(cmdline, sizeof cmdline, "attempt 1: http://127.0.0.1:%d/52:54:00:ab:cd:ef.yaml: ",
		 http_port);
	assert_true(file_wait_for(test_path("cairnd-url.log"), cmdline, 5000));
	assert_true(file_wait_for(test_path("cairnd-url.log"), "retrying in 1s", 1000));
	expect(403, "GET", "/v1/version", "insecure", NULL, NULL);
	http_start();
	assert_true(file_wait_for(test_path("cairnd-url.log"), "config stored", 8000));
	wait_secure();
	stored = file_text(test_path("state-url/config.yaml"), NULL);
	sent = file_text(test_path("config1.yaml"), NULL);
	assert_string_equal(stored, sent);
	free(stored);
	free(sent);
	expect(200, "GET", "/v1/resources/machinestatus", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"source\":\"cairn.config\""));
	assert_int_equal(stop_cairnd(), 0);
}

static void test_source_url_invalid(void **state)
{
	char cmdline[256];

	(void)state;
	file_put(test_path("www/4c4c4544-0042-3510-8052-b4c04f4b4e31.yaml"),
		   "apiVersion: cairn.dev/v1alpha1\nkind: MachineConfig\nspec:\n  role: boss\n");
	snprintf(cmdline, sizeof cmdline, "cairn.config=http://127.0.0.1:%d/${uuid}.yaml\n", http_port);
	file_put(test_path("cmdline-bad"), cmdline);
	mkdir(test_path("state-bad"), 0700);
	cairnd_state = "state-bad";
	cairnd_log = "cairnd-bad.log";
	cairnd_cmdline = "cmdline-bad";
	start_cairnd();
	assert_true(file_wait_for(test_path("cairnd-bad.log"), "config rejected: staying in maintenance mode", 5000));
	assert_true(file_wait_for(test_path("cairnd-bad.log"),
				  "cairnd: cairn.config: cairn.config:4: document 1 (MachineConfig): .spec.role: ",
				  1000));
	expect(403, "GET", "/v1/version", "insecure", NULL, NULL);
	assert_int_equal(access(test_path("state-bad/config.yaml"), F_OK), -1);
	/* no try without a config to return to */
	expect(400, "POST", "/v1/config?mode=try", "insecure", "config1.yaml", NULL);
	assert_int_equal(stop_cairnd(), 0);
	http_stop();
}

static void test_source_inline(void **state)
{
	char *stored, *sent;

	(void)state;
	shell("printf 'cairn.debug cairn.config.inline=' > %s/cmdline-inline && base64 -w0 %s/config2.yaml "
	    ">> %s/cmdline-inline", test_dir(), test_dir(), test_dir());
	mkdir(test_path("state-inline"), 0700);
	cairnd_state = "state-inline";
	cairnd_log = "cairnd-inline.log";
	cairnd_cmdline = "cmdline-inline";
	start_cairnd();
	expect(200, "GET", "/v1/health", "admin", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"mode\":\"secure\""));
	expect(200, "GET", "/v1/config", "reader", NULL, NULL);
	assert_non_null(strstr(https_body(), "\"hostname\":\"node-2\""));
	stored = file_text(test_path("state-inline/config.yaml"), NULL);
	sent = file_text(test_path("config2.yaml"), NULL);
	assert_string_equal(stored, sent);
	free(stored);
	free(sent);
	assert_int_equal(stop_cairnd(), 0);
	/* not base64: logged, maintenance */
	file_put(test_path("cmdline-inline"), "cairn.config.inline=%%%not-base64\n");
	cairnd_state = "state-inline2";
	mkdir(test_path("state-inline2"), 0700);
	start_cairnd();
	assert_true(file_wait_for(test_path("cairnd-inline.log"), "not valid base64", 2000));
	expect(403, "GET", "/v1/version", "insecure", NULL, NULL);
	assert_int_equal(stop_cairnd(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_apply_options),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_initctl_reply),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_route_params),
		cmocka_unit_test(test_url_expand),
		cmocka_unit_test(test_kmsg_and_overlap),
		cmocka_unit_test(test_maintenance_caps),
		cmocka_unit_test(test_maintenance),
		cmocka_unit_test(test_secure_auth),
		cmocka_unit_test(test_strict_nul),
		cmocka_unit_test(test_strict_repeated_key),
		cmocka_unit_test(test_strict_content_length),
		cmocka_unit_test(test_strict_host),
		cmocka_unit_test(test_key_purpose),
		cmocka_unit_test(test_stream_cap),
		cmocka_unit_test(test_deadlines),
		cmocka_unit_test(test_flood_secure),
		cmocka_unit_test(test_authenticated_at_handshake),
		cmocka_unit_test(test_apply_errors),
		cmocka_unit_test(test_dry_run_and_apply),
		cmocka_unit_test(test_identity_rotation),
		cmocka_unit_test(test_restart_keeps_config),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_upload),
		cmocka_unit_test(test_service_actions),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_logs),
		cmocka_unit_test(test_logs_rotation),
		cmocka_unit_test(test_dmesg),
		cmocka_unit_test(test_try_revert),
		cmocka_unit_test(test_try_confirm),
		cmocka_unit_test(test_staged),
		cmocka_unit_test(test_services_and_reboot),
		cmocka_unit_test(test_source_url),
		cmocka_unit_test(test_source_url_invalid),
		cmocka_unit_test(test_source_inline),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
