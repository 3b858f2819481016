/* decode.c - config_decode(): walks each document's YAML tree (yaml_tree.c) against the
 * schema tables (schema.c), builds the normalized jansson value, and reports every problem
 * with the document, the path and the line. Then the checks across documents: names, one
 * MachineConfig, VM MACs, and those of networks.c (NIC networks and addresses, routers). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hashset.h"
#include "schema.h"
#include "yaml_tree.h"

#define QUOTE_MAX 320
/* Mappings of at most this many pairs check their keys pair by pair; larger ones hash them. */
#define SMALL_MAPPING 8

struct config_decoder {
	const char *name;               /* the file name errors start with */
	struct config_errors *errs;
	unsigned document;              /* 1-based */
	char kind[80];                  /* "" until the document's kind is read */
	char path[1024];                /* ".spec.network.interfaces[1]" */
	size_t path_len;
	struct hashset_key hash_key;    /* this decode's key for the uniqueness checks */
};

void config_decoder_error(struct config_decoder *d, unsigned line, const char *field,
			  const char *fmt, ...)
{
	char message[768], path[1100];
	va_list ap;

	if (config_errors_full(d->errs)) {   /* counted only: no need to format it */
		config_errors_drop(d->errs, 1);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	snprintf(path, sizeof path, "%s%s%s", d->path, field ? "." : "", field ? field : "");
	config_errors_add(d->errs, d->name, line, d->document, d->kind[0] ? d->kind : NULL,
			  path[0] ? path : ".", message);
}

/* ---- the path ---- */

static size_t path_push(struct config_decoder *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static size_t path_push(struct config_decoder *d, const char *fmt, ...)
{
	size_t before = d->path_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(d->path + d->path_len, sizeof d->path - d->path_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		d->path_len += (size_t)n;
	if (d->path_len >= sizeof d->path)
		d->path_len = sizeof d->path - 1;
	return before;
}

/* The fast forms of path_push(d, ".%s", name) and path_push(d, "[%zu]", index): one of each
 * runs for every field and every item. */
static size_t path_push_field(struct config_decoder *d, const char *name)
{
	size_t before = d->path_len, len = strlen(name);

	if (d->path_len + 1 + len >= sizeof d->path)
		return path_push(d, ".%s", name);
	d->path[d->path_len++] = '.';
	memcpy(d->path + d->path_len, name, len + 1);
	d->path_len += len;
	return before;
}

static size_t path_push_index(struct config_decoder *d, size_t index)
{
	char digits[24], *p = digits + sizeof digits;
	size_t before = d->path_len, len;

	*--p = '\0';
	*--p = ']';
	do
		*--p = (char)('0' + index % 10);
	while ((index /= 10) > 0);
	*--p = '[';
	len = (size_t)(digits + sizeof digits - 1 - p);
	if (d->path_len + len >= sizeof d->path)
		return path_push(d, "%s", p);
	memcpy(d->path + d->path_len, p, len + 1);
	d->path_len += len;
	return before;
}

/* A mapping key: ".name" when it looks like an identifier, else ["..."]. */
static size_t path_push_key(struct config_decoder *d, const struct ynode *key)
{
	char quoted[QUOTE_MAX];
	size_t len = key->len;

	if (len > 0 && len <= 64 && strspn(key->value, "abcdefghijklmnopqrstuvwxyz"
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == len)
		return path_push(d, ".%s", key->value);
	config_quote(quoted, sizeof quoted, key->value, key->len);
	return path_push(d, "[%s]", quoted);
}

static void path_pop(struct config_decoder *d, size_t before)
{
	d->path_len = before;
	d->path[before] = '\0';
}

/* ---- scalars ---- */

/* What NODE is, for "expected X, got Y". */
static void describe(const struct ynode *node, char *buf, size_t size)
{
	char quoted[QUOTE_MAX];

	if (node->type == YNODE_INVALID)
		snprintf(buf, size, "an alias");
	else if (node->type == YNODE_MAPPING)
		snprintf(buf, size, "a mapping");
	else if (node->type == YNODE_SEQUENCE)
		snprintf(buf, size, "a sequence");
	else if (ynode_is_null(node))
		snprintf(buf, size, "null");
	else {
		config_quote(quoted, sizeof quoted, node->value, node->len);
		snprintf(buf, size, "%s%s", node->plain ? "" : "the string ", quoted);
	}
}

static void expected(struct config_decoder *d, const struct ynode *node, const char *what)
{
	char got[QUOTE_MAX + 16];

	describe(node, got, sizeof got);
	config_decoder_error(d, node->line, NULL, "expected %s, got %s", what, got);
}

static json_t *decode_string(struct config_decoder *d, const struct ynode *node,
			     const struct config_schema *schema)
{
	struct config_check check = { "", "" };
	char quoted[QUOTE_MAX];
	json_t *value;

	if (node->type != YNODE_SCALAR || ynode_is_null(node)) {
		expected(d, node, schema->what ? schema->what : "a string");
		return NULL;
	}
	if (strlen(node->value) != node->len) {
		config_decoder_error(d, node->line, NULL, "contains a NUL character");
		return NULL;
	}
	if (schema->validator && !schema->validator(node->value, &check)) {
		if (schema->secret)
			snprintf(quoted, sizeof quoted, "the value");
		else
			config_quote(quoted, sizeof quoted, node->value, node->len);
		config_decoder_error(d, node->line, NULL, "%s %s", quoted, check.reason);
		return NULL;
	}
	value = check.normal[0] ? json_string(check.normal) : json_stringn(node->value, node->len);
	if (!value)
		config_decoder_error(d, node->line, NULL, "is not valid UTF-8");
	return value;
}

/* Plain decimal: an optional sign, then 0 or digits without a leading zero. */
static bool parse_integer(const char *s, long long *out)
{
	const char *digits = (*s == '-' || *s == '+') ? s + 1 : s;
	size_t n = strspn(digits, "0123456789");
	char *end;

	if (n == 0 || digits[n] != '\0' || (digits[0] == '0' && n > 1))
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static json_t *decode_int(struct config_decoder *d, const struct ynode *node,
			  const struct config_schema *schema)
{
	long long value;

	if (node->type != YNODE_SCALAR || !node->plain || ynode_is_null(node) ||
	    strlen(node->value) != node->len) {
		expected(d, node, "an integer");
		return NULL;
	}
	if (!parse_integer(node->value, &value)) {
		size_t n = strspn(node->value, "+-0123456789");
		if (n > 1 && node->value[n] == '\0')   /* digits, too many of them */
			config_decoder_error(d, node->line, NULL, "%s is out of range %lld..%lld",
					     node->value, schema->min, schema->max);
		else
			expected(d, node, "an integer");
		return NULL;
	}
	if (value < schema->min || value > schema->max) {
		config_decoder_error(d, node->line, NULL, "%lld is out of range %lld..%lld", value,
				     schema->min, schema->max);
		return NULL;
	}
	return json_integer((json_int_t)value);
}

static json_t *decode_bool(struct config_decoder *d, const struct ynode *node)
{
	static const char *const truths[] = { "true", "True", "TRUE" };
	static const char *const lies[] = { "false", "False", "FALSE" };

	if (node->type == YNODE_SCALAR && node->plain)
		for (size_t i = 0; i < 3; i++) {
			if (strcmp(node->value, truths[i]) == 0)
				return json_true();
			if (strcmp(node->value, lies[i]) == 0)
				return json_false();
		}
	expected(d, node, "true or false");
	return NULL;
}

/* ---- collections ---- */

static json_t *decode_value(struct config_decoder *d, const struct ynode *node,
			    const struct config_schema *schema);

/* The first pair of MAP whose key has the same bytes as each scalar key: FIRST[i] is i itself
 * when no key before it is equal (and for keys that are not scalars). */
struct key_firsts {
	size_t *first;
	size_t local[SMALL_MAPPING];
};

static bool same_key(const void *context, size_t a, size_t b)
{
	const struct ynode *map = context, *x = map->items[a * 2], *y = map->items[b * 2];

	return x->len == y->len && memcmp(x->value, y->value, x->len) == 0;
}

/* -1: out of memory. */
static int find_first_keys(struct config_decoder *d, const struct ynode *map,
			   struct key_firsts *firsts)
{
	const size_t pairs = map->count / 2;
	struct hashset set;

	firsts->first = pairs <= SMALL_MAPPING ? firsts->local : malloc(pairs * sizeof *firsts->first);
	if (!firsts->first)
		return -1;
	for (size_t i = 0; i < pairs; i++)
		firsts->first[i] = i;
	if (pairs <= SMALL_MAPPING) {
		for (size_t j = 1; j < pairs; j++)
			for (size_t i = 0; i < j && map->items[j * 2]->type == YNODE_SCALAR; i++)
				if (map->items[i * 2]->type == YNODE_SCALAR && same_key(map, i, j)) {
					firsts->first[j] = i;
					break;
				}
		return 0;
	}
	if (hashset_init(&set, pairs, same_key, map) < 0)
		goto fail;
	for (size_t i = 0; i < pairs; i++) {
		const struct ynode *key = map->items[i * 2];
		if (key->type != YNODE_SCALAR)
			continue;
		firsts->first[i] = hashset_first(&set, hashset_hash(&d->hash_key, key->value, key->len), i);
		if (firsts->first[i] == HASHSET_EMPTY) {
			hashset_free(&set);
			goto fail;
		}
	}
	hashset_free(&set);
	return 0;
fail:
	if (firsts->first != firsts->local)
		free(firsts->first);
	firsts->first = NULL;
	return -1;
}

static void free_first_keys(struct key_firsts *firsts)
{
	if (firsts->first != firsts->local)
		free(firsts->first);
}

/* Keys must be strings, each once. False for a key to skip. */
static bool key_usable(struct config_decoder *d, const struct ynode *map,
		       const struct key_firsts *firsts, size_t pair)
{
	const struct ynode *key = map->items[pair * 2];

	if (key->type != YNODE_SCALAR || key->tag || key->anchored ||
	    strlen(key->value) != key->len) {
		config_decoder_error(d, key->line, NULL, "mapping keys must be plain strings");
		return false;
	}
	if (firsts->first[pair] != pair) {
		size_t before = path_push_key(d, key);
		config_decoder_error(d, key->line, NULL, "duplicate key (first on line %u)",
				     map->items[firsts->first[pair] * 2]->line);
		path_pop(d, before);
		return false;
	}
	return true;
}

static void unknown_key(struct config_decoder *d, const struct ynode *key,
			const struct config_field *fields)
{
	char known[512] = "";
	size_t before, used = 0;

	if (config_errors_full(d->errs)) {
		config_errors_drop(d->errs, 1);
		return;
	}
	for (const struct config_field *f = fields; f->name && used < sizeof known; f++)
		used += (size_t)snprintf(known + used, sizeof known - used, "%s%s",
					 f == fields ? "" : ", ", f->name);
	before = path_push_key(d, key);
	config_decoder_error(d, key->line, NULL, "unknown key (expected one of: %s)", known);
	path_pop(d, before);
}

/* "'a', 'b' or 'c'" (CONJUNCTION "or") into BUF. */
static void join_keys(char *buf, size_t size, const char *const *keys, const char *conjunction)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; keys[i] && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s'%s'",
					 i == 0 ? "" : keys[i + 1] ? ", " : conjunction, keys[i]);
}

static void check_exactly_one(struct config_decoder *d, const struct ynode *node,
			      const char *const *keys)
{
	char names[256];
	size_t present = 0;

	for (size_t i = 0; keys[i]; i++)
		if (ynode_mapping_get(node, keys[i]))
			present++;
	if (present == 0) {
		join_keys(names, sizeof names, keys, " or ");
		config_decoder_error(d, node->line, NULL, "needs one of %s", names);
	} else if (present > 1) {
		join_keys(names, sizeof names, keys, " and ");
		config_decoder_error(d, node->line, NULL, "sets %s%s; set exactly one",
				     keys[2] ? "more than one of " : "both ", names);
	}
}

static json_t *decode_object(struct config_decoder *d, const struct ynode *node,
			     const struct config_schema *schema)
{
	const size_t pairs = node->count / 2;
	struct key_firsts firsts;
	json_t *object;

	if (node->type != YNODE_MAPPING) {
		expected(d, node, "a mapping");
		return NULL;
	}
	if (find_first_keys(d, node, &firsts) < 0)
		return NULL;
	for (size_t i = 0; i < pairs; i++) {
		const struct ynode *key = node->items[i * 2];
		const struct config_field *f;
		if (!key_usable(d, node, &firsts, i))
			continue;
		for (f = schema->fields; f->name && strcmp(f->name, key->value) != 0; f++)
			;
		if (!f->name)
			unknown_key(d, key, schema->fields);
	}
	free_first_keys(&firsts);
	object = json_object();
	if (!object)
		return NULL;
	for (const struct config_field *f = schema->fields; f->name; f++) {
		const struct ynode *value = ynode_mapping_get(node, f->name);
		char fallback_text[64];
		struct ynode fallback;
		if (!value && f->schema->default_yaml) {   /* decoded as if written, at the mapping */
			snprintf(fallback_text, sizeof fallback_text, "%s", f->schema->default_yaml);
			fallback = (struct ynode){ .type = YNODE_SCALAR, .line = node->line,
				.plain = true, .value = fallback_text, .len = strlen(fallback_text) };
			value = &fallback;
		}
		if (!value) {
			if (f->required)
				config_decoder_error(d, node->line, NULL, "missing required key '%s'",
						     f->name);
			continue;
		}
		size_t before = path_push_field(d, f->name);
		json_t *decoded = decode_value(d, value, f->schema);
		path_pop(d, before);
		if (!decoded)
			continue;
		json_object_set_new(object, f->name, decoded);
		if (f->schema->with_mib) {
			char key[128];
			snprintf(key, sizeof key, "%s_mib", f->name);
			json_object_set_new(object, key,
					    json_integer(config_size_mib(json_string_value(decoded))));
		}
	}
	if (schema->exactly_one_of)
		check_exactly_one(d, node, schema->exactly_one_of);
	if (schema->check)
		schema->check(d, node, object);
	return object;
}

/* A hash of a JSON value that equal values (json_equal) share. */
static uint64_t value_hash(const struct config_decoder *d, const json_t *value)
{
	uint64_t hash = (uint64_t)json_typeof(value) * 0x9e3779b97f4a7c15ULL;

	switch (json_typeof(value)) {
	case JSON_STRING:
		return hash ^ hashset_hash(&d->hash_key, json_string_value(value), json_string_length(value));
	case JSON_INTEGER: {
		json_int_t n = json_integer_value(value);
		return hash ^ hashset_hash(&d->hash_key, &n, sizeof n);
	}
	case JSON_REAL: {
		double x = json_real_value(value);
		if (x == 0)
			x = 0;   /* -0.0 equals 0.0 */
		return hash ^ hashset_hash(&d->hash_key, &x, sizeof x);
	}
	case JSON_ARRAY:
		for (size_t i = 0; i < json_array_size(value); i++)
			hash = (hash ^ value_hash(d, json_array_get(value, i))) * 0x100000001b3ULL;
		return hash;
	case JSON_OBJECT: {
		const char *key;
		json_t *member;
		json_object_foreach((json_t *)value, key, member)   /* in any order: a sum */
			hash += hashset_hash(&d->hash_key, key, strlen(key)) ^ value_hash(d, member);
		return hash;
	}
	default:
		return hash;
	}
}

/* What the uniqueness check compares: the items of LIST, or their KEY. */
struct unique_context {
	json_t *list;
	const char *key;   /* NULL: the items themselves */
};

static json_t *unique_value(const struct unique_context *c, size_t index)
{
	json_t *item = json_array_get(c->list, index);
	return c->key ? json_object_get(item, c->key) : item;
}

static bool same_value(const void *context, size_t a, size_t b)
{
	return json_equal(unique_value(context, a), unique_value(context, b));
}

/* unique_items: an item equal to an earlier one is reported once, with the first of them. */
static void check_unique_items(struct config_decoder *d, json_t *list, const struct ynode **source,
			       const size_t *origin)
{
	struct unique_context context = { list, NULL };
	struct hashset set;
	char *text;

	if (hashset_init(&set, json_array_size(list), same_value, &context) < 0) {
		config_decoder_error(d, 0, NULL, "out of memory");
		return;
	}
	for (size_t j = 0; j < json_array_size(list); j++) {
		json_t *item = json_array_get(list, j);
		size_t i = hashset_first(&set, value_hash(d, item), j);
		if (i == HASHSET_EMPTY) {
			config_decoder_error(d, 0, NULL, "out of memory");
			break;
		}
		if (i == j)
			continue;
		if (config_errors_full(d->errs)) {
			config_errors_drop(d->errs, 1);
			continue;
		}
		text = json_dumps(item, JSON_ENCODE_ANY | JSON_COMPACT);
		size_t before = path_push(d, "[%zu]", origin[j]);
		config_decoder_error(d, source[j]->line, NULL, "%s is listed twice (first on line %u)",
				     text ? text : "the value", source[i]->line);
		path_pop(d, before);
		free(text);
	}
	hashset_free(&set);
}

#define UNIQUE_KEYS_MAX 4
#define NONE SIZE_MAX

/* One unique key: the items that set it, grouped by value, each group in list order. */
struct unique_groups {
	struct unique_context context;
	struct hashset set;
	size_t *next;      /* per item: the next item of its group, NONE at the end */
	size_t *tail;      /* per first item of a group: its last item */
	size_t *size;      /* per first item of a group: its items so far */
};

/* unique_keys: an item whose KEY equals that of earlier items is reported once for each of
 * them, in list order (for one earlier item, in the order of the keys). */
static void check_unique_keys(struct config_decoder *d, const struct config_schema *schema,
			      json_t *list, const struct ynode **source, const size_t *origin)
{
	const size_t n = json_array_size(list);
	struct unique_groups groups[UNIQUE_KEYS_MAX];
	size_t keys = 0, *block;
	char *text;

	while (schema->unique_keys[keys] && keys < UNIQUE_KEYS_MAX)
		keys++;
	block = malloc((3 * n + 1) * keys * sizeof *block);
	for (size_t k = 0; k < keys; k++) {
		groups[k].context = (struct unique_context){ list, schema->unique_keys[k] };
		groups[k].next = block + 3 * n * k;
		groups[k].tail = groups[k].next + n;
		groups[k].size = groups[k].tail + n;
		if (!block || hashset_init(&groups[k].set, n, same_value, &groups[k].context) < 0) {
			while (block && k-- > 0)
				hashset_free(&groups[k].set);
			free(block);
			config_decoder_error(d, 0, NULL, "out of memory");
			return;
		}
	}
	for (size_t j = 0; j < n; j++) {
		size_t cursor[UNIQUE_KEYS_MAX], first[UNIQUE_KEYS_MAX], remaining = 0;
		for (size_t k = 0; k < keys; k++) {
			json_t *value = unique_value(&groups[k].context, j);
			cursor[k] = first[k] = NONE;
			if (!value)
				continue;
			first[k] = hashset_first(&groups[k].set, value_hash(d, value), j);
			if (first[k] == HASHSET_EMPTY) {
				first[k] = NONE;
				continue;
			}
			if (first[k] != j && ynode_mapping_get(source[j], schema->unique_keys[k])) {
				cursor[k] = first[k];
				remaining += groups[k].size[first[k]];
			}
		}
		/* The earlier items of each group, merged in list order. */
		while (remaining > 0 && !config_errors_full(d->errs)) {
			size_t k = 0, i;
			for (size_t m = 1; m < keys; m++)
				if (cursor[m] < cursor[k])
					k = m;
			i = cursor[k];
			const char *key = schema->unique_keys[k];
			const struct ynode *where = ynode_mapping_get(source[j], key);
			text = json_dumps(unique_value(&groups[k].context, j), JSON_ENCODE_ANY | JSON_COMPACT);
			size_t before = path_push(d, "[%zu].%s", origin[j], key);
			config_decoder_error(d, where->line, NULL, "%s is already used by [%zu] (line %u)",
					     text ? text : "the value", origin[i], source[i]->line);
			path_pop(d, before);
			free(text);
			cursor[k] = groups[k].next[i];
			remaining--;
		}
		config_errors_drop(d->errs, remaining);
		for (size_t k = 0; k < keys; k++) {
			struct unique_groups *g = &groups[k];
			if (first[k] == NONE)
				continue;
			g->next[j] = NONE;
			if (first[k] == j) {
				g->size[j] = 1;
			} else {
				g->next[g->tail[first[k]]] = j;
				g->size[first[k]]++;
			}
			g->tail[first[k]] = j;
		}
	}
	for (size_t k = 0; k < keys; k++)
		hashset_free(&groups[k].set);
	free(block);
}

/* Items of LIST must differ as wholes (unique_items) or in each of the unique keys. LIST's
 * item i was decoded from SOURCE[i], item ORIGIN[i] of the YAML sequence. */
static void check_unique(struct config_decoder *d, const struct config_schema *schema,
			 json_t *list, const struct ynode **source, const size_t *origin)
{
	if (schema->unique_items)
		check_unique_items(d, list, source, origin);
	else if (schema->unique_keys)
		check_unique_keys(d, schema, list, source, origin);
}

static json_t *decode_list(struct config_decoder *d, const struct ynode *node,
			   const struct config_schema *schema)
{
	const struct ynode **source;
	size_t *origin;
	json_t *list;

	if (node->type != YNODE_SEQUENCE) {
		expected(d, node, "a list");
		return NULL;
	}
	if (schema->max_items && node->count > schema->max_items)
		config_decoder_error(d, node->line, NULL, "has %zu items, at most %zu are allowed",
				     node->count, schema->max_items);
	list = json_array();
	source = calloc(node->count + 1, sizeof *source);
	origin = calloc(node->count + 1, sizeof *origin);
	if (!list || !source || !origin) {
		json_decref(list);
		free(source);
		free(origin);
		return NULL;
	}
	for (size_t i = 0; i < node->count; i++) {
		size_t before = path_push_index(d, i);
		json_t *item = decode_value(d, node->items[i], schema->items);
		path_pop(d, before);
		if (item) {
			source[json_array_size(list)] = node->items[i];
			origin[json_array_size(list)] = i;
			json_array_append_new(list, item);
		}
	}
	if (schema->unique_items || schema->unique_keys)
		check_unique(d, schema, list, source, origin);
	free(source);
	free(origin);
	return list;
}

struct map_key {
	const struct ynode *key, *value;
};

static int compare_keys(const void *a, const void *b)
{
	const struct map_key *x = a, *y = b;
	return strcmp(x->key->value, y->key->value);
}

/* A mapping of free keys, kept sorted so that order in the file does not matter. */
static json_t *decode_map(struct config_decoder *d, const struct ynode *node,
			  const struct config_schema *schema)
{
	const size_t pairs = node->count / 2;
	struct map_key *keys;          /* the usable keys */
	struct key_firsts firsts;
	size_t usable = 0;
	json_t *map;

	if (node->type != YNODE_MAPPING) {
		expected(d, node, "a mapping");
		return NULL;
	}
	if (schema->max_items && pairs > schema->max_items)
		config_decoder_error(d, node->line, NULL, "has %zu keys, at most %zu are allowed",
				     pairs, schema->max_items);
	map = json_object();
	keys = calloc(pairs + 1, sizeof *keys);
	if (!map || !keys || find_first_keys(d, node, &firsts) < 0) {
		json_decref(map);
		free(keys);
		return NULL;
	}
	for (size_t i = 0; i < pairs; i++) {
		struct config_check check = { "", "" };
		const struct ynode *key = node->items[i * 2];
		char quoted[QUOTE_MAX];
		if (!key_usable(d, node, &firsts, i))
			continue;
		if (schema->key_validator && !schema->key_validator(key->value, &check)) {
			size_t before = path_push_key(d, key);
			config_quote(quoted, sizeof quoted, key->value, key->len);
			config_decoder_error(d, key->line, NULL, "%s %s", quoted, check.reason);
			path_pop(d, before);
			continue;
		}
		/* A usable key is the first with its bytes: its value is the one that follows. */
		keys[usable++] = (struct map_key){ key, node->items[i * 2 + 1] };
	}
	free_first_keys(&firsts);
	qsort(keys, usable, sizeof *keys, compare_keys);
	for (size_t i = 0; i < usable; i++) {
		size_t before = path_push_key(d, keys[i].key);
		json_t *decoded = decode_value(d, keys[i].value, schema->items);
		path_pop(d, before);
		if (decoded)
			json_object_set_new(map, keys[i].key->value, decoded);
	}
	free(keys);
	return map;
}

static json_t *decode_value(struct config_decoder *d, const struct ynode *node,
			    const struct config_schema *schema)
{
	if (node->type == YNODE_INVALID) {
		config_decoder_error(d, node->line, NULL, "%s", node->value);
		return NULL;
	}
	if (node->tag) {
		char quoted[QUOTE_MAX];
		config_quote(quoted, sizeof quoted, node->tag, strlen(node->tag));
		config_decoder_error(d, node->line, NULL, "YAML tags are not supported (%s)", quoted);
		return NULL;
	}
	if (node->anchored) {
		config_decoder_error(d, node->line, NULL, "YAML anchors are not supported");
		return NULL;
	}
	switch (schema->type) {
	case CONFIG_STRING:
		return decode_string(d, node, schema);
	case CONFIG_INT:
		return decode_int(d, node, schema);
	case CONFIG_BOOL:
		return decode_bool(d, node);
	case CONFIG_OBJECT:
		return decode_object(d, node, schema);
	case CONFIG_LIST:
		return decode_list(d, node, schema);
	case CONFIG_MAP:
		return decode_map(d, node, schema);
	}
	return NULL;
}

/* ---- documents ---- */

/* For a document of unknown kind, still say when its apiVersion is wrong. */
static void check_api_version(struct config_decoder *d, const struct ynode *root)
{
	static const struct config_schema api_version = {
		.type = CONFIG_STRING, .what = "an apiVersion", .validator = config_valid_api_version };
	const struct ynode *node = ynode_mapping_get(root, "apiVersion");
	size_t before;

	if (!node) {
		config_decoder_error(d, root->line, NULL, "missing required key 'apiVersion'");
		return;
	}
	before = path_push(d, ".apiVersion");
	json_decref(decode_value(d, node, &api_version));
	path_pop(d, before);
}

static json_t *decode_document(struct config_decoder *d, const struct ynode *root)
{
	const struct ynode *kind_node = ynode_mapping_get(root, "kind");
	const struct config_kind *kind = NULL;
	char quoted[QUOTE_MAX], kinds[256] = "";
	size_t used = 0;

	if (root->type != YNODE_MAPPING) {
		expected(d, root, "a mapping (apiVersion, kind, spec)");
		return NULL;
	}
	if (kind_node && kind_node->type == YNODE_SCALAR && !ynode_is_null(kind_node) &&
	    strlen(kind_node->value) == kind_node->len) {
		snprintf(d->kind, sizeof d->kind, "%.64s", kind_node->value);
		kind = config_kind_find(kind_node->value);
	}
	if (kind) {
		json_t *doc = decode_value(d, root, kind->document);
		if (doc && !json_object_get(doc, "kind"))   /* the kind was tagged: keep it known */
			json_object_set_new(doc, "kind", json_string(kind->name));
		return doc;
	}
	check_api_version(d, root);
	if (!kind_node) {
		config_decoder_error(d, root->line, NULL, "missing required key 'kind'");
		return NULL;
	}
	for (const struct config_kind *k = config_kinds; k->name && used < sizeof kinds; k++)
		used += (size_t)snprintf(kinds + used, sizeof kinds - used, "%s%s",
					 k == config_kinds ? "" : ", ", k->name);
	if (d->kind[0]) {
		config_quote(quoted, sizeof quoted, kind_node->value, kind_node->len);
		config_decoder_error(d, kind_node->line, "kind", "unknown kind %s (expected %s)",
				     quoted, kinds);
	} else {
		char got[QUOTE_MAX + 16];
		describe(kind_node, got, sizeof got);
		config_decoder_error(d, kind_node->line, "kind", "expected a kind (%s), got %s", kinds, got);
	}
	return NULL;
}

static const char *document_kind(json_t *config, size_t index)
{
	return json_string_value(json_object_get(json_array_get(config, index), "kind"));
}

static json_t *document_name(json_t *config, size_t index)
{
	return json_object_get(json_object_get(json_array_get(config, index), "metadata"), "name");
}

static bool same_kind(const void *context, size_t a, size_t b)
{
	const char *x = document_kind((json_t *)context, a), *y = document_kind((json_t *)context, b);
	return x && y && strcmp(x, y) == 0;
}

/* Same kind, and the same name or both without one. */
static bool same_document(const void *context, size_t a, size_t b)
{
	json_t *x = document_name((json_t *)context, a), *y = document_name((json_t *)context, b);
	return same_kind(context, a, b) && ((!x && !y) || (x && y && json_equal(x, y)));
}

/* Two documents of one kind must differ in metadata.name; a singleton kind appears once.
 * Each document is compared with the first one of its kind and name, or of its kind. */
static void check_documents(const struct config_decoder *d, json_t *config, const unsigned *index,
			    const unsigned *lines)
{
	const size_t n = json_array_size(config);
	struct hashset kinds, documents;

	if (hashset_init(&kinds, n, same_kind, config) < 0)
		goto fail;
	if (hashset_init(&documents, n, same_document, config) < 0) {
		hashset_free(&kinds);
		goto fail;
	}
	for (size_t j = 0; j < n; j++) {
		const char *kind = document_kind(config, j);
		json_t *name = document_name(config, j);
		const struct config_kind *k;
		uint64_t hash;
		size_t i;
		char message[256];
		if (!kind)
			continue;
		hash = hashset_hash(&d->hash_key, kind, strlen(kind));
		i = hashset_first(&kinds, hash, j);
		k = config_kind_find(kind);
		if (name && json_is_string(name))
			hash ^= hashset_hash(&d->hash_key, json_string_value(name), json_string_length(name));
		else if (name)
			hash ^= value_hash(d, name);
		if (i == HASHSET_EMPTY || !(k && k->singleton && i != j))
			i = hashset_first(&documents, hash, j);
		else
			hashset_first(&documents, hash, j);   /* still the first of its name */
		if (i == HASHSET_EMPTY)
			goto fail_sets;
		if (i == j)
			continue;
		if (same_document(config, i, j))
			snprintf(message, sizeof message,
				 "duplicate document: %s%s%s is also document %u (line %u)",
				 kind, name ? "/" : "", name ? json_string_value(name) : "",
				 index[i], lines[i]);
		else
			snprintf(message, sizeof message,
				 "a config holds one %s; document %u (line %u) is one already",
				 kind, index[i], lines[i]);
		config_errors_add(d->errs, d->name, lines[j], index[j], kind, NULL, message);
	}
	hashset_free(&kinds);
	hashset_free(&documents);
	return;
fail_sets:
	hashset_free(&kinds);
	hashset_free(&documents);
fail:
	config_errors_add(d->errs, d->name, 0, 0, NULL, NULL, "out of memory");
}

/* A NIC's MAC set in one VirtualMachine must not be set in another: two VMs on one segment
 * with one MAC break each other. Works on the YAML, so that each error has its line; a MAC
 * repeated inside one VM is the list's own unique-key error. */
struct vm_mac {
	char mac[CONFIG_NORMAL_MAX];
	char vm[80];
	unsigned document, line;
	size_t nic;
};

static const struct ynode *vm_nics(const struct ynode *root)
{
	const struct ynode *kind, *spec, *nics;

	if (!root || root->type != YNODE_MAPPING || !(kind = ynode_mapping_get(root, "kind")) ||
	    kind->type != YNODE_SCALAR || strcmp(kind->value, "VirtualMachine") != 0 ||
	    !(spec = ynode_mapping_get(root, "spec")) || spec->type != YNODE_MAPPING ||
	    !(nics = ynode_mapping_get(spec, "nics")) || nics->type != YNODE_SEQUENCE)
		return NULL;
	return nics;
}

static bool same_mac(const void *context, size_t a, size_t b)
{
	const struct vm_mac *seen = *(const struct vm_mac *const *)context;
	return strcmp(seen[a].mac, seen[b].mac) == 0;
}

static void check_vm_macs(const struct config_decoder *d, const struct yaml_stream *stream)
{
	struct vm_mac *seen = NULL;
	size_t count = 0, cap = 0;
	struct hashset set;

	if (hashset_init(&set, 16, same_mac, &seen) < 0)
		return;
	for (size_t i = 0; i < stream->count; i++) {
		const struct ynode *nics = vm_nics(stream->documents[i]);
		const struct ynode *metadata = nics ? ynode_mapping_get(stream->documents[i], "metadata") : NULL;
		const struct ynode *name = metadata && metadata->type == YNODE_MAPPING ?
			ynode_mapping_get(metadata, "name") : NULL;
		for (size_t n = 0; nics && n < nics->count; n++) {
			const struct ynode *mac = nics->items[n]->type == YNODE_MAPPING ?
				ynode_mapping_get(nics->items[n], "mac") : NULL;
			struct config_check check = { "", "" };
			size_t k;
			if (!mac || mac->type != YNODE_SCALAR || !config_valid_mac(mac->value, &check))
				continue;
			if (count == cap) {
				struct vm_mac *grown = realloc(seen, (cap ? cap * 2 : 16) * sizeof *seen);
				if (!grown)
					goto out;
				seen = grown;
				cap = cap ? cap * 2 : 16;
			}
			snprintf(seen[count].mac, sizeof seen[count].mac, "%s", check.normal);
			snprintf(seen[count].vm, sizeof seen[count].vm, "%.64s",
				 name && name->type == YNODE_SCALAR ? name->value : "?");
			seen[count].document = (unsigned)i + 1;
			seen[count].line = mac->line;
			seen[count].nic = n;
			/* The first NIC with this MAC: an error when it is in an earlier document. */
			k = hashset_first(&set, hashset_hash(&d->hash_key, check.normal, strlen(check.normal)),
					  count);
			if (k == HASHSET_EMPTY)
				goto out;
			count++;
			if (seen[k].document != (unsigned)i + 1) {
				char message[512], path[64];
				snprintf(path, sizeof path, ".spec.nics[%zu].mac", n);
				snprintf(message, sizeof message, "\"%s\" is already the MAC of "
					 "VirtualMachine/%s .spec.nics[%zu] (document %u, line %u)",
					 check.normal, seen[k].vm, seen[k].nic, seen[k].document,
					 seen[k].line);
				config_errors_add(d->errs, d->name, mac->line, (unsigned)i + 1,
						  "VirtualMachine", path, message);
			}
		}
	}
out:
	hashset_free(&set);
	free(seen);
}

static void decode_stream(struct config_decoder *d, const struct yaml_stream *stream, json_t *config)
{
	unsigned *index = calloc(stream->count + 1, sizeof *index);
	unsigned *lines = calloc(stream->count + 1, sizeof *lines);
	const struct ynode **roots = calloc(stream->count + 1, sizeof *roots);

	if (!index || !lines || !roots) {
		config_errors_add(d->errs, d->name, 0, 0, NULL, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < stream->count; i++) {
		const struct ynode *root = stream->documents[i];
		json_t *doc;
		if (!root || ynode_is_null(root))      /* an empty document: "---" alone */
			continue;
		d->document = (unsigned)i + 1;
		d->kind[0] = '\0';
		path_pop(d, 0);
		doc = decode_document(d, root);
		if (!doc)
			continue;
		index[json_array_size(config)] = d->document;
		lines[json_array_size(config)] = root->line;
		roots[json_array_size(config)] = root;
		json_array_append_new(config, doc);
	}
	check_documents(d, config, index, lines);
	check_vm_macs(d, stream);
	config_check_networks(d->name, d->errs, config, roots, index);
	config_check_volumes(d->name, d->errs, config, roots, index);
out:
	free(index);
	free(lines);
	free(roots);
}

int config_decode(const char *name, const char *text, size_t len, json_t **out,
		  struct config_errors *errs)
{
	struct config_decoder d = { .name = name, .errs = errs };
	struct yaml_stream stream;
	json_t *config = NULL;

	*out = NULL;
	config_errors_reset(errs);
	if (len > CONFIG_TEXT_MAX) {
		char message[64];
		snprintf(message, sizeof message, "larger than %d bytes", CONFIG_TEXT_MAX);
		config_errors_add(errs, name, 0, 0, NULL, NULL, message);
		return -1;
	}
	if (yaml_stream_read(text, len, &stream) < 0 || !(config = json_array())) {
		config_errors_add(errs, name, 0, 0, NULL, NULL, "out of memory");
		return -1;
	}
	hashset_key_init(&d.hash_key);
	decode_stream(&d, &stream, config);
	if (stream.error_line)
		config_errors_add(errs, name, stream.error_line, 0, NULL, NULL, stream.error);
	else if (json_array_size(config) == 0 && errs->count == 0)
		config_errors_add(errs, name, 0, 0, NULL, NULL, "no documents");
	yaml_stream_free(&stream);
	if (errs->count || errs->dropped) {
		config_errors_sort(errs);
		json_decref(config);
		return -1;
	}
	*out = config;
	return 0;
}

int config_decode_file(const char *path, json_t **out, struct config_errors *errs)
{
	char *text = malloc(CONFIG_TEXT_MAX + 1), message[300];
	size_t len = 0, n;
	FILE *file;
	int rc;

	*out = NULL;
	config_errors_reset(errs);
	file = text ? fopen(path, "r") : NULL;
	if (!file) {
		snprintf(message, sizeof message, "cannot open: %s", text ? strerror(errno) : "out of memory");
		config_errors_add(errs, path, 0, 0, NULL, NULL, message);
		free(text);
		return -1;
	}
	while ((n = fread(text + len, 1, CONFIG_TEXT_MAX + 1 - len, file)) > 0)
		len += n;
	if (ferror(file)) {
		snprintf(message, sizeof message, "cannot read: %s", strerror(errno));
		config_errors_add(errs, path, 0, 0, NULL, NULL, message);
		fclose(file);
		free(text);
		return -1;
	}
	fclose(file);
	rc = config_decode(path, text, len, out, errs);
	free(text);
	return rc;
}

const json_t *config_find(const json_t *config, const char *kind, const char *name)
{
	const json_t *found = NULL;
	size_t count = 0;

	for (size_t i = 0; i < json_array_size(config); i++) {
		const json_t *doc = json_array_get(config, i);
		const char *doc_name = json_string_value(json_object_get(json_object_get(doc, "metadata"), "name"));
		if (!json_is_string(json_object_get(doc, "kind")) ||
		    strcmp(json_string_value(json_object_get(doc, "kind")), kind) != 0)
			continue;
		if (name ? (doc_name && strcmp(doc_name, name) == 0) : !doc_name)
			return doc;
		found = doc;
		count++;
	}
	return !name && count == 1 ? found : NULL;
}
