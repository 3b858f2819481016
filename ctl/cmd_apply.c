/* cmd_apply.c - `cairnctl apply-config -f FILE [--mode M] [--dry-run] [--insecure]
 * [--timeout DURATION]`: sends the config file's bytes to POST /v1/config on every node.
 * Prints per node what was applied (or would be, with --dry-run) and the changes; a refused
 * config prints the node's error lines (path and line, in FILE) and
 * "cairnctl: NODE: config rejected". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "files.h"
#include "net.h"
#include "render.h"

#define APPLY_BODY_MAX (1024 * 1024)   /* cairnd's limit */

static const char cmd[] = "apply-config";

struct apply {
	const char *file;
	bool dry_run;
};

static const char *const modes[] = { "auto", "no-reboot", "reboot", "staged", "try", NULL };

/* An error line of the node, with the name it gives the body ("request") replaced by FILE. */
static void print_detail(const char *file, const json_t *detail)
{
	const char *text = json_string_value(detail);

	if (!text)
		return;
	if (strncmp(text, "request:", 8) == 0)
		fprintf(stderr, "%s:%s\n", file, text + 8);
	else
		fprintf(stderr, "%s\n", text);
}

static void print_applied(const struct apply *apply, const char *node, const json_t *reply)
{
	const json_t *changes = json_object_get(reply, "changes"), *change;
	const char *mode = json_string_value(json_object_get(reply, "mode"));
	const char *reboot = json_string_value(json_object_get(reply, "reboot"));
	const char *effective = json_string_value(json_object_get(reply, "effective"));
	const json_t *try = json_object_get(reply, "try");
	const char *deadline = json_string_value(json_object_get(try, "deadline"));
	size_t count = json_array_size(changes), i;

	printf("%s: %s, mode %s: %zu change%s%s%s\n", node, apply->dry_run ? "dry run" : "applied",
	       mode ? mode : "?", count, count == 1 ? "" : "s",
	       effective && strcmp(effective, "now") != 0 ? ", effective " : "",
	       effective && strcmp(effective, "now") != 0 ? effective : "");
	json_array_foreach(changes, i, change)
		printf("%s\n", json_string_value(change) ? json_string_value(change) : "?");
	if (reboot)
		printf("%s: reboot: %s\n", node, reboot);
	if (deadline)
		printf("%s: try: run 'cairnctl confirm' by %s, or the previous config returns\n",
		       node, deadline);
}

static void render_apply(struct ctl_globals *globals, const struct net_target *target,
			 struct net_result *results, void *context)
{
	const struct apply *apply = context;

	if (globals->output != CTL_OUTPUT_TABLE) {
		json_t *document = results_document(target, results);
		print_structured(globals->output, document, cmd);
		json_decref(document);
	}
	for (size_t i = 0; i < target->count; i++) {
		struct net_result *r = &results[i];
		const json_t *detail;
		size_t index;
		if (!r->error) {
			if (globals->output == CTL_OUTPUT_TABLE)
				print_applied(apply, target->nodes[i].name, r->json);
			continue;
		}
		if (r->status != 400 || !json_object_get(r->json, "error"))
			continue;
		/* A refused config: its error lines, then the node's error alone. */
		fflush(stdout);
		json_array_foreach(r->details, index, detail)
			print_detail(apply->file, detail);
		free(r->error);
		r->error = strdup(json_string_value(json_object_get(r->json, "error")));
		json_decref(r->details);
		r->details = NULL;
	}
}

#define NODE_PLACEHOLDER "{node}"

/* FILE with every {node} replaced by NODE (caller free()s); NULL when out of memory. */
static char *node_file(const char *file, const char *node)
{
	size_t cap = strlen(file) + 1, used = 0;
	char *out = NULL;
	const char *at;

	for (at = file; (at = strstr(at, NODE_PLACEHOLDER)); at += strlen(NODE_PLACEHOLDER))
		cap += strlen(node);
	if (!(out = malloc(cap)))
		return NULL;
	for (at = file; *at;) {
		if (strncmp(at, NODE_PLACEHOLDER, strlen(NODE_PLACEHOLDER)) == 0) {
			memcpy(out + used, node, strlen(node));
			used += strlen(node);
			at += strlen(NODE_PLACEHOLDER);
		} else {
			out[used++] = *at++;
		}
	}
	out[used] = '\0';
	return out;
}

/* Sends the bytes of APPLY->file to every node of GLOBALS. */
static int apply_file(struct ctl_globals *globals, const struct net_options *options,
		      struct apply *apply, const char *path)
{
	size_t len;
	char *body = fileio_read(apply->file, APPLY_BODY_MAX, &len);
	int rc;

	if (!body) {
		ctl_error(cmd, "%s: %s", apply->file, errno == EFBIG ?
			  "larger than 1 MiB, the API's limit" : strerror(errno));
		return CTL_EXIT_FAIL;
	}
	rc = net_command(globals, options, cmd,
			 &(struct net_request){ .method = "POST", .path = path, .body = body,
						.body_len = len },
			 render_apply, apply);
	free(body);
	return rc;
}

int ctl_cmd_apply_config(struct ctl_globals *globals, int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "insecure", no_argument, NULL, 'i' },
		{ "mode", required_argument, NULL, 'm' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 'T' },
		NET_LONG_OPTIONS, CTL_GLOBAL_LONG_OPTIONS, { 0 },
	};
	struct net_options options;
	struct apply apply = { 0 };
	const char *mode = "auto";
	long try_ms = -1;
	char path[160];
	size_t m;
	int c, rc;

	net_options_init(&options);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS "f:", long_options,
				NULL)) != -1) {
		switch (c) {
		case 'f': apply.file = optarg; break;
		case 'i': options.insecure = true; break;
		case 'm': mode = optarg; break;
		case 'd': apply.dry_run = true; break;
		case 'T':
			if ((try_ms = net_parse_duration(optarg)) < 1000)
				return ctl_usage_error(cmd, "--timeout: '%s' is not a duration of "
						       "1s or more (like 90s, 5m)", optarg);
			break;
		default:
			if ((rc = net_option(globals, &options, c, optarg, argv)) != CTL_EXIT_OK)
				return rc == CTL_DONE ? CTL_EXIT_OK : rc;
		}
	}
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s' (the file goes after -f)",
				       argv[optind]);
	if (!apply.file)
		return ctl_usage_error(cmd, "no file given (-f FILE)");
	for (m = 0; modes[m] && strcmp(modes[m], mode) != 0; m++)
		;
	if (!modes[m])
		return ctl_usage_error(cmd, "--mode: '%s' is not auto, no-reboot, reboot, staged "
				       "or try", mode);
	if (try_ms > 0 && strcmp(mode, "try") != 0)
		return ctl_usage_error(cmd, "--timeout is for --mode try");
	snprintf(path, sizeof path, "/v1/config?mode=%s%s", mode, apply.dry_run ? "&dry_run=1" : "");
	if (try_ms > 0)
		snprintf(path + strlen(path), sizeof path - strlen(path), "&timeout=%ldms", try_ms);
	if (!strstr(apply.file, NODE_PLACEHOLDER))
		return apply_file(globals, &options, &apply, path);
	if (!globals->nodes)
		return ctl_usage_error(cmd, "-f %s names {node}: give the nodes with -n", apply.file);
	/* One file per node: FILE with {node} replaced by the node's name as given in -n. */
	char **all = globals->nodes, *one[2] = { NULL, NULL }, *file;
	const char *given = apply.file;
	rc = CTL_EXIT_OK;
	for (char **n = all; *n; n++) {
		if (!(file = node_file(given, *n)))
			return CTL_EXIT_FAIL;
		one[0] = *n;
		globals->nodes = one;
		apply.file = file;
		int node_rc = apply_file(globals, &options, &apply, path);
		if (node_rc > rc)
			rc = node_rc;
		free(file);
	}
	globals->nodes = all;
	apply.file = given;
	return rc;
}
