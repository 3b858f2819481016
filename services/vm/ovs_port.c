/* ovs_port.c - a VM NIC on an OVN Network: its tap as a port of the integration bridge br-int
 * in the node's Open_vSwitch database (lib/ovsdb, no ovs-vsctl), with
 * external_ids:iface-id = the logical switch port (services/ovn/nb.h ovn_nb_port_name()), so
 * ovn-controller binds it. The database is the ovn controller's local ovsdb-server. */
#include <stdio.h>
#include <string.h>

#include "ovsdb.h"
#include "vm_int.h"

#define OVS_DB_REMOTE "unix:/run/cairn/ovn/db.sock"
#define OVS_TIMEOUT_MS 5000

/* The _uuid of the row of TABLE named NAME, into UUID (37 bytes); 1 found, 0 not, -1 error. */
static int find_named(struct ovsdb *c, const char *table, const char *name, char uuid[37],
		      const char **iface_id, json_t **keep, struct ovsdb_error *err)
{
	struct ovsdb_txn *t = ovsdb_txn_new("Open_vSwitch");
	int rc = 0;

	ovsdb_txn_op(t, json_pack("{s:s, s:s, s:[[s,s,s]], s:[s,s]}", "op", "select", "table", table,
				  "where", "name", "==", name, "columns", "_uuid", "external_ids"));
	if (ovsdb_transact(c, t, err, OVS_TIMEOUT_MS) < 0) {
		ovsdb_txn_free(t);
		return -1;
	}
	const json_t *rows = json_object_get(json_array_get(ovsdb_txn_result(t), 0), "rows");
	const json_t *row = json_array_get(rows, 0);
	if (row) {
		snprintf(uuid, 37, "%s", ovsdb_datum_uuid(json_object_get(row, "_uuid")) ?
			 ovsdb_datum_uuid(json_object_get(row, "_uuid")) : "");
		if (iface_id && keep) {
			*keep = json_deep_copy(json_object_get(row, "external_ids"));
			const json_t *v = ovsdb_datum_map_get(*keep, "iface-id");
			*iface_id = ovsdb_datum_string(v);
		}
		rc = 1;
	}
	ovsdb_txn_free(t);
	return rc;
}

int vm_ovs_port_add(const char *tap, const char *iface_id, char *error, size_t size)
{
	struct ovsdb_error err;
	struct ovsdb *c = ovsdb_connect(OVS_DB_REMOTE, OVS_TIMEOUT_MS, &err);
	char uuid[37];
	const char *have = NULL;
	json_t *keep = NULL;
	int rc;

	if (!c) {
		snprintf(error, size, "Open vSwitch database: %s (is ovn set in MachineConfig?)", err.message);
		return -1;
	}
	rc = find_named(c, "Interface", tap, uuid, &have, &keep, &err);
	if (rc == 1 && have && strcmp(have, iface_id) == 0) {
		json_decref(keep);
		ovsdb_close(c);
		return 0;
	}
	json_decref(keep);
	struct ovsdb_txn *t = ovsdb_txn_new("Open_vSwitch");
	if (rc == 1) {
		ovsdb_txn_mutate(t, "Interface", ovsdb_where_uuid(uuid),
				 json_pack("[oo]", ovsdb_mutation("external_ids", "delete",
								 ovsdb_set(json_pack("[s]", "iface-id"))),
					   ovsdb_mutation("external_ids", "insert",
							  ovsdb_string_map("iface-id", iface_id, NULL))));
	} else if (rc == 0) {
		ovsdb_txn_insert(t, "Interface", json_pack("{s:s, s:o}", "name", tap, "external_ids",
							  ovsdb_string_map("iface-id", iface_id, NULL)), "i");
		ovsdb_txn_insert(t, "Port", json_pack("{s:s, s:o}", "name", tap, "interfaces",
						     ovsdb_named_uuid("i")), "p");
		ovsdb_txn_mutate(t, "Bridge", json_pack("[[s,s,s]]", "name", "==", "br-int"),
				 json_pack("[o]", ovsdb_mutation("ports", "insert",
								 ovsdb_set(json_pack("[o]", ovsdb_named_uuid("p"))))));
		/* br-int is ovn-controller's: fail (and retry later) until it made it */
		ovsdb_txn_op(t, json_pack("{s:s, s:s, s:[[s,s,s]], s:i, s:[s], s:s, s:[{s:s}]}", "op",
					  "wait", "table", "Bridge", "where", "name", "==", "br-int",
					  "timeout", 0, "columns", "name", "until", "==", "rows",
					  "name", "br-int"));
	}
	if (rc < 0 || ovsdb_transact(c, t, &err, OVS_TIMEOUT_MS) < 0) {
		snprintf(error, size, "tap %s on br-int: %s", tap, err.message);
		ovsdb_txn_free(t);
		ovsdb_close(c);
		return -1;
	}
	ovsdb_txn_free(t);
	ovsdb_close(c);
	return 1;
}

void vm_ovs_port_remove(const char *tap)
{
	struct ovsdb_error err;
	struct ovsdb *c = ovsdb_connect(OVS_DB_REMOTE, OVS_TIMEOUT_MS, &err);
	char uuid[37];

	if (!c)
		return;
	if (find_named(c, "Port", tap, uuid, NULL, NULL, &err) == 1) {
		struct ovsdb_txn *t = ovsdb_txn_new("Open_vSwitch");
		ovsdb_txn_mutate(t, "Bridge", json_array(),
				 json_pack("[o]", ovsdb_mutation("ports", "delete",
								 ovsdb_set(json_pack("[o]", ovsdb_uuid(uuid))))));
		ovsdb_transact(c, t, &err, OVS_TIMEOUT_MS);
		ovsdb_txn_free(t);
	}
	ovsdb_close(c);
}
