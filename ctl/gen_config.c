/* gen_config.c - `cairnctl gen config CLUSTER --nodes NAME=ADDR,...`: the cluster PKI, a
 * cairnconfig for the admin, and one MachineConfig per node, patched and validated.
 *
 * Everything is made and checked in memory first; only then are the files written (each
 * atomically), so a refused patch or an existing file leaves the folder as it was. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "files.h"
#include "pki.h"
#include "yaml_json.h"

#include <gnutls/crypto.h>

#define NAME_MAX_LEN 63

struct node {
	char *name;
	char *address;   /* as given: HOST, HOST:PORT, [IPV6]:PORT or IPV6 */
	char *host;      /* the address without its port */
	const char *role;
	const char *kube_address;   /* --kube-address NAME=IP; NULL: host */
	char *cert_pem, *key_pem;
	char token[24];             /* --kubernetes: its kubelet's bootstrap token, as a worker */
};

struct patch {
	const char *path;
	json_t *value;
	json_t *lines;   /* path -> line in the patch file */
};

struct gen {
	const char *cluster;
	const char *out_dir;
	struct node *nodes;
	size_t node_count;
	struct patch *patches;
	size_t patch_count;
	bool force;
	bool kubernetes;   /* --kubernetes: the cluster secrets and .spec.kubernetes */
	json_t *kube_ca, *etcd_ca, *service_account;
};

static const char cmd[] = "gen config";

/* A node or cluster name: lower-case letters, digits and '-', not at either end. */
static bool valid_name(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= NAME_MAX_LEN &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == len &&
	       s[0] != '-' && s[len - 1] != '-' && strspn(s, "0123456789") != len;
}

static bool valid_host(const char *host)
{
	unsigned char ip[16];
	size_t len = strlen(host);

	if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1)
		return true;
	return len > 0 && len <= 253 && strspn(host, "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == len && host[0] != '.' &&
	       host[0] != '-';
}

/* ADDR's host part, malloc()ed, or NULL when ADDR is not HOST[:PORT] / [IPV6]:PORT. */
static char *address_host(const char *addr)
{
	const char *colon = strchr(addr, ':'), *port = NULL;
	char *host;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (!end || (end[1] != '\0' && end[1] != ':'))
			return NULL;
		host = strndup(addr + 1, (size_t)(end - addr - 1));
		port = end[1] == ':' ? end + 2 : NULL;
	} else if (colon && strchr(colon + 1, ':')) {
		host = strdup(addr);                       /* a bare IPv6 address */
	} else if (colon) {
		host = strndup(addr, (size_t)(colon - addr));
		port = colon + 1;
	} else {
		host = strdup(addr);
	}
	if (!host)
		return NULL;
	if (port) {
		char *end;
		long value = strtol(port, &end, 10);
		if (!isdigit((unsigned char)port[0]) || *end || value < 1 || value > 65535) {
			free(host);
			return NULL;
		}
	}
	if (!valid_host(host)) {
		free(host);
		return NULL;
	}
	return host;
}

static struct node *find_node(struct gen *g, const char *name)
{
	for (size_t i = 0; i < g->node_count; i++)
		if (strcmp(g->nodes[i].name, name) == 0)
			return &g->nodes[i];
	return NULL;
}

/* One --nodes argument: NAME=ADDR[,NAME=ADDR...]. */
static int add_nodes(struct gen *g, const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *item;
	int status = CTL_EXIT_OK;

	if (!copy)
		return ctl_error(cmd, "out of memory"), CTL_EXIT_FAIL;
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '='), *host;
		struct node *grown;
		if (!eq) {
			status = ctl_usage_error(cmd, "--nodes: '%s' is not NAME=ADDRESS", item);
			break;
		}
		*eq = '\0';
		if (!valid_name(item)) {
			status = ctl_usage_error(cmd, "--nodes: node name '%s' is not 1..63 of a-z, "
						 "0-9 and '-' (not at either end)", item);
			break;
		}
		if (find_node(g, item)) {
			status = ctl_usage_error(cmd, "--nodes: node '%s' is named twice", item);
			break;
		}
		host = address_host(eq + 1);
		if (!host) {
			status = ctl_usage_error(cmd, "--nodes: '%s' is not HOST, HOST:PORT or "
						 "[IPV6]:PORT", eq + 1);
			break;
		}
		grown = realloc(g->nodes, (g->node_count + 1) * sizeof *g->nodes);
		if (!grown) {
			free(host);
			status = (ctl_error(cmd, "out of memory"), CTL_EXIT_FAIL);
			break;
		}
		g->nodes = grown;
		g->nodes[g->node_count++] = (struct node){ .name = strdup(item),
			.address = strdup(eq + 1), .host = host };
	}
	free(copy);
	return status;
}

/* --kube-address NAME=IP: the node's address on the cluster network, for Kubernetes. */
static int set_kube_address(struct gen *g, const char *arg)
{
	const char *eq = strchr(arg, '=');
	unsigned char ip[4];
	struct node *node;
	char *name;

	if (!eq)
		return ctl_usage_error(cmd, "--kube-address: '%s' is not NAME=IPV4", arg);
	name = strndup(arg, (size_t)(eq - arg));
	node = name ? find_node(g, name) : NULL;
	if (!node) {
		ctl_usage_error(cmd, "--kube-address: no node '%s' in --nodes", name ? name : "");
		free(name);
		return CTL_EXIT_USAGE;
	}
	free(name);
	if (inet_pton(AF_INET, eq + 1, ip) != 1)
		return ctl_usage_error(cmd, "--kube-address: '%s' is not an IPv4 address", eq + 1);
	if (!g->kubernetes)
		return ctl_usage_error(cmd, "--kube-address needs --kubernetes");
	node->kube_address = eq + 1;
	return CTL_EXIT_OK;
}

static int set_role(struct gen *g, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct node *node;
	char *name;

	if (!eq)
		return ctl_usage_error(cmd, "--role: '%s' is not NAME=controlplane|worker", arg);
	name = strndup(arg, (size_t)(eq - arg));
	node = name ? find_node(g, name) : NULL;
	if (!node) {
		ctl_usage_error(cmd, "--role: no node '%s' in --nodes",
				name ? name : "");
		free(name);
		return CTL_EXIT_USAGE;
	}
	free(name);
	if (strcmp(eq + 1, "controlplane") == 0)
		node->role = "controlplane";
	else if (strcmp(eq + 1, "worker") == 0)
		node->role = "worker";
	else
		return ctl_usage_error(cmd, "--role: '%s' is not controlplane or worker", eq + 1);
	return CTL_EXIT_OK;
}

static int load_patch(struct gen *g, const char *path)
{
	char err[YAML_JSON_ERROR_MAX];
	struct patch *grown, patch = { .path = path };
	size_t len;
	char *text = fileio_read(path, CONFIG_TEXT_MAX, &len);

	if (!text)
		return ctl_error(cmd, "--patch %s: %s", path, strerror(errno)), CTL_EXIT_FAIL;
	if (yaml_to_json(path, text, len, &patch.value, &patch.lines, err) < 0) {
		free(text);
		return ctl_error(cmd, "--patch %s", err), CTL_EXIT_FAIL;
	}
	free(text);
	if (!json_is_object(patch.value)) {
		json_decref(patch.value);
		json_decref(patch.lines);
		return ctl_error(cmd, "--patch %s: not a mapping", path), CTL_EXIT_FAIL;
	}
	grown = realloc(g->patches, (g->patch_count + 1) * sizeof *g->patches);
	if (!grown) {
		json_decref(patch.value);
		json_decref(patch.lines);
		return ctl_error(cmd, "out of memory"), CTL_EXIT_FAIL;
	}
	g->patches = grown;
	g->patches[g->patch_count++] = patch;
	return CTL_EXIT_OK;
}

static void gen_free(struct gen *g)
{
	for (size_t i = 0; i < g->node_count; i++) {
		free(g->nodes[i].name);
		free(g->nodes[i].address);
		free(g->nodes[i].host);
		free(g->nodes[i].cert_pem);
		free(g->nodes[i].key_pem);
	}
	free(g->nodes);
	for (size_t i = 0; i < g->patch_count; i++) {
		json_decref(g->patches[i].value);
		json_decref(g->patches[i].lines);
	}
	free(g->patches);
	json_decref(g->kube_ca);
	json_decref(g->etcd_ca);
	json_decref(g->service_account);
}

/* The line in PATCH of the longest prefix of PATH it sets (cut at '.' or '['), or 0. */
static unsigned patch_line(const struct patch *patch, const char *path)
{
	char prefix[1024];
	size_t len;

	if (!path || (len = strlen(path)) >= sizeof prefix)
		return 0;
	memcpy(prefix, path, len + 1);
	for (;;) {
		json_t *line = json_object_get(patch->lines, prefix);
		if (line)
			return (unsigned)json_integer_value(line);
		if (len == 0)
			return 0;
		do
			len--;
		while (len > 0 && path[len] != '.' && path[len] != '[');
		prefix[len] = '\0';
	}
}

/* Prints lib/config's errors about a patched node config, naming the patch and its lines. */
static void print_patch_errors(const struct patch *patch, const char *node_file,
			       const struct config_errors *errs)
{
	for (size_t i = 0; i < errs->count; i++) {
		const struct config_error *e = &errs->items[i];
		unsigned line = patch_line(patch, e->path);
		if (line)
			fprintf(stderr, "%s:%u: ", patch->path, line);
		else
			fprintf(stderr, "%s: ", patch->path);
		fprintf(stderr, "on %s: document %u (%s): %s%s%s\n", node_file, e->document,
			e->kind ? e->kind : "?", e->path ? e->path : "", e->path ? ": " : "",
			e->message);
	}
	if (errs->dropped)
		fprintf(stderr, "... and %zu more errors\n", errs->dropped);
}

static const char *kube_host(const struct node *node)
{
	return node->kube_address ? node->kube_address : node->host;
}

/* .spec.kubernetes of NODE: its address, the first control plane's as the API endpoint, every
 * node with a /24 of 10.244.0.0/16 for its pods, the node's own bootstrap token (used once it is
 * a worker) and the secrets its role needs (a control plane: the CAs' keys, the service-account
 * keys and every node's token; a worker: the CA's certificate). */
static json_t *kubernetes_spec(const struct gen *g, const struct node *node)
{
	json_t *nodes = json_object(), *tokens = json_object(), *spec;
	const char *endpoint = NULL;

	for (size_t i = 0; tokens && i < g->node_count; i++)
		json_object_set_new(tokens, g->nodes[i].name, json_string(g->nodes[i].token));
	for (size_t i = 0; nodes && i < g->node_count; i++) {
		const struct node *n = &g->nodes[i];
		bool cp = strcmp(n->role, "controlplane") == 0;
		char cidr[32];
		snprintf(cidr, sizeof cidr, "10.244.%u.0/24", (unsigned)((i + 1) & 0xff));
		if (cp && !endpoint)
			endpoint = kube_host(n);
		json_object_set_new(nodes, n->name, json_pack("{s:s, s:s, s:b}", "address", kube_host(n),
							      "podCIDR", cidr, "controlPlane", cp));
	}
	spec = json_pack("{s:s, s:s, s:o, s:{s:O}, s:s}", "address", kube_host(node), "endpoint",
			 endpoint ? endpoint : kube_host(node), "nodes", nodes, "ca", "cert",
			 json_object_get(g->kube_ca, "cert"), "bootstrapToken", node->token);
	if (spec && strcmp(node->role, "controlplane") == 0) {
		/* a worker gets the CA's certificate only: its kubelet joins with its token */
		json_object_set(json_object_get(spec, "ca"), "key", json_object_get(g->kube_ca, "key"));
		json_object_set(spec, "etcdCA", g->etcd_ca);
		json_object_set(spec, "serviceAccount", g->service_account);
		json_object_set(spec, "bootstrapTokens", tokens);
	}
	json_decref(tokens);
	return spec;
}

/* A new bootstrap token in OUT: 6 and 16 of a-z 0-9, joined by '.'. 0, or -1 when there are
 * no random bytes. */
static int random_token(char out[24])
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[22];

	/* 22 characters of 36, each from a byte below 252 (7 * 36): no bias toward the first ones */
	for (size_t j = 0, used = sizeof rnd; j < 23;) {
		if (j == 6) {
			out[j++] = '.';
			continue;
		}
		if (used == sizeof rnd) {
			if (gnutls_rnd(GNUTLS_RND_KEY, rnd, sizeof rnd) < 0)
				return -1;
			used = 0;
		}
		if (rnd[used] < 252)
			out[j++] = set[rnd[used] % 36];
		used++;
	}
	out[23] = '\0';
	return 0;
}

/* The cluster's Kubernetes secrets: its CA, etcd's CA, the service-account key pair and each
 * node's bootstrap token, each with its own token ID. 0, or -1 after printing why. */
static int kubernetes_secrets(struct gen *g)
{
	struct pki_ca kube = { 0 }, etcd = { 0 };
	char err[PKI_ERROR_MAX], *cert[2] = { 0 }, *key[2] = { 0 }, *sa_key = NULL, *sa_pub = NULL;
	int rc = -1;

	if (g->node_count > 254) {
		ctl_error(cmd, "--kubernetes: %zu nodes; the pod ranges (a /24 each of 10.244.0.0/16) "
			  "allow 254", g->node_count);
		return -1;
	}
	for (size_t i = 0; i < g->node_count; i++) {
		unsigned char ip[4];
		if (inet_pton(AF_INET, kube_host(&g->nodes[i]), ip) != 1) {
			ctl_error(cmd, "--kubernetes: node %s's address %s is not an IPv4 address "
				  "(Kubernetes needs each node's address on the cluster network; "
				  "--kube-address NAME=IP names it)", g->nodes[i].name,
				  kube_host(&g->nodes[i]));
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(kube_host(&g->nodes[i]), kube_host(&g->nodes[j])) == 0) {
				ctl_error(cmd, "--kubernetes: nodes %s and %s have the same address %s "
					  "(--kube-address NAME=IP gives each its address on the "
					  "cluster network)", g->nodes[j].name, g->nodes[i].name,
					  kube_host(&g->nodes[i]));
				return -1;
			}
	}
	if (pki_ca_generate("kubernetes", &kube, err) < 0 ||
	    pki_ca_export(&kube, &cert[0], &key[0], err) < 0 ||
	    pki_ca_generate("etcd", &etcd, err) < 0 ||
	    pki_ca_export(&etcd, &cert[1], &key[1], err) < 0 ||
	    pki_keypair_generate(&sa_key, &sa_pub, err) < 0) {
		ctl_error(cmd, "--kubernetes: %s", err);
		goto out;
	}
	for (size_t i = 0; i < g->node_count; i++) {
		bool taken;
		do {
			if (random_token(g->nodes[i].token) < 0) {
				ctl_error(cmd, "--kubernetes: no random bytes for the bootstrap tokens");
				goto out;
			}
			taken = false;
			for (size_t j = 0; j < i; j++)
				taken = taken || strncmp(g->nodes[i].token, g->nodes[j].token, 6) == 0;
		} while (taken);
	}
	g->kube_ca = json_pack("{s:s, s:s}", "cert", cert[0], "key", key[0]);
	g->etcd_ca = json_pack("{s:s, s:s}", "cert", cert[1], "key", key[1]);
	g->service_account = json_pack("{s:s, s:s}", "key", sa_key, "public", sa_pub);
	if (!g->kube_ca || !g->etcd_ca || !g->service_account)
		ctl_error(cmd, "out of memory");
	else
		rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		free(cert[i]);
		free(key[i]);
	}
	free(sa_key);
	free(sa_pub);
	pki_ca_free(&kube);
	pki_ca_free(&etcd);
	return rc;
}

static json_t *machine_config(const struct gen *g, const struct node *node, const char *ca_pem)
{
	json_t *sans = json_pack("[s]", node->name), *doc;

	if (sans && strcmp(node->host, node->name) != 0)
		json_array_append_new(sans, json_string(node->host));
	doc = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:{s:[{s:s, s:b}]}, s:{s:o}, "
			 "s:{s:s, s:s, s:s}}}",
			 "apiVersion", CONFIG_API_VERSION, "kind", "MachineConfig",
			 "metadata", "name", node->name,
			 "spec", "hostname", node->name, "role", node->role,
			 "network", "interfaces", "name", "eth0", "dhcp", 1,
			 "api", "certSANs", sans,
			 "identity", "ca", ca_pem, "cert", node->cert_pem, "key", node->key_pem);
	if (doc && g->kubernetes) {
		json_t *kube = kubernetes_spec(g, node);
		if (!kube) {
			json_decref(doc);
			return NULL;
		}
		json_object_set_new(json_object_get(doc, "spec"), "kubernetes", kube);
	}
	return doc;
}

/* The node's config: generated, patched, validated after each patch, as YAML. NULL after
 * printing why. */
static char *node_config_yaml(const struct gen *g, const struct node *node, const char *ca_pem)
{
	struct config_errors errs = { 0 };
	json_t *doc = machine_config(g, node, ca_pem), *decoded = NULL;
	char *file_name = NULL, *yaml = NULL, *header = NULL;

	if (!doc || asprintf(&file_name, "%s.yaml", node->name) < 0) {
		file_name = NULL;
		ctl_error(cmd, "out of memory");
		goto out;
	}
	for (size_t i = 0; i <= g->patch_count; i++) {
		const struct patch *patch = i ? &g->patches[i - 1] : NULL;
		if (patch && !(doc = json_merge_patch(doc, patch->value))) {
			ctl_error(cmd, "out of memory");
			goto out;
		}
		free(yaml);
		yaml = json_to_yaml(doc, NULL);
		if (!yaml) {
			ctl_error(cmd, "out of memory");
			goto out;
		}
		json_decref(decoded);
		decoded = NULL;
		if (config_decode(patch ? patch->path : file_name, yaml, strlen(yaml), &decoded,
				  &errs) < 0) {
			if (patch) {
				print_patch_errors(patch, file_name, &errs);
				ctl_error(cmd, "--patch %s: makes %s invalid; nothing written",
					  patch->path, file_name);
			} else {
				config_errors_print(stderr, &errs);
				ctl_error(cmd, "%s: the generated config is invalid", file_name);
			}
			free(yaml);
			yaml = NULL;
			goto out;
		}
	}
	free(yaml);
	yaml = NULL;
	if (asprintf(&header, "# Cairn MachineConfig of node %s in cluster %s, made by "
		     "cairnctl gen config.\n# It holds the node's private key: keep it secret.\n",
		     node->name, g->cluster) < 0) {
		header = NULL;
		ctl_error(cmd, "out of memory");
		goto out;
	}
	yaml = json_to_yaml(json_array_get(decoded, 0), header);
	if (!yaml)
		ctl_error(cmd, "out of memory");
out:
	free(header);
	free(file_name);
	json_decref(doc);
	json_decref(decoded);
	config_errors_free(&errs);
	return yaml;
}

/* The admin's client file (format: ctl/README.md). */
static char *cairnconfig_yaml(const struct gen *g, const char *ca_pem, const char *cert_pem,
			      const char *key_pem)
{
	json_t *endpoints = json_array(), *nodes = json_object(), *root;
	char *yaml = NULL;

	for (size_t i = 0; endpoints && nodes && i < g->node_count; i++) {
		json_array_append_new(endpoints, json_string(g->nodes[i].address));
		json_object_set_new(nodes, g->nodes[i].name, json_string(g->nodes[i].address));
	}
	root = json_pack("{s:s, s:{s:{s:o, s:o, s:s, s:s, s:s}}}", "context", g->cluster,
			 "contexts", g->cluster, "endpoints", endpoints, "nodes", nodes,
			 "ca", ca_pem, "cert", cert_pem, "key", key_pem);
	if (root)
		yaml = json_to_yaml(root, "# cairnctl client config (see ctl/README.md). It holds "
				    "the admin's private key: keep it secret.\n");
	json_decref(root);
	return yaml;
}

static int out_file_set(struct out_file *file, const char *dir, const char *name,
			mode_t mode)
{
	file->path = path_join(dir, name);
	file->mode = mode;
	return file->path ? 0 : -1;
}

static int parse_args(struct gen *g, struct ctl_globals *globals, int argc, char **argv)
{
	static const struct option options[] = {
		{ "nodes", required_argument, NULL, 'n' },   /* before the global --nodes */
		{ "role", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'O' },
		{ "patch", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'F' },
		{ "kubernetes", no_argument, NULL, 'K' },
		{ "kube-address", required_argument, NULL, 'A' },
		CTL_GLOBAL_LONG_OPTIONS,
		{ 0 },
	};
	const char **roles = calloc((size_t)argc + 1, sizeof *roles);
	const char **kube_addresses = calloc((size_t)argc + 1, sizeof *kube_addresses);
	const char **patches = calloc((size_t)argc + 1, sizeof *patches);
	size_t role_count = 0, patch_count = 0, kube_address_count = 0;
	int c, rc = CTL_EXIT_OK;

	if (!roles || !patches || !kube_addresses) {
		free(roles);
		free(patches);
		free(kube_addresses);
		return ctl_error(cmd, "out of memory"), CTL_EXIT_FAIL;
	}
	optind = 0;
	opterr = 0;
	while (rc == CTL_EXIT_OK &&
	       (c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS, options, NULL)) != -1) {
		switch (c) {
		case 'n': rc = add_nodes(g, optarg); break;
		case 'r': roles[role_count++] = optarg; break;
		case 'O': g->out_dir = optarg; break;
		case 'p': patches[patch_count++] = optarg; break;
		case 'F': g->force = true; break;
		case 'K': g->kubernetes = true; break;
		case 'A': kube_addresses[kube_address_count++] = optarg; break;
		default: rc = ctl_global_option(globals, c, optarg, argv); break;
		}
	}
	if (rc == CTL_EXIT_OK && g->node_count == 0 && globals->nodes)   /* cairnctl -n ... gen */
		for (char **n = globals->nodes; rc == CTL_EXIT_OK && *n; n++)
			rc = add_nodes(g, *n);
	if (rc == CTL_EXIT_OK) {
		if (optind >= argc)
			rc = ctl_usage_error(cmd, "missing CLUSTER_NAME");
		else if (optind + 1 < argc)
			rc = ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
		else if (!valid_name(argv[optind]))
			rc = ctl_usage_error(cmd, "cluster name '%s' is not 1..63 of a-z, 0-9 and "
					     "'-' (not at either end)", argv[optind]);
		else if (g->node_count == 0)
			rc = ctl_usage_error(cmd, "no nodes (--nodes NAME=ADDRESS,...)");
		else
			g->cluster = argv[optind];
	}
	for (size_t i = 0; rc == CTL_EXIT_OK && i < role_count; i++)
		rc = set_role(g, roles[i]);
	for (size_t i = 0; rc == CTL_EXIT_OK && i < kube_address_count; i++)
		rc = set_kube_address(g, kube_addresses[i]);
	for (size_t i = 0; rc == CTL_EXIT_OK && i < patch_count; i++)
		rc = load_patch(g, patches[i]);
	free(kube_addresses);
	free(roles);
	free(patches);
	return rc;
}

int ctl_cmd_gen_config(struct ctl_globals *globals, int argc, char **argv)
{
	struct gen g = { .out_dir = "." };
	struct pki_ca ca = { 0 };
	char err[PKI_ERROR_MAX], *admin_cert = NULL, *admin_key = NULL;
	size_t file_count = 0;
	struct out_file *files = NULL;
	bool any_controlplane = false;
	int status = parse_args(&g, globals, argc, argv);

	if (status != CTL_EXIT_OK) {
		gen_free(&g);
		return status == CTL_DONE ? CTL_EXIT_OK : status;
	}
	status = CTL_EXIT_FAIL;
	for (size_t i = 0; i < g.node_count; i++)
		any_controlplane |= g.nodes[i].role && strcmp(g.nodes[i].role, "controlplane") == 0;
	for (size_t i = 0; i < g.node_count; i++)
		if (!g.nodes[i].role)
			g.nodes[i].role = i == 0 && !any_controlplane ? "controlplane" : "worker";

	/* Files: ca.crt, ca.key, cairnconfig, then NODE.yaml each. */
	files = calloc(3 + g.node_count, sizeof *files);
	if (!files)
		goto oom;
	file_count = 3 + g.node_count;
	if (out_file_set(&files[0], g.out_dir, "ca.crt", 0644) < 0 ||
	    out_file_set(&files[1], g.out_dir, "ca.key", 0600) < 0 ||
	    out_file_set(&files[2], g.out_dir, "cairnconfig", 0600) < 0)
		goto oom;
	for (size_t i = 0; i < g.node_count; i++) {
		char name[NAME_MAX_LEN + 8];
		snprintf(name, sizeof name, "%s.yaml", g.nodes[i].name);
		if (out_file_set(&files[3 + i], g.out_dir, name, 0600) < 0)
			goto oom;
	}
	if (out_files_check(cmd, files, file_count, g.force) < 0)
		goto out;
	if (g.kubernetes && kubernetes_secrets(&g) < 0)
		goto out;

	if (pki_ca_generate(g.cluster, &ca, err) < 0 ||
	    pki_ca_export(&ca, &files[0].data, &files[1].data, err) < 0 ||
	    pki_issue(&ca, &(struct pki_request){ .common_name = "admin",
			    .organization = "cairn:admin", .client = true,
			    .days = PKI_CLIENT_DAYS }, &admin_cert, &admin_key, err) < 0) {
		ctl_error(cmd, "%s", err);
		goto out;
	}
	for (size_t i = 0; i < g.node_count; i++) {
		struct node *node = &g.nodes[i];
		const char *sans[] = { node->name, node->host, NULL };
		if (strcmp(node->name, node->host) == 0)
			sans[1] = NULL;
		if (pki_issue(&ca, &(struct pki_request){ .common_name = node->name,
				    .organization = PKI_ORG_NODE, .sans = sans, .server = true,
				    .client = true, .days = PKI_NODE_DAYS },
			      &node->cert_pem, &node->key_pem, err) < 0) {
			ctl_error(cmd, "node %s: %s", node->name, err);
			goto out;
		}
		files[3 + i].data = node_config_yaml(&g, node, files[0].data);
		if (!files[3 + i].data)
			goto out;
	}
	files[2].data = cairnconfig_yaml(&g, files[0].data, admin_cert, admin_key);
	if (!files[2].data)
		goto oom;
	if (out_files_write(cmd, g.out_dir, files, file_count) < 0)
		goto out;
	status = CTL_EXIT_OK;
	goto out;
oom:
	ctl_error(cmd, "out of memory");
out:
	out_files_free(files, file_count);
	free(files);
	free(admin_cert);
	free(admin_key);
	pki_ca_free(&ca);
	gen_free(&g);
	return status;
}

/* `cairnctl gen token`: a new bootstrap token on stdout, for a worker added to a cluster after
 * `gen config` (its bootstrapToken, and its entry in the control planes' bootstrapTokens). */
int ctl_cmd_gen_token(struct ctl_globals *globals, int argc, char **argv)
{
	static const struct option options[] = {
		CTL_GLOBAL_LONG_OPTIONS,
		{ 0 },
	};
	char token[24];
	int c, rc = CTL_EXIT_OK;

	optind = 0;
	opterr = 0;
	while (rc == CTL_EXIT_OK &&
	       (c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS, options, NULL)) != -1)
		rc = ctl_global_option(globals, c, optarg, argv);
	if (rc != CTL_EXIT_OK)
		return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	if (optind < argc)
		return ctl_usage_error("gen token", "unexpected argument '%s'", argv[optind]);
	if (random_token(token) < 0) {
		ctl_error("gen token", "no random bytes for the token");
		return CTL_EXIT_FAIL;
	}
	printf("%s\n", token);
	return CTL_EXIT_OK;
}
