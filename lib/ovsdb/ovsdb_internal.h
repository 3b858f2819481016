/* ovsdb_internal.h - what ovsdb.c shares with ovsdb_txn.c; not part of the public API. */
#ifndef CAIRN_OVSDB_INTERNAL_H
#define CAIRN_OVSDB_INTERNAL_H

#include "ovsdb.h"

/* Fills *ERR (if not NULL) for a failure of WHAT ("connect", "transact OVN_Northbound") on the
 * connection NAME. ERROR NULL means the local name of KIND. Returns -1. */
int ovsdb_set_error(struct ovsdb_error *err, const char *name, const char *what,
		    enum ovsdb_error_kind kind, const char *error, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* The OVSDB_ERROR_TXN form: operation INDEX (-1: the commit) described as OP failed with
 * ERROR and DETAILS (either may be NULL). Returns -1. */
int ovsdb_set_txn_error(struct ovsdb_error *err, const char *name, const char *what, int index,
			const char *op, const char *error, const char *details);

/* ovsdb_txn.c: the transact params ["DB", op, ...] (new reference), or NULL with WHY filled if
 * a builder call failed or the transaction already ran. */
json_t *ovsdb_txn_params(struct ovsdb_txn *txn, char *why, size_t why_len);
const char *ovsdb_txn_db(const struct ovsdb_txn *txn);

/* ovsdb_txn.c: takes the server's RESULT (stolen) for TXN and checks it. Returns 0, or -1 with
 * *ERR filled (OVSDB_ERROR_TXN naming the failed operation, or OVSDB_ERROR_PROTOCOL for a
 * result of the wrong shape). */
int ovsdb_txn_finish(struct ovsdb_txn *txn, json_t *result, const char *name,
		     struct ovsdb_error *err);

#endif
