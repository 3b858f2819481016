/* net_target.c - which nodes a network command talks to, and with which credentials: the
 * cairnconfig's current context (ctl/README.md), -n names or addresses, and the network
 * options (--retries, --request-timeout). The PEMs go to memfds, which libcurl reads as
 * "/proc/self/fd/N": the private key never touches a disk. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "files.h"
#include "net.h"
#include "yaml_json.h"

#define CAIRNCONFIG_MAX (1024 * 1024)

void net_options_init(struct net_options *options)
{
	options->retries = NET_RETRIES_DEFAULT;
	options->timeout_ms = NET_TIMEOUT_DEFAULT_MS;
	options->insecure = false;
}

long net_parse_duration(const char *text)
{
	static const struct { const char *suffix; long ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "", 1000 },
	};
	char *end;
	long value;

	if (!isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	value = strtol(text, &end, 10);
	if (errno || value > NET_DURATION_MAX_MS)
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(end, units[i].suffix) == 0)
			return value * units[i].ms > NET_DURATION_MAX_MS ? -1 : value * units[i].ms;
	return -1;
}

int net_option(struct ctl_globals *globals, struct net_options *options, int c,
	       const char *arg, char **argv)
{
	const char *name = globals->command ? globals->command->name : "cairnctl";
	char *end;
	long value;

	switch (c) {
	case NET_OPT_RETRIES:
		value = strtol(arg, &end, 10);
		if (!isdigit((unsigned char)arg[0]) || *end || value > 100)
			return ctl_usage_error(name, "--retries: '%s' is not a number 0..100", arg);
		options->retries = (int)value;
		return CTL_EXIT_OK;
	case NET_OPT_REQUEST_TIMEOUT:
		value = net_parse_duration(arg);
		if (value <= 0)
			return ctl_usage_error(name, "--request-timeout: '%s' is not a duration "
					       "(like 500ms, 30s, 5m)", arg);
		options->timeout_ms = value;
		return CTL_EXIT_OK;
	default:
		return ctl_global_option(globals, c, arg, argv);
	}
}

int net_parse_plain(struct ctl_globals *globals, struct net_options *options, int argc,
		    char **argv)
{
	static const struct option long_options[] = {
		NET_LONG_OPTIONS, CTL_GLOBAL_LONG_OPTIONS, { 0 },
	};
	int c, rc;

	net_options_init(options);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS, long_options, NULL)) != -1)
		if ((rc = net_option(globals, options, c, optarg, argv)) != CTL_EXIT_OK)
			return rc;
	if (optind < argc)
		return ctl_usage_error(globals->command->name, "unexpected argument '%s'",
				       argv[optind]);
	return CTL_EXIT_OK;
}

/* "https://HOST:PORT" for an address HOST, HOST:PORT, [IPV6]:PORT or a bare IPv6 address;
 * NULL when it is none of these. */
static char *address_url(const char *address)
{
	const char *host = address, *port = NULL, *colon = strchr(address, ':');
	size_t host_len = strlen(address);
	bool ipv6 = false;
	char *url, *end;
	long port_number = CTL_API_PORT;

	if (address[0] == '[') {
		const char *close = strchr(address, ']');
		if (!close || (close[1] != '\0' && close[1] != ':'))
			return NULL;
		host = address + 1;
		host_len = (size_t)(close - host);
		port = close[1] == ':' ? close + 2 : NULL;
		ipv6 = true;
	} else if (colon && strchr(colon + 1, ':')) {
		ipv6 = true;                                   /* a bare IPv6 address */
	} else if (colon) {
		host_len = (size_t)(colon - address);
		port = colon + 1;
	}
	if (host_len == 0 || strcspn(host, "/?#@ ") < host_len)
		return NULL;
	if (port) {
		port_number = strtol(port, &end, 10);
		if (!isdigit((unsigned char)port[0]) || *end || port_number < 1 ||
		    port_number > 65535)
			return NULL;
	}
	if (asprintf(&url, "https://%s%.*s%s:%ld", ipv6 ? "[" : "", (int)host_len, host,
		     ipv6 ? "]" : "", port_number) < 0)
		return NULL;
	return url;
}

/* The cairnconfig's current context (a borrowed reference into *ROOT), or NULL after
 * printing why; when ALLOW_MISSING, a missing file is no error: NULL with *MISSING set. */
static const json_t *load_context(const struct ctl_globals *globals, const char *command,
				  bool allow_missing, json_t **root, bool *missing)
{
	char err[YAML_JSON_ERROR_MAX], *path = ctl_cairnconfig_path(globals), *text;
	const json_t *context = NULL;
	const char *name;
	size_t len;

	*root = NULL;
	*missing = false;
	if (!path)
		return ctl_error(command, "out of memory"), NULL;
	text = fileio_read(path, CAIRNCONFIG_MAX, &len);
	if (!text) {
		*missing = errno == ENOENT;
		if (!(allow_missing && errno == ENOENT))
			ctl_error(command, "%s: %s%s", path, strerror(errno), errno == ENOENT ?
				  " (make one with 'cairnctl gen config', or give --cairnconfig)" : "");
		free(path);
		return NULL;
	}
	if (yaml_to_json(path, text, len, root, NULL, err) < 0) {
		ctl_error(command, "%s", err);
	} else if (!(name = json_string_value(json_object_get(*root, "context")))) {
		ctl_error(command, "%s: no current context (a 'context:' naming one of 'contexts')",
			  path);
	} else if (!json_is_object(context = json_object_get(json_object_get(*root, "contexts"),
								   name))) {
		ctl_error(command, "%s: context '%s' is not under 'contexts'", path, name);
		context = NULL;
	}
	free(text);
	free(path);
	if (!context) {
		json_decref(*root);
		*root = NULL;
	}
	return context;
}

static int add_node(struct net_target *target, const char *name, const char *address)
{
	struct net_node *node = &target->nodes[target->count];

	node->url = address_url(address);
	if (!node->url)
		return ctl_usage_error(target->command, "node '%s': '%s' is not an address "
				       "(HOST, HOST:PORT or [IPV6]:PORT)", name, address);
	node->name = strdup(name);
	if (!node->name)
		return ctl_error(target->command, "out of memory"), CTL_EXIT_FAIL;
	target->count++;
	return CTL_EXIT_OK;
}

/* The node name the context gives ADDRESS, or ADDRESS itself. */
static const char *name_of_address(const json_t *context, const char *address)
{
	const char *name;
	const json_t *value;

	json_object_foreach((json_t *)json_object_get(context, "nodes"), name, value)
		if (json_is_string(value) && strcmp(json_string_value(value), address) == 0)
			return name;
	return address;
}

static int resolve_nodes(struct net_target *target, const struct ctl_globals *globals,
			 const json_t *context)
{
	size_t count = 0;
	int rc;

	for (char **n = globals->nodes; n && *n; n++)
		count++;
	target->nodes = calloc(count ? count : 1, sizeof *target->nodes);
	if (!target->nodes)
		return ctl_error(target->command, "out of memory"), CTL_EXIT_FAIL;
	if (count == 0) {
		const char *first = json_string_value(
			json_array_get(json_object_get(context, "endpoints"), 0));
		if (!first) {
			ctl_error(target->command, "the cairnconfig's context lists no endpoints: "
				  "give the nodes with -n");
			return CTL_EXIT_FAIL;
		}
		return add_node(target, name_of_address(context, first), first);
	}
	for (char **n = globals->nodes; *n; n++) {
		const char *known = json_string_value(
			json_object_get(json_object_get(context, "nodes"), *n));
		/* an address the context knows is shown by its node's name */
		if ((rc = add_node(target, known ? *n : name_of_address(context, *n),
				   known ? known : *n)) != CTL_EXIT_OK)
			return rc;
	}
	return CTL_EXIT_OK;
}

/* A memfd holding PEM, named by PATH. */
static int pem_fd(const char *command, const char *what, const char *pem, char path[32])
{
	size_t len = strlen(pem), done = 0;
	int fd = memfd_create(what, MFD_CLOEXEC);

	if (fd < 0) {
		ctl_error(command, "memfd for the %s: %s", what, strerror(errno));
		return -1;
	}
	while (done < len) {
		ssize_t n = write(fd, pem + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ctl_error(command, "memfd for the %s: %s", what, strerror(errno));
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	snprintf(path, 32, "/proc/self/fd/%d", fd);
	return fd;
}

static int load_credentials(struct net_target *target, const json_t *context)
{
	static const char *const keys[] = { "ca", "cert", "key" };
	int *fds[] = { &target->ca_fd, &target->cert_fd, &target->key_fd };
	char *paths[] = { target->ca_path, target->cert_path, target->key_path };

	for (size_t i = 0; i < 3; i++) {
		const char *pem = json_string_value(json_object_get(context, keys[i]));
		if (!pem) {
			ctl_error(target->command, "the cairnconfig's context has no '%s' (PEM)",
				  keys[i]);
			return CTL_EXIT_FAIL;
		}
		if ((*fds[i] = pem_fd(target->command, keys[i], pem, paths[i])) < 0)
			return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

int net_target_open(struct net_target *target, struct ctl_globals *globals,
		    const struct net_options *options, const char *command)
{
	const json_t *context;
	json_t *root = NULL;
	bool missing;
	int rc;

	memset(target, 0, sizeof *target);
	target->command = command;
	target->insecure = options->insecure;
	target->ca_fd = target->cert_fd = target->key_fd = -1;
	if (options->insecure && !globals->nodes)
		return ctl_usage_error(command, "--insecure needs the node's address: -n ADDRESS");
	context = load_context(globals, command, options->insecure, &root, &missing);
	if (!context && !(options->insecure && missing))
		return CTL_EXIT_FAIL;
	rc = resolve_nodes(target, globals, context);
	if (rc == CTL_EXIT_OK && !options->insecure)
		rc = load_credentials(target, context);
	json_decref(root);
	if (rc != CTL_EXIT_OK)
		net_target_close(target);
	return rc;
}

void net_target_close(struct net_target *target)
{
	for (size_t i = 0; i < target->count; i++) {
		free(target->nodes[i].name);
		free(target->nodes[i].url);
	}
	free(target->nodes);
	target->nodes = NULL;
	target->count = 0;
	if (target->ca_fd >= 0)
		close(target->ca_fd);
	if (target->cert_fd >= 0)
		close(target->cert_fd);
	if (target->key_fd >= 0)
		close(target->key_fd);
	target->ca_fd = target->cert_fd = target->key_fd = -1;
}
