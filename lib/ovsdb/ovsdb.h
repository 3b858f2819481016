/* ovsdb.h - a client for the Open vSwitch Database protocol (RFC 7047, JSON-RPC 1.0 over a
 * stream socket): list_dbs, get_schema, monitor (an in-memory replica of chosen tables and
 * columns), transact (atomic changes, built with a small builder) and echo.
 *
 * C11, jansson for JSON, no threads, no signals, no global state. Usable outside Cairn: link
 * lib/ovsdb/{ovsdb.c,ovsdb_cache.c,ovsdb_proto.c,ovsdb_txn.c} (or libcairnovsdb.a) and -ljansson.
 *
 * REMOTES: "unix:PATH" and "tcp:IP:PORT" (IPv4, or [IPv6] in brackets; numeric only, no DNS).
 * No TLS ("ssl:"): a remote of any other form fails with OVSDB_ERROR_INVALID.
 *
 * CONNECTION STATES
 *   OVSDB_STATE_CONNECTING  socket() + connect() in progress (TCP waits within the timeout)
 *   OVSDB_STATE_READY       requests may be issued; updates and echo requests are handled
 *   OVSDB_STATE_CLOSED      the peer closed the stream, it broke, or it sent something that is
 *                           not OVSDB JSON-RPC: the fd is closed and every request fails at once
 *                           with OVSDB_ERROR_CLOSED. The caches keep their last contents (stale)
 *                           until ovsdb_reconnect() or ovsdb_close().
 *   ovsdb_connect() returns a handle only in READY; on failure it returns NULL and frees
 *   everything. ovsdb_reconnect() goes CLOSED (or READY) -> CONNECTING -> READY, or CLOSED.
 *
 * REQUESTS are synchronous. Each carries a fresh integer id (a counter from 1); the response
 * with that id completes it. While a call waits, the library also handles what else arrives:
 * "update" notifications are applied to their cache at once, "echo" requests are answered, a
 * response to an older id (the late answer to a request that timed out) is dropped, other
 * notifications ("locked", "stolen", ...) are ignored, other requests get an error response.
 *
 * TIMEOUTS are in milliseconds and cover a whole call. OVSDB_WAIT_FOREVER (-1) waits without
 * limit; 0 never blocks. Waiting is poll(2) with a CLOCK_MONOTONIC deadline. A timeout
 * (OVSDB_ERROR_TIMEOUT) leaves the connection READY; the request may still complete on the
 * server (a transaction may commit!) and its late response is dropped. A timeout part way
 * through writing a request closes the connection (the server would hold half a message).
 *
 * FRAMING: the stream carries JSON objects one after the other with no delimiter (ovsdb-server
 * writes no newline). A message longer than OVSDB_RECV_MAX, anything that is not a JSON object,
 * or an object that is not a JSON-RPC request, notification or response closes the connection
 * with OVSDB_ERROR_PROTOCOL. See ovsdb_proto.h.
 *
 * MONITOR / CACHE: ovsdb_monitor() reads the database schema, checks the requested tables and
 * columns against it, sends "monitor" and fills a cache from the reply; from then on every
 * "update" for that monitor changes the cache (insert, modify, delete; rows keyed by _uuid).
 * Updates are only read inside library calls (any request, ovsdb_dispatch()): the cache never
 * changes behind the caller's back, and every struct ovsdb_row and iterator is valid only until
 * the next library call on the connection. A malformed update is rejected whole (the cache is
 * left as it was) and closes the connection.
 *
 * RECONNECT: nothing reconnects by itself. After a failure the caller calls ovsdb_reconnect():
 * it connects to the same remote, re-reads each monitored database's schema, re-sends every
 * monitor and rebuilds each cache from scratch from the new initial contents (rows deleted
 * while disconnected disappear). The cache objects stay the same pointers; their generation
 * (ovsdb_cache_generation()) goes up by one. Updates sent while disconnected are lost, so the
 * caller must re-reconcile from the rebuilt cache. In-flight requests are not retried: a
 * transaction whose response was lost may or may not have committed, so reconcile from state,
 * never replay.
 *
 * OWNERSHIP of json_t: values passed to ovsdb_request() and the monitor/schema calls are
 * borrowed. The transaction builder (ovsdb_txn_*) and the value builders (ovsdb_cond(),
 * ovsdb_set(), ...) STEAL the json_t arguments they get, like jansson's *_new functions, so
 * that calls nest: ovsdb_txn_update(t, "T", ovsdb_where_uuid(u), json_pack(...)). A NULL
 * argument (a failed json_pack) is remembered; ovsdb_transact() then fails with
 * OVSDB_ERROR_INVALID naming the operation and sends nothing. A json_t ** out-parameter receives
 * a new reference that the caller must json_decref(); it is NULL on failure. Values read from a
 * cache (ovsdb_row_get(), ...) and ovsdb_cache_schema() are borrowed.
 *
 * ERRORS: functions return 0 (or a count, or a handle) on success and -1 (or NULL) on failure,
 * filling the struct ovsdb_error if the caller passed one (NULL is allowed). err->message is one
 * log line: the remote, what was being done, then the reason; for a transaction the failing
 * operation, its index and OVSDB's error and details:
 *   "ovsdb unix:/run/ovn/ovnnb_db.sock: transact OVN_Northbound: operation 1 (insert
 *    Logical_Switch_Port): constraint violation: Transaction causes multiple rows in ..."
 * Control characters coming from the peer are replaced by spaces.
 *
 * THREAD SAFETY: none. One handle, one thread at a time; distinct handles are independent.
 * SIGNALS: writes use MSG_NOSIGNAL (no SIGPIPE); EINTR is retried within the deadline.
 */
#ifndef CAIRN_OVSDB_H
#define CAIRN_OVSDB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OVSDB_WAIT_FOREVER (-1)
/* Longest message accepted. A monitor's initial reply carries the whole monitored part of the
 * database in one message: 64 MiB holds an NB database of a few hundred thousand rows. */
#define OVSDB_RECV_MAX (64u * 1024 * 1024)

struct ovsdb;
struct ovsdb_cache;
struct ovsdb_txn;

enum ovsdb_state {
	OVSDB_STATE_CONNECTING,
	OVSDB_STATE_READY,
	OVSDB_STATE_CLOSED,
};

enum ovsdb_error_kind {
	OVSDB_ERROR_NONE,
	OVSDB_ERROR_SERVER,   /* the server answered a request with a JSON-RPC "error" (unknown
			       * database, bad monitor request, ...); still READY */
	OVSDB_ERROR_TXN,      /* a transaction was answered and failed: an operation or the
			       * commit; op_index/op say which; nothing was changed; still READY */
	OVSDB_ERROR_TIMEOUT,  /* no answer within the timeout; still READY */
	OVSDB_ERROR_CLOSED,   /* the connection is closed (now or before the call), or nothing
			       * listens at the remote */
	OVSDB_ERROR_PROTOCOL, /* the peer sent something that is not OVSDB (connection closed), or
			       * a reply of the wrong shape to a typed call (still READY) */
	OVSDB_ERROR_SYSTEM,   /* a system call failed (socket, connect, poll, memory) */
	OVSDB_ERROR_INVALID,  /* bad arguments from the caller (unknown table or column, a NULL
			       * built into a transaction, a bad remote); nothing was sent */
};

struct ovsdb_error {
	enum ovsdb_error_kind kind;
	int op_index;          /* OVSDB_ERROR_TXN: index of the failing operation in the
				* transaction, or -1 when the commit failed (constraint or
				* referential integrity violation); -1 otherwise */
	char op[64];           /* OVSDB_ERROR_TXN: "insert Logical_Switch", "wait ACL", "commit" */
	char error[64];        /* OVSDB's error ("constraint violation", "timed out",
				* "unknown database", ...), or for local errors "timeout",
				* "connection closed", "protocol error", "system error",
				* "invalid argument" */
	char details[512];     /* OVSDB's details, or the local reason */
	char message[1024];    /* "ovsdb REMOTE: WHAT: [operation N (OP): ]ERROR: DETAILS" */
};

/* ---- connection ---- */

/* Connects to REMOTE ("unix:PATH" or "tcp:IP:PORT"). Fails at once (OVSDB_ERROR_CLOSED) if
 * nothing listens there; the caller decides whether to retry. */
struct ovsdb *ovsdb_connect(const char *remote, int timeout_ms, struct ovsdb_error *err);

/* The same over an already connected stream socket FD (a socketpair in tests). Takes ownership
 * of FD, even on failure, and makes it non-blocking. NAME labels the connection in messages.
 * Such a handle cannot ovsdb_reconnect(). */
struct ovsdb *ovsdb_connect_fd(int fd, const char *name, struct ovsdb_error *err);

/* Closes the socket and frees the handle and its caches. NULL is allowed. */
void ovsdb_close(struct ovsdb *c);

/* Closes the current socket (if any), connects again to the same remote and re-establishes
 * every monitor, rebuilding its cache (see RECONNECT). On failure the state is CLOSED and the
 * caches keep their stale contents; call again later. */
int ovsdb_reconnect(struct ovsdb *c, int timeout_ms, struct ovsdb_error *err);

enum ovsdb_state ovsdb_state(const struct ovsdb *c);
const char *ovsdb_state_name(enum ovsdb_state state);
const char *ovsdb_name(const struct ovsdb *c); /* the remote, or the label of connect_fd */

/* The fd to watch for readability in an outer poll loop (then call ovsdb_dispatch()), or -1
 * once closed. Do not read from it or close it. */
int ovsdb_fd(const struct ovsdb *c);

/* Reads what the socket holds (waiting up to TIMEOUT_MS for the first byte when nothing is
 * buffered) and handles it: applies updates, answers echoes. Returns the number of updates
 * applied (0 if none came in time), or -1 (closed). */
int ovsdb_dispatch(struct ovsdb *c, int timeout_ms, struct ovsdb_error *err);

/* ---- requests ---- */

/* Sends METHOD with PARAMS (a JSON array or NULL for []; borrowed) and waits for the response.
 * On success stores a new reference to "result" in *RESULT (if not NULL). A response with a
 * non-null "error" is OVSDB_ERROR_SERVER. */
int ovsdb_request(struct ovsdb *c, const char *method, json_t *params, json_t **result,
		  struct ovsdb_error *err, int timeout_ms);

/* "echo": a liveness probe (a keepalive the caller sends when the connection was idle). */
int ovsdb_echo(struct ovsdb *c, struct ovsdb_error *err, int timeout_ms);

/* "list_dbs": *NAMES gets a new reference to an array of strings. */
int ovsdb_list_dbs(struct ovsdb *c, json_t **names, struct ovsdb_error *err, int timeout_ms);

/* "get_schema": *SCHEMA gets a new reference to the database schema object. */
int ovsdb_get_schema(struct ovsdb *c, const char *db, json_t **schema, struct ovsdb_error *err,
		     int timeout_ms);

/* Schema lookups (pure): whether SCHEMA has TABLE, and TABLE has COLUMN (the implicit _uuid and
 * _version count as columns). */
bool ovsdb_schema_has_table(const json_t *schema, const char *table);
bool ovsdb_schema_has_column(const json_t *schema, const char *table, const char *column);

/* ---- monitor and cache ---- */

struct ovsdb_monitor_table {
	const char *table;
	const char *const *columns; /* NULL-terminated, or NULL for every column of the table */
};

/* Monitors COUNT tables of DB: checks them against the schema (an unknown table or column is
 * OVSDB_ERROR_INVALID, nothing sent), sends "monitor" and fills a new cache with the initial
 * contents. The cache belongs to the connection (freed by ovsdb_close() or
 * ovsdb_monitor_cancel()). A connection may hold several monitors, of one or more databases. */
struct ovsdb_cache *ovsdb_monitor(struct ovsdb *c, const char *db,
				  const struct ovsdb_monitor_table *tables, size_t count,
				  struct ovsdb_error *err, int timeout_ms);

/* Sends "monitor_cancel" (if READY) and frees the cache. */
int ovsdb_monitor_cancel(struct ovsdb *c, struct ovsdb_cache *cache, struct ovsdb_error *err,
			 int timeout_ms);

/* A row as seen in the cache; borrowed, valid until the next library call on the connection. */
struct ovsdb_row {
	const char *table;
	const char *uuid;      /* the row's _uuid, 36 characters */
	const json_t *columns; /* object: column name -> OVSDB datum (see DATUMS) */
};

struct ovsdb_rows {            /* an iterator; see ovsdb_rows_init() */
	const json_t *table_rows;
	const char *table;
	void *iter;
};

const char *ovsdb_cache_db(const struct ovsdb_cache *cache);
const json_t *ovsdb_cache_schema(const struct ovsdb_cache *cache);
/* 1 after the initial fill, +1 at each rebuild by ovsdb_reconnect(). */
uint64_t ovsdb_cache_generation(const struct ovsdb_cache *cache);
/* +1 at each applied update notification (and at each rebuild): "something changed". */
uint64_t ovsdb_cache_seqno(const struct ovsdb_cache *cache);
size_t ovsdb_cache_count(const struct ovsdb_cache *cache, const char *table);

/* Finds the row with _uuid UUID in TABLE. Returns true with *ROW filled. */
bool ovsdb_cache_get(const struct ovsdb_cache *cache, const char *table, const char *uuid,
		     struct ovsdb_row *row);
/* Finds the first row of TABLE whose COLUMN holds the string VALUE (a string atom or a set of
 * exactly that one string), e.g. a Logical_Switch by name. Linear in the table size. */
bool ovsdb_cache_find(const struct ovsdb_cache *cache, const char *table, const char *column,
		      const char *value, struct ovsdb_row *row);

/* Iterates TABLE's rows (in no promised order):
 *   struct ovsdb_rows it; struct ovsdb_row row;
 *   for (ovsdb_rows_init(&it, cache, "Logical_Switch"); ovsdb_rows_next(&it, &row);) ...
 * An unmonitored table iterates as empty. */
void ovsdb_rows_init(struct ovsdb_rows *it, const struct ovsdb_cache *cache, const char *table);
bool ovsdb_rows_next(struct ovsdb_rows *it, struct ovsdb_row *row);

/* The datum of COLUMN in ROW, or NULL if the column is not monitored. */
const json_t *ovsdb_row_get(const struct ovsdb_row *row, const char *column);
/* Shortcuts: the string in COLUMN (atom or one-element set), or NULL; the string value for KEY
 * in the string map in COLUMN (e.g. external_ids), or NULL. */
const char *ovsdb_row_string(const struct ovsdb_row *row, const char *column);
const char *ovsdb_row_map_string(const struct ovsdb_row *row, const char *column,
				 const char *key);

/* ---- DATUMS (pure): reading OVSDB values as they appear in rows ----
 *   atom:  "string", 42, 1.5, true, ["uuid", "36-char"], ["named-uuid", "name"]
 *   set:   an atom (a set of one), or ["set", [atom, ...]]
 *   map:   ["map", [[key-atom, value-atom], ...]]
 * NULL datums are allowed everywhere and read as empty. */

bool ovsdb_datum_is_valid(const json_t *datum);
/* The string/integer/boolean/uuid of an atom or a one-element set; NULL/false otherwise. */
const char *ovsdb_datum_string(const json_t *datum);
bool ovsdb_datum_integer(const json_t *datum, int64_t *value);
bool ovsdb_datum_boolean(const json_t *datum, bool *value);
const char *ovsdb_datum_uuid(const json_t *datum);
/* Sets: the element count and the I-th atom (borrowed). */
size_t ovsdb_datum_set_size(const json_t *datum);
const json_t *ovsdb_datum_set_at(const json_t *datum, size_t i);
/* Whether the set DATUM holds the uuid UUID (e.g. a switch's ports holds a port). */
bool ovsdb_datum_set_has_uuid(const json_t *datum, const char *uuid);
/* Maps: the pair count, the I-th key and value (borrowed), the value of a string KEY. */
size_t ovsdb_datum_map_size(const json_t *datum);
bool ovsdb_datum_map_at(const json_t *datum, size_t i, const json_t **key, const json_t **value);
const json_t *ovsdb_datum_map_get(const json_t *datum, const char *key);

/* Atom "a uuid", or "a string naming a 36-character uuid". */
bool ovsdb_uuid_is_valid(const char *text);

/* ---- building values (each returns a new reference and STEALS its json_t arguments) ---- */

json_t *ovsdb_uuid(const char *uuid);             /* ["uuid", UUID] */
json_t *ovsdb_named_uuid(const char *name);       /* ["named-uuid", NAME] */
json_t *ovsdb_set(json_t *atoms);                 /* ["set", ATOMS (an array)] */
json_t *ovsdb_map(json_t *pairs);                 /* ["map", PAIRS (an array of [k, v])] */
/* ["map", [[K1, V1], ...]] from a NULL-terminated list of string pairs: K1, V1, K2, V2, NULL. */
json_t *ovsdb_string_map(const char *key, ...);
/* A condition [COLUMN, FUNCTION, VALUE]; FUNCTION is "==", "!=", "includes", "excludes", "<",
 * "<=", ">", ">=". */
json_t *ovsdb_cond(const char *column, const char *function, json_t *value);
/* A mutation [COLUMN, MUTATOR, VALUE]; MUTATOR is "+=", "-=", "*=", "/=", "%=", "insert",
 * "delete". */
json_t *ovsdb_mutation(const char *column, const char *mutator, json_t *value);
/* A "where" that matches one row: [["_uuid", "==", ["uuid", UUID]]]. */
json_t *ovsdb_where_uuid(const char *uuid);

/* ---- transactions ---- */

/* A transaction on DB: operations are added in order and run atomically by ovsdb_transact().
 * Each ovsdb_txn_* adder returns the operation's index (from 0), or -1 on bad arguments (also
 * remembered: the transaction then refuses to run). */
struct ovsdb_txn *ovsdb_txn_new(const char *db);
void ovsdb_txn_free(struct ovsdb_txn *txn);

/* Inserts ROW (an object of columns) into TABLE; UUID_NAME (or NULL) names the new row for
 * ["named-uuid", UUID_NAME] in later operations of the same transaction. */
int ovsdb_txn_insert(struct ovsdb_txn *txn, const char *table, json_t *row, const char *uuid_name);
/* WHERE is an array of conditions ([] matches every row). */
int ovsdb_txn_update(struct ovsdb_txn *txn, const char *table, json_t *where, json_t *row);
int ovsdb_txn_delete(struct ovsdb_txn *txn, const char *table, json_t *where);
int ovsdb_txn_mutate(struct ovsdb_txn *txn, const char *table, json_t *where, json_t *mutations);
/* Fails the whole transaction unless, within TIMEOUT_MS (0: at once), the COLUMNS (an array of
 * names) of the rows matching WHERE are (UNTIL "==") or are not (UNTIL "!=") exactly ROWS (an
 * array of row objects). The guard of compare-and-set: "the row still looks as I read it". */
int ovsdb_txn_wait(struct ovsdb_txn *txn, const char *table, json_t *where, json_t *columns,
		   const char *until, json_t *rows, int timeout_ms);
int ovsdb_txn_comment(struct ovsdb_txn *txn, const char *comment);
/* Any other operation object, as is (e.g. "select", "assert"). */
int ovsdb_txn_op(struct ovsdb_txn *txn, json_t *op);
size_t ovsdb_txn_count(const struct ovsdb_txn *txn);

/* Runs TXN. On success its results can be read with the functions below. On OVSDB_ERROR_TXN
 * nothing was changed and err names the failing operation. A transaction may run once. */
int ovsdb_transact(struct ovsdb *c, struct ovsdb_txn *txn, struct ovsdb_error *err,
		   int timeout_ms);

/* After success: the server's result array (borrowed); the _uuid given to the row inserted as
 * UUID_NAME; the number of rows an update, delete or mutate at INDEX touched (-1 if none). */
const json_t *ovsdb_txn_result(const struct ovsdb_txn *txn);
const char *ovsdb_txn_inserted(const struct ovsdb_txn *txn, const char *uuid_name);
int64_t ovsdb_txn_rows(const struct ovsdb_txn *txn, size_t index);

#endif
