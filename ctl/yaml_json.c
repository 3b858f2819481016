/* yaml_json.c - YAML <-> JSON for cairnctl (see yaml_json.h) and the JSON merge patch. */
#include "yaml_json.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config.h"      /* lib/config: config_quote(), paths quoted as in its errors */
#include "yaml_tree.h"   /* lib/config's public YAML tree with lines */

#define PATH_MAX_LEN 1024

struct reader {
	const char *name;
	json_t *lines;
	char path[PATH_MAX_LEN];
	size_t path_len;
	char *err;
};

static int reader_error(struct reader *r, unsigned line, const char *fmt, const char *arg)
{
	int n = snprintf(r->err, YAML_JSON_ERROR_MAX, "%s:%u: ", r->name, line);

	if (n > 0 && n < YAML_JSON_ERROR_MAX) {
		int m = snprintf(r->err + n, YAML_JSON_ERROR_MAX - (size_t)n, "%s", r->path_len ?
				 r->path : "");
		if (r->path_len && m > 0 && n + m + 2 < YAML_JSON_ERROR_MAX) {
			strcat(r->err, ": ");
			m += 2;
		}
		if (m >= 0 && n + m < YAML_JSON_ERROR_MAX)
			snprintf(r->err + n + m, YAML_JSON_ERROR_MAX - (size_t)(n + m), fmt, arg);
	}
	return -1;
}

static size_t path_push(struct reader *r, const char *fmt, const char *arg, size_t index)
{
	size_t before = r->path_len;
	int n;

	if (arg)
		n = snprintf(r->path + r->path_len, sizeof r->path - r->path_len, fmt, arg);
	else
		n = snprintf(r->path + r->path_len, sizeof r->path - r->path_len, fmt, index);
	if (n > 0)
		r->path_len += (size_t)n;
	if (r->path_len >= sizeof r->path)
		r->path_len = sizeof r->path - 1;
	return before;
}

static size_t path_push_key(struct reader *r, const struct ynode *key)
{
	char quoted[256];

	if (key->len > 0 && key->len <= 64 && strspn(key->value, "abcdefghijklmnopqrstuvwxyz"
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == key->len)
		return path_push(r, ".%s", key->value, 0);
	config_quote(quoted, sizeof quoted, key->value, key->len);
	return path_push(r, "[%s]", quoted, 0);
}

static void path_pop(struct reader *r, size_t before)
{
	r->path_len = before;
	r->path[before] = '\0';
}

/* A plain scalar typed as config_decode() types it. */
static json_t *plain_scalar(const struct ynode *node)
{
	static const char *const truths[] = { "true", "True", "TRUE" };
	static const char *const lies[] = { "false", "False", "FALSE" };
	const char *s = node->value;

	if (ynode_is_null(node))
		return json_null();
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(s, truths[i]) == 0)
			return json_true();
		if (strcmp(s, lies[i]) == 0)
			return json_false();
	}
	if (s[strspn(s, "+-0123456789")] == '\0' && strspn(s, "0123456789") > 0) {
		char *end;
		long long value;
		errno = 0;
		value = strtoll(s, &end, 10);
		if (errno == 0 && *end == '\0' && (s[0] != '0' || s[1] == '\0'))
			return json_integer((json_int_t)value);
	}
	return json_stringn(s, node->len);
}

static json_t *read_node(struct reader *r, const struct ynode *node);

static json_t *read_mapping(struct reader *r, const struct ynode *node)
{
	json_t *object = json_object();

	if (!object)
		return NULL;
	for (size_t i = 0; i + 1 < node->count; i += 2) {
		const struct ynode *key = node->items[i], *value = node->items[i + 1];
		json_t *item;
		size_t before;

		if (key->type != YNODE_SCALAR || !key->plain || key->tag || key->anchored ||
		    strlen(key->value) != key->len) {
			reader_error(r, key->line, "%s", "mapping keys must be plain strings");
			goto fail;
		}
		if (json_object_get(object, key->value)) {
			before = path_push_key(r, key);
			reader_error(r, key->line, "%s", "duplicate key");
			path_pop(r, before);
			goto fail;
		}
		before = path_push_key(r, key);
		item = read_node(r, value);
		path_pop(r, before);
		if (!item || json_object_set_new(object, key->value, item) < 0)
			goto fail;
	}
	return object;
fail:
	json_decref(object);
	return NULL;
}

static json_t *read_node(struct reader *r, const struct ynode *node)
{
	json_t *value = NULL;

	if (r->lines && json_object_set_new(r->lines, r->path, json_integer(node->line)) < 0)
		return NULL;
	if (node->type == YNODE_INVALID)
		return reader_error(r, node->line, "%s", node->value), NULL;
	if (node->anchored)
		return reader_error(r, node->line, "%s", "anchors are not allowed"), NULL;
	if (node->tag)
		return reader_error(r, node->line, "%s", "tags are not allowed"), NULL;
	switch (node->type) {
	case YNODE_SCALAR:
		if (strlen(node->value) != node->len)
			return reader_error(r, node->line, "%s", "NUL in a string"), NULL;
		value = node->plain ? plain_scalar(node) : json_stringn(node->value, node->len);
		break;
	case YNODE_MAPPING:
		value = read_mapping(r, node);
		break;
	case YNODE_SEQUENCE:
		value = json_array();
		for (size_t i = 0; value && i < node->count; i++) {
			size_t before = path_push(r, "[%zu]", NULL, i);
			json_t *item = read_node(r, node->items[i]);
			path_pop(r, before);
			if (!item || json_array_append_new(value, item) < 0) {
				json_decref(value);
				return NULL;
			}
		}
		break;
	case YNODE_INVALID:
		break;
	}
	if (!value && r->err[0] == '\0')
		snprintf(r->err, YAML_JSON_ERROR_MAX, "%s: out of memory", r->name);
	return value;
}

int yaml_to_json(const char *name, const char *text, size_t len, json_t **out,
		 json_t **lines, char err[YAML_JSON_ERROR_MAX])
{
	struct yaml_stream stream = { 0 };
	struct reader r = { .name = name, .err = err };
	const struct ynode *root = NULL;
	size_t documents = 0;

	*out = NULL;
	if (lines)
		*lines = NULL;
	err[0] = '\0';
	if (yaml_stream_read(text, len, &stream) < 0) {
		snprintf(err, YAML_JSON_ERROR_MAX, "%s: out of memory", name);
		return -1;
	}
	if (stream.error_line) {
		snprintf(err, YAML_JSON_ERROR_MAX, "%s:%u: %s", name, stream.error_line,
			 stream.error);
		goto out;
	}
	for (size_t i = 0; i < stream.count; i++) {
		if (stream.documents[i] && !ynode_is_null(stream.documents[i])) {
			documents++;
			if (!root)
				root = stream.documents[i];
		}
	}
	if (documents != 1) {
		snprintf(err, YAML_JSON_ERROR_MAX, "%s:%u: %s", name,
			 documents ? stream.lines[stream.count - 1] : 1,
			 documents ? "more than one document" : "no document");
		goto out;
	}
	if (lines && !(r.lines = json_object())) {
		snprintf(err, YAML_JSON_ERROR_MAX, "%s: out of memory", name);
		goto out;
	}
	*out = read_node(&r, root);
	if (!*out) {
		json_decref(r.lines);
		r.lines = NULL;
	}
	if (lines)
		*lines = r.lines;
out:
	yaml_stream_free(&stream);
	return *out ? 0 : -1;
}

/* ---- writing ---- */

struct buffer {
	char *data;
	size_t len, cap;
	bool failed;
};

static int buffer_write(void *data, unsigned char *bytes, size_t size)
{
	struct buffer *b = data;

	if (b->len + size + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *grown;
		while (cap < b->len + size + 1)
			cap *= 2;
		grown = realloc(b->data, cap);
		if (!grown) {
			b->failed = true;
			return 0;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, bytes, size);
	b->len += size;
	b->data[b->len] = '\0';
	return 1;
}

/* True when the plain scalar S would not read back as the string S. */
static bool needs_quotes(const char *s)
{
	static const char *const words[] = { "null", "true", "false", "yes", "no", "on", "off",
					     "y", "n", ".inf", "-.inf", "+.inf", ".nan", "~" };
	char *end;

	if (s[0] == '\0')
		return true;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasecmp(s, words[i]) == 0)
			return true;
	if (strchr("0123456789+-.", s[0])) {
		errno = 0;
		(void)strtod(s, &end);
		if (*end == '\0')
			return true;
		(void)strtoll(s, &end, 0);
		if (*end == '\0' || strncmp(s, "0o", 2) == 0)
			return true;
	}
	return false;
}

static int emit_scalar(yaml_emitter_t *emitter, const char *text, yaml_scalar_style_t style)
{
	yaml_event_t event;

	if (!yaml_scalar_event_initialize(&event, NULL, NULL, (yaml_char_t *)text,
					  (int)strlen(text), 1, 1, style))
		return -1;
	return yaml_emitter_emit(emitter, &event) ? 0 : -1;
}

static int emit_string(yaml_emitter_t *emitter, const char *s)
{
	if (strchr(s, '\n'))
		return emit_scalar(emitter, s, YAML_LITERAL_SCALAR_STYLE);
	if (needs_quotes(s))
		return emit_scalar(emitter, s, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
	return emit_scalar(emitter, s, YAML_ANY_SCALAR_STYLE);
}

static bool all_scalars(const json_t *array)
{
	size_t i;
	const json_t *item;

	json_array_foreach(array, i, item)
		if (json_is_object(item) || json_is_array(item))
			return false;
	return true;
}

static int emit_value(yaml_emitter_t *emitter, const json_t *value)
{
	yaml_event_t event;
	char number[64];

	switch (json_typeof(value)) {
	case JSON_OBJECT: {
		const char *key;
		const json_t *item;
		if (!yaml_mapping_start_event_initialize(&event, NULL, NULL, 1,
							 YAML_BLOCK_MAPPING_STYLE) ||
		    !yaml_emitter_emit(emitter, &event))
			return -1;
		json_object_foreach((json_t *)value, key, item)
			if (emit_string(emitter, key) < 0 || emit_value(emitter, item) < 0)
				return -1;
		if (!yaml_mapping_end_event_initialize(&event) || !yaml_emitter_emit(emitter, &event))
			return -1;
		return 0;
	}
	case JSON_ARRAY: {
		size_t i;
		const json_t *item;
		yaml_sequence_style_t style = all_scalars(value) ? YAML_FLOW_SEQUENCE_STYLE :
							       YAML_BLOCK_SEQUENCE_STYLE;
		if (!yaml_sequence_start_event_initialize(&event, NULL, NULL, 1, style) ||
		    !yaml_emitter_emit(emitter, &event))
			return -1;
		json_array_foreach(value, i, item)
			if (emit_value(emitter, item) < 0)
				return -1;
		if (!yaml_sequence_end_event_initialize(&event) ||
		    !yaml_emitter_emit(emitter, &event))
			return -1;
		return 0;
	}
	case JSON_STRING:
		return emit_string(emitter, json_string_value(value));
	case JSON_INTEGER:
		snprintf(number, sizeof number, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
		return emit_scalar(emitter, number, YAML_PLAIN_SCALAR_STYLE);
	case JSON_REAL:
		snprintf(number, sizeof number, "%.17g", json_real_value(value));
		return emit_scalar(emitter, number, YAML_PLAIN_SCALAR_STYLE);
	case JSON_TRUE:
		return emit_scalar(emitter, "true", YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return emit_scalar(emitter, "false", YAML_PLAIN_SCALAR_STYLE);
	case JSON_NULL:
		return emit_scalar(emitter, "null", YAML_PLAIN_SCALAR_STYLE);
	}
	return -1;
}

char *json_to_yaml(const json_t *value, const char *header)
{
	struct buffer b = { 0 };
	yaml_emitter_t emitter;
	yaml_event_t event;
	int ok;

	if (header && buffer_write(&b, (unsigned char *)header, strlen(header)) == 0)
		return NULL;
	if (!yaml_emitter_initialize(&emitter)) {
		free(b.data);
		return NULL;
	}
	yaml_emitter_set_output(&emitter, buffer_write, &b);
	yaml_emitter_set_unicode(&emitter, 1);
	yaml_emitter_set_indent(&emitter, 2);
	yaml_emitter_set_width(&emitter, -1);
	ok = yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING) &&
	     yaml_emitter_emit(&emitter, &event) &&
	     yaml_document_start_event_initialize(&event, NULL, NULL, NULL, 1) &&
	     yaml_emitter_emit(&emitter, &event) &&
	     emit_value(&emitter, value) == 0 &&
	     yaml_document_end_event_initialize(&event, 1) &&
	     yaml_emitter_emit(&emitter, &event) &&
	     yaml_stream_end_event_initialize(&event) &&
	     yaml_emitter_emit(&emitter, &event) &&
	     yaml_emitter_flush(&emitter);
	yaml_emitter_delete(&emitter);
	if (!ok || b.failed || !b.data) {
		free(b.data);
		return NULL;
	}
	return b.data;
}

/* ---- RFC 7386 ---- */

json_t *json_merge_patch(json_t *target, const json_t *patch)
{
	const char *key;
	json_t *value;

	if (!json_is_object(patch)) {
		json_decref(target);
		return json_deep_copy(patch);
	}
	if (!json_is_object(target)) {
		json_decref(target);
		target = json_object();
		if (!target)
			return NULL;
	}
	json_object_foreach((json_t *)patch, key, value) {
		if (json_is_null(value)) {
			json_object_del(target, key);
			continue;
		}
		json_t *old = json_object_get(target, key);
		json_t *merged = json_merge_patch(old ? json_incref(old) : json_null(), value);
		if (!merged || json_object_set_new(target, key, merged) < 0) {
			json_decref(target);
			return NULL;
		}
	}
	return target;
}
