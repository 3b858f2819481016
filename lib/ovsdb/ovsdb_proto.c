/* ovsdb_proto.c - framing, JSON-RPC message shapes, monitor requests (see ovsdb_proto.h). Pure. */
#include "ovsdb_proto.h"

#include <stdio.h>
#include <string.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void frame_reset(struct ovsdb_frame *frame)
{
	frame->started = false;
	frame->scanned = 0;
	frame->depth = 0;
	frame->in_string = false;
	frame->escape = false;
}

/* Scans BUF[frame->scanned..LEN) of a message that starts at BUF[0] with '{'. Returns the
 * message length once its outermost object closes, or 0 if it has not closed yet. */
static size_t scan(struct ovsdb_frame *frame, const char *buf, size_t len)
{
	for (size_t i = frame->scanned; i < len; i++) {
		char c = buf[i];

		if (frame->in_string) {
			if (frame->escape)
				frame->escape = false;
			else if (c == '\\')
				frame->escape = true;
			else if (c == '"')
				frame->in_string = false;
		} else if (c == '"') {
			frame->in_string = true;
		} else if (c == '{' || c == '[') {
			frame->depth++;
		} else if ((c == '}' || c == ']') && --frame->depth == 0) {
			return i + 1;
		}
	}
	frame->scanned = len;
	return 0;
}

enum ovsdb_frame_status ovsdb_frame_next(struct ovsdb_frame *frame, const char *buf, size_t len,
					 size_t *consumed, json_t **msg, char *why, size_t why_len)
{
	size_t skip = 0;

	*consumed = 0;
	if (frame->scanned > len) /* a stale state for another buffer: start over */
		frame_reset(frame);
	if (!frame->started) {
		while (skip < len && is_space(buf[skip]))
			skip++;
		*consumed = skip;
		if (skip == len)
			return OVSDB_FRAME_INCOMPLETE;
		if (buf[skip] != '{') {
			snprintf(why, why_len, "message is not a JSON object (starts with 0x%02x)",
				 (unsigned char)buf[skip]);
			return OVSDB_FRAME_INVALID;
		}
		frame_reset(frame);
		frame->started = true;
		buf += skip;
		len -= skip;
	}
	size_t end = scan(frame, buf, len);
	if (end == 0 || end > frame->max) {
		if ((end == 0 ? len : end) > frame->max) {
			snprintf(why, why_len, "message longer than %zu bytes", frame->max);
			frame_reset(frame);
			return OVSDB_FRAME_INVALID;
		}
		return OVSDB_FRAME_INCOMPLETE;
	}
	frame_reset(frame);
	*consumed = skip + end;

	json_error_t jerr;
	json_t *value = json_loadb(buf, end, 0, &jerr);
	if (!value) {
		snprintf(why, why_len, "invalid JSON at byte %d of a %zu-byte message: %s",
			 jerr.position, end, jerr.text);
		return OVSDB_FRAME_INVALID;
	}
	if (!json_is_object(value)) { /* cannot happen after '{', kept as a guard */
		json_decref(value);
		snprintf(why, why_len, "message is not a JSON object");
		return OVSDB_FRAME_INVALID;
	}
	*msg = value;
	return OVSDB_FRAME_MESSAGE;
}

enum ovsdb_msg_kind ovsdb_msg_kind(const json_t *msg)
{
	const json_t *method, *id;

	if (!json_is_object(msg))
		return OVSDB_MSG_INVALID;
	id = json_object_get(msg, "id");
	if ((method = json_object_get(msg, "method"))) {
		if (!json_is_string(method) || !json_is_array(json_object_get(msg, "params")))
			return OVSDB_MSG_INVALID;
		return !id || json_is_null(id) ? OVSDB_MSG_NOTIFY : OVSDB_MSG_REQUEST;
	}
	if (id && (json_object_get(msg, "result") || json_object_get(msg, "error")))
		return OVSDB_MSG_RESPONSE;
	return OVSDB_MSG_INVALID;
}

int ovsdb_msg_id(const json_t *msg, uint64_t *id)
{
	const json_t *value = json_object_get(msg, "id");

	if (!value || json_is_null(value))
		return 0;
	if (!json_is_integer(value) || json_integer_value(value) < 0)
		return -1;
	*id = (uint64_t)json_integer_value(value);
	return 1;
}

/* ---- monitor requests ---- */

bool ovsdb_schema_has_table(const json_t *schema, const char *table)
{
	return table && json_is_object(json_object_get(json_object_get(schema, "tables"), table));
}

bool ovsdb_schema_has_column(const json_t *schema, const char *table, const char *column)
{
	const json_t *t = json_object_get(json_object_get(schema, "tables"), table);

	if (!json_is_object(t) || !column)
		return false;
	if (!strcmp(column, "_uuid") || !strcmp(column, "_version"))
		return true;
	return json_is_object(json_object_get(json_object_get(t, "columns"), column));
}

/* Every column of TABLE in SCHEMA, as an array of names. */
static json_t *all_columns(const json_t *schema, const char *table)
{
	const json_t *columns = json_object_get(json_object_get(json_object_get(schema, "tables"),
								 table), "columns");
	json_t *names = json_array();
	const char *name;
	const json_t *value;

	json_object_foreach((json_t *)columns, name, value)
		json_array_append_new(names, json_string(name));
	return names;
}

json_t *ovsdb_monitor_requests(const json_t *schema, const struct ovsdb_monitor_table *tables,
			       size_t count, char *why, size_t why_len)
{
	json_t *requests = json_object();

	if (count == 0) {
		snprintf(why, why_len, "no table to monitor");
		goto fail;
	}
	for (size_t i = 0; i < count; i++) {
		const char *table = tables[i].table;
		json_t *columns;

		if (!ovsdb_schema_has_table(schema, table)) {
			snprintf(why, why_len, "the schema has no table %s", table ? table : "(null)");
			goto fail;
		}
		if (json_object_get(requests, table)) {
			snprintf(why, why_len, "table %s is named twice", table);
			goto fail;
		}
		if (tables[i].columns) {
			columns = json_array();
			for (const char *const *c = tables[i].columns; *c; c++) {
				if (!ovsdb_schema_has_column(schema, table, *c) ||
				    !strcmp(*c, "_uuid") || !strcmp(*c, "_version")) {
					snprintf(why, why_len, "table %s has no column %s", table,
						 *c);
					json_decref(columns);
					goto fail;
				}
				json_array_append_new(columns, json_string(*c));
			}
		} else {
			columns = all_columns(schema, table);
		}
		if (json_array_size(columns) == 0) {
			snprintf(why, why_len, "no column to monitor in table %s", table);
			json_decref(columns);
			goto fail;
		}
		json_object_set_new(requests, table, json_pack("{s:o}", "columns", columns));
	}
	return requests;
fail:
	json_decref(requests);
	return NULL;
}
