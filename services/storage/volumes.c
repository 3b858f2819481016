/* volumes.c - the `volumes` controller: for each Volume with a replica on this node, the thin
 * LV on its pool, the DRBD 8.4 resource file, metadata when there is none, `drbdadm adjust`,
 * the initial sync of a blank Volume, the role that follows the VM using it, and resource
 * "volumes" from `drbdsetup events2`. See README.md, "Volumes". */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "drbd.h"
#include "fileio.h"
#include "resources.h"
#include "runcmd.h"
#include "storage.h"

#define DRBDADM "/usr/sbin/drbdadm"
#define DRBDSETUP "/usr/sbin/drbdsetup"
#define DRBD_TIMEOUT_MS 60000
#define QEMU_IMG "/usr/bin/qemu-img"
#define FILL_TIMEOUT_MS 1800000   /* qemu-img convert of a Volume's image */
#define FENCE_RETRY_S 20   /* a promotion refused for want of fencing is tried again after */
#define RESIZE_RETRY_S 10  /* `drbdadm resize` that did not grow the device is tried again after */
#define RECLAIM_SUFFIX ".reclaim"   /* RUN_DIR/NAME.reclaim: "POLICY VG DEVICE\n" */
#define RECLAIM_WIPED "delete-wiped"   /* that policy once delete's wipe-md is done */
#define MIB (1024LL * 1024)
/* what the operator does about a split brain (README.md, "Split brain"): NAME, this node, peer */
#define SPLIT_BRAIN_HOW "keep one side's data, the other's writes since the split are " \
	"discarded: cairnctl -n %s,%s volume resolve %s --keep NODE (%s or %s)"
#define SPLIT_BRAIN_ARGS(name, me, peer) me, peer, name, me, peer

struct volumes {
	char *run_dir, *lvm, *modprobe, *dev;
	bool loaded;
	json_t *refused;   /* Volume name -> monotonic second of its last promotion refused */
	json_t *resized;   /* Volume name -> monotonic second of its last `drbdadm resize` */
};

static long long now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* RUN_DIR/NAME.SUFFIX: its first line (a static buffer), or "" when absent. */
static const char *run_file(const struct volumes *v, const char *name, const char *suffix)
{
	static char line[1024];
	char path[PATH_MAX];
	FILE *f;

	line[0] = '\0';
	snprintf(path, sizeof path, "%s/%s%s", v->run_dir, name, suffix);
	if ((f = fopen(path, "re"))) {
		if (!fgets(line, sizeof line, f))
			line[0] = '\0';
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	return line;
}


void *volumes_init(const struct controller_env *env)
{
	struct volumes *v = calloc(1, sizeof *v);
	char *dir;

	if (!v)
		return NULL;
	dir = path_join(env->run_dir ? env->run_dir : "/run/cairn", "drbd");
	v->run_dir = dir;
	v->lvm = storage_dup_or(env->storage_lvm, STORAGE_LVM);
	v->modprobe = storage_dup_or(env->modprobe, "/sbin/modprobe");
	v->dev = storage_dup_or(NULL, "/dev");
	v->refused = json_object();
	v->resized = json_object();
	return v;
}

void volumes_halt(void *state)
{
	struct volumes *v = state;

	if (!v)
		return;
	free(v->run_dir);
	free(v->lvm);
	free(v->modprobe);
	free(v->dev);
	json_decref(v->refused);
	json_decref(v->resized);
	free(v);
}

/* Runs ARGV... (NULL-ended); *OUT its output (stdout and stderr), or NULL. */
static int run(char **out, const char *program, ...)
{
	char *argv[16];
	size_t n = 0;
	va_list ap;

	argv[n++] = (char *)program;
	va_start(ap, program);
	for (const char *arg; n < 15 && (arg = va_arg(ap, const char *));)
		argv[n++] = (char *)arg;
	va_end(ap);
	argv[n] = NULL;
	if (out)
		*out = NULL;
	return run_command(argv, out, DRBD_TIMEOUT_MS);
}


static const char *node_name(const json_t *config)
{
	const json_t *machine = config_find(config, "MachineConfig", NULL);
	const char *name = json_string_value(json_object_get(json_object_get(machine, "metadata"),
							     "name"));

	return name ? name : json_string_value(json_object_get(json_object_get(machine, "spec"),
							       "hostname"));
}


/* Whether a running VM of this node has a disk on Volume NAME. */
static bool vm_wants(const json_t *config, const char *me, const char *name, const char **vm)
{
	const json_t *doc, *disk;
	size_t i, k;

	json_array_foreach(config, i, doc) {
		const json_t *spec = json_object_get(doc, "spec");
		if (strcmp(json_string_value(json_object_get(doc, "kind")) ?: "", "VirtualMachine") != 0 ||
		    strcmp(json_string_value(json_object_get(spec, "node")) ?: "", me) != 0 ||
		    !json_is_true(json_object_get(spec, "running")))
			continue;
		json_array_foreach(json_object_get(spec, "disks"), k, disk)
			if (strcmp(json_string_value(json_object_get(disk, "volume")) ?: "", name) == 0) {
				*vm = json_string_value(json_object_get(json_object_get(doc, "metadata"),
									"name"));
				return true;
			}
	}
	return false;
}

static const char *field(const json_t *status, const char *key)
{
	return json_string_value(json_object_get(status, key)) ?: "";
}

static json_t *events(void)
{
	char *out = NULL;
	json_t *parsed;

	run(&out, DRBDSETUP, "events2", "--now", "--statistics", "all", NULL);
	parsed = drbd_parse_events(out ? out : "", out ? strlen(out) : 0);
	free(out);
	return parsed;
}

/* What DRBD 8.4's internal metadata takes at the end of a backing device of BYTES, at most:
 * the bitmap (a bit per 4 KiB), the activity log (32 KiB), the superblock (4 KiB), rounded
 * up; one MiB more keeps this an upper bound. */
static long long md_bytes(long long bytes)
{
	return bytes / 32768 + 40 * 1024 + MIB;
}

/* Fills the new LV LV_PATH from IMAGE (qemu-img convert -n -O raw), before DRBD's metadata
 * exists: the data area of internal metadata starts at byte 0, so the image is the Volume's
 * content. The image must fit in SIZE bytes less the metadata. 0, or -1 (reported). */
static int fill_from_image(const char *object, const char *image, const char *lv_path,
			   long long size, json_t *item, struct ctrl_report *report)
{
	char *out = NULL;
	json_t *info;
	long long virtual_size;

	if (run(&out, QEMU_IMG, "info", "--output=json", image, NULL) != 0) {
		json_object_set_new(item, "error", ctrl_fail(report, object, "image %s: qemu-img "
				    "info: %s", image, storage_said(out)));
		free(out);
		return -1;
	}
	info = json_loads(out ? out : "", 0, NULL);
	virtual_size = json_integer_value(json_object_get(info, "virtual-size"));
	free(out);
	/* a backing file would be read too, from wherever it points (root runs this) */
	if (json_object_get(info, "backing-filename")) {
		json_object_set_new(item, "error", ctrl_fail(report, object, "image %s has a backing "
				    "file (%s): a Volume is filled only from a self-contained image "
				    "(qemu-img convert it into one first)", image, json_string_value(
					    json_object_get(info, "backing-filename")) ?: "?"));
		json_decref(info);
		return -1;
	}
	json_decref(info);
	if (virtual_size <= 0 || virtual_size > size - md_bytes(size)) {
		json_object_set_new(item, "error", ctrl_fail(report, object, "image %s: %lld bytes "
				    "does not fit: the Volume holds at most %lld bytes next to DRBD's "
				    "metadata; make its size larger", image, virtual_size,
				    size - md_bytes(size)));
		return -1;
	}
	{
		char *argv[] = { QEMU_IMG, "convert", "-n", "-O", "raw", (char *)image,
				 (char *)lv_path, NULL };
		if (run_command(argv, &out, FILL_TIMEOUT_MS) != 0) {
			json_object_set_new(item, "error", ctrl_fail(report, object, "image %s: "
					    "qemu-img convert: %s", image, storage_said(out)));
			free(out);
			return -1;
		}
		free(out);
	}
	ctrl_changed(report, object, "filled from image %s (%lld bytes)", image, virtual_size);
	return 0;
}

/* One Volume on this node (INDEX: this node's place in .spec.nodes). Fills ITEM. */
static int one_volume(struct volumes *v, const json_t *config, const json_t *doc, size_t index,
		      const char *state_pool, json_t *pools, json_t *status, json_t *item,
		      struct ctrl_report *report)
{
	const char *name = json_string_value(json_object_get(json_object_get(doc, "metadata"), "name"));
	const json_t *spec = json_object_get(doc, "spec");
	const json_t *mine = json_array_get(json_object_get(spec, "nodes"), index);
	const char *pool = json_string_value(json_object_get(mine, "pool")) ?: state_pool;
	const json_t *pool_item = NULL, *p, *st = json_object_get(status, name);
	char object[128], mapper[300], lv_path[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
	char lv[80], *res, *res_path, *out = NULL;
	const char *vm = NULL, *me = node_name(config);
	bool created = false, want_primary, split = false, shrink_refused = false;
	int grown = 0;
	const char *image = json_string_value(json_object_get(spec, "image"));
	int changes = 0, rc;
	size_t i;
	ssize_t n;

	snprintf(object, sizeof object, "volume %s", name);
	json_object_set_new(item, "pool", pool ? json_string(pool) : json_null());
	json_array_foreach(json_object_get(pools, "items"), i, p)
		if (pool && strcmp(field(p, "name"), pool) == 0)
			pool_item = p;
	if (!pool || !pool_item || strcmp(field(pool_item, "state"), "ready") != 0 ||
	    strcmp(field(pool_item, "type"), "lvm") != 0) {
		json_object_set_new(item, "error", ctrl_fail(report, object, "waiting for lvm pool %s "
				    "on this node (cairnctl get pools)", pool ? pool : "(none: no "
				    "storage.pools in MachineConfig)"));
		return -1;
	}
	/* the module: drbd-utils picks drbdadm-84 only once the 8.4 module is loaded */
	if (!v->loaded && access("/proc/drbd", F_OK) != 0) {
		if (run(&out, v->modprobe, "drbd", NULL) != 0) {
			json_object_set_new(item, "error", ctrl_fail(report, object, "modprobe drbd: %s",
								     storage_said(out)));
			free(out);
			return -1;
		}
		free(out);
		ctrl_changed(report, "drbd", "module loaded");
	}
	v->loaded = true;
	/* the thin LV */
	snprintf(lv, sizeof lv, DRBD_LV_PREFIX "%s", name);
	storage_dm_name(field(pool_item, "vg"), lv, mapper, sizeof mapper);
	snprintf(lv_path, sizeof lv_path, "%s/mapper/%s", v->dev, mapper);
	if (access(lv_path, F_OK) != 0) {
		char size[32], thin[160];
		snprintf(size, sizeof size, "%lldm",
			 (long long)json_integer_value(json_object_get(spec, "size_mib")));
		snprintf(thin, sizeof thin, "%s/" STORAGE_THIN_POOL, field(pool_item, "vg"));
		if (run(&out, v->lvm, "lvcreate", "--devices", field(pool_item, "device"), "--yes",
			"--type", "thin", "-V", size, "--thinpool", thin, "-n", lv, NULL) != 0) {
			json_object_set_new(item, "error", ctrl_fail(report, object, "lvm lvcreate: %s",
								     storage_said(out)));
			free(out);
			return -1;
		}
		free(out);
		ctrl_changed(report, object, "LV %s/%s made (%s)", field(pool_item, "vg"), lv, size);
		created = true;
		changes++;
	} else {
		/* a larger size grows the LV (DRBD follows below); a smaller one never shrinks it */
		long long want = json_integer_value(json_object_get(spec, "size_mib")) * MIB;
		long long have = fileio_block_bytes(lv_path);
		if (have > 0 && have < want) {
			char size[32], lv_name[160];
			snprintf(size, sizeof size, "%lldm", want / MIB);
			snprintf(lv_name, sizeof lv_name, "%s/%s", field(pool_item, "vg"), lv);
			if (run(&out, v->lvm, "lvextend", "--devices", field(pool_item, "device"),
				"-L", size, lv_name, NULL) != 0) {
				json_object_set_new(item, "error", ctrl_fail(report, object, "lvm "
						    "lvextend: %s", storage_said(out)));
				free(out);
				return -1;
			}
			free(out);
			ctrl_changed(report, object, "LV %s grown from %lldMi to %s", lv_name,
				     have / MIB, size);
			changes++;
			grown = 1;   /* not a reason for `adjust`: the resize below, --assume-clean */
		} else if (have > want + 4 * MIB) {   /* LVM rounds up to its 4 MiB extents */
			json_object_set_new(item, "error", ctrl_fail(report, object, "size %lldMi is "
					    "smaller than the LV's %lldMi: a Volume only grows (shrinking "
					    "would cut off its data); the LV stays as it is",
					    want / MIB, have / MIB));
			shrink_refused = true;
		}
	}
	/* RUN_DIR/NAME.disk -> the LV: the resource file names the same disk on both nodes */
	snprintf(link, sizeof link, "%s/%s.disk", v->run_dir, name);
	n = readlink(link, target, sizeof target - 1);
	if (n < 0 || (size_t)n != strlen(lv_path) || memcmp(target, lv_path, (size_t)n) != 0) {
		fileio_mkdirs(v->run_dir, 0755);
		unlink(link);
		if (symlink(lv_path, link) < 0) {
			json_object_set_new(item, "error", ctrl_fail(report, object, "%s: %s", link,
								     strerror(errno)));
			return -1;
		}
	}
	/* the resource file */
	res = drbd_render(doc, v->run_dir);
	res_path = NULL;
	if (asprintf(&res_path, "%s/%s.res", v->run_dir, name) < 0)
		abort();
	rc = fileio_write_if_changed(res_path, res, 0644);
	free(res);
	if (rc < 0) {
		json_object_set_new(item, "error", ctrl_fail(report, object, "%s: %s", res_path,
							     strerror(errno)));
		free(res_path);
		return -1;
	}
	if (rc > 0) {
		ctrl_changed(report, object, "%s written", res_path);
		changes++;
	}
	free(res_path);
	/* RUN_DIR/NAME.peer: whom the fence-peer handler asks (fence.c) */
	{
		const json_t *peer = json_array_get(json_object_get(spec, "nodes"), 1 - index);
		char *text = NULL, *path = NULL;
		if (asprintf(&text, "%s %s %d\n", field(peer, "name"), field(peer, "address"),
			     DRBD_PEER_API_PORT) < 0 ||
		    asprintf(&path, "%s/%s" DRBD_PEER_SUFFIX, v->run_dir, name) < 0)
			abort();
		if (fileio_write_if_changed(path, text, 0644) < 0)
			ctrl_fail(report, object, "%s: %s", path, strerror(errno));
		free(text);
		free(path);
	}
	/* RUN_DIR/NAME.reclaim: what to do when the Volume leaves the config (remove_gone()) */
	{
		char *text = NULL, *path = NULL;
		if (asprintf(&text, "%s %s %s\n", field(spec, "reclaim")[0] ? field(spec, "reclaim")
			     : "retain", field(pool_item, "vg"), field(pool_item, "device")) < 0 ||
		    asprintf(&path, "%s/%s" RECLAIM_SUFFIX, v->run_dir, name) < 0)
			abort();
		if (fileio_write_if_changed(path, text, 0644) < 0)
			ctrl_fail(report, object, "%s: %s", path, strerror(errno));
		free(text);
		free(path);
	}
	/* metadata, only on an LV that has none (never over data: create-md asks, and its
	 * stdin is /dev/null); the first node fills a Volume with an image before that */
	if (!st || strcmp(field(st, "disk"), "") == 0 || strcmp(field(st, "disk"), "Diskless") == 0) {
		rc = run(&out, DRBDADM, "dump-md", name, NULL);
		if (rc != 0 && (created || (out && strstr(out, "No valid meta data found")))) {
			free(out);
			bool filled = image && index == 0;
			if (filled && fill_from_image(object, image, lv_path, json_integer_value(
					json_object_get(spec, "size_mib")) * MIB, item, report) < 0)
				return -1;
			/* over the image just written, drbdmeta would find data and ask: the data is
			 * the Volume's own, so it is told yes (--force); otherwise it is never told */
			if ((filled ? run(&out, DRBDADM, "--", "--force", "create-md", name, NULL)
				    : run(&out, DRBDADM, "create-md", name, NULL)) != 0) {
				json_object_set_new(item, "error", ctrl_fail(report, object,
						    "drbdadm create-md: %s", storage_said(out)));
				free(out);
				return -1;
			}
			ctrl_changed(report, object, "DRBD metadata created");
			changes++;
		}
		free(out);
		rc = 1;   /* attach and connect */
	} else {
		rc = 0;
	}
	if (rc || changes > grown) {
		if (run(&out, DRBDADM, "adjust", name, NULL) != 0) {
			json_object_set_new(item, "error", ctrl_fail(report, object, "drbdadm adjust: %s",
								     storage_said(out)));
			free(out);
			return -1;
		}
		free(out);
		ctrl_changed(report, object, "drbdadm adjust");
		changes++;
		return changes;   /* the next pass reads the new state */
	}
	/* the initial sync, by the first node of .spec.nodes only, once both sides are
	 * Inconsistent and connected (never before: Ganeti's lesson). A blank Volume: its (blank)
	 * data is declared current, no sync needed. Filled from an image: Primary with --force,
	 * its data current, and the peer gets a full sync (Secondary again at the next pass
	 * unless a VM here wants it) */
	if (index == 0 && strcmp(field(st, "connection"), "Connected") == 0 &&
	    strcmp(field(st, "disk"), "Inconsistent") == 0 &&
	    strcmp(field(st, "peer_disk"), "Inconsistent") == 0) {
		const char *what = image ? "primary --force" : "new-current-uuid --clear-bitmap";
		rc = image ? run(&out, DRBDADM, "primary", "--force", name, NULL)
			   : run(&out, DRBDADM, "new-current-uuid", "--clear-bitmap", name, NULL);
		if (rc != 0) {
			json_object_set_new(item, "error", ctrl_fail(report, object, "drbdadm %s: %s",
								     what, storage_said(out)));
			free(out);
			return -1;
		}
		free(out);
		if (image)
			ctrl_changed(report, object, "filled from %s: Primary with --force, full "
				     "sync to the peer", image);
		else
			ctrl_changed(report, object, "blank: new current UUID, bitmap cleared (no "
				     "initial sync)");
		return changes + 1;
	}
	/* grown LVs: DRBD takes the smaller of the two backing devices, so a resize before the
	 * peer's LV grew changes nothing and is tried again; thin LVs read zeros where they grew
	 * on both nodes, so the new area needs no sync (--assume-clean) */
	if (!shrink_refused && strcmp(field(st, "connection"), "Connected") == 0 &&
	    strcmp(field(st, "disk"), "UpToDate") == 0 &&
	    strcmp(field(st, "peer_disk"), "UpToDate") == 0) {
		char device[32];
		long long lv_bytes = fileio_block_bytes(lv_path), drbd;
		json_t *last = json_object_get(v->resized, name);
		snprintf(device, sizeof device, "/dev/drbd%u", config_volume_minor(name));
		drbd = fileio_block_bytes(device);
		if (drbd > 0 && drbd + md_bytes(lv_bytes) < lv_bytes &&
		    (!last || now_s() - json_integer_value(last) >= RESIZE_RETRY_S)) {
			json_object_set_new(v->resized, name, json_integer(now_s()));
			rc = run(&out, DRBDADM, "--", "--assume-clean", "resize", name, NULL);
			if (rc == 0 && fileio_block_bytes(device) > drbd) {
				ctrl_changed(report, object, "resized online: %s from %lldMi to %lldMi",
					     device, drbd / MIB, fileio_block_bytes(device) / MIB);
				changes++;
			} else if (rc != 0) {
				json_object_set_new(item, "error", ctrl_fail(report, object, "drbdadm "
						    "resize (tried again in %d s): %s", RESIZE_RETRY_S,
						    storage_said(out)));
			}
			free(out);
			out = NULL;
		}
	}
	/* the role follows the VM */
	want_primary = vm_wants(config, me, name, &vm);
	json_object_set_new(item, "vm", vm ? json_string(vm) : json_null());
	if (strcmp(field(st, "connection"), "Connected") == 0) {
		/* the peer is back: an operator's peer-down statement is spent */
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s" DRBD_PEER_DOWN_SUFFIX, v->run_dir, name);
		if (unlink(path) == 0)
			ctrl_changed(report, object, "the peer is connected again: peer-down cleared");
		json_object_del(v->refused, name);
	} else if (run_file(v, name, DRBD_FENCE_SUFFIX)[0]) {
		json_object_set_new(item, "fence", json_string(run_file(v, name, DRBD_FENCE_SUFFIX)));
	}
	if (run_file(v, name, DRBD_PEER_DOWN_SUFFIX)[0])
		json_object_set_new(item, "peer_down", json_true());
	/* a split brain DRBD did not resolve (its split-brain handler wrote NAME.split-brain):
	 * reported until the peer is connected again, which only the operator's choice does */
	if (strcmp(field(st, "connection"), "Connected") == 0) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s" DRBD_SPLIT_BRAIN_SUFFIX, v->run_dir, name);
		if (unlink(path) == 0)
			ctrl_changed(report, object, "connected again: the split brain is resolved");
	} else if (run_file(v, name, DRBD_SPLIT_BRAIN_SUFFIX)[0]) {
		split = true;
		json_object_set_new(item, "split_brain", json_true());
	}
	if (want_primary && strcmp(field(st, "role"), "Primary") != 0) {
		const char *disk = field(st, "disk"), *connection = field(st, "connection");
		bool connected = strcmp(connection, "Connected") == 0;
		/* back alone after both nodes were lost: this copy is Consistent (DRBD cannot know
		 * whether the peer went on without it); the operator's peer-down statement makes it
		 * the current data. Should the peer come back with newer writes, DRBD finds a split
		 * brain and nothing is discarded automatically (README.md, "Back alone") */
		if (strcmp(disk, "Consistent") == 0 && !connected && !split &&
		    strcmp(connection, "StandAlone") != 0 &&
		    run_file(v, name, DRBD_PEER_DOWN_SUFFIX)[0]) {
			if (run(&out, DRBDADM, "primary", "--force", name, NULL) != 0) {
				json_object_set_new(item, "error", ctrl_fail(report, object, "drbdadm "
						    "primary --force (peer-down stated, this copy "
						    "Consistent): %s", storage_said(out)));
				free(out);
				return -1;
			}
			free(out);
			ctrl_changed(report, object, "Primary (VM %s), forced: this copy was Consistent "
				     "and the operator stated the peer %s is down; it is the current data "
				     "now", vm, field(item, "peer"));
			return changes + 1;
		}
		if (strcmp(disk, "UpToDate") != 0) {
			json_object_set_new(item, "error", ctrl_fail(report, object, "not promoted for "
					    "VM %s: this node's disk is %s, not UpToDate%s", vm, disk,
					    strcmp(disk, "Outdated") == 0 ? " (the peer went on without "
					    "this copy: it is brought up to date when the peer connects)" :
					    strcmp(disk, "Consistent") == 0 ? " (not known current: the peer "
					    "has not been seen since this node started; waiting for it; if it is "
					    "lost for good, cairnctl volume peer-down makes this copy the "
					    "current data)" : ""));
			return -1;
		}
		if (split) {
			json_object_set_new(item, "error", ctrl_fail(report, object, "not promoted for "
					    "VM %s: split brain (%s); " SPLIT_BRAIN_HOW, vm, connection,
					    SPLIT_BRAIN_ARGS(name, me, field(item, "peer"))));
			return -1;
		}
		if (strcmp(connection, "StandAlone") == 0) {
			json_object_set_new(item, "error", ctrl_fail(report, object, "not promoted for "
					    "VM %s: StandAlone (not connected and not trying: a split "
					    "brain?); the operator decides", vm));
			return -1;
		}
		/* not connected and the peer not known Outdated: `drbdadm primary` runs the
		 * fence-peer handler (fence.c), which asks the peer to outdate itself; when the peer
		 * cannot be reached it refuses unless the operator stated the peer is down */
		json_t *last = json_object_get(v->refused, name);
		if (!connected && strcmp(field(st, "peer_disk"), "Outdated") != 0 && last &&
		    now_s() - json_integer_value(last) < FENCE_RETRY_S) {
			json_object_set_new(item, "error", ctrl_fail(report, object, "not promoted for "
					    "VM %s: the peer %s is not connected (%s) and not known "
					    "Outdated: %s", vm, field(item, "peer"), connection,
					    run_file(v, name, DRBD_FENCE_SUFFIX)));
			return -1;
		}
		if (run(&out, DRBDADM, "primary", name, NULL) != 0) {
			json_object_set_new(v->refused, name, json_integer(now_s()));
			json_object_set_new(item, "error", ctrl_fail(report, object, "drbdadm primary: "
					    "%s%s%s", storage_said(out), connected ? "" : "; fence-peer: ",
					    connected ? "" : run_file(v, name, DRBD_FENCE_SUFFIX)));
			free(out);
			return -1;
		}
		json_object_del(v->refused, name);
		free(out);
		ctrl_changed(report, object, "Primary (VM %s)", vm);
		return changes + 1;
	}
	if (!want_primary && strcmp(field(st, "role"), "Primary") == 0) {
		if (run(&out, DRBDADM, "secondary", name, NULL) != 0) {
			json_object_set_new(item, "error", ctrl_fail(report, object, "drbdadm "
					    "secondary: %s", storage_said(out)));
			free(out);
			return -1;
		}
		free(out);
		ctrl_changed(report, object, "Secondary (no VM of this node uses it)");
		return changes + 1;
	}
	if (split)
		json_object_set_new(item, "error", ctrl_fail(report, object, "split brain: both nodes "
				    "wrote while disconnected (%s, %s here); nothing is discarded "
				    "automatically; " SPLIT_BRAIN_HOW, field(st, "connection"),
				    field(st, "role"), SPLIT_BRAIN_ARGS(name, me, field(item, "peer"))));
	else if (strcmp(field(st, "connection"), "StandAlone") == 0)
		json_object_set_new(item, "error", ctrl_fail(report, object, "StandAlone: not "
				    "connected to the peer and not trying (a split brain?); nothing "
				    "is discarded automatically"));
	return changes;
}

/* The Volumes whose resource file is in the run folder but which this node's config no longer
 * has (KEEP: name -> true): each is taken down (`drbdadm down`, refused by DRBD while a VM still
 * holds the device: reported and tried again), then by its NAME.reclaim policy the LV is kept
 * (retain) or its metadata wiped and the LV removed (delete); then its run files go. Changes,
 * or -1 when one failed (reported). */
static int remove_gone(struct volumes *v, const json_t *keep, json_t *status,
		       struct ctrl_report *report)
{
	static const char *const suffixes[] = { ".disk", DRBD_PEER_SUFFIX, DRBD_PEER_DOWN_SUFFIX,
		DRBD_FENCE_SUFFIX, DRBD_SPLIT_BRAIN_SUFFIX, RECLAIM_SUFFIX, ".res", NULL };
	struct dirent **list = NULL;
	int n = scandir(v->run_dir, &list, NULL, alphasort), changes = 0;
	bool failed = false;

	for (int i = 0; i < n; i++) {
		char name[256], object[300], policy[16] = "", vg[128] = "", device[PATH_MAX] = "";
		char *out = NULL, path[PATH_MAX];
		size_t len = strlen(list[i]->d_name);
		if (len <= 4 || strcmp(list[i]->d_name + len - 4, ".res") != 0 || len - 4 >= sizeof name) {
			free(list[i]);
			continue;
		}
		snprintf(name, sizeof name, "%.*s", (int)(len - 4), list[i]->d_name);
		free(list[i]);
		if (json_object_get(keep, name))
			continue;
		snprintf(object, sizeof object, "volume %s", name);
		if (json_object_get(status, name)) {
			if (run(&out, DRBDADM, "down", name, NULL) != 0) {
				ctrl_fail(report, object, "removed from the config, but drbdadm down "
					  "failed (a VM still holding it?): %s", storage_said(out));
				free(out);
				failed = true;
				continue;
			}
			free(out);
			out = NULL;
			ctrl_changed(report, object, "removed from the config: DRBD resource down");
			changes++;
		}
		if (sscanf(run_file(v, name, RECLAIM_SUFFIX), "%15s %127s %4095s", policy, vg,
			   device) == 3 && (strcmp(policy, "delete") == 0 ||
					    strcmp(policy, RECLAIM_WIPED) == 0)) {
			char lv[512];
			/* wipe-md once: an lvremove that failed is tried again at the next pass,
			 * and a second wipe-md would fail on the metadata already gone */
			if (strcmp(policy, "delete") == 0) {
				char *text = NULL;
				snprintf(path, sizeof path, "%s/%s" RECLAIM_SUFFIX, v->run_dir, name);
				if (run(&out, DRBDADM, "--", "--force", "wipe-md", name, NULL) != 0) {
					ctrl_fail(report, object, "reclaim delete: drbdadm wipe-md: %s",
						  storage_said(out));
					free(out);
					failed = true;
					continue;
				}
				free(out);
				out = NULL;
				if (asprintf(&text, RECLAIM_WIPED " %s %s\n", vg, device) < 0)
					abort();
				if (fileio_write_if_changed(path, text, 0644) < 0)
					ctrl_fail(report, object, "%s: %s (the LV is removed now; should "
						  "that fail, the next pass stops at wipe-md)", path,
						  strerror(errno));
				free(text);
			}
			snprintf(lv, sizeof lv, "%s/" DRBD_LV_PREFIX "%s", vg, name);
			if (run(&out, v->lvm, "lvremove", "--devices", device, "--yes", lv, NULL) != 0) {
				ctrl_fail(report, object, "reclaim delete: lvm lvremove %s: %s", lv,
					  storage_said(out));
				free(out);
				failed = true;
				continue;
			}
			free(out);
			ctrl_changed(report, object, "reclaim delete: DRBD metadata wiped, LV %s removed",
				     lv);
		} else if (vg[0]) {
			ctrl_changed(report, object, "reclaim retain: LV %s/" DRBD_LV_PREFIX "%s kept "
				     "with its data (a Volume named %s attaches it again)", vg, name, name);
		}
		for (const char *const *suffix = suffixes; *suffix; suffix++) {
			snprintf(path, sizeof path, "%s/%s%s", v->run_dir, name, *suffix);
			unlink(path);
		}
		json_object_del(v->refused, name);
		json_object_del(v->resized, name);
		changes++;
	}
	free(list);
	return failed ? -1 : changes;
}

/* RUN_DIR/identity/{ca.crt,node.crt,node.key}: this node's API identity for the fence-peer
 * handler's call to the peer's cairnd (the directory 0700, the key 0600). */
static void write_identity(const struct volumes *v, const json_t *machine, struct ctrl_report *report)
{
	const json_t *identity = json_object_get(json_object_get(machine, "spec"), "identity");
	static const char *const files[][2] = { { "ca", "ca.crt" }, { "cert", "node.crt" },
						{ "key", "node.key" } };
	char dir[PATH_MAX], path[PATH_MAX + 16];

	if (!identity)
		return;
	snprintf(dir, sizeof dir, "%s/" DRBD_IDENTITY_DIR, v->run_dir);
	fileio_mkdirs(dir, 0700);
	chmod(dir, 0700);
	for (size_t i = 0; i < 3; i++) {
		const char *text = json_string_value(json_object_get(identity, files[i][0]));
		snprintf(path, sizeof path, "%s/%s", dir, files[i][1]);
		if (text && fileio_write_if_changed(path, text, i == 2 ? 0600 : 0644) < 0)
			ctrl_fail(report, "drbd", "%s: %s", path, strerror(errno));
	}
}

int volumes_reconcile(void *state, const json_t *config, struct ctrl_report *report)
{
	struct volumes *v = state;
	const char *me = config ? node_name(config) : NULL;
	const json_t *machine = config ? config_find(config, "MachineConfig", NULL) : NULL;
	const char *state_pool = json_string_value(json_object_get(json_object_get(json_object_get(
		json_object_get(machine, "spec"), "storage"), "state"), "pool"));
	json_t *items = json_array(), *pools = resources_get("pools"), *status = NULL, *doc;
	json_t *keep = json_object();
	int changes = 0;
	bool failed = false;
	size_t i;

	json_array_foreach(config, i, doc) {
		const json_t *spec = json_object_get(doc, "spec"), *node;
		const char *name = json_string_value(json_object_get(json_object_get(doc, "metadata"),
								     "name"));
		size_t index, found = SIZE_MAX;

		if (!me || strcmp(json_string_value(json_object_get(doc, "kind")) ?: "", "Volume") != 0 ||
		    !name)
			continue;
		json_array_foreach(json_object_get(spec, "nodes"), index, node)
			if (strcmp(field(node, "name"), me) == 0)
				found = index;
		if (found == SIZE_MAX)
			continue;
		json_object_set_new(keep, name, json_true());
		const json_t *peer = json_array_get(json_object_get(spec, "nodes"), 1 - found);
		json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "id", name,
					 "name", name, "node", me, "peer", field(peer, "name"),
					 "peer_address", field(peer, "address"),
					 "minor", (int)config_volume_minor(name),
					 "port", (int)config_volume_port(name));
		char device[32];
		if (!item)
			abort();
		snprintf(device, sizeof device, "/dev/drbd%u", config_volume_minor(name));
		json_object_set_new(item, "device", json_string(device));
		json_object_set_new(item, "size", json_incref(json_object_get(spec, "size")));
		json_object_set_new(item, "split_brain", json_false());
		if (!status) {
			status = v->loaded ? events() : json_object();
			write_identity(v, machine, report);
		}
		int rc = one_volume(v, config, doc, found, state_pool, pools, status, item, report);
		if (rc < 0)
			failed = true;
		else
			changes += rc;
		if (rc != 0) {   /* something changed (or the module just loaded): read again */
			json_decref(status);
			status = events();
		}
		const json_t *st = json_object_get(status, name);
		static const char *const keys[] = { "role", "peer_role", "connection", "disk",
						    "peer_disk", "replication", "sync_percent", NULL };
		for (const char *const *k = keys; *k; k++) {
			json_t *value = json_object_get(st, *k);
			json_object_set_new(item, *k, value ? json_incref(value) : json_null());
		}
		char dev[32];
		snprintf(dev, sizeof dev, "/dev/drbd%u", config_volume_minor(name));
		json_object_set_new(item, "size_bytes", json_integer(fileio_block_bytes(dev)));
		json_array_append_new(items, item);
	}
	/* Volumes gone from the config (only with a config that names this node: a node in
	 * maintenance mode keeps them all) */
	if (config && me) {
		int rc;
		if (!status)
			status = v->loaded || access("/proc/drbd", F_OK) == 0 ? events() : json_object();
		rc = remove_gone(v, keep, status, report);
		if (rc < 0)
			failed = true;
		else
			changes += rc;
	}
	json_decref(keep);
	json_decref(status);
	json_decref(pools);
	resources_publish("volumes", items);
	ctrl_account(report, 0, failed);
	return failed ? -1 : changes;
}
