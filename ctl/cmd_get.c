/* cmd_get.c - `cairnctl get KIND [-w]`: a node's status resources as a table (NODE, then the
 * kind's columns), or {"nodes": {NODE: SNAPSHOT}}; with --watch, every snapshot as it comes
 * (newline-delimited JSON from the node). `cairnctl get config`: the stored config, as YAML
 * documents by default. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "net.h"
#include "render.h"
#include "yaml_json.h"

static const char cmd[] = "get";

static bool valid_kind(const char *kind)
{
	size_t len = strlen(kind);

	return len > 0 && len <= 64 && strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
}

static void render_items(struct ctl_globals *globals, const struct net_target *target,
			 struct net_result *results, void *context)
{
	const char *kind = context;
	json_t *all = json_array(), *columns, *table;
	size_t ok = 0;

	if (globals->output != CTL_OUTPUT_TABLE) {
		json_t *document = results_document(target, results);
		print_structured(globals->output, document, cmd);
		json_decref(document);
		json_decref(all);
		return;
	}
	for (size_t i = 0; i < target->count; i++)
		if (!results[i].error)
			json_array_extend(all, json_object_get(results[i].json, "items"));
	columns = kind_columns(kind, all);
	table = table_new_columns(columns, true);
	for (size_t i = 0; i < target->count; i++) {
		if (results[i].error)
			continue;
		table_add_items(table, target->nodes[i].name,
				json_object_get(results[i].json, "items"), columns);
		ok++;
	}
	if (ok)
		table_print(stdout, table, NULL);
	json_decref(table);
	json_decref(columns);
	json_decref(all);
}

/* The config of each node as YAML documents, under a "# node: NAME" comment. */
static void render_config(struct ctl_globals *globals, const struct net_target *target,
			  struct net_result *results, void *context)
{
	(void)context;
	if (globals->output != CTL_OUTPUT_TABLE) {
		render_items(globals, target, results, (void *)"config");
		return;
	}
	for (size_t i = 0; i < target->count; i++) {
		const json_t *document;
		size_t index;
		if (results[i].error)
			continue;
		printf("# node: %s\n", target->nodes[i].name);
		json_array_foreach(json_object_get(results[i].json, "config"), index, document) {
			char *yaml = json_to_yaml(document, NULL);
			printf("---\n%s", yaml ? yaml : "# (out of memory)\n");
			free(yaml);
		}
	}
}

/* A watch: what each snapshot line becomes. */
struct watch {
	struct ctl_globals *globals;
	const char *kind;
};

static void print_snapshot(const struct watch *w, const char *node, json_t *snapshot,
			   const char *prefix)
{
	json_t *columns, *table, *items = json_object_get(snapshot, "items");
	char *text;

	switch (w->globals->output) {
	case CTL_OUTPUT_JSON:
		json_object_set_new(snapshot, "node", json_string(node));
		text = json_dumps(snapshot, JSON_COMPACT);
		if (text)
			puts(text);
		free(text);
		break;
	case CTL_OUTPUT_YAML:
		json_object_set_new(snapshot, "node", json_string(node));
		text = json_to_yaml(snapshot, NULL);
		if (text)
			printf("---\n%s", text);
		free(text);
		break;
	case CTL_OUTPUT_TABLE:
		printf("%s--- %s revision %" JSON_INTEGER_FORMAT "\n", prefix, w->kind,
		       json_integer_value(json_object_get(snapshot, "revision")));
		columns = kind_columns(w->kind, items);
		table = table_new_columns(columns, false);
		table_add_items(table, NULL, items, columns);
		if (json_array_size(columns))
			table_print(stdout, table, prefix);
		json_decref(table);
		json_decref(columns);
		break;
	}
}

static void on_snapshot(void *context, const struct net_target *target, size_t node,
			const char *line, size_t len)
{
	const struct watch *w = context;
	const char *name = target->nodes[node].name;
	char prefix[256] = "";
	json_t *snapshot;

	if (len == 0)
		return;
	if (target->count > 1)
		snprintf(prefix, sizeof prefix, "%s: ", name);
	snapshot = json_loadb(line, len, 0, NULL);
	if (json_is_object(snapshot))
		print_snapshot(w, name, snapshot, prefix);
	else
		printf("%s%s\n", prefix, line);
	json_decref(snapshot);
	fflush(stdout);
}

int ctl_cmd_get(struct ctl_globals *globals, int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "watch", no_argument, NULL, 'w' },
		NET_LONG_OPTIONS, CTL_GLOBAL_LONG_OPTIONS, { 0 },
	};
	struct net_options options;
	struct net_request request = { .method = "GET" };
	struct watch watch = { .globals = globals };
	bool follow = false;
	char path[128];
	const char *kind;
	int c, rc;

	net_options_init(&options);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS "w", long_options,
				NULL)) != -1) {
		if (c == 'w')
			follow = true;
		else if ((rc = net_option(globals, &options, c, optarg, argv)) != CTL_EXIT_OK)
			return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	}
	if (argc - optind != 1)
		return ctl_usage_error(cmd, argc == optind ? "missing KIND (config, links, "
				       "addresses, routes, services, ...)" : "expected one KIND");
	kind = argv[optind];
	if (!valid_kind(kind))
		return ctl_usage_error(cmd, "'%s' is not a resource kind", kind);
	if (strcmp(kind, "config") == 0) {
		if (follow)
			return ctl_usage_error(cmd, "config cannot be watched");
		request.path = "/v1/config";
		return net_command(globals, &options, cmd, &request, render_config, NULL);
	}
	snprintf(path, sizeof path, "/v1/resources/%s%s", kind, follow ? "?watch=1" : "");
	request.path = path;
	if (!follow)
		return net_command(globals, &options, cmd, &request, render_items, (void *)kind);
	watch.kind = kind;
	request.on_line = on_snapshot;
	request.context = &watch;
	return net_command(globals, &options, cmd, &request, NULL, NULL);
}
