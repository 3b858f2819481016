/* resources.h - cairnd's status resources: one JSON snapshot per kind, versioned, thread-safe,
 * with waiting for a change (the watch endpoints). Controllers publish; handlers read.
 *
 * A snapshot is {"kind": KIND, "revision": N, "items": [ITEM, ...]}. The revision of a kind
 * starts at 0 (no items published yet) and grows by one on each publish whose items differ
 * from the current ones (json_equal); publishing equal items changes nothing and wakes nobody.
 * Each item is a JSON object with at least "id" (a string unique within the kind).
 *
 * An item with "started_at" (UTC, "YYYY-MM-DDTHH:MM:SSZ") is read with "uptime_s", the whole
 * seconds from then to the read (0 if the clock went back): publishers set the start only, so
 * an uptime is never stale and its growth is not a change that wakes watchers. */
#ifndef CAIRN_API_RESOURCES_H
#define CAIRN_API_RESOURCES_H

#include <jansson.h>

/* The known kinds, NULL-ended: links, addresses, routes, services, hostname, time, resolvers,
 * sysctls, modules, dhcp, machinestatus, vms, interfaces, networks, chassis, ports, disks, pools, volumes,
 * members (etcd's, on a control plane). */
extern const char *const resource_kinds[];

/* Once, before any other call (idempotent). */
void resources_init(void);
/* Replaces the items of KIND with ITEMS (a JSON array; the reference is stolen, even on
 * error). -1 when KIND is not a known kind. */
int resources_publish(const char *kind, json_t *items);
/* A new reference to the snapshot of KIND, or NULL when KIND is not known. */
json_t *resources_get(const char *kind);
/* Waits until the revision of KIND is above AFTER or TIMEOUT_MS pass, then returns the
 * snapshot as resources_get does (its revision tells whether it changed). */
json_t *resources_wait(const char *kind, json_int_t after, int timeout_ms);

#endif
