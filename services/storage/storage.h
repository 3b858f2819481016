/* storage.h - the storage controller (a row of services/api/controllers.c): the node's block
 * devices as resource "disks", the pools MachineConfig's .spec.storage names (an LVM thin pool
 * on a whole disk, or a directory of files), the node's state volume mounted on one of them,
 * and resource "pools". Cairn never opens a disk for writing that the config does not name;
 * a named disk that carries anything (a filesystem, a partition table, a foreign LVM label)
 * is refused unless its pool says `wipe: true`, and one in use is refused even then.
 * See README.md. */
#ifndef CAIRN_STORAGE_H
#define CAIRN_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "controller.h"

#define STORAGE_STATE_DIR "/var/lib/cairn/state"   /* the state volume's mount point */
#define STORAGE_VG_PREFIX "cairn-"                 /* volume group of pool NAME: cairn-NAME */
#define STORAGE_THIN_POOL "pool"                   /* the thin pool LV in it */
#define STORAGE_STATE_LV "state"                   /* the state volume's thin LV */
#define STORAGE_LVM "/usr/sbin/lvm"
#define STORAGE_MKFS "/usr/sbin/mkfs.ext4"

/* The controller row. */
void *storage_init(const struct controller_env *env);
int storage_reconcile(void *state, const json_t *config, struct ctrl_report *report);
void storage_halt(void *state);

/* --- disks.c ------------------------------------------------------------------------------ */

/* The block devices under SYSFS/block (loop, ram, zram, drbd, dm-, nbd, md skipped unless
 * a name in NAMED, a JSON array of kernel names, is one of them): one object per device, sorted
 * by name: {"id", "name", "device", "size_bytes", "size", "model"?, "serial"?, "by_id": [...],
 * "removable", "read_only", "partitions": [...], "in_use"?: "mounted at /x" | "holder dm-0"
 * | "swap" | "partitions"}. */
json_t *storage_disks_scan(const char *sysfs, const json_t *named);

/* The stable names under /dev/disk/by-id/ that udev would give the disk NAME (its sysfs
 * folder SYSFS/block/NAME): virtio-SERIAL, nvme-MODEL_SERIAL, nvme-WWID, ata-MODEL_SERIAL,
 * wwn-0xWWN, scsi-... A JSON array of strings (maybe empty). */
json_t *storage_by_id_names(const char *sysfs, const char *name);

/* The kernel name ("vdb", "loop3") of the device PATH names: PATH itself when it exists
 * (through its symbolic links), else a /dev/disk/by-id/ name matched against the names of
 * storage_by_id_names(). 0, or -1 with WHY. */
int storage_resolve(const char *sysfs, const char *path, char *name, size_t size, char *why,
		    size_t why_size);

/* Why the disk NAME (and its partitions) is in use: mounted (MOUNTINFO, /proc/self/mountinfo's
 * text), a holder in sysfs (device-mapper, md, ...; "dm-0 (its name)"), swap (SWAPS,
 * /proc/swaps's text). The device-mapper devices of volume group OWN_VG (when not NULL) do
 * not count: a pool's disk is not in use by the pool itself. NULL when not in use, else a new
 * string. */
char *storage_disk_in_use(const char *sysfs, const char *name, const char *mountinfo,
			  const char *swaps, const char *own_vg);

/* --- admit.c: what an apply may name ------------------------------------------------------ */

/* Checks the pools of CONFIG's MachineConfig against this node's disks before an apply is
 * stored: a pool whose disk does not resolve to a block device, a disk in use by anything but
 * that pool's own volume group, or two pools on one disk refuse the config. A pool with the
 * same name, type and disk as in CURRENT (the config in force, maybe NULL) is not checked
 * again: a disk that failed under a running pool is reported by the controller and must not
 * block every other change. SYSFS: "/sys" unless a test's. 0, or -1 with *DETAILS a new array
 * of lines, each naming the pool and the disk's path. */
int storage_admit(const json_t *config, const json_t *current, const char *sysfs,
		  json_t **details);

/* Makes DEV/disk/by-id/NAME -> ../../KERNEL links for every disk of DISKS (when the node has
 * no udev to make them), and removes the links there that point to no disk any more. */
void storage_by_id_links(const char *dev, const json_t *disks);

/* "10.0Gi", "512Mi", "4.0Ki": BYTES in binary units with one decimal. */
void storage_human_size(unsigned long long bytes, char *buf, size_t size);

/* --- signatures.c: libblkid --------------------------------------------------------------- */

/* What the device PATH carries, as libblkid's probe sees it (filesystems, RAID and LVM
 * labels, partition tables): a JSON array of {"type", "usage", "offset"}, empty when blank;
 * NULL with WHY when the device cannot be read. */
json_t *storage_signatures(const char *path, char *why, size_t why_size);
/* Erases every signature libblkid finds on PATH and asks the kernel to forget its
 * partitions. 0 or -1 with WHY. */
int storage_wipe(const char *path, char *why, size_t why_size);

/* Shared by the storage and volumes controllers (common.c). */
/* A copy of VALUE, or of FALLBACK when VALUE is NULL; aborts when out of memory. */
char *storage_dup_or(const char *value, const char *fallback);
/* What a tool said, for an error message: its non-empty lines joined with "; ", without LVM's
 * "Run `... --help'" advice, or "no output". A static buffer: the controllers run on cairnd's
 * one controller thread. */
const char *storage_said(const char *out);
/* The device-mapper name of VG/LV: each '-' doubled, the two joined by '-'. */
void storage_dm_name(const char *vg, const char *lv, char *buf, size_t size);

#endif
