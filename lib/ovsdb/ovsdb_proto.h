/* ovsdb_proto.h - the pure parts of lib/ovsdb: stream framing, JSON-RPC message shapes, monitor
 * requests built from a schema, and the cache that update notifications change. No I/O, no
 * global state; used by ovsdb.c and driven directly by the unit tests and the fuzz harness.
 *
 * FRAMING. ovsdb-server writes each JSON-RPC message as one JSON object and nothing between
 * messages (OVS's jsonrpc.c parses a stream of concatenated values; some peers add newlines).
 * The framer skips whitespace, requires '{', and follows strings (with their escapes) and the
 * nesting of {} and [] until the object closes; that span, and only it, is handed to jansson
 * (json_loadb without flags, so trailing bytes or bad JSON inside are errors). The scan is
 * incremental: a message arriving in many small reads is scanned once. A message longer than
 * max bytes, a value that is not an object, or JSON jansson rejects is OVSDB_FRAME_INVALID:
 * a stream cannot be resynchronised after garbage, so the connection is closed. */
#ifndef CAIRN_OVSDB_PROTO_H
#define CAIRN_OVSDB_PROTO_H

#include "ovsdb.h"

enum ovsdb_frame_status {
	OVSDB_FRAME_MESSAGE,    /* *msg holds a JSON object; drop *consumed bytes */
	OVSDB_FRAME_INCOMPLETE, /* no complete message yet; drop *consumed bytes, read more */
	OVSDB_FRAME_INVALID,    /* not a stream of JSON objects: why[] says what */
};

/* Framing state carried between calls over the same stream; zero it, then set max. */
struct ovsdb_frame {
	size_t max;       /* longest message accepted, in bytes (OVSDB_RECV_MAX in ovsdb.c) */
	bool started;     /* the current message's '{' is at the buffer start */
	size_t scanned;   /* bytes of it already scanned, with the state below */
	size_t depth;     /* open {} and [] */
	bool in_string, escape;
};

/* Looks for one message at the start of BUF (LEN bytes: what the caller has not consumed).
 * Sets *consumed always, *msg only for OVSDB_FRAME_MESSAGE, WHY for OVSDB_FRAME_INVALID. */
enum ovsdb_frame_status ovsdb_frame_next(struct ovsdb_frame *frame, const char *buf, size_t len,
					 size_t *consumed, json_t **msg, char *why, size_t why_len);

enum ovsdb_msg_kind {
	OVSDB_MSG_REQUEST,  /* {"method": s, "params": [...], "id": not null} */
	OVSDB_MSG_NOTIFY,   /* {"method": s, "params": [...], "id": null or absent} */
	OVSDB_MSG_RESPONSE, /* {"result": ..., "error": ..., "id": ...} (one of result/error) */
	OVSDB_MSG_INVALID,  /* none of these, or a member of the wrong type */
};

enum ovsdb_msg_kind ovsdb_msg_kind(const json_t *msg);

/* The "id" of a response: 1 with *id set when it is a non-negative integer, 0 when it is null
 * or absent, -1 when it is anything else (never one of ours). */
int ovsdb_msg_id(const json_t *msg, uint64_t *id);

/* Builds the monitor-requests object {TABLE: {"columns": [...]}, ...} for COUNT tables, checked
 * against SCHEMA (borrowed): unknown tables or columns, a table named twice or an empty list
 * fail with WHY filled. NULL columns means every column of the table in the schema. */
json_t *ovsdb_monitor_requests(const json_t *schema, const struct ovsdb_monitor_table *tables,
			       size_t count, char *why, size_t why_len);

/* The cache of one monitor. Its rows live in tables: {TABLE: {UUID: {COLUMN: DATUM}}}. */
struct ovsdb_cache {
	struct ovsdb_cache *next;  /* the connection's list of monitors */
	char *db;
	json_t *schema;            /* the schema the monitor was checked against */
	json_t *requests;          /* the monitor-requests object sent to the server */
	uint64_t monitor_id;       /* the monitor-id, also the key of its update notifications */
	json_t *tables;
	uint64_t generation, seqno;
};

/* A cache with an empty table for each table of REQUESTS. Steals SCHEMA and REQUESTS. */
struct ovsdb_cache *ovsdb_cache_create(const char *db, json_t *schema, json_t *requests);
void ovsdb_cache_destroy(struct ovsdb_cache *cache);
/* Empties every table. */
void ovsdb_cache_clear(struct ovsdb_cache *cache);

/* Applies a <table-updates> object (a monitor reply or the second param of "update"): checks
 * the whole of it first (object shapes, monitored tables, 36-char uuids, valid datums), and
 * only then changes the cache: "new" without "old" inserts (or replaces), "old" and "new"
 * modifies (columns of "new" replace the row's), "old" alone deletes. Returns 0, or -1 with WHY
 * filled and the cache unchanged. */
int ovsdb_cache_apply(struct ovsdb_cache *cache, const json_t *updates, char *why,
		      size_t why_len);

#endif
