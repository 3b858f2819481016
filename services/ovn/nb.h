/* nb.h - the declarative reconcile of OVN's Northbound database from Cairn's config: each
 * Network (lib/config, kind Network) and the VM NICs on it become logical switches, ports,
 * DHCP options, port groups with ACLs, and logical routers with NAT. One call computes what
 * the config wants, compares it with the monitor cache of the NB database and sends only the
 * differences, in one transaction; a pass with nothing to change sends nothing.
 *
 * OWNERSHIP: every row Cairn creates carries external_ids cairn:owner=cairn (and
 * cairn:network, cairn:router, cairn:vm, cairn:nic as README.md lists). Rows without that mark
 * are never changed or deleted, and references to them (a foreign port on a Cairn switch) are
 * kept. Only the columns README.md lists as managed are compared and set; other columns of
 * Cairn's rows (Logical_Switch_Port options, Logical_Router_Port enabled, ...) are left
 * to whoever sets them.
 *
 * STATE: none kept between calls. Everything comes from the config and the cache, so a new
 * process (or a new connection after ovsdb_reconnect()) carries on where the last one stopped:
 * allocated addresses are read back from the ports that exist.
 *
 * THREADS: none of its own; no globals; call from the thread that owns the connection.
 * USE (a controller):
 *     struct ovsdb *c = ovsdb_connect("unix:/run/ovn/ovnnb_db.sock", 5000, &err);
 *     struct ovsdb_cache *nb = ovn_nb_monitor(c, &err, 5000);
 *     ... after each apply, when ovsdb_fd(c) is readable (ovsdb_dispatch() first), and when
 *     ovsdb_cache_generation(nb) changed after a reconnect:
 *     struct ovn_nb_result r;
 *     if (ovn_nb_reconcile(c, nb, config, 5000, &r) < 0) log(r.error);
 */
#ifndef CAIRN_OVN_NB_H
#define CAIRN_OVN_NB_H

#include <jansson.h>
#include <stddef.h>

#include "ovsdb.h"

#define OVN_NB_DB "OVN_Northbound"
#define OVN_NB_OWNER_KEY "cairn:owner"
#define OVN_NB_OWNER "cairn"

/* Longest name nb.c makes: "cairn_vm_" + a 253-character VM name + "_15". */
#define OVN_NB_NAME_MAX 288

struct ovn_nb_result {
	unsigned transactions;          /* 0 (in sync, or nothing could be sent) or 1 */
	unsigned inserts, updates, deletes, mutates;   /* operations in that transaction */
	unsigned conflicts;             /* desired rows skipped: a foreign row holds the name */
	char error[1024];               /* "" or the first problem (and a count of the others) */
};

/* Monitors every table the reconcile reads (all their columns) on connection C; the cache
 * belongs to C. NULL with ERR filled on failure. */
struct ovsdb_cache *ovn_nb_monitor(struct ovsdb *c, struct ovsdb_error *err, int timeout_ms);

/* One pass: CONFIG is lib/config's decoded config (a JSON array of documents; borrowed), NB
 * the cache from ovn_nb_monitor() on C. GATEWAYS is a JSON array of the names of the chassis
 * that may host gateway ports (SB Chassis with enable-chassis-as-gw), preferred in name order;
 * empty: none (routers with `external` then do no NAT); NULL: not known (SB is away), and the
 * gateway ports keep the ones they have. Returns the number of operations sent (0: the NB
 * database already matches), or -1 with RESULT->error set: the transaction failed (nothing
 * changed; call again later: the next pass recomputes from the cache), or some objects could
 * not be made (a foreign row holds their name, a Network ran out of addresses) while the rest
 * was still applied. After a successful transaction the cache holds its effects (one echo
 * round trip waits for the server's updates). */
int ovn_nb_reconcile(struct ovsdb *c, struct ovsdb_cache *nb, const json_t *config,
		     const json_t *gateways, int timeout_ms, struct ovn_nb_result *result);

/* The logical switch port of VirtualMachine VM's NIC number NIC: "cairn_vm_VM_NIC". The VM
 * controller sets it as external_ids:iface-id on the NIC's OVS interface. */
void ovn_nb_port_name(const char *vm, size_t nic, char *buf, size_t size);

/* The MAC of that NIC: its `mac` when set, else the VM controller's generated one (FNV-1a of
 * the VM name and the index under 52:54:00, as services/vm/render.c vm_nic_mac()). */
void ovn_nb_nic_mac(const char *vm, const json_t *nic, size_t index, char mac[18]);

/* Network NETWORK's logical switch and port group names (each SIZE bytes). */
void ovn_nb_network_names(const char *network, char *ls, char *pg, size_t size);

/* The logical switch port through which Kubernetes node NODE's host joins the pods' Network
 * (MachineConfig kubernetes.ovnNetwork): "cairn_k8s_NODE", and its MAC (locally administered,
 * from the name). services/kube gives the node's OVS internal port that MAC and iface-id. */
void ovn_nb_k8s_port(const char *node, char *name, size_t size, char mac[18]);

/* The IPv4 address the port of VM's NIC NIC has in the cache (static or allocated), into IP
 * (16 bytes). 0, or -1 when there is no such Cairn port or it has no address yet. */
int ovn_nb_port_address(const struct ovsdb_cache *nb, const char *vm, size_t nic, char ip[16]);

#endif
