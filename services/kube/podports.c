/* podports.c - the pods' logical ports that no DEL removed (kube.h, "Pods' ports"). The CNI
 * plugin (services/kube/cni) removes a pod's port on DEL, but a pod deleted while its node was
 * down never gets one, and its port stays on the Network's switch with its address. A control
 * plane's kube controller lists the plugin's ports (kube_pod_ports), then the pods, and removes
 * the ports whose pod is gone (kube_pod_ports_stale, kube_pod_port_remove). The ports are
 * listed before the pods: a port written after that list belongs to a pod made before it, which
 * the pod list then has. A removal is guarded by the port's container: a new sandbox of a pod
 * of the same name that took the port over in between keeps it. */
#include <stdio.h>
#include <string.h>

#include "cni/marks.h"
#include "kube.h"
#include "ovsdb.h"

#define NB_DB "OVN_Northbound"
#define NB_TIMEOUT_MS 10000

json_t *kube_pod_ports(struct ovsdb *nb, char *err, size_t errlen)
{
	struct ovsdb_txn *t = ovsdb_txn_new(NB_DB);
	struct ovsdb_error e;
	const json_t *rows, *row;
	json_t *ports = NULL;
	size_t i;

	ovsdb_txn_op(t, json_pack("{s:s, s:s, s:[o], s:[s, s, s]}", "op", "select", "table",
				  "Logical_Switch_Port", "where", ovsdb_cond("external_ids", "includes",
				  ovsdb_string_map(KUBE_CNI_OWNER_KEY, KUBE_CNI_OWNER, NULL)),
				  "columns", "_uuid", "name", "external_ids"));
	if (ovsdb_transact(nb, t, &e, NB_TIMEOUT_MS) < 0) {
		snprintf(err, errlen, "%s", e.message);
		ovsdb_txn_free(t);
		return NULL;
	}
	rows = json_object_get(json_array_get(ovsdb_txn_result(t), 0), "rows");
	ports = json_array();
	json_array_foreach(rows, i, row) {
		const json_t *ids = json_object_get(row, "external_ids");
		const char *uuid = ovsdb_datum_uuid(json_object_get(row, "_uuid"));
		const char *ns = ovsdb_datum_string(ovsdb_datum_map_get(ids, KUBE_CNI_NAMESPACE_KEY));
		const char *pod = ovsdb_datum_string(ovsdb_datum_map_get(ids, KUBE_CNI_POD_KEY));
		const char *container = ovsdb_datum_string(ovsdb_datum_map_get(ids,
								KUBE_CNI_CONTAINER_KEY));
		if (!uuid || !ns || !pod || !container)
			continue;    /* not a pod's (a port the plugin made without the pod's names) */
		json_array_append_new(ports, json_pack("{s:s, s:s, s:s, s:s, s:s}", "uuid", uuid,
			"name", kube_str(row, "name") ?: "", "namespace", ns, "pod", pod,
			"container", container));
	}
	ovsdb_txn_free(t);
	return ports;
}

json_t *kube_pod_ports_stale(const json_t *ports, const json_t *pods)
{
	json_t *live = json_object(), *stale = json_array();
	const json_t *p;
	size_t i;

	json_array_foreach(json_object_get(pods, "items"), i, p) {
		const json_t *meta = json_object_get(p, "metadata");
		char key[600];
		if (!kube_str(meta, "namespace") || !kube_str(meta, "name"))
			continue;
		snprintf(key, sizeof key, "%s/%s", kube_str(meta, "namespace"),
			 kube_str(meta, "name"));
		json_object_set_new(live, key, json_true());
	}
	json_array_foreach(ports, i, p) {
		char key[600];
		snprintf(key, sizeof key, "%s/%s", kube_str(p, "namespace"), kube_str(p, "pod"));
		if (!json_object_get(live, key))
			json_array_append(stale, (json_t *)p);
	}
	json_decref(live);
	return stale;
}

int kube_pod_port_remove(struct ovsdb *nb, const json_t *port, const char *ls, const char *pg,
			 char *err, size_t errlen)
{
	const char *uuid = kube_str(port, "uuid");
	struct ovsdb_txn *t = ovsdb_txn_new(NB_DB);
	struct ovsdb_error e;
	int rc;

	/* still the container's that was read (a new sandbox did not take it over) */
	ovsdb_txn_wait(t, "Logical_Switch_Port", json_pack("[o, o]",
		       ovsdb_cond("_uuid", "==", ovsdb_uuid(uuid)),
		       ovsdb_cond("external_ids", "includes", ovsdb_string_map(KUBE_CNI_CONTAINER_KEY,
				  kube_str(port, "container"), NULL))),
		       json_pack("[s]", "_uuid"), "==",
		       json_pack("[{s:o}]", "_uuid", ovsdb_uuid(uuid)), 0);
	/* the port is referenced by the switch and the port group only: without them the
	 * database drops it */
	ovsdb_txn_mutate(t, "Logical_Switch", json_pack("[o]", ovsdb_cond("name", "==",
			 json_string(ls))), json_pack("[o]", ovsdb_mutation("ports", "delete",
			 ovsdb_set(json_pack("[o]", ovsdb_uuid(uuid))))));
	ovsdb_txn_mutate(t, "Port_Group", json_pack("[o]", ovsdb_cond("name", "==",
			 json_string(pg))), json_pack("[o]", ovsdb_mutation("ports", "delete",
			 ovsdb_set(json_pack("[o]", ovsdb_uuid(uuid))))));
	rc = ovsdb_transact(nb, t, &e, NB_TIMEOUT_MS);
	if (rc < 0 && e.kind == OVSDB_ERROR_TXN && e.op_index == 0)
		rc = 0;      /* taken over, or already gone */
	else if (rc < 0)
		snprintf(err, errlen, "%s", e.message);
	else
		rc = 1;
	ovsdb_txn_free(t);
	return rc;
}
