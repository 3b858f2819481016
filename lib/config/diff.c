/* diff.c - the path-level difference of two decoded configs, for apply --dry-run:
 * "~ PATH: OLD -> NEW", "+ PATH: NEW", "- PATH: OLD", one line each. Documents are matched
 * by kind and metadata.name (through a hash set: linear time), list items by index. Secret
 * fields print as "<redacted>". */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hashset.h"
#include "schema.h"

struct diff {
	char *text;
	size_t len, cap;
	bool failed;
	const char *label;       /* "MachineConfig/node-1 ", or "" */
	char path[2048];
	size_t path_len;
};

static void emit(struct diff *df, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct diff *df, const char *fmt, ...)
{
	va_list ap;
	char *line;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0) {
		df->failed = true;
		return;
	}
	if (df->len + (size_t)n + 1 > df->cap) {
		size_t cap = (df->len + (size_t)n + 1) * 2;
		char *grown = realloc(df->text, cap);
		if (!grown) {
			df->failed = true;
			free(line);
			return;
		}
		df->text = grown;
		df->cap = cap;
	}
	memcpy(df->text + df->len, line, (size_t)n + 1);
	df->len += (size_t)n;
	free(line);
}

/* The schema of KEY's value inside a value of SCHEMA (NULL when not known). */
static const struct config_schema *child_schema(const struct config_schema *schema, const char *key)
{
	if (!schema)
		return NULL;
	if (schema->type == CONFIG_MAP || schema->type == CONFIG_LIST)
		return schema->items;
	if (schema->type == CONFIG_OBJECT)
		for (const struct config_field *f = schema->fields; f->name; f++)
			if (strcmp(f->name, key) == 0)
				return f->schema;
	return NULL;
}

/* A copy of VALUE with every secret replaced by "<redacted>". */
static json_t *redact(const json_t *value, const struct config_schema *schema)
{
	json_t *copy;

	if (schema && schema->secret)
		return json_string("<redacted>");
	if (!schema || json_is_string(value) || json_is_integer(value) || json_is_boolean(value))
		return json_deep_copy(value);
	if (json_is_array(value)) {
		copy = json_array();
		for (size_t i = 0; copy && i < json_array_size(value); i++)
			json_array_append_new(copy, redact(json_array_get(value, i), schema->items));
		return copy;
	}
	copy = json_object();
	const char *key;
	json_t *member;
	json_object_foreach((json_t *)value, key, member)
		if (copy)
			json_object_set_new(copy, key, redact(member, child_schema(schema, key)));
	return copy;
}

static char *dump(const json_t *value, const struct config_schema *schema)
{
	json_t *shown = redact(value, schema);
	char *text = shown ? json_dumps(shown, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

	json_decref(shown);
	return text;
}

static size_t path_push(struct diff *df, const char *key, size_t index, bool is_index)
{
	size_t before = df->path_len, len;
	int n;

	if (is_index) {
		n = snprintf(df->path + before, sizeof df->path - before, "[%zu]", index);
	} else if ((len = strlen(key)) > 0 && strspn(key, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == len) {
		n = snprintf(df->path + before, sizeof df->path - before, ".%s", key);
	} else {
		json_t *string = json_string(key);
		char *quoted = string ? json_dumps(string, JSON_ENCODE_ANY) : NULL;
		n = snprintf(df->path + before, sizeof df->path - before, "[%s]", quoted ? quoted : "?");
		free(quoted);
		json_decref(string);
	}
	if (n > 0)
		df->path_len += (size_t)n;
	if (df->path_len >= sizeof df->path)
		df->path_len = sizeof df->path - 1;
	return before;
}

static void path_pop(struct diff *df, size_t before)
{
	df->path_len = before;
	df->path[before] = '\0';
}

static void emit_one(struct diff *df, char sign, const json_t *value, const struct config_schema *schema)
{
	char *text = dump(value, schema);

	if (!text) {
		df->failed = true;
		return;
	}
	emit(df, "%c %s%s: %s\n", sign, df->label, df->path_len ? df->path : ".", text);
	free(text);
}

static void diff_value(struct diff *df, const json_t *old_value, const json_t *new_value,
		       const struct config_schema *schema)
{
	const char *key;
	json_t *member;
	size_t before;

	if (json_equal(old_value, new_value))
		return;
	if (json_is_object(old_value) && json_is_object(new_value)) {
		json_object_foreach((json_t *)old_value, key, member) {
			json_t *other = json_object_get(new_value, key);
			before = path_push(df, key, 0, false);
			if (other)
				diff_value(df, member, other, child_schema(schema, key));
			else
				emit_one(df, '-', member, child_schema(schema, key));
			path_pop(df, before);
		}
		json_object_foreach((json_t *)new_value, key, member) {
			if (json_object_get(old_value, key))
				continue;
			before = path_push(df, key, 0, false);
			emit_one(df, '+', member, child_schema(schema, key));
			path_pop(df, before);
		}
	} else if (json_is_array(old_value) && json_is_array(new_value)) {
		size_t old_size = json_array_size(old_value), new_size = json_array_size(new_value);
		const struct config_schema *items = schema ? schema->items : NULL;
		for (size_t i = 0; i < old_size || i < new_size; i++) {
			before = path_push(df, NULL, i, true);
			if (i < old_size && i < new_size)
				diff_value(df, json_array_get(old_value, i), json_array_get(new_value, i), items);
			else if (i < old_size)
				emit_one(df, '-', json_array_get(old_value, i), items);
			else
				emit_one(df, '+', json_array_get(new_value, i), items);
			path_pop(df, before);
		}
	} else {
		char *a = dump(old_value, schema), *b = dump(new_value, schema);
		if (a && b)
			emit(df, "~ %s%s: %s -> %s\n", df->label, df->path_len ? df->path : ".", a, b);
		else
			df->failed = true;
		free(a);
		free(b);
	}
}

static char *finish(struct diff *df)
{
	if (df->failed) {
		free(df->text);
		return NULL;
	}
	return df->text ? df->text : strdup("");
}

char *config_diff_values(const json_t *old_value, const json_t *new_value)
{
	struct diff df = { .label = "" };

	diff_value(&df, old_value, new_value, NULL);
	return finish(&df);
}

static const char *document_name(const json_t *doc)
{
	return json_string_value(json_object_get(json_object_get(doc, "metadata"), "name"));
}

/* Documents of TO (ids 0..) and FROM (ids from TO's size on), to match them. */
struct documents {
	const json_t *to, *from;
};

static const json_t *document_at(const struct documents *docs, size_t id)
{
	size_t n = json_array_size(docs->to);
	return id < n ? json_array_get(docs->to, id) : json_array_get(docs->from, id - n);
}

/* The same kind, and the same name or both without one. */
static bool same_document(const void *context, size_t a, size_t b)
{
	const json_t *x = document_at(context, a), *y = document_at(context, b);
	const char *x_kind = json_string_value(json_object_get(x, "kind"));
	const char *y_kind = json_string_value(json_object_get(y, "kind"));
	const char *x_name = document_name(x), *y_name = document_name(y);

	return x_kind && y_kind && strcmp(x_kind, y_kind) == 0 &&
	       ((!x_name && !y_name) || (x_name && y_name && strcmp(x_name, y_name) == 0));
}

static uint64_t document_hash(const struct hashset_key *key, const json_t *doc)
{
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const char *name = document_name(doc);
	uint64_t hash = kind ? hashset_hash(key, kind, strlen(kind)) : 0;

	return name ? hash ^ (hashset_hash(key, name, strlen(name)) * 0x9e3779b97f4a7c15ULL) : hash;
}

/* Diffs the documents of FROM missing from or changed in TO; SIGN for the missing ones. */
static void diff_documents(struct diff *df, const json_t *from, const json_t *to, char sign)
{
	struct documents docs = { to, from };
	const size_t n = json_array_size(to);
	struct hashset_key key;
	struct hashset set;
	char label[256];

	hashset_key_init(&key);
	if (hashset_init(&set, n + json_array_size(from), same_document, &docs) < 0) {
		df->failed = true;
		return;
	}
	for (size_t i = 0; i < n; i++)   /* the first of each kind and name */
		if (json_is_string(json_object_get(json_array_get(to, i), "kind")) &&
		    hashset_first(&set, document_hash(&key, json_array_get(to, i)), i) == HASHSET_EMPTY)
			df->failed = true;
	for (size_t i = 0; i < json_array_size(from); i++) {
		const json_t *doc = json_array_get(from, i), *other = NULL;
		const char *kind = json_string_value(json_object_get(doc, "kind"));
		if (kind) {   /* a document of TO, or FROM's own when TO has none */
			size_t found = hashset_first(&set, document_hash(&key, doc), n + i);
			if (found == HASHSET_EMPTY)
				df->failed = true;
			other = found < n ? json_array_get(to, found) : NULL;
		}
		const char *name = document_name(doc);
		const struct config_kind *k = kind ? config_kind_find(kind) : NULL;
		snprintf(label, sizeof label, "%s%s%s", kind ? kind : "?", name ? "/" : "", name ? name : "");
		if (!other) {
			char *text = dump(doc, k ? k->document : NULL);
			if (text)
				emit(df, "%c %s: %s\n", sign, label, text);
			else
				df->failed = true;
			free(text);
		} else if (sign == '-') {
			strncat(label, " ", sizeof label - strlen(label) - 1);
			df->label = label;
			diff_value(df, doc, other, k ? k->document : NULL);
			df->label = "";
		}
	}
	hashset_free(&set);
}

char *config_diff(const json_t *old_config, const json_t *new_config)
{
	struct diff df = { .label = "" };

	diff_documents(&df, old_config, new_config, '-');
	diff_documents(&df, new_config, old_config, '+');
	return finish(&df);
}
