/* render.c - tables, cells and structured (JSON, YAML) output for the network commands. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "yaml_json.h"

/* Per resource kind (services/network/README.md): the columns to show first, in order (keys
 * no item has are left out), and whether the id only repeats them (then it is not shown). */
static const struct kind_order {
	const char *kind;
	bool hide_id;
	bool only;                   /* these columns alone, not every other flat key too */
	const char *const columns[13];
} kind_orders[] = {
	{ "links", false, false, { "id", "kind", "operstate", "up", "mtu", "mac", "parent", "managed",
			    "error", NULL } },
	{ "addresses", true, false, { "ifname", "address", "family", "source", "error", NULL } },
	{ "routes", true, false, { "dst", "gateway", "ifname", "metric", "family", "source", "table",
			    "error", NULL } },
	{ "services", true, false, { "name", "state", "pid", "restarts", "health", "error", NULL } },
	{ "hostname", true, false, { "hostname", "source", "error", NULL } },
	{ "time", true, false, { "servers", "synced", "service", "error", NULL } },
	{ "resolvers", true, false, { "address", "source", "ifname", NULL } },
	{ "dhcp", false, false, { "id", "state", "address", "router", "dns", "domain", "lease_s",
			   "updated", NULL } },
	{ "modules", true, false, { "name", "loaded", "parameters", "error", NULL } },
	{ "sysctls", false, false, { "id", "desired", "actual", "error", NULL } },
	{ "vms", true, true, { "name", "state", "qmp_status", "accel", "cpus", "memory_mib", "pid",
			       "uptime_s", "restarts", "last_exit", "error", NULL } },
	{ "networks", false, false, { "id", "cidr", "gateway", "in_nb", "ports", "error", NULL } },
	{ "chassis", false, false, { "id", "hostname", "encap", "encap_ip", NULL } },
	{ "ports", false, false, { "id", "vm", "pod", "type", "chassis", "up", NULL } },
	{ "disks", true, true, { "name", "size", "model", "serial", "by_id", "in_use", "pool",
				 NULL } },
	{ "pools", true, true, { "name", "type", "device", "size", "free", "state", "state_volume",
				 "error", NULL } },
	{ "volumes", true, true, { "name", "device", "role", "connection", "disk", "peer",
				   "peer_role", "peer_disk", "sync_percent", "split_brain", "vm", "error",
				   NULL } },
	{ "members", true, true, { "name", "id", "peer_urls", "learner", "in_config", "data",
				   NULL } },
};

json_t *table_new(const char *const *header)
{
	json_t *table = json_array(), *row = json_array();

	for (const char *const *h = header; *h; h++)
		json_array_append_new(row, json_string(*h));
	json_array_append_new(table, row);
	return table;
}

void table_add(json_t *table, char **cells, size_t count)
{
	json_t *row = json_array();

	for (size_t i = 0; i < count; i++) {
		json_array_append_new(row, json_string(cells[i] ? cells[i] : "-"));
		free(cells[i]);
	}
	json_array_append_new(table, row);
}

void table_print(FILE *stream, const json_t *table, const char *prefix)
{
	size_t widths[64] = { 0 }, columns = 0, r, c;
	const json_t *row, *cell;

	json_array_foreach(table, r, row) {
		json_array_foreach(row, c, cell) {
			size_t len = strlen(json_string_value(cell));
			if (c < 64 && len > widths[c])
				widths[c] = len;
			if (c + 1 > columns)
				columns = c + 1;
		}
	}
	json_array_foreach(table, r, row) {
		size_t count = json_array_size(row);
		if (prefix)
			fputs(prefix, stream);
		json_array_foreach(row, c, cell) {
			const char *text = json_string_value(cell);
			if (c + 1 == count || c >= 64)
				fprintf(stream, "%s", text);
			else
				fprintf(stream, "%-*s   ", (int)widths[c], text);
		}
		fputc('\n', stream);
	}
	(void)columns;
}

static bool is_scalar(const json_t *value)
{
	return !json_is_object(value) && !json_is_array(value);
}

static bool is_flat(const json_t *value)
{
	const json_t *item;
	size_t i;

	if (is_scalar(value))
		return true;
	if (!json_is_array(value))
		return false;
	json_array_foreach(value, i, item)
		if (!is_scalar(item))
			return false;
	return true;
}

char *value_text(const json_t *value)
{
	char *text = NULL;

	switch (json_typeof(value)) {
	case JSON_STRING:
		return strdup(json_string_value(value));
	case JSON_INTEGER:
		return asprintf(&text, "%" JSON_INTEGER_FORMAT, json_integer_value(value)) < 0 ?
			NULL : text;
	case JSON_TRUE:
		return strdup("true");
	case JSON_FALSE:
		return strdup("false");
	case JSON_NULL:
		return strdup("-");
	case JSON_ARRAY:
		if (json_array_size(value) == 0)
			return strdup("-");
		if (is_flat(value)) {
			size_t i;
			const json_t *item;
			char *joined = strdup("");
			json_array_foreach(value, i, item) {
				char *part = value_text(item), *next = NULL;
				if (!joined || !part || asprintf(&next, "%s%s%s", joined,
								 i ? "," : "", part) < 0)
					next = NULL;
				free(part);
				free(joined);
				joined = next;
			}
			return joined;
		}
		break;
	default:
		break;
	}
	return json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
}

static bool has_column(const json_t *columns, const char *key)
{
	const json_t *column;
	size_t i;

	json_array_foreach(columns, i, column)
		if (strcmp(json_string_value(column), key) == 0)
			return true;
	return false;
}

json_t *item_columns(const json_t *items, const char *const *preferred)
{
	json_t *columns = json_array();
	const json_t *item, *value;
	const char *key;
	size_t i;

	for (const char *const *p = preferred; p && *p; p++)
		json_array_foreach(items, i, item)
			if (json_object_get(item, *p)) {
				json_array_append_new(columns, json_string(*p));
				break;
			}
	json_array_foreach(items, i, item)
		json_object_foreach((json_t *)item, key, value)
			if (is_flat(value) && !has_column(columns, key))
				json_array_append_new(columns, json_string(key));
	return columns;
}

json_t *kind_columns(const char *kind, const json_t *items)
{
	const struct kind_order *order = NULL;
	json_t *columns;

	for (size_t i = 0; i < sizeof kind_orders / sizeof kind_orders[0]; i++)
		if (strcmp(kind_orders[i].kind, kind) == 0)
			order = &kind_orders[i];
	if (order && order->only) {   /* the same columns whatever the items hold */
		columns = json_array();
		for (const char *const *c = order->columns; *c; c++)
			json_array_append_new(columns, json_string(*c));
		return columns;
	}
	columns = item_columns(items, order ? order->columns : NULL);
	if (json_array_size(items) == 0) {   /* no items: a header that says what is missing */
		for (const char *const *c = order ? order->columns : NULL; c && *c; c++)
			json_array_append_new(columns, json_string(*c));
		if (json_array_size(columns) == 0)
			json_array_append_new(columns, json_string("id"));
	}
	for (size_t i = 0; order && order->hide_id && i < json_array_size(columns); i++)
		if (strcmp(json_string_value(json_array_get(columns, i)), "id") == 0 &&
		    json_array_size(columns) > 1)
			json_array_remove(columns, i);
	return columns;
}

json_t *table_new_columns(const json_t *columns, bool with_node)
{
	json_t *table = json_array(), *row = json_array();
	const json_t *column;
	size_t i;

	if (with_node)
		json_array_append_new(row, json_string("NODE"));
	json_array_foreach(columns, i, column) {
		char *upper = strdup(json_string_value(column));
		for (char *p = upper; p && *p; p++)
			*p = (char)toupper((unsigned char)*p);
		json_array_append_new(row, json_string(upper ? upper : "?"));
		free(upper);
	}
	json_array_append_new(table, row);
	return table;
}

void table_add_items(json_t *table, const char *node, const json_t *items,
		     const json_t *columns)
{
	size_t count = json_array_size(columns) + (node != NULL), i, c;
	const json_t *item, *column;
	char **cells = calloc(count ? count : 1, sizeof *cells);

	if (!cells)
		return;
	json_array_foreach(items, i, item) {
		size_t n = 0;
		if (node)
			cells[n++] = strdup(node);
		json_array_foreach(columns, c, column) {
			const json_t *value = json_object_get(item, json_string_value(column));
			cells[n++] = value ? value_text(value) : NULL;
		}
		table_add(table, cells, n);
	}
	free(cells);
}

int print_structured(enum ctl_output output, const json_t *value, const char *command)
{
	char *text = output == CTL_OUTPUT_JSON ? json_dumps(value, JSON_INDENT(2)) :
		json_to_yaml(value, NULL);

	if (!text) {
		ctl_error(command, "out of memory");
		return -1;
	}
	fputs(text, stdout);
	if (output == CTL_OUTPUT_JSON)
		fputc('\n', stdout);
	free(text);
	return 0;
}

json_t *results_document(const struct net_target *target, const struct net_result *results)
{
	json_t *nodes = json_object(), *errors = json_object(), *document;

	for (size_t i = 0; i < target->count; i++) {
		if (results[i].error)
			json_object_set_new(errors, target->nodes[i].name,
					    json_string(results[i].error));
		else
			json_object_set(nodes, target->nodes[i].name,
					results[i].json ? results[i].json : json_null());
	}
	document = json_pack("{s:o}", "nodes", nodes);
	if (document && json_object_size(errors))
		json_object_set(document, "errors", errors);
	json_decref(errors);
	return document;
}

void print_reply_table(const struct net_target *target, const struct net_result *results,
			      const char *const *preferred)
{
	json_t *replies = json_array(), *columns, *table;
	size_t ok = 0;

	for (size_t i = 0; i < target->count; i++)
		if (!results[i].error && json_is_object(results[i].json))
			json_array_append(replies, results[i].json);
	columns = item_columns(replies, preferred);
	table = table_new_columns(columns, true);
	for (size_t i = 0; i < target->count; i++) {
		if (results[i].error || !json_is_object(results[i].json))
			continue;
		json_t *one = json_pack("[O]", results[i].json);
		table_add_items(table, target->nodes[i].name, one, columns);
		json_decref(one);
		ok++;
	}
	if (ok)
		table_print(stdout, table, NULL);
	json_decref(table);
	json_decref(columns);
	json_decref(replies);
}

void render_replies(struct ctl_globals *globals, const struct net_target *target,
		    struct net_result *results, void *preferred)
{
	if (globals->output == CTL_OUTPUT_TABLE) {
		print_reply_table(target, results, preferred);
	} else {
		json_t *document = results_document(target, results);
		print_structured(globals->output, document, globals->command->name);
		json_decref(document);
	}
}
