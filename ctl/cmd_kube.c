/* cmd_kube.c - the Kubernetes commands. `cairnctl kubeconfig [FILE] [--server URL] [--force]`
 * (GET /v1/kubeconfig):
 * an admin kubeconfig for the cluster's Kubernetes, issued by the node of -n (one node) from
 * the cluster's Kubernetes CA. Written to FILE (default ./kubeconfig, mode 0600, atomically;
 * "-" prints it); an existing FILE is kept unless --force. */
#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "files.h"
#include "net.h"
#include "render.h"

#define CTL_IMAGE_MAX (1024UL << 20)   /* what a node accepts (API_UPLOAD_MAX) */
/* image import, etcd snapshot and restore: one attempt may take this long unless
 * --request-timeout says otherwise (a restore stops and starts the control plane). */
#define CTL_SLOW_TIMEOUT_MS 300000

struct kubeconfig_out {
	const char *path;
	int status;
};

static void write_kubeconfig(struct ctl_globals *globals, const struct net_target *target,
			     struct net_result *results, void *context)
{
	struct kubeconfig_out *out = context;
	const char *cmd = globals->command->name, *yaml;
	const char *what = NULL;

	(void)target;
	if (results[0].error)
		return;   /* net_command reports it */
	yaml = json_string_value(json_object_get(results[0].json, "kubeconfig"));
	if (!yaml) {
		ctl_error(cmd, "the node's reply has no kubeconfig");
		out->status = CTL_EXIT_FAIL;
		return;
	}
	if (strcmp(out->path, "-") == 0) {
		fputs(yaml, stdout);
		return;
	}
	if (fileio_write_atomic(out->path, yaml, strlen(yaml), 0600, &what) < 0) {
		ctl_error(cmd, "%s: %s: %s", out->path, what ? what : "write", strerror(errno));
		out->status = CTL_EXIT_FAIL;
		return;
	}
	printf("wrote %s\n", out->path);
}

int ctl_cmd_kubeconfig(struct ctl_globals *globals, int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "server", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'F' },
		NET_LONG_OPTIONS, CTL_GLOBAL_LONG_OPTIONS, { 0 },
	};
	const char *cmd = globals->command->name, *server = NULL;
	struct kubeconfig_out out = { .path = "kubeconfig", .status = CTL_EXIT_OK };
	struct net_options options;
	bool force = false;
	char *path = NULL;
	int c, rc;

	net_options_init(&options);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS, long_options, NULL)) != -1) {
		if (c == 's')
			server = optarg;
		else if (c == 'F')
			force = true;
		else if ((rc = net_option(globals, &options, c, optarg, argv)) != CTL_EXIT_OK)
			return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	}
	if (argc - optind > 1)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
	if (argc - optind == 1)
		out.path = argv[optind];
	if (!*out.path)
		return ctl_usage_error(cmd, "FILE is empty");
	if (server && (strncmp(server, "https://", 8) != 0 || strlen(server) > 256))
		return ctl_usage_error(cmd, "--server: '%s' is not an https:// URL", server);
	if (globals->nodes && globals->nodes[0] && globals->nodes[1])
		return ctl_usage_error(cmd, "one node: the kubeconfig comes from one node (-n NODE)");
	if (strcmp(out.path, "-") != 0 && !force && file_exists(out.path))
		return ctl_error(cmd, "%s: exists (use --force to overwrite)", out.path),
		       CTL_EXIT_FAIL;
	if (server) {
		char *escaped = curl_easy_escape(NULL, server, 0);
		if (!escaped || asprintf(&path, "/v1/kubeconfig?server=%s", escaped) < 0)
			path = NULL;
		curl_free(escaped);
		if (!path)
			return ctl_error(cmd, "out of memory"), CTL_EXIT_FAIL;
	}
	rc = net_command(globals, &options, cmd,
			 &(struct net_request){ .method = "GET", .path = path ? path : "/v1/kubeconfig" },
			 write_kubeconfig, &out);
	free(path);
	return rc != CTL_EXIT_OK ? rc : out.status;
}

/* `cairnctl image import FILE` (POST /v1/images): an OCI or Docker image archive to the
 * containerd of every node of -n, for pods that name it (no registry). */
int ctl_cmd_image_import(struct ctl_globals *globals, int argc, char **argv)
{
	static const struct option long_options[] = {
		NET_LONG_OPTIONS, CTL_GLOBAL_LONG_OPTIONS, { 0 },
	};
	static const char *const columns[] = { "images", "bytes", NULL };
	const char *cmd = globals->command->name;
	struct net_options options;
	size_t len = 0;
	char *data;
	int c, rc;

	net_options_init(&options);
	options.timeout_ms = CTL_SLOW_TIMEOUT_MS;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS, long_options, NULL)) != -1)
		if ((rc = net_option(globals, &options, c, optarg, argv)) != CTL_EXIT_OK)
			return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	if (argc - optind != 1)
		return ctl_usage_error(cmd, "expected one image archive FILE (.tar)");
	data = fileio_read(argv[optind], CTL_IMAGE_MAX, &len);
	if (!data)
		return ctl_error(cmd, "%s: %s", argv[optind], errno == EFBIG ?
				 "larger than the 1 GiB a node accepts" : strerror(errno)),
		       CTL_EXIT_FAIL;
	if (len < 512) {
		free(data);
		return ctl_error(cmd, "%s: %zu bytes is not an image archive (a tar file)",
				 argv[optind], len), CTL_EXIT_FAIL;
	}
	rc = net_command(globals, &options, cmd,
			 &(struct net_request){ .method = "POST", .path = "/v1/images", .body = data,
						.body_len = len, .content_type = "application/x-tar" },
			 render_replies, (void *)columns);
	free(data);
	return rc;
}

/* `cairnctl etcd snapshot FILE` (GET /v1/etcd/snapshot): the local etcd member of the node
 * of -n saved to FILE (mode 0600; --force overwrites). `cairnctl etcd restore FILE` (POST
 * /v1/etcd/restore): FILE becomes that member's data, as a cluster of one. */
static void write_snapshot(struct ctl_globals *globals, const struct net_target *target,
			   struct net_result *results, void *context)
{
	struct kubeconfig_out *out = context;
	const char *cmd = globals->command->name, *b64, *what = NULL;
	gnutls_datum_t in, raw = { NULL, 0 };

	(void)target;
	if (results[0].error)
		return;
	b64 = json_string_value(json_object_get(results[0].json, "snapshot"));
	in = (gnutls_datum_t){ (unsigned char *)b64, b64 ? (unsigned)strlen(b64) : 0 };
	if (!b64 || gnutls_base64_decode2(&in, &raw) < 0) {
		ctl_error(cmd, "the node's reply has no snapshot");
		out->status = CTL_EXIT_FAIL;
		return;
	}
	if (fileio_write_atomic(out->path, raw.data, raw.size, 0600, &what) < 0) {
		ctl_error(cmd, "%s: %s: %s", out->path, what ? what : "write", strerror(errno));
		out->status = CTL_EXIT_FAIL;
	} else {
		printf("wrote %s: %u bytes, sha256 %s, from member %s\n", out->path, raw.size,
		       json_string_value(json_object_get(results[0].json, "sha256")) ?: "?",
		       json_string_value(json_object_get(results[0].json, "member")) ?: "?");
	}
	gnutls_free(raw.data);
}

static int etcd_args(struct ctl_globals *globals, int argc, char **argv,
		     struct net_options *options, const char **file, bool *force)
{
	static const struct option long_options[] = {
		{ "force", no_argument, NULL, 'F' },
		NET_LONG_OPTIONS, CTL_GLOBAL_LONG_OPTIONS, { 0 },
	};
	const char *cmd = globals->command->name;
	int c, rc;

	net_options_init(options);
	options->timeout_ms = CTL_SLOW_TIMEOUT_MS;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS, force ? long_options :
				long_options + 1, NULL)) != -1) {
		if (c == 'F' && force)
			*force = true;
		else if ((rc = net_option(globals, options, c, optarg, argv)) != CTL_EXIT_OK)
			return rc;
	}
	if (argc - optind != 1 || !*argv[optind])
		return ctl_usage_error(cmd, "expected one snapshot FILE");
	if (!globals->nodes || globals->nodes[1])
		return ctl_usage_error(cmd, "one control-plane node: -n NODE");
	*file = argv[optind];
	return CTL_EXIT_OK;
}

int ctl_cmd_etcd_snapshot(struct ctl_globals *globals, int argc, char **argv)
{
	struct kubeconfig_out out = { .status = CTL_EXIT_OK };
	struct net_options options;
	bool force = false;
	int rc = etcd_args(globals, argc, argv, &options, &out.path, &force);

	if (rc != CTL_EXIT_OK)
		return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	if (!force && file_exists(out.path))
		return ctl_error(globals->command->name, "%s: exists (use --force to overwrite)",
				 out.path), CTL_EXIT_FAIL;
	rc = net_command(globals, &options, globals->command->name,
			 &(struct net_request){ .method = "GET", .path = "/v1/etcd/snapshot" },
			 write_snapshot, &out);
	return rc != CTL_EXIT_OK ? rc : out.status;
}

int ctl_cmd_etcd_restore(struct ctl_globals *globals, int argc, char **argv)
{
	static const char *const columns[] = { "member", "bytes", "previous_data", NULL };
	struct net_options options;
	const char *file;
	size_t len = 0;
	char *data;
	int rc = etcd_args(globals, argc, argv, &options, &file, NULL);

	if (rc != CTL_EXIT_OK)
		return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	data = fileio_read(file, CTL_IMAGE_MAX, &len);
	if (!data)
		return ctl_error(globals->command->name, "%s: %s", file, strerror(errno)),
		       CTL_EXIT_FAIL;
	rc = net_command(globals, &options, globals->command->name,
			 &(struct net_request){ .method = "POST", .path = "/v1/etcd/restore",
						.body = data, .body_len = len,
						.content_type = "application/octet-stream" },
			 render_replies, (void *)columns);
	free(data);
	return rc;
}
