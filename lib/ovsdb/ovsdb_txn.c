/* ovsdb_txn.c - the transaction builder and the reading of a "transact" result (see ovsdb.h).
 * Pure: ovsdb.c sends the params built here and hands the result back. */
#include "ovsdb_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ovsdb_txn {
	char *db;
	json_t *ops;     /* the operations, in order */
	json_t *result;  /* the server's result array, after a successful run */
	char bad[256];   /* the first builder failure: the transaction will not run */
	bool ran;
};

struct ovsdb_txn *ovsdb_txn_new(const char *db)
{
	struct ovsdb_txn *txn = calloc(1, sizeof(*txn));

	if (!txn)
		return NULL;
	txn->db = strdup(db ? db : "");
	txn->ops = json_array();
	if (!txn->db || !txn->ops) {
		ovsdb_txn_free(txn);
		return NULL;
	}
	if (!db || !*db)
		snprintf(txn->bad, sizeof(txn->bad), "no database named");
	return txn;
}

void ovsdb_txn_free(struct ovsdb_txn *txn)
{
	if (!txn)
		return;
	json_decref(txn->ops);
	json_decref(txn->result);
	free(txn->db);
	free(txn);
}

const char *ovsdb_txn_db(const struct ovsdb_txn *txn)
{
	return txn->db;
}

size_t ovsdb_txn_count(const struct ovsdb_txn *txn)
{
	return json_array_size(txn->ops);
}

/* Appends OP (stolen) described as KIND TABLE; a NULL OP (a NULL argument) marks the
 * transaction bad. Returns the index or -1. */
static int add_op(struct ovsdb_txn *txn, const char *kind, const char *table, json_t *op)
{
	size_t index = json_array_size(txn->ops);

	if (!op || txn->ran || json_array_append_new(txn->ops, op) < 0) {
		if (!txn->bad[0])
			snprintf(txn->bad, sizeof(txn->bad),
				 txn->ran ? "operation %zu (%s%s%s): the transaction already ran"
					  : "operation %zu (%s%s%s): an argument is NULL or of the "
					    "wrong type",
				 index, kind, table ? " " : "", table ? table : "");
		return -1;
	}
	return (int)index;
}

/* The op object {"op": KIND, "table": TABLE, NAME1: V1, ...}, stealing the values; NULL if
 * any of them is NULL or TABLE is. */
static json_t *op_object(const char *kind, const char *table, json_t *where, const char *name,
			 json_t *value)
{
	json_t *op = NULL;

	if (table && (!name || value)) {
		op = json_pack("{s:s, s:s}", "op", kind, "table", table);
		if (op && where && json_is_array(where))
			json_object_set(op, "where", where);
		else if (op && where) {
			json_decref(op);
			op = NULL;
		}
		if (op && name)
			json_object_set(op, name, value);
	}
	json_decref(where);
	json_decref(value);
	return op;
}

int ovsdb_txn_insert(struct ovsdb_txn *txn, const char *table, json_t *row, const char *uuid_name)
{
	json_t *op = json_is_object(row) ? op_object("insert", table, NULL, "row", row)
					 : (json_decref(row), NULL);

	if (op && uuid_name)
		json_object_set_new(op, "uuid-name", json_string(uuid_name));
	return add_op(txn, "insert", table, op);
}

int ovsdb_txn_update(struct ovsdb_txn *txn, const char *table, json_t *where, json_t *row)
{
	json_t *op = where && json_is_object(row) ? op_object("update", table, where, "row", row)
						  : (json_decref(where), json_decref(row), NULL);

	return add_op(txn, "update", table, op);
}

int ovsdb_txn_delete(struct ovsdb_txn *txn, const char *table, json_t *where)
{
	json_t *op = where ? op_object("delete", table, where, NULL, NULL) : NULL;

	return add_op(txn, "delete", table, op);
}

int ovsdb_txn_mutate(struct ovsdb_txn *txn, const char *table, json_t *where, json_t *mutations)
{
	json_t *op = where && json_is_array(mutations)
			     ? op_object("mutate", table, where, "mutations", mutations)
			     : (json_decref(where), json_decref(mutations), NULL);

	return add_op(txn, "mutate", table, op);
}

int ovsdb_txn_wait(struct ovsdb_txn *txn, const char *table, json_t *where, json_t *columns,
		   const char *until, json_t *rows, int timeout_ms)
{
	json_t *op = NULL;

	if (where && json_is_array(columns) && json_is_array(rows) && until &&
	    (!strcmp(until, "==") || !strcmp(until, "!=")) && timeout_ms >= 0) {
		op = op_object("wait", table, json_incref(where), "rows", json_incref(rows));
		if (op) {
			json_object_set(op, "columns", columns);
			json_object_set_new(op, "until", json_string(until));
			json_object_set_new(op, "timeout", json_integer(timeout_ms));
		}
	}
	json_decref(where);
	json_decref(columns);
	json_decref(rows);
	return add_op(txn, "wait", table, op);
}

int ovsdb_txn_comment(struct ovsdb_txn *txn, const char *comment)
{
	return add_op(txn, "comment", NULL,
		      comment ? json_pack("{s:s, s:s}", "op", "comment", "comment", comment) : NULL);
}

int ovsdb_txn_op(struct ovsdb_txn *txn, json_t *op)
{
	const char *kind = json_string_value(json_object_get(op, "op"));

	if (!kind) {
		json_decref(op);
		op = NULL;
	}
	return add_op(txn, kind ? kind : "op", json_string_value(json_object_get(op, "table")), op);
}

json_t *ovsdb_txn_params(struct ovsdb_txn *txn, char *why, size_t why_len)
{
	if (txn->bad[0]) {
		snprintf(why, why_len, "%s", txn->bad);
		return NULL;
	}
	if (txn->ran) {
		snprintf(why, why_len, "the transaction already ran");
		return NULL;
	}
	if (json_array_size(txn->ops) == 0) {
		snprintf(why, why_len, "the transaction has no operation");
		return NULL;
	}
	json_t *params = json_pack("[s]", txn->db);
	if (params)
		json_array_extend(params, txn->ops);
	return params;
}

/* "insert Logical_Switch" for operation INDEX, or "commit" past the operations. */
static void describe_op(const struct ovsdb_txn *txn, size_t index, char *out, size_t len)
{
	const json_t *op = json_array_get(txn->ops, index);
	const char *kind = json_string_value(json_object_get(op, "op"));
	const char *table = json_string_value(json_object_get(op, "table"));

	if (!op)
		snprintf(out, len, "commit");
	else
		snprintf(out, len, "%s%s%s", kind ? kind : "?", table ? " " : "", table ? table : "");
}

int ovsdb_txn_finish(struct ovsdb_txn *txn, json_t *result, const char *name,
		     struct ovsdb_error *err)
{
	char what[160], op[64];
	size_t nops = json_array_size(txn->ops), i;
	const json_t *item;

	txn->ran = true;
	snprintf(what, sizeof(what), "transact %s", txn->db);
	if (!json_is_array(result)) {
		json_decref(result);
		return ovsdb_set_error(err, name, what, OVSDB_ERROR_PROTOCOL, NULL,
				       "the result is not an array");
	}
	json_array_foreach(result, i, item) {
		const json_t *error = json_object_get(item, "error");
		if (!error || json_is_null(error))
			continue;
		describe_op(txn, i, op, sizeof(op));
		ovsdb_set_txn_error(err, name, what, i < nops ? (int)i : -1, op,
				    json_is_string(error) ? json_string_value(error) : "error",
				    json_string_value(json_object_get(item, "details")));
		json_decref(result);
		return -1;
	}
	if (json_array_size(result) < nops) {
		json_decref(result);
		return ovsdb_set_error(err, name, what, OVSDB_ERROR_PROTOCOL, NULL,
				       "%zu results for %zu operations and no error",
				       json_array_size(result), nops);
	}
	txn->result = result;
	return 0;
}

const json_t *ovsdb_txn_result(const struct ovsdb_txn *txn)
{
	return txn->result;
}

const char *ovsdb_txn_inserted(const struct ovsdb_txn *txn, const char *uuid_name)
{
	const json_t *op;
	size_t i;

	if (!txn->result || !uuid_name)
		return NULL;
	json_array_foreach(txn->ops, i, op) {
		const char *n = json_string_value(json_object_get(op, "uuid-name"));
		if (n && !strcmp(n, uuid_name)) {
			const json_t *uuid = json_object_get(json_array_get(txn->result, i), "uuid");
			const char *u = ovsdb_datum_uuid(uuid);
			return ovsdb_uuid_is_valid(u) ? u : NULL;
		}
	}
	return NULL;
}

int64_t ovsdb_txn_rows(const struct ovsdb_txn *txn, size_t index)
{
	const json_t *count = json_object_get(json_array_get(txn->result, index), "count");

	return json_is_integer(count) ? json_integer_value(count) : -1;
}
