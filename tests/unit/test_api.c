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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "server.h"

#ifndef CAIRND_HOST
#define CAIRND_HOST "build/cairnd-host"
#endif
#ifndef INIT_HOST_DEFAULT
#define INIT_HOST_DEFAULT "build/init-host"
#endif

static char dir[256];          /* the test's temp folder */
static int port;
static pid_t cairnd_pid, init_pid;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static char *path_in(const char *name)
{
	static char paths[8][512];
	static int next;
	char *path = paths[next++ % 8];

	snprintf(path, 512, "%s/%s", dir, name);
	return path;
}

static char *read_text(const char *path)
{
	FILE *file = fopen(path, "rb");
	char *text;
	long size;

	if (!file)
		return NULL;
	fseek(file, 0, SEEK_END);
	size = ftell(file);
	fseek(file, 0, SEEK_SET);
	text = calloc(1, (size_t)size + 1);
	if (fread(text, 1, (size_t)size, file) != (size_t)size) {
		free(text);
		text = NULL;
	}
	fclose(file);
	return text;
}

static void write_text(const char *path, const char *text)
{
	FILE *file = fopen(path, "wb");

	assert_non_null(file);
	assert_int_equal(fwrite(text, 1, strlen(text), file), strlen(text));
	assert_int_equal(fclose(file), 0);
}

static void run(const char *format, ...)
{
	char command[2048];
	va_list args;

	va_start(args, format);
	vsnprintf(command, sizeof command, format, args);
	va_end(args);
	if (system(command) != 0)
		fail_msg("command failed: %s", command);
}

/* --- certificates ------------------------------------------------------------------- */

static void make_key(const char *name)
{
	run("certtool --no-text --generate-privkey --key-type=ecdsa --outfile %s/%s.key >/dev/null 2>&1",
	    dir, name);
}

static void make_ca(const char *name)
{
	char template[64];

	snprintf(template, sizeof template, "%s.tmpl", name);
	write_text(path_in(template), "cn = \"cairn test CA\"\nca\ncert_signing_key\nexpiration_days = 2\n");
	make_key(name);
	run("cd %s && certtool --no-text --generate-self-signed --load-privkey %s.key --template %s.tmpl "
	    "--outfile %s.pem >/dev/null 2>&1", dir, name, name, name);
}

static void make_cert(const char *name, const char *ca, const char *template_text)
{
	char template[64];

	snprintf(template, sizeof template, "%s.tmpl", name);
	write_text(path_in(template), template_text);
	make_key(name);
	run("cd %s && certtool --no-text --generate-certificate --load-privkey %s.key --load-ca-certificate "
	    "%s.pem --load-ca-privkey %s.key --template %s.tmpl --outfile %s.pem >/dev/null 2>&1",
	    dir, name, ca, ca, name, name);
}

static void make_client(const char *name, const char *ca, const char *organization)
{
	char template[256];

	snprintf(template, sizeof template, "cn = \"%s\"\norganization = \"%s\"\n"
		 "expiration_days = 2\ntls_www_client\nsigning_key\n", name, organization);
	make_cert(name, ca, template);
}

/* --- configs ------------------------------------------------------------------------ */

/* PEM file NAME indented for a YAML block scalar. */
static void append_pem(char *out, size_t size, const char *key, const char *name)
{
	char *pem = read_text(path_in(name)), *line, *save = NULL;

	assert_non_null(pem);
	snprintf(out + strlen(out), size - strlen(out), "    %s: |\n", key);
	for (line = strtok_r(pem, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		snprintf(out + strlen(out), size - strlen(out), "      %s\n", line);
	free(pem);
}

/* A valid MachineConfig with the test identity, written to FILE. */
static void write_config(const char *file, const char *hostname, const char *server)
{
	char cert[64], key[64];

	static char text[16384];

	snprintf(text, sizeof text, "apiVersion: cairn.dev/v1alpha1\nkind: MachineConfig\n"
		 "metadata:\n  name: node-1\nspec:\n  hostname: %s\n  role: controlplane\n"
		 "  identity:\n", hostname);
	append_pem(text, sizeof text, "ca", "ca.pem");
	snprintf(cert, sizeof cert, "%s.pem", server);
	snprintf(key, sizeof key, "%s.key", server);
	append_pem(text, sizeof text, "cert", cert);
	append_pem(text, sizeof text, "key", key);
	write_text(path_in(file), text);
}

/* --- curl --------------------------------------------------------------------------- */

/* Runs curl against cairnd; returns the HTTP status (0: no HTTP answer, e.g. a TLS failure)
 * and leaves the body in DIR/body. CLIENT: a certificate name, "insecure" (maintenance:
 * no CA check, no certificate), or NULL (no certificate, CA checked). */
static int curl(const char *method, const char *url, const char *client, const char *data_file,
		const char *extra)
{
	char command[2048];
	char code[16] = "";
	FILE *pipe;

	snprintf(command, sizeof command,
		 "curl -sS --max-time 10 -o %s/body -w '%%{http_code}' -X %s %s%s%s%s%s%s%s%s%s%s "
		 "'https://127.0.0.1:%d%s' 2>%s/curl.err",
		 dir, method,
		 client && strcmp(client, "insecure") == 0 ? "-k " : "--cacert ", 
		 client && strcmp(client, "insecure") == 0 ? "" : dir,
		 client && strcmp(client, "insecure") == 0 ? "" : "/ca.pem ",
		 client && strcmp(client, "insecure") != 0 ? "--cert " : "",
		 client && strcmp(client, "insecure") != 0 ? path_in(client) : "",
		 client && strcmp(client, "insecure") != 0 ? ".pem --key " : "",
		 client && strcmp(client, "insecure") != 0 ? path_in(client) : "",
		 client && strcmp(client, "insecure") != 0 ? ".key " : "",
		 data_file ? "--data-binary @" : "", data_file ? path_in(data_file) : "",
		 port, url, dir);
	if (extra) {
		char *quote = strstr(command, " 'https://");
		char tail[1024];
		snprintf(tail, sizeof tail, "%s", quote);
		snprintf(quote, sizeof command - (size_t)(quote - command), " %s%s", extra, tail);
	}
	unlink(path_in("body"));
	pipe = popen(command, "r");
	assert_non_null(pipe);
	if (!fgets(code, sizeof code, pipe))
		code[0] = '\0';
	pclose(pipe);
	return atoi(code);
}

static char *body_text(void)
{
	static char *text;

	free(text);
	text = read_text(path_in("body"));
	return text ? text : (char *)"";
}

static json_t *body_json(void)
{
	json_error_t error;
	json_t *json = json_loads(body_text(), 0, &error);

	if (!json)
		fail_msg("body is not JSON: %s", body_text());
	return json;
}

static void expect(int status, const char *method, const char *url, const char *client,
		   const char *data_file, const char *extra)
{
	int got = curl(method, url, client, data_file, extra);
	if (got != status) {
		char *err = read_text(path_in("curl.err")), message[1024];
		snprintf(message, sizeof message, "%s", err ? err : "");
		free(err);
		fail_msg("%s %s as %s: HTTP %d, expected %d\nbody: %s\ncurl: %s", method, url,
			 client ? client : "(none)", got, status, body_text(), message);
	}
}

/* --- processes ---------------------------------------------------------------------- */

static int free_port(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof addr;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	close(fd);
	return ntohs(addr.sin_port);
}

static bool port_open(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool open = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;

	close(fd);
	return open;
}

static void start_cairnd(void)
{
	char listen[64];

	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	cairnd_pid = fork();
	assert_true(cairnd_pid >= 0);
	if (cairnd_pid == 0) {
		int fd = open(path_in("cairnd.log"), O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 2);
		execl(CAIRND_HOST, CAIRND_HOST, "--listen", listen, "--state", path_in("state"),
		      "--run", path_in("run"), (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && !port_open(); i++)
		sleep_ms(10);
	assert_true(port_open());
}

/* Stops cairnd with SIGTERM: it must exit 0 (and ASan must find no leak). */
static int stop_cairnd(void)
{
	int status = -1;

	if (cairnd_pid <= 0)
		return 0;
	kill(cairnd_pid, SIGTERM);
	for (int i = 0; i < 500 && waitpid(cairnd_pid, &status, WNOHANG) != cairnd_pid; i++)
		sleep_ms(10);
	if (!WIFEXITED(status)) {
		kill(cairnd_pid, SIGKILL);
		waitpid(cairnd_pid, &status, 0);
	}
	cairnd_pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void start_init(void)
{
	const char *binary = getenv("INIT_HOST") ? getenv("INIT_HOST") : INIT_HOST_DEFAULT;

	mkdir(path_in("svc"), 0755);
	mkdir(path_in("log"), 0755);
	write_text(path_in("svc/sleeper.service"), "command = /bin/sleep 1000\n");
	init_pid = fork();
	assert_true(init_pid >= 0);
	if (init_pid == 0) {
		int fd = open(path_in("init.log"), O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 2);
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		execl(binary, binary, "--host", "--socket", path_in("run/init.sock"), "--services",
		      path_in("svc"), "--log-dir", path_in("log"), (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(path_in("run/init.sock"), F_OK) < 0; i++)
		sleep_ms(10);
	assert_int_equal(access(path_in("run/init.sock"), F_OK), 0);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/cairn-test-api.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	mkdir(path_in("run"), 0755);
	make_ca("ca");
	make_cert("server", "ca", "cn = \"node-1\"\nip_address = \"127.0.0.1\"\n"
		  "expiration_days = 2\ntls_www_server\nsigning_key\n");
	make_client("reader", "ca", "cairn:reader");
	make_client("operator", "ca", "cairn:operator");
	make_client("admin", "ca", "cairn:admin");
	make_client("norole", "ca", "example:nobody");
	make_ca("otherca");
	make_client("intruder", "otherca", "cairn:admin");
	make_cert("server2", "ca", "cn = \"node-1-rotated\"\nip_address = \"127.0.0.1\"\n"
		  "expiration_days = 2\ntls_www_server\nsigning_key\n");
	write_config("config1.yaml", "node-1", "server");
	write_config("config2.yaml", "node-2", "server");
	write_config("config3.yaml", "node-2", "server2");
	port = free_port();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	stop_cairnd();
	if (init_pid > 0) {
		kill(init_pid, SIGKILL);
		waitpid(init_pid, NULL, 0);
	}
	if (getenv("KEEP_TEST_DIR"))
		fprintf(stderr, "test_api: kept %s\n", dir);
	else
		run("rm -rf %s", dir);
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
	snprintf(store, sizeof store, "%s/store", dir);
	assert_int_equal(mkdir(store, 0700), 0);
	assert_int_equal(store_read(store, &text, &len), 0);
	assert_int_equal(store_write(store, "one\n", 4, &what), 0);
	assert_int_equal(store_read(store, &text, &len), 1);
	assert_int_equal(len, 4);
	assert_string_equal(text, "one\n");
	free(text);
	assert_int_equal(stat(path_in("store/config.yaml.prev"), &st), -1);
	assert_int_equal(store_write(store, "two\n", 4, &what), 0);
	text = read_text(path_in("store/config.yaml.prev"));
	assert_string_equal(text, "one\n");
	free(text);
	assert_int_equal(store_write(store, "three\n", 6, &what), 0);
	text = read_text(path_in("store/config.yaml.prev"));
	assert_string_equal(text, "two\n");
	free(text);
	text = read_text(path_in("store/config.yaml"));
	assert_string_equal(text, "three\n");
	free(text);
	assert_int_equal(stat(path_in("store/config.yaml"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* no temp file is left behind */
	run("test $(ls -A %s/store | wc -l) -eq 2", dir);
	/* a missing folder fails and says where */
	assert_int_equal(store_write(path_in("missing"), "x", 1, &what), -1);
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
	assert_int_equal(initctl_request(path_in("nothing.sock"), "list", &lines, &error), -1);
	assert_non_null(strstr(error, "nothing.sock"));
	free(error);
}

/* --- the real server ---------------------------------------------------------------- */

static void test_maintenance(void **state)
{
	json_t *body;
	char *stored, *sent;

	(void)state;
	start_cairnd();
	expect(403, "GET", "/v1/version", "insecure", NULL, NULL);
	body = body_json();
	assert_non_null(strstr(json_string_value(json_object_get(body, "error")), "maintenance"));
	json_decref(body);
	expect(403, "GET", "/v1/config", "insecure", NULL, NULL);
	expect(403, "POST", "/v1/reboot", "insecure", NULL, NULL);
	/* TLS 1.3 only */
	expect(0, "GET", "/v1/version", "insecure", NULL, "--tls-max 1.2");
	/* an invalid config is rejected and nothing is stored */
	write_text(path_in("bad.yaml"), "apiVersion: cairn.dev/v1alpha1\nkind: MachineConfig\n"
					"spec:\n  role: worker\n");
	expect(400, "POST", "/v1/config", "insecure", "bad.yaml", NULL);
	assert_non_null(strstr(body_text(), "no .spec.identity"));
	assert_int_equal(access(path_in("state/config.yaml"), F_OK), -1);
	/* dry run in maintenance: the whole config is new, nothing is stored */
	expect(200, "POST", "/v1/config?dry_run=1", "insecure", "config1.yaml", NULL);
	assert_non_null(strstr(body_text(), "+ MachineConfig/node-1"));
	assert_int_equal(access(path_in("state/config.yaml"), F_OK), -1);
	/* apply: stored byte for byte */
	expect(200, "POST", "/v1/config", "insecure", "config1.yaml", NULL);
	body = body_json();
	assert_true(json_is_true(json_object_get(body, "applied")));
	json_decref(body);
	stored = read_text(path_in("state/config.yaml"));
	sent = read_text(path_in("config1.yaml"));
	assert_non_null(stored);
	assert_string_equal(stored, sent);
	free(stored);
	free(sent);
}

/* After the apply cairnd serves with the config's identity: wait for it. */
static void wait_secure(void)
{
	for (int i = 0; i < 100; i++) {
		if (curl("GET", "/v1/health", "admin", NULL, NULL) == 200)
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
	assert_non_null(strstr(body_text(), "\"mode\":\"secure\""));
	/* no client certificate: 401; the maintenance path is closed */
	expect(401, "GET", "/v1/version", NULL, NULL, NULL);
	body = body_json();
	assert_string_equal(json_string_value(json_object_get(body, "error")),
			    "client certificate required");
	json_decref(body);
	expect(401, "POST", "/v1/config", NULL, "config1.yaml", NULL);
	/* a certificate from another CA, even with O=cairn:admin */
	expect(401, "GET", "/v1/version", "intruder", NULL, NULL);
	assert_non_null(strstr(body_text(), "not trusted"));
	expect(401, "POST", "/v1/reboot", "intruder", NULL, NULL);
	/* a trusted certificate with no cairn role */
	expect(403, "GET", "/v1/version", "norole", NULL, NULL);
	/* reader: reads, nothing else */
	expect(200, "GET", "/v1/version", "reader", NULL, NULL);
	body = body_json();
	assert_string_equal(json_string_value(json_object_get(body, "version")), API_VERSION);
	json_decref(body);
	expect(200, "GET", "/v1/config", "reader", NULL, NULL);
	body = body_json();
	const json_t *identity = json_object_get(
		json_object_get(json_array_get(json_object_get(body, "config"), 0), "spec"), "identity");
	assert_string_equal(json_string_value(json_object_get(identity, "key")), "<redacted>");
	assert_non_null(strstr(json_string_value(json_object_get(identity, "ca")), "BEGIN CERTIFICATE"));
	json_decref(body);
	assert_null(strstr(body_text(), "PRIVATE KEY"));
	expect(403, "POST", "/v1/reboot", "reader", NULL, NULL);
	assert_non_null(strstr(body_text(), "needs operator"));
	expect(403, "POST", "/v1/config", "reader", "config2.yaml", NULL);
	/* operator: lifecycle, not config */
	expect(403, "POST", "/v1/config", "operator", "config2.yaml", NULL);
	expect(404, "GET", "/v1/nothing", "reader", NULL, NULL);
	expect(405, "DELETE", "/v1/config", "admin", NULL, NULL);
	/* no supervisor yet: the lifecycle call says so */
	expect(503, "POST", "/v1/shutdown", "operator", NULL, NULL);
	assert_non_null(strstr(body_text(), "init.sock"));
}

static void test_apply_errors(void **state)
{
	char *before, *after;
	json_t *body, *details;

	(void)state;
	before = read_text(path_in("state/config.yaml"));
	write_text(path_in("errors.yaml"),
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
	body = body_json();
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
	run("head -c 1100000 /dev/zero | tr '\\0' '#' > %s/big.yaml", dir);
	expect(413, "POST", "/v1/config", "admin", "big.yaml", NULL);
	after = read_text(path_in("state/config.yaml"));
	assert_string_equal(before, after);
	assert_int_equal(access(path_in("state/config.yaml.prev"), F_OK), -1);
	free(before);
	free(after);
}

static void test_dry_run_and_apply(void **state)
{
	char *before, *after, *prev, *sent;
	json_t *body;

	(void)state;
	before = read_text(path_in("state/config.yaml"));
	expect(200, "POST", "/v1/config?dry_run=1&mode=no-reboot", "admin", "config2.yaml", NULL);
	body = body_json();
	assert_true(json_is_true(json_object_get(body, "dry_run")));
	assert_string_equal(json_string_value(json_object_get(body, "mode")), "no-reboot");
	assert_int_equal(json_array_size(json_object_get(body, "changes")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(body, "changes"), 0)),
			    "~ MachineConfig/node-1 .spec.hostname: \"node-1\" -> \"node-2\"");
	json_decref(body);
	after = read_text(path_in("state/config.yaml"));
	assert_string_equal(before, after);
	free(after);
	expect(200, "GET", "/v1/config", "reader", NULL, NULL);
	assert_non_null(strstr(body_text(), "\"hostname\":\"node-1\""));
	/* the real apply: stored, the old one kept, served at once */
	expect(200, "POST", "/v1/config?mode=try", "admin", "config2.yaml", NULL);
	body = body_json();
	assert_true(json_is_true(json_object_get(body, "applied")));
	assert_string_equal(json_string_value(json_object_get(body, "mode")), "try");
	json_decref(body);
	after = read_text(path_in("state/config.yaml"));
	sent = read_text(path_in("config2.yaml"));
	prev = read_text(path_in("state/config.yaml.prev"));
	assert_string_equal(after, sent);
	assert_string_equal(prev, before);
	free(after);
	free(sent);
	free(prev);
	free(before);
	expect(200, "GET", "/v1/config", "reader", NULL, NULL);
	assert_non_null(strstr(body_text(), "\"hostname\":\"node-2\""));
	/* applying the same config again: no changes, still secure with the same identity */
	expect(200, "POST", "/v1/config", "admin", "config2.yaml", NULL);
	assert_non_null(strstr(body_text(), "\"changes\":[]"));
	expect(200, "GET", "/v1/version", "reader", NULL, NULL);
}

/* A new server certificate in the config: cairnd serves with it after the reply. */
static void test_identity_rotation(void **state)
{
	char *log;

	(void)state;
	expect(200, "GET", "/v1/version", "reader", NULL, "-v");
	log = read_text(path_in("curl.err"));
	assert_non_null(strstr(log, "subject: CN=node-1\n"));
	free(log);
	expect(200, "POST", "/v1/config", "admin", "config3.yaml", NULL);
	assert_non_null(strstr(body_text(), ".spec.identity.cert"));
	for (int i = 0; i < 100; i++) {
		expect(200, "GET", "/v1/version", "reader", NULL, "-v");
		log = read_text(path_in("curl.err"));
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
	assert_non_null(strstr(body_text(), "\"mode\":\"secure\""));
	expect(401, "GET", "/v1/health", NULL, NULL, NULL);
}

static void test_services_and_reboot(void **state)
{
	json_t *body, *services;
	int status = -1;

	(void)state;
	start_init();
	for (int i = 0; i < 100; i++) {
		expect(200, "GET", "/v1/services", "reader", NULL, NULL);
		if (strstr(body_text(), "\"state\":\"running\""))
			break;
		sleep_ms(50);
	}
	body = body_json();
	services = json_object_get(body, "services");
	assert_int_equal(json_array_size(services), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(services, 0), "name")),
			    "sleeper");
	assert_true(json_integer_value(json_object_get(json_array_get(services, 0), "pid")) > 0);
	json_decref(body);
	expect(403, "POST", "/v1/reboot", "reader", NULL, NULL);
	assert_int_equal(waitpid(init_pid, &status, WNOHANG), 0);
	expect(202, "POST", "/v1/reboot", "operator", NULL, NULL);
	assert_non_null(strstr(body_text(), "rebooting"));
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
		cmocka_unit_test(test_maintenance),
		cmocka_unit_test(test_secure_auth),
		cmocka_unit_test(test_apply_errors),
		cmocka_unit_test(test_dry_run_and_apply),
		cmocka_unit_test(test_identity_rotation),
		cmocka_unit_test(test_restart_keeps_config),
		cmocka_unit_test(test_services_and_reboot),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
