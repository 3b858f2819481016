/* test_ctl_net.c - cairnctl's network commands, run as the real (ASan) binary CAIRNCTL_HOST
 * against the real cairnd (CAIRND_HOST) and init --host (INIT_HOST) on 127.0.0.1, with a
 * cluster made by `cairnctl gen config`: apply-config --insecure in maintenance mode, then
 * secure-mode reads, dry-run diff, a refused config, a certificate of another CA, a reader's
 * refused reboot, fan-out to two nodes with one down, -o json / -o yaml, the streams and the
 * usage errors. Every cairnctl run must exit normally (a sanitizer finding exits 99). */
#include <errno.h>
#include <fcntl.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
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

static char out_text[1 << 18], err_text[1 << 16];
static int ports[2];
static pid_t init_pid;
static struct cairnd cairnds[2];
static char cairnctl_env[600];   /* the CAIRNCONFIG the runs use */

/* ---- helpers ---- */

/* Starts cairnctl with ARGV in the temporary folder, stdout and stderr to files. */
static pid_t spawn(const char **argv)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int out = open(test_path(".stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(test_path(".stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out < 0 || err < 0 || chdir(test_dir()) < 0)
			_exit(127);
		setenv("ASAN_OPTIONS", "detect_leaks=1:exitcode=99", 1);
		setenv("LSAN_OPTIONS", "exitcode=99", 1);
		setenv("UBSAN_OPTIONS", "print_stacktrace=1:exitcode=99", 1);
		setenv("CAIRNCONFIG", cairnctl_env, 1);
		unsetenv("https_proxy");
		unsetenv("HTTPS_PROXY");
		dup2(out, 1);
		dup2(err, 2);
		execv(CAIRNCTL_HOST, (char **)argv);
		_exit(127);
	}
	return pid;
}

static int collect(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	file_read_into(test_path(".stdout"), out_text, sizeof out_text);
	file_read_into(test_path(".stderr"), err_text, sizeof err_text);
	if (!WIFEXITED(status))
		fail_msg("cairnctl died (signal %d)\nstderr: %s", WTERMSIG(status), err_text);
	if (WEXITSTATUS(status) == 99)
		fail_msg("sanitizer finding:\n%s", err_text);
	return WEXITSTATUS(status);
}

#define ARGV_MAX 32

static void build_argv(const char **argv, const char *arg, va_list ap)
{
	int argc = 1;

	argv[0] = CAIRNCTL_HOST;
	for (const char *a = arg; a && argc < ARGV_MAX - 1; a = va_arg(ap, const char *))
		argv[argc++] = a;
	argv[argc] = NULL;
}

/* Runs cairnctl with the NULL-terminated arguments; returns its exit status. */
static int run(const char *arg, ...)
{
	const char *argv[ARGV_MAX];
	va_list ap;

	va_start(ap, arg);
	build_argv(argv, arg, ap);
	va_end(ap);
	return collect(spawn(argv));
}

/* Runs a cairnctl that does not end by itself (a stream) for MS, then interrupts it. */
static void run_for(int ms, const char *arg, ...)
{
	const char *argv[ARGV_MAX];
	va_list ap;
	pid_t pid;
	int status;

	va_start(ap, arg);
	build_argv(argv, arg, ap);
	va_end(ap);
	pid = spawn(argv);
	sleep_ms(ms);
	kill(pid, SIGINT);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	file_read_into(test_path(".stdout"), out_text, sizeof out_text);
	file_read_into(test_path(".stderr"), err_text, sizeof err_text);
}

static void use_cairnconfig(const char *name)
{
	snprintf(cairnctl_env, sizeof cairnctl_env, "%s", test_path(name));
}

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

/* Some line of TEXT starts with PREFIX. */
static void expect_line(const char *text, const char *prefix)
{
	for (const char *line = text; line && *line; line = strchr(line, '\n')) {
		line += *line == '\n';
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			return;
	}
	fail_msg("expected a line starting '%s' in:\n%s", prefix, text);
}

static json_t *parse_json(const char *text)
{
	json_error_t error;
	json_t *value = json_loads(text, 0, &error);

	if (!value)
		fail_msg("not JSON (%s):\n%s", error.text, text);
	return value;
}

static json_t *parse_yaml(const char *text)
{
	char err[YAML_JSON_ERROR_MAX];
	json_t *value = NULL;

	if (yaml_to_json("stdout", text, strlen(text), &value, NULL, err) < 0)
		fail_msg("not YAML (%s):\n%s", err, text);
	return value;
}

static int count_lines(const char *text)
{
	int lines = 0;

	for (; *text; text++)
		lines += *text == '\n';
	return lines;
}

/* ---- processes ---- */

/* cairnd number I (0 or 1) on ports[I], state in sI/state, run folder sI/run. */
static void start_cairnd(int i)
{
	const char *extra[] = { "--no-controllers", NULL };
	char state[16], run_dir[16], log[16];

	snprintf(state, sizeof state, "s%d/state", i + 1);
	snprintf(run_dir, sizeof run_dir, "s%d/run", i + 1);
	snprintf(log, sizeof log, "cairnd%d.log", i + 1);
	cairnds[i].port = ports[i];
	cairnds[i].run = i ? "s2/run" : "s1/run";
	cairnds[i].kmsg = "/dev/kmsg";   /* dmesg reads the host's kernel log */
	cairnd_start(&cairnds[i], state, log, extra);
}

static int stop_cairnd(int i)
{
	return cairnd_stop(&cairnds[i]);
}

/* init --host beside node 1's cairnd, supervising one sleeper service. */
static void start_init(void)
{
	mkdir(test_path("svc"), 0755);
	file_put(test_path("svc/sleeper.service"), "command = /bin/sleep 1000\n");
	init_pid = init_start("s1/run", "svc");
}

/* A cairnconfig named NAME with the context of FROM (CA, endpoints) but the client
 * certificate and key of CERT_DIR/CERT_NAME.crt|.key, or of CERT_FROM's context. */
static void write_cairnconfig(const char *name, const char *from, const char *cert,
			      const char *key)
{
	char err[YAML_JSON_ERROR_MAX], *text = file_text(test_path(from), NULL), *yaml;
	json_t *root = NULL, *context;
	char *cert_pem = file_text(test_path(cert), NULL), *key_pem = file_text(test_path(key), NULL);

	assert_int_equal(yaml_to_json(from, text, strlen(text), &root, NULL, err), 0);
	context = json_object_get(json_object_get(root, "contexts"),
				  json_string_value(json_object_get(root, "context")));
	assert_non_null(context);
	json_object_set_new(context, "cert", json_string(cert_pem));
	json_object_set_new(context, "key", json_string(key_pem));
	yaml = json_to_yaml(root, NULL);
	assert_non_null(yaml);
	file_put(test_path(name), yaml);
	chmod(test_path(name), 0600);
	free(yaml);
	free(text);
	free(cert_pem);
	free(key_pem);
	json_decref(root);
}

/* The PEM under KEY of the current context of the cairnconfig FROM, into file NAME. */
static void extract_pem(const char *from, const char *key, const char *name)
{
	char err[YAML_JSON_ERROR_MAX], *text = file_text(test_path(from), NULL);
	json_t *root = NULL, *context;

	assert_int_equal(yaml_to_json(from, text, strlen(text), &root, NULL, err), 0);
	context = json_object_get(json_object_get(root, "contexts"),
				  json_string_value(json_object_get(root, "context")));
	file_put(test_path(name), json_string_value(json_object_get(context, key)));
	json_decref(root);
	free(text);
}

static int group_setup(void **state)
{
	char nodes[128];

	(void)state;
	if (test_dir_make("test-ctl-net") < 0)
		return -1;
	mkdir(test_path("s1"), 0755);
	mkdir(test_path("s2"), 0755);
	ports[0] = port_free();
	do
		ports[1] = port_free();
	while (ports[1] == ports[0]);
	snprintf(nodes, sizeof nodes, "n1=127.0.0.1:%d,n2=127.0.0.1:%d", ports[0], ports[1]);
	use_cairnconfig("lab/cairnconfig");
	if (run("gen", "config", "lab", "--nodes", nodes, "--out", "lab", NULL) != 0 ||
	    run("gen", "config", "other", "--nodes", nodes, "--out", "other", NULL) != 0 ||
	    run("gen", "cert", "--ca-dir", "lab", "--role", "reader", "--name", "alice", "--out",
		"lab", NULL) != 0) {
		fprintf(stderr, "gen failed: %s", err_text);
		return -1;
	}
	start_cairnd(0);
	start_cairnd(1);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	stop_cairnd(0);
	stop_cairnd(1);
	child_stop(&init_pid, 100);
	test_dir_remove();
	return 0;
}

/* ---- the tests, in order: each builds on the node state the previous ones left ---- */

static void test_usage_errors(void **state)
{
	(void)state;
	assert_int_equal(run("apply-config", "--insecure", NULL), 2);
	expect_in(err_text, "cairnctl: apply-config: no file given (-f FILE)");
	assert_int_equal(run("apply-config", "-f", "lab/n1.yaml", "--insecure", NULL), 2);
	expect_in(err_text, "--insecure needs the node's address: -n ADDRESS");
	assert_int_equal(run("apply-config", "-f", "lab/n1.yaml", "--mode", "sometimes", NULL), 2);
	assert_int_equal(run("apply-config", "-f", "lab/n1.yaml", "--timeout", "30s", NULL), 2);
	expect_in(err_text, "--timeout is for --mode try");
	assert_int_equal(run("get", NULL), 2);
	expect_in(err_text, "cairnctl: get: missing KIND");
	assert_int_equal(run("get", "links", "extra", NULL), 2);
	assert_int_equal(run("get", "config", "-w", NULL), 2);
	assert_int_equal(run("service", "sleeper", "explode", NULL), 2);
	assert_int_equal(run("service", "../x", "start", NULL), 2);
	assert_int_equal(run("logs", NULL), 2);
	assert_int_equal(run("logs", "x", "--tail", "many", NULL), 2);
	assert_int_equal(run("health", "--retries", "lots", NULL), 2);
	assert_int_equal(run("health", "--request-timeout", "soon", NULL), 2);
	assert_int_equal(run("reboot", "now", NULL), 2);
	assert_int_equal(run("-n", "n1,", "health", "--bogus", NULL), 2);
	assert_int_equal(run("health", "-n", "[::1", NULL), 2);
	expect_in(err_text, "is not an address");
	assert_int_equal(run("help", "apply-config", NULL), 0);
	expect_in(out_text, "--insecure");
	assert_int_equal(run("get", "-h", NULL), 0);
	expect_in(out_text, "usage: cairnctl get KIND");
	/* no cairnconfig: one clear line */
	assert_int_equal(run("--cairnconfig", "nowhere", "health", NULL), 1);
	expect_in(err_text, "cairnctl: health: nowhere: No such file or directory");
	assert_int_equal(count_lines(err_text), 1);
	assert_int_equal(run("version", "--client", NULL), 0);
	assert_string_equal(out_text, "cairnctl 0.1.0\n");
}

static void test_maintenance_apply(void **state)
{
	char port[32];

	(void)state;
	/* a node in maintenance mode has no certificate of the cluster */
	assert_int_equal(run("health", "-n", "n1", NULL), 1);
	expect_in(err_text, "cairnctl: n1: TLS: the node's certificate does not verify");
	expect_in(err_text, "maintenance");
	assert_int_equal(count_lines(err_text), 1);
	/* dry run by address, without any cairnconfig */
	use_cairnconfig("none");
	snprintf(port, sizeof port, "127.0.0.1:%d", ports[0]);
	expect_ok(run("apply-config", "--insecure", "-n", port, "-f", "lab/n1.yaml", "--dry-run",
		      NULL));
	expect_in(out_text, "dry run, mode auto: 1 change\n+ MachineConfig/n1: ");
	use_cairnconfig("lab/cairnconfig");
	/* the real applies, by node name */
	expect_ok(run("apply-config", "--insecure", "-n", "n1", "-f", "lab/n1.yaml", NULL));
	expect_in(out_text, "n1: applied, mode auto: 1 change\n");
	expect_ok(run("apply-config", "--insecure", "-n", "n2", "-f", "lab/n2.yaml", NULL));
	/* cairnd restarts with its new identity after the reply */
	for (int i = 0; i < 100 && run("health", "-n", "n1,n2", NULL) != 0; i++)
		sleep_ms(50);
	expect_ok(run("health", "-n", "n1,n2", NULL));
	expect_line(out_text, "NODE   STATUS   MODE     CONFIG");
	expect_line(out_text, "n1     ok       secure   true");
	expect_line(out_text, "n2     ok       secure   true");
	/* maintenance is over: --insecure is refused by the node's role check */
	assert_int_equal(run("apply-config", "--insecure", "-n", "n1", "-f", "lab/n1.yaml", NULL), 1);
	expect_in(err_text, "cairnctl: n1: HTTP 401: client certificate required");
}

static void test_secure_reads(void **state)
{
	(void)state;
	/* without -n: the context's first endpoint */
	expect_ok(run("version", NULL));
	expect_in(out_text, "cairnctl 0.1.0 (client)\nNODE   VERSION   API\nn1     0.1.0     v1\n");
	expect_ok(run("get", "config", NULL));
	expect_in(out_text, "# node: n1\n---\napiVersion: cairn.dev/v1alpha1\nkind: MachineConfig\n");
	expect_in(out_text, "  hostname: n1\n");
	expect_in(out_text, "key: <redacted>");
	assert_null(strstr(out_text, "PRIVATE KEY"));
	/* services come from PID 1 */
	assert_int_equal(run("services", NULL), 1);
	expect_in(err_text, "cairnctl: n1: HTTP 503: cannot reach the supervisor");
	start_init();
	for (int i = 0; i < 100; i++) {
		expect_ok(run("services", NULL));
		if (strstr(out_text, " ready ") || strstr(out_text, " running "))
			break;
		sleep_ms(50);
	}
	expect_line(out_text, "NODE   NAME      STATE   PID ");
	expect_line(out_text, "n1     sleeper   ready   ");
}

static void test_dry_run_diff(void **state)
{
	char *config = file_text(test_path("lab/n1.yaml"), NULL), *at = strstr(config, "hostname: n1\n");

	(void)state;
	assert_non_null(at);
	memcpy(at, "hostname: nx", 12);
	file_put(test_path("n1-renamed.yaml"), config);
	free(config);
	expect_ok(run("apply-config", "-n", "n1", "-f", "n1-renamed.yaml", "--dry-run",
		      "--mode", "no-reboot", NULL));
	assert_string_equal(out_text, "n1: dry run, mode no-reboot: 1 change\n"
				      "~ MachineConfig/n1 .spec.hostname: \"n1\" -> \"nx\"\n");
	expect_ok(run("get", "config", NULL));
	expect_in(out_text, "  hostname: n1\n");
	/* -o json of the same: the node's reply under its name */
	expect_ok(run("apply-config", "-f", "n1-renamed.yaml", "--dry-run", "-o", "json", NULL));
	json_t *doc = parse_json(out_text);
	json_t *reply = json_object_get(json_object_get(doc, "nodes"), "n1");
	assert_true(json_is_true(json_object_get(reply, "dry_run")));
	assert_int_equal(json_array_size(json_object_get(reply, "changes")), 1);
	json_decref(doc);
}

static void test_rejected_config(void **state)
{
	(void)state;
	file_put(test_path("bad.yaml"),
		   "apiVersion: cairn.dev/v1alpha1\n"      /* 1 */
		   "kind: MachineConfig\n"                 /* 2 */
		   "metadata:\n"                           /* 3 */
		   "  name: n1\n"                          /* 4 */
		   "spec:\n"                               /* 5 */
		   "  hostname: n1\n"                      /* 6 */
		   "  role: worker\n"                      /* 7 */
		   "  network:\n"                          /* 8 */
		   "    interfaces:\n"                     /* 9 */
		   "      - name: eth0\n"                  /* 10 */
		   "        mtu: 70000\n");                /* 11 */
	assert_int_equal(run("apply-config", "-f", "bad.yaml", NULL), 1);
	expect_in(err_text, "bad.yaml:11: document 1 (MachineConfig): "
			    ".spec.network.interfaces[0].mtu: 70000 is out of range 68..65535\n");
	/* the last line says which node refused it */
	size_t len = strlen(err_text);
	const char *last = "cairnctl: n1: config rejected\n";
	assert_true(len >= strlen(last));
	assert_string_equal(err_text + len - strlen(last), last);
	assert_string_equal(out_text, "");
	/* a file that is not there */
	assert_int_equal(run("apply-config", "-f", "missing.yaml", NULL), 1);
	assert_string_equal(err_text,
			    "cairnctl: apply-config: missing.yaml: No such file or directory\n");
}

static void test_foreign_certificates(void **state)
{
	(void)state;
	/* another cluster's whole cairnconfig: the node's certificate is not from its CA */
	use_cairnconfig("other/cairnconfig");
	assert_int_equal(run("version", "-n", "n1", NULL), 1);
	expect_in(err_text, "cairnctl: n1: TLS: the node's certificate does not verify against "
			    "the cairnconfig's CA: The certificate is NOT trusted");
	/* the right CA, but a client certificate of the other cluster: 401 from the node */
	extract_pem("other/cairnconfig", "cert", "other-admin.crt");
	extract_pem("other/cairnconfig", "key", "other-admin.key");
	write_cairnconfig("intruder", "lab/cairnconfig", "other-admin.crt", "other-admin.key");
	use_cairnconfig("intruder");
	assert_int_equal(run("version", "-n", "n1", NULL), 1);
	expect_in(err_text, "cairnctl: n1: HTTP 401: client certificate not trusted by the "
			    "cluster CA");
	assert_int_equal(count_lines(err_text), 1);
	/* a reader may read but not reboot */
	write_cairnconfig("reader", "lab/cairnconfig", "lab/alice.crt", "lab/alice.key");
	use_cairnconfig("reader");
	expect_ok(run("health", NULL));
	assert_int_equal(run("reboot", NULL), 1);
	assert_string_equal(err_text, "cairnctl: n1: HTTP 403: role reader may not call POST "
				      "/v1/reboot (needs operator)\n");
	assert_int_equal(run("apply-config", "-f", "n1-renamed.yaml", "--dry-run", NULL), 1);
	expect_in(err_text, "cairnctl: n1: HTTP 403: role reader may not call POST /v1/config");
	use_cairnconfig("lab/cairnconfig");
}

static void test_output_formats(void **state)
{
	json_t *doc;

	(void)state;
	expect_ok(run("-o", "json", "version", "-n", "n1,n2", NULL));
	doc = parse_json(out_text);
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "client"),
							      "version")), "0.1.0");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_object_get(doc, "nodes"), "n2"), "api")), "v1");
	assert_null(json_object_get(doc, "errors"));
	json_decref(doc);
	expect_ok(run("services", "-o", "yaml", NULL));
	doc = parse_yaml(out_text);
	json_t *services = json_object_get(json_object_get(json_object_get(doc, "nodes"), "n1"),
					   "services");
	assert_string_equal(json_string_value(json_object_get(json_array_get(services, 0),
							      "name")), "sleeper");
	json_decref(doc);
	expect_ok(run("get", "config", "-o", "json", NULL));
	doc = parse_json(out_text);
	json_t *config = json_object_get(json_object_get(json_object_get(doc, "nodes"), "n1"),
					 "config");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_array_get(config, 0), "spec"), "hostname")), "n1");
	json_decref(doc);
	expect_ok(run("health", "-o", "yaml", "-n", "n2", NULL));
	doc = parse_yaml(out_text);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_object_get(doc, "nodes"), "n2"), "mode")), "secure");
	json_decref(doc);
}

static void test_fan_out_with_a_node_down(void **state)
{
	char address[32];
	json_t *doc;

	(void)state;
	expect_ok(run("health", "-n", "n1,n2", NULL));
	assert_int_equal(count_lines(out_text), 3);
	assert_int_equal(stop_cairnd(1), 0);
	/* n2 is down: n1's row still prints, n2 gets one line, the exit status says so */
	snprintf(address, sizeof address, "127.0.0.1:%d", ports[1]);
	assert_int_equal(run("health", "-n", "n1,n2", "--retries", "2", NULL), 1);
	assert_int_equal(count_lines(out_text), 2);
	expect_line(out_text, "NODE   STATUS   MODE     CONFIG");
	expect_line(out_text, "n1     ok       secure   true");
	assert_string_equal(err_text, "cairnctl: n2: cannot connect: Connection refused "
				      "(3 attempts)\n");
	/* by address, an address of the context is shown by its name */
	assert_int_equal(run("version", "-n", address, "--retries", "0", NULL), 1);
	assert_string_equal(err_text, "cairnctl: n2: cannot connect: Connection refused\n");
	/* -o json: parseable, the failure under "errors" */
	assert_int_equal(run("services", "-n", "n1,n2", "-o", "json", "--retries", "0", NULL), 1);
	doc = parse_json(out_text);
	assert_non_null(json_object_get(json_object_get(doc, "nodes"), "n1"));
	assert_null(json_object_get(json_object_get(doc, "nodes"), "n2"));
	expect_in(json_string_value(json_object_get(json_object_get(doc, "errors"), "n2")),
		  "Connection refused");
	json_decref(doc);
	/* a stream's failure shows at once, while the other node's stream goes on */
	run_for(2500, "dmesg", "-f", "-n", "n1,n2", "--retries", "1", NULL);
	expect_in(err_text, "cairnctl: n2: cannot connect: Connection refused (2 attempts)\n");
	/* a node that accepts connections but never answers: a time-out per attempt */
	int silent = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in bound = { .sin_family = AF_INET,
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t bound_len = sizeof bound;
	assert_int_equal(bind(silent, (struct sockaddr *)&bound, sizeof bound), 0);
	assert_int_equal(listen(silent, 8), 0);
	assert_int_equal(getsockname(silent, (struct sockaddr *)&bound, &bound_len), 0);
	snprintf(address, sizeof address, "127.0.0.1:%d", ntohs(bound.sin_port));
	assert_int_equal(run("health", "-n", address, "--request-timeout", "300ms", "--retries",
			     "1", NULL), 1);
	char wanted[128];
	snprintf(wanted, sizeof wanted, "cairnctl: %s: no reply within 300 ms (2 attempts)\n",
		 address);
	assert_string_equal(err_text, wanted);
	close(silent);
	/* the retries wait: 250 ms, then 500 ms, so a node that comes up in between is met */
	pid_t pid = spawn((const char *[]){ CAIRNCTL_HOST, "health", "-n", "n2", "--retries", "4",
					    NULL });
	sleep_ms(300);
	start_cairnd(1);
	expect_ok(collect(pid));
	expect_line(out_text, "n2     ok       secure   true");
}

/* Endpoints another engineer is adding: tested when the node has them. */
static bool endpoint_missing(int rc)
{
	if (rc != 0 && strstr(err_text, "HTTP 404: no such endpoint")) {
		fprintf(stderr, "test_ctl_net: endpoint not there yet: %s", err_text);
		return true;
	}
	return false;
}

static void test_resources_and_streams(void **state)
{
	int rc;

	(void)state;
	rc = run("get", "links", "-n", "n1,n2", NULL);
	if (!endpoint_missing(rc)) {
		expect_ok(rc);
		assert_memory_equal(out_text, "NODE", 4);
		expect_in(out_text, "ID");
		expect_ok(run("get", "hostname", "-o", "json", NULL));
		json_t *doc = parse_json(out_text);
		assert_true(json_is_array(json_object_get(json_object_get(json_object_get(
			doc, "nodes"), "n1"), "items")));
		json_decref(doc);
		assert_int_equal(run("get", "nosuchkind", NULL), 1);
		expect_in(err_text, "cairnctl: n1: HTTP 404");
		run_for(1500, "get", "hostname", "-w", "-n", "n1,n2", NULL);
		expect_in(out_text, "n1: --- hostname revision ");
		expect_in(out_text, "n2: --- hostname revision ");
		run_for(1500, "get", "hostname", "--watch", "-o", "json", NULL);
		json_t *line = parse_json(strtok(out_text, "\n"));
		assert_string_equal(json_string_value(json_object_get(line, "node")), "n1");
		assert_string_equal(json_string_value(json_object_get(line, "kind")), "hostname");
		json_decref(line);
	}
	rc = run("logs", "sleeper", "--tail", "5", NULL);
	if (!endpoint_missing(rc))
		expect_ok(rc);
	rc = run("dmesg", "--tail", "3", "-n", "n1,n2", NULL);
	if (!endpoint_missing(rc)) {
		expect_ok(rc);
		for (char *line = strtok(out_text, "\n"); line; line = strtok(NULL, "\n"))
			if (strncmp(line, "n1: ", 4) != 0 && strncmp(line, "n2: ", 4) != 0)
				fail_msg("dmesg line without its node: %s", line);
	}
	rc = run("service", "sleeper", "restart", NULL);
	if (!endpoint_missing(rc))
		expect_ok(rc);
}

static void test_try_and_confirm(void **state)
{
	char *applied;
	int rc;

	(void)state;
	expect_ok(run("apply-config", "-f", "n1-renamed.yaml", "--mode", "try", "--timeout", "5m",
		      NULL));
	applied = strdup(out_text);
	assert_non_null(applied);
	expect_in(applied, "n1: applied, mode try: 1 change\n"
			   "~ MachineConfig/n1 .spec.hostname: \"n1\" -> \"nx\"\n");
	rc = run("confirm", NULL);
	if (endpoint_missing(rc)) {
		free(applied);
		return;
	}
	expect_ok(rc);
	expect_in(applied, "n1: try: run 'cairnctl confirm' by ");
	free(applied);
	expect_line(out_text, "n1     true");
	assert_int_equal(run("confirm", NULL), 1);
	assert_string_equal(err_text, "cairnctl: n1: HTTP 409: no try apply is pending\n");
}

static void test_reboot(void **state)
{
	int status = -1;

	(void)state;
	expect_ok(run("reboot", "-n", "n1", NULL));
	assert_string_equal(out_text, "NODE   STATUS\nn1     rebooting\n");
	for (int i = 0; i < 1000 && waitpid(init_pid, &status, WNOHANG) != init_pid; i++)
		sleep_ms(10);
	assert_true(WIFEXITED(status));
	init_pid = 0;
	assert_int_equal(stop_cairnd(0), 0);
	assert_int_equal(stop_cairnd(1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_maintenance_apply),
		cmocka_unit_test(test_secure_reads),
		cmocka_unit_test(test_dry_run_diff),
		cmocka_unit_test(test_rejected_config),
		cmocka_unit_test(test_foreign_certificates),
		cmocka_unit_test(test_output_formats),
		cmocka_unit_test(test_fan_out_with_a_node_down),
		cmocka_unit_test(test_resources_and_streams),
		cmocka_unit_test(test_try_and_confirm),
		cmocka_unit_test(test_reboot),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
