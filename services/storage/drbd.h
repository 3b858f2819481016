/* drbd.h - Volumes (DRBD 8.4) on the node: the pure parts (the resource file of a Volume, the
 * parse of `drbdsetup events2 --now --statistics`) and the `volumes` controller row
 * (volumes.c). See README.md, "Volumes". */
#ifndef CAIRN_STORAGE_DRBD_H
#define CAIRN_STORAGE_DRBD_H

#include <stddef.h>

#include <jansson.h>

#include "controller.h"

#define DRBD_RUN_DIR "/run/cairn/drbd"                  /* NAME.res, NAME.disk */
#define DRBD_FENCE_PEER "/usr/lib/cairn/drbd-fence-peer"
#define DRBD_SPLIT_BRAIN "/usr/lib/cairn/drbd-split-brain"
#define DRBD_LV_PREFIX "vol-"                           /* the LV of Volume NAME: vol-NAME */
#define DRBD_PEER_SUFFIX ".peer"            /* RUN_DIR/NAME.peer: "PEER-NAME ADDRESS PORT\n" */
#define DRBD_PEER_DOWN_SUFFIX ".peer-down"  /* the operator said the peer is down */
#define DRBD_PEER_API_PORT 50000           /* the peer's cairnd (its default --listen) */
#define DRBD_FENCE_SUFFIX ".fence"          /* the fence-peer handler's last verdict */
#define DRBD_IDENTITY_DIR "identity"        /* RUN_DIR/identity/{ca,node}.crt, node.key */
#define DRBD_SPLIT_BRAIN_SUFFIX ".split-brain"  /* DRBD found a split brain: "UNIX-TIME\n" */

/* The fence-peer handler: cairnd run by DRBD as /usr/lib/cairn/drbd-fence-peer (a script that
 * runs `cairnd --drbd-fence-peer`), with DRBD_RESOURCE, DRBD_MINOR, DRBD_PEER_ADDRESS set.
 * Returns DRBD's exit code (services/storage/README.md, "Failover"). */
int drbd_fence_peer_main(const char *run_dir);

/* The split-brain handler: cairnd run by DRBD as /usr/lib/cairn/drbd-split-brain (`cairnd
 * --drbd-split-brain`) when it found a split brain it did not resolve (after-sb-*pri
 * disconnect: the connection goes StandAlone). Writes RUN_DIR/NAME.split-brain (the time), which
 * the controller reports until the peer is connected again, and says so in the kernel log
 * (real run dir only). Returns 0, or 1 when DRBD_RESOURCE is missing or the file cannot be
 * written. See README.md, "Split brain". */
int drbd_split_brain_main(const char *run_dir);

/* The resource file of the Volume document VOLUME (decoded), the same text on both nodes:
 * protocol C, minor and port from config_volume_minor()/_port(), the backing disk
 * RUN_DIR/NAME.disk (a link each node points at its LV), internal metadata, the split-brain
 * policies that never discard a Primary's writes, resource-only fencing with the fence-peer
 * handler, and one `floating` section per node address. A new string, or NULL when VOLUME
 * lacks a name or its two nodes. */
char *drbd_render(const json_t *volume, const char *run_dir);

/* Parses the output of `drbdsetup events2 --now --statistics all` (TEXT, LEN bytes, not
 * NUL-terminated) into an object: resource name -> {"role", "peer_role", "connection",
 * "disk", "peer_disk", "replication", "minor", "sync_percent"} (each only when seen). Lines it
 * does not understand are skipped. Never NULL (aborts when out of memory). */
json_t *drbd_parse_events(const char *text, size_t len);

/* The controller row: reads MachineConfig, VirtualMachine and Volume, resource pools; writes
 * resource volumes. */
void *volumes_init(const struct controller_env *env);
int volumes_reconcile(void *state, const json_t *config, struct ctrl_report *report);
void volumes_halt(void *state);

#endif
