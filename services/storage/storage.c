/* storage.c - the storage controller: publishes the node's disks, makes each pool of
 * MachineConfig's .spec.storage (an LVM thin pool on a whole disk, or a directory), finds it
 * again at boot, mounts the node's state volume and puts the VMs' disk folder on it.
 * Publishes resources disks and pools. See README.md. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "resources.h"
#include "runcmd.h"
#include "storage.h"

#define LVM_TIMEOUT_MS 120000
#define MKFS_TIMEOUT_MS 300000

struct storage {
	char *sysfs, *dev, *state_dir, *vms_dir, *lvm, *mkfs, *modprobe;
	bool dev_links;
	bool modules_loaded;
};


void *storage_init(const struct controller_env *env)
{
	struct storage *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->sysfs = storage_dup_or(NULL, "/sys");
	s->dev = storage_dup_or(NULL, "/dev");
	s->state_dir = storage_dup_or(env->storage_state_dir, STORAGE_STATE_DIR);
	s->vms_dir = storage_dup_or(env->vm_state_dir, "/var/lib/cairn/vms");
	s->lvm = storage_dup_or(env->storage_lvm, STORAGE_LVM);
	s->mkfs = storage_dup_or(NULL, STORAGE_MKFS);
	s->modprobe = storage_dup_or(env->modprobe, "/sbin/modprobe");
	s->dev_links = env->storage_dev_links;
	/* cairnd's own descriptors are not LVM's business (it would warn about each one) */
	setenv("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
	return s;
}

void storage_halt(void *state)
{
	struct storage *s = state;

	if (!s)
		return;
	free(s->sysfs);
	free(s->dev);
	free(s->state_dir);
	free(s->vms_dir);
	free(s->lvm);
	free(s->mkfs);
	free(s->modprobe);
	free(s);
}

/* --- one pool's facts and its resource item ------------------------------------------------ */

struct pool {
	const json_t *spec;            /* the config's item */
	const char *name, *type;
	bool is_state;                 /* holds the state volume */
	char kernel[64];               /* lvm: the disk's kernel name */
	char device[PATH_MAX];         /* lvm: /dev/NAME; file: the directory */
	char vg[64];
	unsigned long long size, free;
	bool ready;                    /* the pool can be used */
	bool state_mounted, vms_mounted;
	json_t *error;                 /* a string, or NULL */
	const char *refusal;           /* the pool's state when refused: "refused", "missing" */
};

static void pool_fail(struct pool *p, struct ctrl_report *report, const char *state,
		      const char *fmt, const char *detail)
{
	char object[128];

	snprintf(object, sizeof object, "pool %s", p->name);
	if (!p->error)
		p->error = ctrl_fail(report, object, fmt, detail);
	if (!p->refusal)
		p->refusal = state;
}

/* --- helpers ------------------------------------------------------------------------------ */

/* Runs lvm SUBCOMMAND --devices DEVICE ARGS... (NULL-ended); *OUT its output. */
static int lvm_run(struct storage *s, const char *device, char **out, const char *subcommand,
		   ...)
{
	char *argv[32];
	size_t n = 0;
	va_list ap;
	int rc;

	argv[n++] = s->lvm;
	argv[n++] = (char *)subcommand;
	argv[n++] = "--devices";
	argv[n++] = (char *)device;
	va_start(ap, subcommand);
	for (const char *arg; n < 31 && (arg = va_arg(ap, const char *));)
		argv[n++] = (char *)arg;
	va_end(ap);
	argv[n] = NULL;
	rc = run_command(argv, out, LVM_TIMEOUT_MS);
	return rc;
}

/* The value of KEY='...' on LINE (LVM's --nameprefixes output) into BUF; false when absent. */
static bool lvm_field(const char *line, const char *key, char *buf, size_t size)
{
	char needle[64];
	const char *start, *end;

	snprintf(needle, sizeof needle, "%s='", key);
	start = strstr(line, needle);
	if (!start)
		return false;
	start += strlen(needle);
	end = strchr(start, '\'');
	if (!end)
		return false;
	snprintf(buf, size, "%.*s", (int)(end - start), start);
	return true;
}


/* Whether PATH is a mount point (SELF_MOUNTINFO's fifth field). */
static bool dir_empty(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *entry;
	bool empty = true;

	while (dir && empty && (entry = readdir(dir)))
		if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
			empty = false;
	if (dir)
		closedir(dir);
	return empty;
}


/* --- lvm pools ----------------------------------------------------------------------------- */

/* "DISK (/dev/NAME)", or the device alone when the config names it so. */
static const char *disk_text(const struct pool *p)
{
	static char text[2 * PATH_MAX + 4];
	const char *disk = json_string_value(json_object_get(p->spec, "disk"));

	if (!disk || strcmp(disk, p->device) == 0)
		snprintf(text, sizeof text, "%s", p->device);
	else
		snprintf(text, sizeof text, "%s (%s)", disk, p->device);
	return text;
}

/* Which volume group the disk belongs to: 1 and VG ("" for a PV without one), 0 when it is no
 * PV, -1 on failure (reported). */
static int pv_of(struct storage *s, struct pool *p, struct ctrl_report *report, char *vg,
		 size_t size)
{
	char *out = NULL;
	int rc = lvm_run(s, p->device, &out, "pvs", "--nameprefixes", "--noheadings", "-o",
			 "pv_name,vg_name", NULL);
	int found = 0;

	if (rc != 0) {
		pool_fail(p, report, "failed", "lvm pvs: %s", storage_said(out));
		free(out);
		return -1;
	}
	for (char *line = out; line && *line;) {
		char *end = strchr(line, '\n');
		char name[PATH_MAX];
		if (end)
			*end = '\0';
		if (lvm_field(line, "LVM2_PV_NAME", name, sizeof name) &&
		    lvm_field(line, "LVM2_VG_NAME", vg, size))
			found = 1;
		line = end ? end + 1 : NULL;
	}
	free(out);
	return found;
}

/* Makes the disk a PV of VG, wiping first when it carries something and the config allows
 * it. 1 when made, -1 refused or failed (reported). */
static int lvm_create(struct storage *s, struct pool *p, struct ctrl_report *report,
		      const char *foreign_vg)
{
	bool wipe = json_is_true(json_object_get(p->spec, "wipe"));
	char why[512], object[128], *out = NULL;
	json_t *sigs;
	char *info = fileio_read("/proc/self/mountinfo", 4 << 20, NULL);
	char *swaps = fileio_read("/proc/swaps", 1 << 20, NULL);
	char *in_use = storage_disk_in_use(s->sysfs, p->kernel, info, swaps, NULL);

	free(info);
	free(swaps);
	snprintf(object, sizeof object, "pool %s", p->name);
	if (in_use) {
		char text[2 * PATH_MAX];
		snprintf(text, sizeof text, "%s is in use: %s; Cairn does not touch it, "
			 "wipe or not", disk_text(p), in_use);
		free(in_use);
		pool_fail(p, report, "refused", "%s", text);
		return -1;
	}
	sigs = storage_signatures(p->device, why, sizeof why);
	if (!sigs) {
		pool_fail(p, report, "failed", "%s", why);
		return -1;
	}
	if (json_array_size(sigs) > 0 || foreign_vg) {
		char what[512];
		const json_t *first = json_array_get(sigs, 0);
		if (foreign_vg && foreign_vg[0])
			snprintf(what, sizeof what, "an LVM physical volume of volume group %s",
				 foreign_vg);
		else
			snprintf(what, sizeof what, "a%s %s signature (%s)",
				 strcmp(json_string_value(json_object_get(first, "usage")) ?: "",
					"partition table") == 0 ? "" : "n",
				 json_string_value(json_object_get(first, "type")),
				 json_string_value(json_object_get(first, "usage")));
		if (!wipe) {
			char text[2 * PATH_MAX];
			snprintf(text, sizeof text, "%s carries %s; Cairn leaves it alone: set "
				 "wipe: true on this pool to let Cairn erase the disk", disk_text(p),
				 what);
			json_decref(sigs);
			pool_fail(p, report, "refused", "%s", text);
			return -1;
		}
		if (storage_wipe(p->device, why, sizeof why) < 0) {
			json_decref(sigs);
			pool_fail(p, report, "failed", "wipe: %s", why);
			return -1;
		}
		ctrl_changed(report, object, "%s wiped (wipe: true): it carried %s", disk_text(p),
			     what);
	}
	json_decref(sigs);
	if (lvm_run(s, p->device, &out, "pvcreate", "--yes", p->device, NULL) != 0) {
		pool_fail(p, report, "failed", "lvm pvcreate: %s", storage_said(out));
		free(out);
		return -1;
	}
	free(out);
	out = NULL;
	if (lvm_run(s, p->device, &out, "vgcreate", "--yes", p->vg, p->device, NULL) != 0) {
		pool_fail(p, report, "failed", "lvm vgcreate: %s", storage_said(out));
		free(out);
		return -1;
	}
	free(out);
	ctrl_changed(report, object, "volume group %s made on %s", p->vg, disk_text(p));
	return 1;
}

struct lv_facts {
	bool pool, pool_active, state, state_active;
	unsigned long long pool_size;
	double data_percent;
};

static int lvs(struct storage *s, struct pool *p, struct ctrl_report *report,
	       struct lv_facts *facts)
{
	char *out = NULL;
	int rc = lvm_run(s, p->device, &out, "lvs", "--nameprefixes", "--noheadings", "--units",
			 "b", "--nosuffix", "-o", "lv_name,lv_size,data_percent,lv_active", p->vg,
			 NULL);

	memset(facts, 0, sizeof *facts);
	if (rc != 0) {
		pool_fail(p, report, "failed", "lvm lvs: %s", storage_said(out));
		free(out);
		return -1;
	}
	for (char *line = out; line && *line;) {
		char *end = strchr(line, '\n');
		char name[128], size[64], percent[64], active[64];
		if (end)
			*end = '\0';
		if (lvm_field(line, "LVM2_LV_NAME", name, sizeof name)) {
			bool is_active = lvm_field(line, "LVM2_LV_ACTIVE", active, sizeof active) &&
				strcmp(active, "active") == 0;
			if (strcmp(name, STORAGE_THIN_POOL) == 0) {
				facts->pool = true;
				facts->pool_active = is_active;
				if (lvm_field(line, "LVM2_LV_SIZE", size, sizeof size))
					facts->pool_size = strtoull(size, NULL, 10);
				if (lvm_field(line, "LVM2_DATA_PERCENT", percent, sizeof percent))
					facts->data_percent = strtod(percent, NULL);
			} else if (strcmp(name, STORAGE_STATE_LV) == 0) {
				facts->state = true;
				facts->state_active = is_active;
			}
		}
		line = end ? end + 1 : NULL;
	}
	free(out);
	return 0;
}

static void load_modules(struct storage *s)
{
	if (s->modules_loaded)
		return;
	char *argv[] = { s->modprobe, "-a", "dm_mod", "dm_thin_pool", NULL };
	run_command(argv, NULL, 30000);   /* LVM says what is missing when this failed */
	s->modules_loaded = true;
}

/* The state volume: a thin LV of the pool with ext4, mounted on STATE_DIR. */
static int state_volume(struct storage *s, struct pool *p, struct ctrl_report *report,
			const struct lv_facts *facts, const json_t *state_spec)
{
	char mapper[300], path[PATH_MAX], why[512], object[128], *out = NULL;
	json_t *sigs;
	int changes = 0;

	snprintf(object, sizeof object, "pool %s", p->name);
	storage_dm_name(p->vg, STORAGE_STATE_LV, mapper, sizeof mapper);
	snprintf(path, sizeof path, "%s/mapper/%s", s->dev, mapper);
	if (!facts->state) {
		char size[64];
		json_int_t mib = json_integer_value(json_object_get(state_spec, "size_mib"));
		char thin[160];
		if (mib > 0)
			snprintf(size, sizeof size, "%lldm", (long long)mib);
		else
			snprintf(size, sizeof size, "%llub", facts->pool_size);
		snprintf(thin, sizeof thin, "%s/%s", p->vg, STORAGE_THIN_POOL);
		if (lvm_run(s, p->device, &out, "lvcreate", "--yes", "--type", "thin", "-V", size,
			    "--thinpool", thin, "-n", STORAGE_STATE_LV, NULL) != 0) {
			pool_fail(p, report, "failed", "state volume: lvm lvcreate: %s", storage_said(out));
			free(out);
			return -1;
		}
		free(out);
		out = NULL;
		ctrl_changed(report, object, "state volume %s/%s made (%s)", p->vg, STORAGE_STATE_LV,
			     size);
		changes++;
	}
	if (fileio_is_mount_point(s->state_dir)) {
		p->state_mounted = true;
		return changes;
	}
	sigs = storage_signatures(path, why, sizeof why);
	if (!sigs) {
		pool_fail(p, report, "failed", "state volume: %s", why);
		return -1;
	}
	if (json_array_size(sigs) == 0) {
		char *argv[] = { s->mkfs, "-q", "-F", "-L", "cairn-state", "-E", "nodiscard", path,
				 NULL };
		if (run_command(argv, &out, MKFS_TIMEOUT_MS) != 0) {
			json_decref(sigs);
			pool_fail(p, report, "failed", "state volume: mkfs.ext4: %s", storage_said(out));
			free(out);
			return -1;
		}
		free(out);
		ctrl_changed(report, object, "state volume %s: ext4 made", path);
		changes++;
	} else if (strcmp(json_string_value(json_object_get(json_array_get(sigs, 0), "type")) ?: "",
			  "ext4") != 0) {
		char text[2 * PATH_MAX];
		snprintf(text, sizeof text, "state volume %s carries %s, not ext4; left alone", path,
			 json_string_value(json_object_get(json_array_get(sigs, 0), "type")));
		json_decref(sigs);
		pool_fail(p, report, "refused", "%s", text);
		return -1;
	}
	json_decref(sigs);
	if (fileio_mkdirs(s->state_dir, 0755) < 0 ||
	    mount(path, s->state_dir, "ext4", MS_NOATIME | MS_NODEV | MS_NOSUID, "") < 0) {
		char text[PATH_MAX + 100];
		snprintf(text, sizeof text, "state volume: mount %s on %s: %s", path, s->state_dir,
			 strerror(errno));
		pool_fail(p, report, "failed", "%s", text);
		return -1;
	}
	ctrl_changed(report, object, "state volume %s mounted on %s", path, s->state_dir);
	p->state_mounted = true;
	return changes + 1;
}

static int lvm_pool(struct storage *s, struct pool *p, struct ctrl_report *report,
		    const json_t *state_spec)
{
	const char *disk = json_string_value(json_object_get(p->spec, "disk"));
	char why[512], vg[128] = "", object[128], *out = NULL;
	struct lv_facts facts;
	int changes = 0, rc;

	snprintf(object, sizeof object, "pool %s", p->name);
	snprintf(p->vg, sizeof p->vg, STORAGE_VG_PREFIX "%s", p->name);
	if (storage_resolve(s->sysfs, disk, p->kernel, sizeof p->kernel, why, sizeof why) < 0) {
		char text[2 * PATH_MAX];
		snprintf(text, sizeof text, "disk %s: %s", disk, why);
		pool_fail(p, report, "missing", "%s", text);
		return -1;
	}
	snprintf(p->device, sizeof p->device, "/dev/%s", p->kernel);
	rc = pv_of(s, p, report, vg, sizeof vg);
	if (rc < 0)
		return -1;
	if (rc == 0 || strcmp(vg, p->vg) != 0) {
		/* not ours yet: an orphan PV (ours, stopped between pvcreate and vgcreate) is
		 * taken as it is; any other volume group is foreign */
		if (rc == 1 && vg[0] == '\0') {
			if (lvm_run(s, p->device, &out, "vgcreate", "--yes", p->vg, p->device, NULL) != 0) {
				pool_fail(p, report, "failed", "lvm vgcreate: %s", storage_said(out));
				free(out);
				return -1;
			}
			free(out);
			out = NULL;
			ctrl_changed(report, object, "volume group %s made on %s", p->vg, p->device);
		} else if (lvm_create(s, p, report, rc == 1 ? vg : NULL) < 0) {
			return -1;
		}
		changes++;
	}
	if (lvs(s, p, report, &facts) < 0)
		return -1;
	if (!facts.pool) {
		char thin[16];
		load_modules(s);
		snprintf(thin, sizeof thin, "%s", STORAGE_THIN_POOL);
		if (lvm_run(s, p->device, &out, "lvcreate", "--yes", "--type", "thin-pool", "-l",
			    "95%FREE", "-n", thin, p->vg, NULL) != 0) {
			pool_fail(p, report, "failed", "thin pool: lvm lvcreate: %s", storage_said(out));
			free(out);
			return -1;
		}
		free(out);
		out = NULL;
		ctrl_changed(report, object, "thin pool %s/%s made", p->vg, STORAGE_THIN_POOL);
		changes++;
		if (lvs(s, p, report, &facts) < 0)
			return -1;
	}
	if (!facts.pool_active || (facts.state && !facts.state_active)) {
		load_modules(s);
		if (lvm_run(s, p->device, &out, "vgchange", "--activate", "y", p->vg, NULL) != 0) {
			pool_fail(p, report, "failed", "lvm vgchange -ay: %s", storage_said(out));
			free(out);
			return -1;
		}
		free(out);
		out = NULL;
		ctrl_changed(report, object, "volume group %s activated", p->vg);
		changes++;
		if (lvs(s, p, report, &facts) < 0)
			return -1;
	}
	p->size = facts.pool_size;
	p->free = (unsigned long long)((double)facts.pool_size * (100.0 - facts.data_percent) / 100.0);
	p->ready = true;
	if (p->is_state) {
		rc = state_volume(s, p, report, &facts, state_spec);
		if (rc < 0)
			return -1;
		changes += rc;
	}
	return changes;
}

/* --- file pools ---------------------------------------------------------------------------- */

static int file_pool(struct storage *s, struct pool *p, struct ctrl_report *report)
{
	const char *path = json_string_value(json_object_get(p->spec, "path"));
	char state[PATH_MAX], object[128];
	struct statvfs vfs;
	int changes = 0;

	snprintf(object, sizeof object, "pool %s", p->name);
	snprintf(p->device, sizeof p->device, "%s", path);
	/* the folders above the pool's are made 0755 (a first pool under /var/lib/cairn must not
	 * make that 0700: the unprivileged services live below it), the pool's own 0700 */
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s", path);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if ((slash && slash != parent && fileio_mkdirs(parent, 0755) < 0) ||
	    (mkdir(path, 0700) < 0 && errno != EEXIST) || statvfs(path, &vfs) < 0) {
		char text[PATH_MAX + 100];
		snprintf(text, sizeof text, "%s: %s", path, strerror(errno));
		pool_fail(p, report, "failed", "%s", text);
		return -1;
	}
	p->size = (unsigned long long)vfs.f_blocks * vfs.f_frsize;
	p->free = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	p->ready = true;
	if (!p->is_state)
		return 0;
	if (fileio_is_mount_point(s->state_dir)) {
		p->state_mounted = true;
		return 0;
	}
	snprintf(state, sizeof state, "%s/state", path);
	if (fileio_mkdirs(state, 0755) < 0 || fileio_mkdirs(s->state_dir, 0755) < 0 ||
	    mount(state, s->state_dir, NULL, MS_BIND, NULL) < 0) {
		char text[2 * PATH_MAX + 100];
		snprintf(text, sizeof text, "state volume: bind %s on %s: %s", state, s->state_dir,
			 strerror(errno));
		pool_fail(p, report, "failed", "%s", text);
		return -1;
	}
	ctrl_changed(report, object, "state folder %s bound on %s", state, s->state_dir);
	p->state_mounted = true;
	return changes + 1;
}

/* --- the VMs' folder on the state volume --------------------------------------------------- */

static int vms_on_state(struct storage *s, struct pool *p, struct ctrl_report *report)
{
	char source[PATH_MAX], object[128];

	snprintf(object, sizeof object, "pool %s", p->name);
	if (fileio_is_mount_point(s->vms_dir)) {
		p->vms_mounted = true;
		return 0;
	}
	if (!dir_empty(s->vms_dir)) {
		char text[PATH_MAX + 200];
		snprintf(text, sizeof text, "%s already holds VM disks made before the state volume "
			 "was there: not mounted over them (they stay where they are; a reboot starts "
			 "on the state volume)", s->vms_dir);
		pool_fail(p, report, "failed", "%s", text);
		return -1;
	}
	snprintf(source, sizeof source, "%s/vms", s->state_dir);
	if (fileio_mkdirs(source, 0755) < 0 || fileio_mkdirs(s->vms_dir, 0755) < 0 ||
	    mount(source, s->vms_dir, NULL, MS_BIND, NULL) < 0) {
		char text[2 * PATH_MAX + 100];
		snprintf(text, sizeof text, "bind %s on %s: %s", source, s->vms_dir, strerror(errno));
		pool_fail(p, report, "failed", "%s", text);
		return -1;
	}
	ctrl_changed(report, object, "%s bound on %s: VM disks live on the state volume", source,
		     s->vms_dir);
	p->vms_mounted = true;
	return 1;
}

/* --- the pass ------------------------------------------------------------------------------ */

static json_t *pool_item(struct storage *s, const struct pool *p)
{
	char size[32], free_text[32];
	json_t *item;

	storage_human_size(p->size, size, sizeof size);
	storage_human_size(p->free, free_text, sizeof free_text);
	item = json_pack("{s:s, s:s, s:s, s:O?, s:s?, s:s?}", "id", p->name, "name", p->name,
			 "type", p->type, "disk", json_object_get(p->spec, "disk"),
			 "device", p->device[0] ? p->device : NULL,
			 "vg", p->vg[0] ? p->vg : NULL);
	if (p->ready) {
		json_object_set_new(item, "size", json_string(size));
		json_object_set_new(item, "size_bytes", json_integer((json_int_t)p->size));
		json_object_set_new(item, "free", json_string(free_text));
		json_object_set_new(item, "free_bytes", json_integer((json_int_t)p->free));
	}
	json_object_set_new(item, "state", json_string(p->error ? (p->refusal ? p->refusal : "failed")
						       : "ready"));
	if (p->is_state) {
		json_object_set_new(item, "state_volume", p->state_mounted ?
				    json_string(s->state_dir) : json_null());
		json_object_set_new(item, "vms_on_state", json_boolean(p->vms_mounted));
	}
	if (p->error)
		json_object_set(item, "error", p->error);
	return item;
}

int storage_reconcile(void *state, const json_t *config, struct ctrl_report *report)
{
	struct storage *s = state;
	const json_t *machine = config ? config_find(config, "MachineConfig", NULL) : NULL;
	const json_t *storage = json_object_get(json_object_get(machine, "spec"), "storage");
	const json_t *pools = json_object_get(storage, "pools"), *spec;
	const json_t *state_spec = json_object_get(storage, "state");
	const char *state_pool = json_string_value(json_object_get(state_spec, "pool"));
	json_t *named = json_array(), *disks, *items = json_array(), *disk;
	size_t i, k;
	int changes = 0;
	bool failed = false;

	/* the pools in config order; the state pool's folder for VMs after it */
	json_array_foreach(pools, i, spec) {
		struct pool p = { .spec = spec };
		int rc;
		p.name = json_string_value(json_object_get(spec, "name"));
		p.type = json_string_value(json_object_get(spec, "type"));
		if (!p.name || !p.type)
			continue;
		p.is_state = state_pool && strcmp(state_pool, p.name) == 0;
		rc = strcmp(p.type, "file") == 0 ? file_pool(s, &p, report)
						 : lvm_pool(s, &p, report, state_spec);
		if (rc >= 0 && p.is_state && p.state_mounted)
			rc = vms_on_state(s, &p, report) < 0 ? -1 : rc + 0;
		if (rc < 0)
			failed = true;
		else
			changes += rc;
		if (p.kernel[0])
			json_array_append_new(named, json_pack("{s:s, s:s}", "kernel", p.kernel,
							       "pool", p.name));
		json_array_append_new(items, pool_item(s, &p));
		json_decref(p.error);
	}
	resources_publish("pools", items);

	/* the disks, with the pool that names each */
	json_t *kernel_names = json_array();
	json_array_foreach(named, i, spec)
		json_array_append(kernel_names, json_object_get(spec, "kernel"));
	disks = storage_disks_scan(s->sysfs, kernel_names);
	json_decref(kernel_names);
	json_array_foreach(disks, i, disk) {
		json_array_foreach(named, k, spec)
			if (strcmp(json_string_value(json_object_get(spec, "kernel")),
				   json_string_value(json_object_get(disk, "name"))) == 0)
				json_object_set(disk, "pool", json_object_get(spec, "pool"));
	}
	if (s->dev_links)
		storage_by_id_links(s->dev, disks);
	resources_publish("disks", disks);
	json_decref(named);
	ctrl_account(report, 0, failed);
	return failed ? -1 : changes;
}
