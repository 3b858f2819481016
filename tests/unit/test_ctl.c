/* test_ctl.c - cairnctl's offline commands, run as the real (ASan) binary CAIRNCTL_HOST in
 * a temporary folder: gen config (files, modes, configs that decode, certificates that
 * chain to the CA with the right O and SANs, no overwrite without --force, patches),
 * validate, gen cert, usage errors. Certificates are checked with GnuTLS. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>

#include "config.h"
#include "yaml_json.h"

#ifndef CAIRNCTL_HOST
#error "CAIRNCTL_HOST: the path of the cairnctl binary under test"
#endif

static char out_text[65536], err_text[65536];

/* ---- helpers ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Runs cairnctl with the NULL-terminated arguments in the temporary folder; its stdout and
 * stderr land in out_text and err_text. Returns the exit status. */
static int run(const char *arg, ...)
{
	const char *argv[32] = { CAIRNCTL_HOST };
	char out_path[600], err_path[600];
	va_list ap;
	int argc = 1, status;
	pid_t pid;

	va_start(ap, arg);
	for (const char *a = arg; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	snprintf(out_path, sizeof out_path, "%s/.stdout", test_dir());
	snprintf(err_path, sizeof err_path, "%s/.stderr", test_dir());
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out < 0 || err < 0 || chdir(test_dir()) < 0)
			_exit(127);
		/* A sanitizer finding exits 99, which no test expects. */
		setenv("ASAN_OPTIONS", "detect_leaks=1:exitcode=99", 1);
		setenv("LSAN_OPTIONS", "exitcode=99", 1);
		setenv("UBSAN_OPTIONS", "print_stacktrace=1:exitcode=99", 1);
		dup2(out, 1);
		dup2(err, 2);
		execv(CAIRNCTL_HOST, (char **)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	file_read_into(out_path, out_text, sizeof out_text);
	file_read_into(err_path, err_text, sizeof err_text);
	assert_true(WIFEXITED(status));   /* no crash, no sanitizer abort */
	return WEXITSTATUS(status);
}

static int gen_lab(const char *out_dir)
{
	return run("gen", "config", "lab", "--nodes", "n1=127.0.0.1:50001,n2=10.0.0.2",
		   "--out", out_dir, NULL);
}

static json_t *decode_node(const char *path)
{
	struct config_errors errs = { 0 };
	json_t *config = NULL;
	int rc = config_decode_file(path, &config, &errs);

	if (rc < 0)
		config_errors_print(stderr, &errs);
	config_errors_free(&errs);
	assert_int_equal(rc, 0);
	return config;
}

static const char *spec_string(const json_t *config, const char *key, const char *sub)
{
	const json_t *spec = json_object_get(json_array_get(config, 0), "spec");
	const json_t *value = json_object_get(spec, key);

	if (sub)
		value = json_object_get(value, sub);
	return json_string_value(value);
}

static gnutls_x509_crt_t cert_from_pem(const char *pem)
{
	gnutls_x509_crt_t cert;
	gnutls_datum_t datum = { (unsigned char *)pem, (unsigned)strlen(pem) };

	assert_int_equal(gnutls_x509_crt_init(&cert), 0);
	assert_int_equal(gnutls_x509_crt_import(cert, &datum, GNUTLS_X509_FMT_PEM), 0);
	return cert;
}

/* True when CERT_PEM is signed by CA_PEM and the chain verifies now. */
static bool chains_to(const char *cert_pem, const char *ca_pem)
{
	gnutls_x509_crt_t cert = cert_from_pem(cert_pem), ca = cert_from_pem(ca_pem);
	unsigned status = 0;
	int rc = gnutls_x509_crt_verify(cert, &ca, 1, 0, &status);

	gnutls_x509_crt_deinit(cert);
	gnutls_x509_crt_deinit(ca);
	return rc == 0 && status == 0;
}

static void assert_dn(const char *cert_pem, const char *oid, const char *want)
{
	gnutls_x509_crt_t cert = cert_from_pem(cert_pem);
	char value[256];
	size_t size = sizeof value;

	assert_int_equal(gnutls_x509_crt_get_dn_by_oid(cert, oid, 0, 0, value, &size), 0);
	assert_string_equal(value, want);
	gnutls_x509_crt_deinit(cert);
}

/* The SANs of CERT_PEM as "DNS:name" and "IP:a.b.c.d" joined by ",". */
static void sans_of(const char *cert_pem, char *out, size_t size)
{
	gnutls_x509_crt_t cert = cert_from_pem(cert_pem);

	out[0] = '\0';
	for (unsigned i = 0;; i++) {
		unsigned char value[256];
		size_t len = sizeof value;
		char text[300];
		int type = gnutls_x509_crt_get_subject_alt_name(cert, i, value, &len, NULL);
		if (type < 0)
			break;
		if (type == GNUTLS_SAN_DNSNAME)
			snprintf(text, sizeof text, "DNS:%.*s", (int)len, value);
		else if (type == GNUTLS_SAN_IPADDRESS && len == 4)
			snprintf(text, sizeof text, "IP:%u.%u.%u.%u", value[0], value[1], value[2],
				 value[3]);
		else
			snprintf(text, sizeof text, "other");
		if (out[0])
			strncat(out, ",", size - strlen(out) - 1);
		strncat(out, text, size - strlen(out) - 1);
	}
	gnutls_x509_crt_deinit(cert);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static json_t *read_cairnconfig(const char *path)
{
	char err[YAML_JSON_ERROR_MAX], *text = slurp(path);
	json_t *value = NULL;

	if (yaml_to_json(path, text, strlen(text), &value, NULL, err) < 0)
		fail_msg("%s", err);
	free(text);
	return value;
}

static int setup(void **state)
{
	(void)state;
	return test_dir_make("test-ctl");
}

static int teardown(void **state)
{
	(void)state;
	test_dir_remove();
	return 0;
}

/* ---- tests ---- */

static void test_gen_config_writes_files(void **state)
{
	static const char *const files[] = { "ca.crt", "ca.key", "cairnconfig", "n1.yaml",
					     "n2.yaml" };
	static const mode_t modes[] = { 0644, 0600, 0600, 0600, 0600 };
	(void)state;

	assert_int_equal(gen_lab("out"), 0);
	for (size_t i = 0; i < 5; i++) {
		char name[64];
		snprintf(name, sizeof name, "out/%s", files[i]);
		assert_int_equal(mode_of(test_path(name)), modes[i]);
	}
	for (int n = 1; n <= 2; n++) {
		char name[64], node[16];
		json_t *config;
		snprintf(name, sizeof name, "out/n%d.yaml", n);
		snprintf(node, sizeof node, "n%d", n);
		config = decode_node(test_path(name));
		assert_int_equal(json_array_size(config), 1);
		assert_string_equal(spec_string(config, "hostname", NULL), node);
		assert_string_equal(spec_string(config, "role", NULL),
				    n == 1 ? "controlplane" : "worker");
		assert_string_equal(json_string_value(json_object_get(json_object_get(
			json_array_get(config, 0), "metadata"), "name")), node);
		json_decref(config);
	}
	/* Those five files and nothing else: no temporary file is left behind. */
	DIR *folder = opendir(test_path("out"));
	struct dirent *entry;
	int entries = 0;
	assert_non_null(folder);
	while ((entry = readdir(folder)))
		entries += entry->d_name[0] != '.';
	closedir(folder);
	assert_int_equal(entries, 5);
}

static void test_gen_config_certificates(void **state)
{
	char sans[512], *ca_file;
	json_t *n1, *n2, *client, *context;
	const char *ca;
	(void)state;

	assert_int_equal(gen_lab("out"), 0);
	assert_int_equal(gen_lab("other"), 0);   /* a second cluster, another CA */
	ca_file = slurp(test_path("out/ca.crt"));
	n1 = decode_node(test_path("out/n1.yaml"));
	n2 = decode_node(test_path("out/n2.yaml"));
	ca = spec_string(n1, "identity", "ca");
	assert_string_equal(ca, ca_file);

	assert_true(chains_to(spec_string(n1, "identity", "cert"), ca));
	assert_true(chains_to(spec_string(n2, "identity", "cert"), ca));
	assert_dn(spec_string(n1, "identity", "cert"), GNUTLS_OID_X520_COMMON_NAME, "n1");
	sans_of(spec_string(n1, "identity", "cert"), sans, sizeof sans);
	assert_string_equal(sans, "DNS:n1,IP:127.0.0.1");
	sans_of(spec_string(n2, "identity", "cert"), sans, sizeof sans);
	assert_string_equal(sans, "DNS:n2,IP:10.0.0.2");

	client = read_cairnconfig(test_path("out/cairnconfig"));
	assert_string_equal(json_string_value(json_object_get(client, "context")), "lab");
	context = json_object_get(json_object_get(client, "contexts"), "lab");
	assert_non_null(context);
	assert_string_equal(json_string_value(json_object_get(context, "ca")), ca);
	assert_string_equal(json_string_value(json_array_get(json_object_get(context,
		"endpoints"), 0)), "127.0.0.1:50001");
	assert_string_equal(json_string_value(json_object_get(json_object_get(context, "nodes"),
		"n2")), "10.0.0.2");
	const char *admin = json_string_value(json_object_get(context, "cert"));
	assert_true(chains_to(admin, ca));
	assert_dn(admin, GNUTLS_OID_X520_ORGANIZATION_NAME, "cairn:admin");
	assert_dn(admin, GNUTLS_OID_X520_COMMON_NAME, "admin");
	assert_non_null(strstr(json_string_value(json_object_get(context, "key")),
			       "BEGIN PRIVATE KEY"));

	/* The check can fail: nothing chains to the other cluster's CA. */
	char *other_ca = slurp(test_path("other/ca.crt"));
	assert_false(chains_to(admin, other_ca));
	assert_false(chains_to(spec_string(n1, "identity", "cert"), other_ca));
	free(other_ca);

	/* certtool agrees. */
	char command[1024];
	file_put(test_path("admin.crt"), admin);
	snprintf(command, sizeof command, "certtool --verify --load-ca-certificate %s "
		 "--infile %s >/dev/null 2>&1", test_path("out/ca.crt"), test_path("admin.crt"));
	assert_int_equal(system(command), 0);
	snprintf(command, sizeof command, "certtool --verify --load-ca-certificate %s "
		 "--infile %s >/dev/null 2>&1", test_path("other/ca.crt"), test_path("admin.crt"));
	assert_int_not_equal(system(command), 0);

	json_decref(client);
	json_decref(n1);
	json_decref(n2);
	free(ca_file);
}

/* --kubernetes: the cluster's CAs (Kubernetes and etcd), the service-account pair and a bootstrap
 * token, the same in every node's config; the etcd CA and the service-account key only on the
 * control plane; each node's address (--kube-address) and a pod range of its own. */
static void test_gen_config_kubernetes(void **state)
{
	json_t *n1, *n2;
	const json_t *k1, *k2;
	(void)state;

	assert_int_equal(run("gen", "config", "lab", "--nodes", "n1=127.0.0.1:50001,n2=10.0.0.2",
			     "--kubernetes", "--kube-address", "n1=10.77.1.1", "--out", "out", NULL), 0);
	n1 = decode_node(test_path("out/n1.yaml"));
	n2 = decode_node(test_path("out/n2.yaml"));
	k1 = json_object_get(json_object_get(json_array_get(n1, 0), "spec"), "kubernetes");
	k2 = json_object_get(json_object_get(json_array_get(n2, 0), "spec"), "kubernetes");
	assert_non_null(k1);
	assert_non_null(k2);
	assert_string_equal(json_string_value(json_object_get(k1, "address")), "10.77.1.1");
	assert_string_equal(json_string_value(json_object_get(k2, "address")), "10.0.0.2");
	assert_string_equal(json_string_value(json_object_get(k2, "endpoint")), "10.77.1.1");
	/* the worker gets the CA's certificate, not its key: its kubelet joins with the token */
	assert_string_equal(json_string_value(json_object_get(json_object_get(k1, "ca"), "cert")),
			    json_string_value(json_object_get(json_object_get(k2, "ca"), "cert")));
	assert_non_null(json_object_get(json_object_get(k1, "ca"), "key"));
	assert_null(json_object_get(json_object_get(k2, "ca"), "key"));
	assert_true(json_equal(json_object_get(k1, "nodes"), json_object_get(k2, "nodes")));
	/* each node has its own token, with its own ID; the control plane holds every node's
	 * (it makes the workers' Secrets), the worker its own only */
	const char *t1 = json_string_value(json_object_get(k1, "bootstrapToken"));
	const char *t2 = json_string_value(json_object_get(k2, "bootstrapToken"));
	const json_t *tokens = json_object_get(k1, "bootstrapTokens");
	assert_non_null(t1);
	assert_non_null(t2);
	assert_int_not_equal(strncmp(t1, t2, 6), 0);
	assert_int_equal(json_object_size(tokens), 2);
	assert_string_equal(json_string_value(json_object_get(tokens, "n1")), t1);
	assert_string_equal(json_string_value(json_object_get(tokens, "n2")), t2);
	assert_null(json_object_get(k2, "bootstrapTokens"));
	/* gen token: a new token, for a worker added later */
	char token[64] = "";
	assert_int_equal(run("gen", "token", NULL), 0);
	strncat(token, out_text, sizeof token - 1);
	assert_int_equal(strlen(token), 24);
	assert_int_equal(strspn(token, "abcdefghijklmnopqrstuvwxyz0123456789"), 6);
	assert_int_equal(token[6], '.');
	assert_int_equal(strspn(token + 7, "abcdefghijklmnopqrstuvwxyz0123456789"), 16);
	assert_string_equal(token + 23, "\n");
	assert_int_equal(run("gen", "token", NULL), 0);
	assert_string_not_equal(out_text, token);
	assert_int_equal(run("gen", "token", "extra", NULL), 2);
	assert_non_null(strstr(err_text, "unexpected argument 'extra'"));
	assert_non_null(json_object_get(k1, "etcdCA"));
	assert_non_null(json_object_get(k1, "serviceAccount"));
	assert_null(json_object_get(k2, "etcdCA"));
	assert_null(json_object_get(k2, "serviceAccount"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(k1,
		"nodes"), "n2"), "podCIDR")), "10.244.2.0/24");
	/* the Kubernetes CA is not the node API's, nor etcd's */
	const char *kca = json_string_value(json_object_get(json_object_get(k1, "ca"), "cert"));
	const char *eca = json_string_value(json_object_get(json_object_get(k1, "etcdCA"), "cert"));
	assert_dn(kca, GNUTLS_OID_X520_COMMON_NAME, "kubernetes");
	assert_dn(eca, GNUTLS_OID_X520_COMMON_NAME, "etcd");
	assert_string_not_equal(kca, spec_string(n1, "identity", "ca"));
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(k1,
		"serviceAccount"), "public")), "BEGIN PUBLIC KEY"));
	json_decref(n1);
	json_decref(n2);

	/* a host name, or two nodes on one address, cannot be a Kubernetes address */
	assert_int_equal(run("gen", "config", "lab", "--nodes", "n1=node-a,n2=10.0.0.2",
			     "--kubernetes", "--out", "bad", NULL), 1);
	assert_non_null(strstr(err_text, "node n1's address node-a is not an IPv4 address"));
	assert_int_equal(run("gen", "config", "lab", "--nodes", "n1=127.0.0.1:1,n2=127.0.0.1:2",
			     "--kubernetes", "--out", "bad", NULL), 1);
	assert_non_null(strstr(err_text, "nodes n1 and n2 have the same address 127.0.0.1"));
	assert_int_equal(run("gen", "config", "lab", "--nodes", "n1=10.0.0.1",
			     "--kube-address", "n1=10.0.0.9", "--out", "bad", NULL), 2);
	assert_non_null(strstr(err_text, "--kube-address needs --kubernetes"));
	assert_int_equal(access(test_path("bad"), F_OK), -1);   /* nothing written */
}

static void test_gen_config_refuses_overwrite(void **state)
{
	char *before, *after;
	(void)state;

	assert_int_equal(gen_lab("out"), 0);
	before = slurp(test_path("out/n1.yaml"));
	assert_int_equal(gen_lab("out"), 1);
	assert_non_null(strstr(err_text, "exists (use --force to overwrite)"));
	assert_string_equal(out_text, "");
	after = slurp(test_path("out/n1.yaml"));
	assert_string_equal(before, after);
	free(after);

	assert_int_equal(run("gen", "config", "lab", "--nodes", "n1=127.0.0.1:50001,n2=10.0.0.2",
			     "--out", "out", "--force", NULL), 0);
	after = slurp(test_path("out/n1.yaml"));
	assert_string_not_equal(before, after);   /* a new PKI */
	assert_int_equal(mode_of(test_path("out/n1.yaml")), 0600);
	free(after);
	free(before);
}

static void test_patch_applies_to_every_node(void **state)
{
	(void)state;

	file_put(test_path("dns.yaml"), "spec:\n  network:\n    nameservers: [10.0.0.53, "
		   "\"2001:db8::53\"]\n  sysctls:\n    vm.swappiness: 10\n");
	file_put(test_path("no-api.yaml"), "spec:\n  api: null\n");   /* null deletes */
	assert_int_equal(run("gen", "config", "lab", "--nodes", "n1=127.0.0.1:50001,n2=10.0.0.2",
			     "--out", "out", "--patch", "dns.yaml", "--patch", "no-api.yaml",
			     NULL), 0);
	for (int n = 1; n <= 2; n++) {
		char name[64];
		snprintf(name, sizeof name, "out/n%d.yaml", n);
		json_t *config = decode_node(test_path(name));
		const json_t *network = json_object_get(json_object_get(json_array_get(config, 0),
									"spec"), "network");
		json_t *want = json_pack("[s, s]", "10.0.0.53", "2001:db8::53");
		assert_true(json_equal(json_object_get(network, "nameservers"), want));
		/* merged, not replaced: the generated interface is still there */
		assert_int_equal(json_array_size(json_object_get(network, "interfaces")), 1);
		assert_string_equal(spec_string(config, "sysctls", "vm.swappiness"), "10");
		assert_null(json_object_get(json_object_get(json_array_get(config, 0), "spec"),
					    "api"));
		json_decref(want);
		json_decref(config);
	}
}

static void test_patch_breaking_config_is_refused(void **state)
{
	(void)state;

	file_put(test_path("mtu.yaml"), "# a bad MTU\nspec:\n  network:\n    interfaces:\n"
		   "      - name: eth0\n        mtu: 70000\n");
	assert_int_equal(run("gen", "config", "lab", "--nodes", "n1=127.0.0.1:50001",
			     "--out", "out", "--patch", "mtu.yaml", NULL), 1);
	assert_non_null(strstr(err_text, "mtu.yaml:6: on n1.yaml: document 1 (MachineConfig): "
			       ".spec.network.interfaces[0].mtu: 70000 is out of range 68..65535"));
	assert_non_null(strstr(err_text, "cairnctl: gen config: --patch mtu.yaml: makes n1.yaml "
			       "invalid"));
	assert_int_not_equal(access(test_path("out"), F_OK), 0);   /* nothing written */

	/* A patch that is not YAML, or not a mapping. */
	file_put(test_path("list.yaml"), "- a\n- b\n");
	assert_int_equal(run("gen", "config", "lab", "--nodes", "n1=10.0.0.1", "--out", "out",
			     "--patch", "list.yaml", NULL), 1);
	assert_string_equal(err_text, "cairnctl: gen config: --patch list.yaml: not a mapping\n");
	assert_int_not_equal(access(test_path("out"), F_OK), 0);
}

static void test_validate(void **state)
{
	(void)state;

	assert_int_equal(gen_lab("out"), 0);
	assert_int_equal(run("validate", "-f", "out/n1.yaml", NULL), 0);
	assert_string_equal(out_text, "out/n1.yaml: valid\n");

	file_put(test_path("bad.yaml"), "apiVersion: cairn.dev/v1alpha1\nkind: MachineConfig\n"
		   "spec:\n  role: boss\n  network:\n    interfaces:\n      - name: eth0\n"
		   "        mtu: 10\n");
	assert_int_equal(run("validate", "-f", "bad.yaml", NULL), 1);
	assert_non_null(strstr(out_text, "bad.yaml:4: document 1 (MachineConfig): .spec.role:"));
	assert_non_null(strstr(out_text, "bad.yaml:8: document 1 (MachineConfig): "
			       ".spec.network.interfaces[0].mtu: 10 is out of range 68..65535\n"));
	assert_null(strstr(out_text, "valid\n"));

	assert_int_equal(run("validate", "-f", "out/n1.yaml", "-f", "bad.yaml", NULL), 1);
	assert_non_null(strstr(out_text, "out/n1.yaml: valid\n"));

	assert_int_equal(run("validate", "-o", "json", "-f", "bad.yaml", NULL), 1);
	json_t *result = json_loads(out_text, 0, NULL);
	assert_non_null(result);
	assert_true(json_is_false(json_object_get(json_array_get(result, 0), "valid")));
	json_decref(result);

	assert_int_equal(run("validate", NULL), 2);
	assert_string_equal(err_text, "cairnctl: validate: no file given (-f FILE) "
			    "(see 'cairnctl help validate')\n");
}

static void test_gen_cert_roles(void **state)
{
	char *cert, *ca;
	(void)state;

	assert_int_equal(gen_lab("out"), 0);
	assert_int_equal(run("gen", "cert", "--ca-dir", "out", "--role", "reader", "--name",
			     "bob", "--out", "certs", NULL), 0);
	cert = slurp(test_path("certs/bob.crt"));
	ca = slurp(test_path("out/ca.crt"));
	assert_dn(cert, GNUTLS_OID_X520_ORGANIZATION_NAME, "cairn:reader");
	assert_dn(cert, GNUTLS_OID_X520_COMMON_NAME, "bob");
	assert_true(chains_to(cert, ca));
	assert_int_equal(mode_of(test_path("certs/bob.key")), 0600);
	free(cert);

	assert_int_equal(run("gen", "cert", "--ca-dir", "out", "--role", "operator", "--name",
			     "ops", "--out", "certs", NULL), 0);
	cert = slurp(test_path("certs/ops.crt"));
	assert_dn(cert, GNUTLS_OID_X520_ORGANIZATION_NAME, "cairn:operator");
	free(cert);
	free(ca);

	/* No overwrite, a bad role, a missing CA. */
	assert_int_equal(run("gen", "cert", "--ca-dir", "out", "--role", "reader", "--name",
			     "bob", "--out", "certs", NULL), 1);
	assert_int_equal(run("gen", "cert", "--ca-dir", "out", "--role", "root", "--name", "x",
			     NULL), 2);
	assert_non_null(strstr(err_text, "'root' is not admin, operator or reader"));
	assert_int_equal(run("gen", "cert", "--ca-dir", "nowhere", "--role", "reader", "--name",
			     "x", NULL), 1);
	assert_non_null(strstr(err_text, "cairnctl: gen cert: nowhere/ca.crt: No such file"));
}

static void test_usage_and_version(void **state)
{
	(void)state;

	assert_int_equal(run("version", "--client", NULL), 0);
	assert_memory_equal(out_text, "cairnctl ", 9);
	assert_int_equal(run("bogus", NULL), 2);
	assert_string_equal(err_text, "cairnctl: bogus: unknown command (see 'cairnctl help')\n");
	assert_int_equal(run("gen", "config", NULL), 2);
	assert_string_equal(err_text, "cairnctl: gen config: missing CLUSTER_NAME "
			    "(see 'cairnctl help gen config')\n");
	assert_int_equal(run("gen", "config", "lab", "--nodes", "n1", NULL), 2);
	assert_int_equal(run("gen", "config", "lab", "--nodes", "n1=1.2.3.4", "--role",
			     "n9=worker", NULL), 2);
	assert_int_equal(run("-o", "xml", "version", "--client", NULL), 2);
	/* volume resolve: --keep is required, names checked before anything is sent */
	assert_int_equal(run("volume", "resolve", "data", NULL), 2);
	assert_non_null(strstr(err_text, "--keep NODE is required"));
	assert_int_equal(run("volume", "resolve", "Data", "--keep", "node-1", NULL), 2);
	assert_non_null(strstr(err_text, "'Data' is not a Volume name"));
	assert_int_equal(run("volume", "resolve", "data", "--keep", "a&b", NULL), 2);
	assert_non_null(strstr(err_text, "--keep: 'a&b' is not a node name"));
	assert_int_equal(run("help", NULL), 0);
	assert_non_null(strstr(out_text, "volume resolve"));
	assert_non_null(strstr(out_text, "gen config"));
	assert_int_equal(run(NULL), 2);
}

/* yaml_json.c: values keep their types through JSON -> YAML -> JSON. */
static void test_yaml_round_trip(void **state)
{
	char err[YAML_JSON_ERROR_MAX], *yaml;
	json_t *value = json_pack("{s:[s,s,s,s,s,s,s,s,s,s], s:i, s:b, s:s, s:{s:s}}",
				  "strings", "true", "1500", "", "a: b", "2001:db8::1", "~",
				  "-1", "0x10", "line 1\nline 2\n", "#x",
				  "int", 1500, "bool", 1, "plain", "eth0",
				  "map", "net.ipv4.ip_forward", "1");
	json_t *back = NULL, *lines = NULL;
	(void)state;

	assert_non_null(value);
	yaml = json_to_yaml(value, "# header\n");
	assert_non_null(yaml);
	assert_memory_equal(yaml, "# header\n", 9);
	assert_int_equal(yaml_to_json("t.yaml", yaml, strlen(yaml), &back, &lines, err), 0);
	assert_true(json_equal(value, back));
	assert_int_equal(json_integer_value(json_object_get(lines, ".int")), 3);
	assert_int_equal(json_integer_value(json_object_get(lines, ".strings[9]")), 2);
	assert_int_equal(json_integer_value(json_object_get(lines,
		".map[\"net.ipv4.ip_forward\"]")), 7);
	json_decref(back);
	json_decref(lines);
	free(yaml);
	json_decref(value);

	/* What config_decode refuses, the patch reader refuses too. */
	static const char *const bad[] = { "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: 1\na: 2\n",
					   "a: [\n", "---\na: 1\n---\nb: 2\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(yaml_to_json("bad.yaml", bad[i], strlen(bad[i]), &back, NULL, err),
				 -1);
		assert_null(back);
		assert_memory_equal(err, "bad.yaml:", 9);
	}

	/* RFC 7386 merge: objects merge, arrays and scalars replace, null deletes. */
	json_t *target = json_pack("{s:{s:i, s:i}, s:[i], s:s}", "a", "x", 1, "y", 2, "l", 1,
				   "gone", "v");
	json_t *patch = json_pack("{s:{s:i}, s:[i, i], s:n}", "a", "y", 3, "l", 7, 8, "gone");
	json_t *want = json_pack("{s:{s:i, s:i}, s:[i, i]}", "a", "x", 1, "y", 3, "l", 7, 8);
	target = json_merge_patch(target, patch);
	assert_true(json_equal(target, want));
	json_decref(target);
	json_decref(patch);
	json_decref(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gen_config_writes_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_config_certificates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_config_kubernetes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_config_refuses_overwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patch_applies_to_every_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patch_breaking_config_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_validate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gen_cert_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_and_version, setup, teardown),
		cmocka_unit_test(test_yaml_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
