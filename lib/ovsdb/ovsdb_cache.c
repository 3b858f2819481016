/* ovsdb_cache.c - the in-memory replica a monitor keeps (applying <table-updates>), reading rows
 * and OVSDB datums, and building values. Pure: no I/O (see ovsdb.h, ovsdb_proto.h). */
#include "ovsdb_proto.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- datums ---- */

bool ovsdb_uuid_is_valid(const char *text)
{
	if (!text || strlen(text) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? text[i] != '-' : !isxdigit((unsigned char)text[i]))
			return false;
	}
	return true;
}

/* ["TAG", STRING]: the string, or NULL. */
static const char *tagged_string(const json_t *value, const char *tag)
{
	if (!json_is_array(value) || json_array_size(value) != 2)
		return NULL;
	const char *t = json_string_value(json_array_get(value, 0));
	if (!t || strcmp(t, tag))
		return NULL;
	return json_string_value(json_array_get(value, 1));
}

static bool is_atom(const json_t *value)
{
	if (json_is_string(value) || json_is_number(value) || json_is_boolean(value))
		return true;
	return ovsdb_uuid_is_valid(tagged_string(value, "uuid")) ||
	       tagged_string(value, "named-uuid") != NULL;
}

/* The tagged array of ["set", [...]] or ["map", [...]], or NULL. */
static const json_t *tagged_array(const json_t *datum, const char *tag)
{
	if (!json_is_array(datum) || json_array_size(datum) != 2)
		return NULL;
	const char *t = json_string_value(json_array_get(datum, 0));
	const json_t *items = json_array_get(datum, 1);
	return t && !strcmp(t, tag) && json_is_array(items) ? items : NULL;
}

bool ovsdb_datum_is_valid(const json_t *datum)
{
	const json_t *items, *item;
	size_t i;

	if (is_atom(datum))
		return true;
	if ((items = tagged_array(datum, "set"))) {
		json_array_foreach(items, i, item)
			if (!is_atom(item))
				return false;
		return true;
	}
	if ((items = tagged_array(datum, "map"))) {
		json_array_foreach(items, i, item)
			if (!json_is_array(item) || json_array_size(item) != 2 ||
			    !is_atom(json_array_get(item, 0)) || !is_atom(json_array_get(item, 1)))
				return false;
		return true;
	}
	return false;
}

size_t ovsdb_datum_set_size(const json_t *datum)
{
	const json_t *items = tagged_array(datum, "set");

	if (items)
		return json_array_size(items);
	return datum && is_atom(datum) ? 1 : 0;
}

const json_t *ovsdb_datum_set_at(const json_t *datum, size_t i)
{
	const json_t *items = tagged_array(datum, "set");

	if (items)
		return json_array_get(items, i);
	return i == 0 && datum && is_atom(datum) ? datum : NULL;
}

/* The only atom of a one-element set (or the atom itself), or NULL. */
static const json_t *single_atom(const json_t *datum)
{
	return ovsdb_datum_set_size(datum) == 1 ? ovsdb_datum_set_at(datum, 0) : NULL;
}

const char *ovsdb_datum_string(const json_t *datum)
{
	return json_string_value(single_atom(datum));
}

bool ovsdb_datum_integer(const json_t *datum, int64_t *value)
{
	const json_t *atom = single_atom(datum);

	if (!json_is_integer(atom))
		return false;
	*value = json_integer_value(atom);
	return true;
}

bool ovsdb_datum_boolean(const json_t *datum, bool *value)
{
	const json_t *atom = single_atom(datum);

	if (!json_is_boolean(atom))
		return false;
	*value = json_is_true(atom);
	return true;
}

const char *ovsdb_datum_uuid(const json_t *datum)
{
	return tagged_string(single_atom(datum), "uuid");
}

bool ovsdb_datum_set_has_uuid(const json_t *datum, const char *uuid)
{
	size_t n = ovsdb_datum_set_size(datum);

	for (size_t i = 0; i < n; i++) {
		const char *u = tagged_string(ovsdb_datum_set_at(datum, i), "uuid");
		if (u && uuid && !strcmp(u, uuid))
			return true;
	}
	return false;
}

size_t ovsdb_datum_map_size(const json_t *datum)
{
	return json_array_size(tagged_array(datum, "map"));
}

bool ovsdb_datum_map_at(const json_t *datum, size_t i, const json_t **key, const json_t **value)
{
	const json_t *pair = json_array_get(tagged_array(datum, "map"), i);

	if (!json_is_array(pair) || json_array_size(pair) != 2)
		return false;
	*key = json_array_get(pair, 0);
	*value = json_array_get(pair, 1);
	return true;
}

const json_t *ovsdb_datum_map_get(const json_t *datum, const char *key)
{
	const json_t *items = tagged_array(datum, "map"), *pair;
	size_t i;

	json_array_foreach(items, i, pair) {
		const char *k = json_string_value(json_array_get(pair, 0));
		if (k && key && !strcmp(k, key))
			return json_array_get(pair, 1);
	}
	return NULL;
}

/* ---- building values ---- */

json_t *ovsdb_uuid(const char *uuid)
{
	return uuid ? json_pack("[ss]", "uuid", uuid) : NULL;
}

json_t *ovsdb_named_uuid(const char *name)
{
	return name ? json_pack("[ss]", "named-uuid", name) : NULL;
}

json_t *ovsdb_set(json_t *atoms)
{
	if (!json_is_array(atoms)) {
		json_decref(atoms);
		return NULL;
	}
	return json_pack("[so]", "set", atoms);
}

json_t *ovsdb_map(json_t *pairs)
{
	if (!json_is_array(pairs)) {
		json_decref(pairs);
		return NULL;
	}
	return json_pack("[so]", "map", pairs);
}

json_t *ovsdb_string_map(const char *key, ...)
{
	json_t *pairs = json_array();
	va_list ap;

	va_start(ap, key);
	for (const char *k = key; k; k = va_arg(ap, const char *)) {
		const char *v = va_arg(ap, const char *);
		if (!v) {
			json_decref(pairs);
			pairs = NULL; /* a key without a value */
			break;
		}
		json_array_append_new(pairs, json_pack("[ss]", k, v));
	}
	va_end(ap);
	return ovsdb_map(pairs);
}

/* [A, B, VALUE], stealing VALUE. */
static json_t *triple(const char *a, const char *b, json_t *value)
{
	if (!a || !b || !value) {
		json_decref(value);
		return NULL;
	}
	return json_pack("[sso]", a, b, value);
}

json_t *ovsdb_cond(const char *column, const char *function, json_t *value)
{
	return triple(column, function, value);
}

json_t *ovsdb_mutation(const char *column, const char *mutator, json_t *value)
{
	return triple(column, mutator, value);
}

json_t *ovsdb_where_uuid(const char *uuid)
{
	json_t *cond = ovsdb_cond("_uuid", "==", ovsdb_uuid(uuid));

	return cond ? json_pack("[o]", cond) : NULL;
}

/* ---- the cache ---- */

struct ovsdb_cache *ovsdb_cache_create(const char *db, json_t *schema, json_t *requests)
{
	struct ovsdb_cache *cache = calloc(1, sizeof(*cache));
	const char *table;
	json_t *value;

	if (!cache || !db || !json_is_object(requests) || !(cache->db = strdup(db)) ||
	    !(cache->tables = json_object())) {
		if (cache) {
			free(cache->db);
			free(cache);
		}
		json_decref(schema);
		json_decref(requests);
		return NULL;
	}
	cache->schema = schema;
	cache->requests = requests;
	json_object_foreach(requests, table, value)
		json_object_set_new(cache->tables, table, json_object());
	return cache;
}

void ovsdb_cache_destroy(struct ovsdb_cache *cache)
{
	if (!cache)
		return;
	json_decref(cache->tables);
	json_decref(cache->schema);
	json_decref(cache->requests);
	free(cache->db);
	free(cache);
}

void ovsdb_cache_clear(struct ovsdb_cache *cache)
{
	const char *table;
	json_t *rows;

	json_object_foreach(cache->tables, table, rows)
		json_object_clear(rows);
}

/* Checks one "old" or "new" member. */
static bool valid_row(const json_t *row, const char *table, const char *uuid, const char *which,
		      char *why, size_t why_len)
{
	const char *column;
	const json_t *datum;

	if (!json_is_object(row)) {
		snprintf(why, why_len, "update of %s %s: \"%s\" is not an object", table, uuid, which);
		return false;
	}
	json_object_foreach((json_t *)row, column, datum)
		if (!ovsdb_datum_is_valid(datum)) {
			snprintf(why, why_len, "update of %s %s: column %.64s is not an OVSDB datum",
				 table, uuid, column);
			return false;
		}
	return true;
}

static bool valid_updates(const struct ovsdb_cache *cache, const json_t *updates, char *why,
			  size_t why_len)
{
	const char *table, *uuid;
	const json_t *rows, *update;

	if (!json_is_object(updates)) {
		snprintf(why, why_len, "table updates are not an object");
		return false;
	}
	json_object_foreach((json_t *)updates, table, rows) {
		if (!json_object_get(cache->tables, table)) {
			snprintf(why, why_len, "update for table %.64s, which is not monitored", table);
			return false;
		}
		if (!json_is_object(rows)) {
			snprintf(why, why_len, "update of table %s is not an object", table);
			return false;
		}
		json_object_foreach((json_t *)rows, uuid, update) {
			if (!ovsdb_uuid_is_valid(uuid)) {
				snprintf(why, why_len, "update of %s: row key \"%.40s\" is not a uuid",
					 table, uuid);
				return false;
			}
			const json_t *old = json_object_get(update, "old");
			const json_t *new = json_object_get(update, "new");
			if (!json_is_object(update) || (!old && !new)) {
				snprintf(why, why_len, "update of %s %s has neither old nor new", table,
					 uuid);
				return false;
			}
			if ((old && !valid_row(old, table, uuid, "old", why, why_len)) ||
			    (new && !valid_row(new, table, uuid, "new", why, why_len)))
				return false;
		}
	}
	return true;
}

int ovsdb_cache_apply(struct ovsdb_cache *cache, const json_t *updates, char *why,
		      size_t why_len)
{
	const char *table, *uuid;
	const json_t *rows, *update;

	if (!valid_updates(cache, updates, why, why_len))
		return -1;
	json_object_foreach((json_t *)updates, table, rows) {
		json_t *cached = json_object_get(cache->tables, table);
		json_object_foreach((json_t *)rows, uuid, update) {
			json_t *new = json_object_get(update, "new");
			json_t *row = json_object_get(cached, uuid);
			if (!new)
				json_object_del(cached, uuid);
			else if (row)
				json_object_update(row, new);
			else
				json_object_set_new(cached, uuid, json_copy(new));
		}
	}
	cache->seqno++;
	return 0;
}

/* ---- reading the cache ---- */

const char *ovsdb_cache_db(const struct ovsdb_cache *cache)
{
	return cache->db;
}

const json_t *ovsdb_cache_schema(const struct ovsdb_cache *cache)
{
	return cache->schema;
}

uint64_t ovsdb_cache_generation(const struct ovsdb_cache *cache)
{
	return cache->generation;
}

uint64_t ovsdb_cache_seqno(const struct ovsdb_cache *cache)
{
	return cache->seqno;
}

size_t ovsdb_cache_count(const struct ovsdb_cache *cache, const char *table)
{
	return json_object_size(json_object_get(cache->tables, table));
}

bool ovsdb_cache_get(const struct ovsdb_cache *cache, const char *table, const char *uuid,
		     struct ovsdb_row *row)
{
	json_t *rows = json_object_get(cache->tables, table);
	void *iter = uuid ? json_object_iter_at(rows, uuid) : NULL;

	if (!iter)
		return false;
	row->table = table;
	row->uuid = json_object_iter_key(iter);
	row->columns = json_object_iter_value(iter);
	return true;
}

void ovsdb_rows_init(struct ovsdb_rows *it, const struct ovsdb_cache *cache, const char *table)
{
	it->table_rows = json_object_get(cache->tables, table);
	it->table = table;
	it->iter = json_object_iter((json_t *)it->table_rows);
}

bool ovsdb_rows_next(struct ovsdb_rows *it, struct ovsdb_row *row)
{
	if (!it->iter)
		return false;
	row->table = it->table;
	row->uuid = json_object_iter_key(it->iter);
	row->columns = json_object_iter_value(it->iter);
	it->iter = json_object_iter_next((json_t *)it->table_rows, it->iter);
	return true;
}

bool ovsdb_cache_find(const struct ovsdb_cache *cache, const char *table, const char *column,
		      const char *value, struct ovsdb_row *row)
{
	struct ovsdb_rows it;

	for (ovsdb_rows_init(&it, cache, table); ovsdb_rows_next(&it, row);) {
		const char *s = ovsdb_row_string(row, column);
		if (s && value && !strcmp(s, value))
			return true;
	}
	return false;
}

const json_t *ovsdb_row_get(const struct ovsdb_row *row, const char *column)
{
	return json_object_get(row->columns, column);
}

const char *ovsdb_row_string(const struct ovsdb_row *row, const char *column)
{
	return ovsdb_datum_string(ovsdb_row_get(row, column));
}

const char *ovsdb_row_map_string(const struct ovsdb_row *row, const char *column,
				 const char *key)
{
	return json_string_value(ovsdb_datum_map_get(ovsdb_row_get(row, column), key));
}
