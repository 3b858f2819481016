/* disks.c - the node's block devices from sysfs: sizes, models, serials, the stable
 * /dev/disk/by-id/ names udev would give them (the image has no udev), whether each is in
 * use, and resolving a config's disk path to a kernel name. Reads only; never opens a disk. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fileio.h"
#include "storage.h"

#define BY_ID "/dev/disk/by-id/"

/* SYSFS/block/NAME/FILE's first line, trimmed, or NULL (a new string). */
static char *sys_read(const char *sysfs, const char *name, const char *file)
{
	char path[PATH_MAX], *text;
	size_t len;

	snprintf(path, sizeof path, "%s/block/%s/%s", sysfs, name, file);
	text = fileio_read(path, 4096, &len);
	if (!text)
		return NULL;
	text[strcspn(text, "\n")] = '\0';
	len = strlen(text);
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		text[--len] = '\0';
	size_t start = strspn(text, " \t");
	memmove(text, text + start, len - start + 1);
	if (!text[0]) {
		free(text);
		return NULL;
	}
	return text;
}

static bool skipped_name(const char *name)
{
	static const char *const prefixes[] = { "loop", "ram", "zram", "drbd", "dm-", "nbd", "md",
						"sr", "fd", NULL };

	for (size_t i = 0; prefixes[i]; i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* As udev's replace_chars: whitespace runs become one '_', other characters outside
 * [0-9A-Za-z#+-.:=@_] become '_'. */
static void udev_clean(const char *in, char *out, size_t size)
{
	size_t n = 0;
	bool space = false;

	for (; *in && n + 1 < size; in++) {
		unsigned char c = (unsigned char)*in;
		if (isspace(c)) {
			space = true;
			continue;
		}
		if (space && n > 0)
			out[n++] = '_';
		space = false;
		if (n + 1 < size)
			out[n++] = isalnum(c) || strchr("#+-.:=@_", c) ? (char)c : '_';
	}
	out[n] = '\0';
}

/* The unit serial number of a SCSI device (VPD page 0x80), or NULL. */
static char *vpd_serial(const char *sysfs, const char *name)
{
	char path[PATH_MAX], *raw, *serial;
	size_t len;

	snprintf(path, sizeof path, "%s/block/%s/device/vpd_pg80", sysfs, name);
	raw = fileio_read(path, 1024, &len);
	if (!raw || len < 4 || (size_t)(unsigned char)raw[3] + 4 > len) {
		free(raw);
		return NULL;
	}
	serial = strndup(raw + 4, (unsigned char)raw[3]);
	free(raw);
	return serial;
}

static void add_name(json_t *names, const char *prefix, const char *a, const char *b)
{
	char raw[512], clean[512], full[600];

	if (!a || !a[0])
		return;
	snprintf(raw, sizeof raw, "%s%s%s", a, b && b[0] ? "_" : "", b && b[0] ? b : "");
	udev_clean(raw, clean, sizeof clean);
	if (!clean[0])
		return;
	snprintf(full, sizeof full, "%s%s", prefix, clean);
	json_array_append_new(names, json_string(full));
}

json_t *storage_by_id_names(const char *sysfs, const char *name)
{
	json_t *names = json_array();

	if (strncmp(name, "vd", 2) == 0) {
		char *serial = sys_read(sysfs, name, "serial");
		add_name(names, "virtio-", serial, NULL);
		free(serial);
	} else if (strncmp(name, "nvme", 4) == 0) {
		char *model = sys_read(sysfs, name, "device/model");
		char *serial = sys_read(sysfs, name, "device/serial");
		char *wwid = sys_read(sysfs, name, "wwid");
		if (model && serial)
			add_name(names, "nvme-", model, serial);
		add_name(names, "nvme-", wwid, NULL);
		free(model);
		free(serial);
		free(wwid);
	} else if (strncmp(name, "sd", 2) == 0) {
		char *vendor = sys_read(sysfs, name, "device/vendor");
		char *model = sys_read(sysfs, name, "device/model");
		char *serial = vpd_serial(sysfs, name);
		char *wwid = sys_read(sysfs, name, "device/wwid");
		char trimmed[256] = "";
		if (serial) {
			char *s = serial;
			while (isspace((unsigned char)*s))
				s++;
			snprintf(trimmed, sizeof trimmed, "%s", s);
			for (size_t n = strlen(trimmed); n && isspace((unsigned char)trimmed[n - 1]); n--)
				trimmed[n - 1] = '\0';
		}
		if (vendor && strcmp(vendor, "ATA") == 0 && model && trimmed[0])
			add_name(names, "ata-", model, trimmed);
		else if (vendor && model && trimmed[0]) {
			char both[300];
			snprintf(both, sizeof both, "%s_%s", vendor, model);
			add_name(names, "scsi-S", both, trimmed);
		}
		if (wwid && strncmp(wwid, "naa.", 4) == 0) {
			char hex[300];
			snprintf(hex, sizeof hex, "0x%s", wwid + 4);
			add_name(names, "wwn-", hex, NULL);
		}
		free(vendor);
		free(model);
		free(serial);
		free(wwid);
	}
	return names;
}

static unsigned long long sys_number(const char *sysfs, const char *name, const char *file)
{
	char *text = sys_read(sysfs, name, file);
	unsigned long long value = text ? strtoull(text, NULL, 10) : 0;

	free(text);
	return value;
}

void storage_human_size(unsigned long long bytes, char *buf, size_t size)
{
	static const char *const units[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi" };
	double value = (double)bytes;
	size_t unit = 0;

	while (value >= 1024 && unit + 1 < sizeof units / sizeof units[0]) {
		value /= 1024;
		unit++;
	}
	if (unit == 0)
		snprintf(buf, size, "%llu", bytes);
	else
		snprintf(buf, size, "%.1f%s", value, units[unit]);
}

/* The partitions of disk NAME (kernel names), sorted. */
static json_t *partitions_of(const char *sysfs, const char *name)
{
	char path[PATH_MAX];
	json_t *parts = json_array();
	struct dirent **list = NULL;
	int n;

	snprintf(path, sizeof path, "%s/block/%s", sysfs, name);
	n = scandir(path, &list, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char file[PATH_MAX + 300];
		snprintf(file, sizeof file, "%s/%s/partition", path, list[i]->d_name);
		if (strncmp(list[i]->d_name, name, strlen(name)) == 0 && access(file, F_OK) == 0)
			json_array_append_new(parts, json_string(list[i]->d_name));
		free(list[i]);
	}
	free(list);
	return parts;
}

/* "MAJ:MIN" of the block device named NAME (disk or partition), from sysfs. */
static bool dev_number(const char *sysfs, const char *disk, const char *name, char *buf,
		       size_t size)
{
	char file[PATH_MAX];
	char *text;

	if (strcmp(disk, name) == 0)
		snprintf(file, sizeof file, "%s/block/%s/dev", sysfs, disk);
	else
		snprintf(file, sizeof file, "%s/block/%s/%s/dev", sysfs, disk, name);
	text = fileio_read(file, 64, NULL);
	if (!text)
		return false;
	text[strcspn(text, "\n")] = '\0';
	snprintf(buf, size, "%s", text);
	free(text);
	return true;
}

/* Where MAJMIN is mounted (the first mount point in MOUNTINFO), or NULL; a new string. */
static char *mounted_at(const char *mountinfo, const char *majmin)
{
	const char *line = mountinfo;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		char id[32], point[PATH_MAX];
		unsigned a, b;
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &a, &b, point) == 3) {
			snprintf(id, sizeof id, "%u:%u", a, b);
			if (strcmp(id, majmin) == 0)
				return strdup(point);
		}
		line = end ? end + 1 : NULL;
	}
	return NULL;
}

/* Whether the device-mapper device HOLDER belongs to the volume group whose device-mapper
 * names begin with PREFIX ("cairn--data-" for VG cairn-data). */
static bool holder_is_own(const char *sysfs, const char *holder, const char *prefix)
{
	char path[PATH_MAX], *dm_name;
	bool own;

	if (!prefix)
		return false;
	snprintf(path, sizeof path, "%s/block/%s/dm/name", sysfs, holder);
	dm_name = fileio_read(path, 4096, NULL);
	own = dm_name && strncmp(dm_name, prefix, strlen(prefix)) == 0;
	free(dm_name);
	return own;
}

/* The first holder of DISK (or of its partition NAME) that is not one of OWN_PREFIX's
 * device-mapper devices: "dm-0 (name)" for a device-mapper device, else the kernel name. */
static char *first_holder(const char *sysfs, const char *disk, const char *name,
			  const char *own_prefix)
{
	char path[PATH_MAX];
	DIR *dir;
	struct dirent *entry;
	char *holder = NULL;

	if (strcmp(disk, name) == 0)
		snprintf(path, sizeof path, "%s/block/%s/holders", sysfs, disk);
	else
		snprintf(path, sizeof path, "%s/block/%s/%s/holders", sysfs, disk, name);
	dir = opendir(path);
	while (dir && !holder && (entry = readdir(dir))) {
		char dm_path[PATH_MAX], *dm_name;
		if (entry->d_name[0] == '.' || holder_is_own(sysfs, entry->d_name, own_prefix))
			continue;
		snprintf(dm_path, sizeof dm_path, "%s/block/%s/dm/name", sysfs, entry->d_name);
		dm_name = fileio_read(dm_path, 4096, NULL);
		if (dm_name && dm_name[0]) {
			dm_name[strcspn(dm_name, "\n")] = '\0';
			if (asprintf(&holder, "%s (%s)", entry->d_name, dm_name) < 0)
				holder = NULL;
		} else
			holder = strdup(entry->d_name);
		free(dm_name);
	}
	if (dir)
		closedir(dir);
	return holder;
}

static char *in_swap(const char *swaps, const char *name)
{
	char needle[300];

	snprintf(needle, sizeof needle, "/dev/%s ", name);
	return swaps && strstr(swaps, needle) ? strdup("swap") : NULL;
}

char *storage_disk_in_use(const char *sysfs, const char *name, const char *mountinfo,
			  const char *swaps, const char *own_vg)
{
	char own_prefix[160];
	json_t *parts = partitions_of(sysfs, name), *part;
	char *why = NULL;
	size_t i;

	if (own_vg) {
		storage_dm_name(own_vg, "", own_prefix, sizeof own_prefix);   /* "cairn--data-" */
	}
	json_array_insert_new(parts, 0, json_string(name));
	json_array_foreach(parts, i, part) {
		const char *dev = json_string_value(part);
		char majmin[32], *text = NULL;
		if (mountinfo && dev_number(sysfs, name, dev, majmin, sizeof majmin) &&
		    (text = mounted_at(mountinfo, majmin))) {
			if (asprintf(&why, "%s is mounted at %s", dev, text) < 0)
				why = NULL;
		} else if ((text = first_holder(sysfs, name, dev, own_vg ? own_prefix : NULL))) {
			if (asprintf(&why, "%s is held by %s", dev, text) < 0)
				why = NULL;
		} else if ((text = in_swap(swaps, dev))) {
			if (asprintf(&why, "%s is swap", dev) < 0)
				why = NULL;
		}
		free(text);
		if (why)
			break;
	}
	json_decref(parts);
	return why;
}

static bool is_named(const json_t *named, const char *name)
{
	const json_t *item;
	size_t i;

	json_array_foreach(named, i, item)
		if (json_is_string(item) && strcmp(json_string_value(item), name) == 0)
			return true;
	return false;
}

json_t *storage_disks_scan(const char *sysfs, const json_t *named)
{
	char path[PATH_MAX];
	struct dirent **list = NULL;
	json_t *disks = json_array();
	char *mountinfo = fileio_read("/proc/self/mountinfo", 4 << 20, NULL);
	char *swaps = fileio_read("/proc/swaps", 1 << 20, NULL);
	int n;

	snprintf(path, sizeof path, "%s/block", sysfs);
	n = scandir(path, &list, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		char size[32], *model, *serial, *why;
		unsigned long long bytes;
		json_t *item;

		if (name[0] == '.' || (skipped_name(name) && !is_named(named, name))) {
			free(list[i]);
			continue;
		}
		bytes = sys_number(sysfs, name, "size") * 512ULL;
		storage_human_size(bytes, size, sizeof size);
		model = sys_read(sysfs, name, "device/model");
		serial = sys_read(sysfs, name, "serial");
		if (!serial)
			serial = sys_read(sysfs, name, "device/serial");
		why = storage_disk_in_use(sysfs, name, mountinfo, swaps, NULL);
		item = json_pack("{s:s, s:s, s:s+, s:I, s:s, s:s?, s:s?, s:o, s:b, s:b, s:o, s:s?}",
				 "id", name, "name", name, "device", "/dev/", name,
				 "size_bytes", (json_int_t)bytes, "size", size, "model", model,
				 "serial", serial, "by_id", storage_by_id_names(sysfs, name),
				 "removable", sys_number(sysfs, name, "removable") != 0,
				 "read_only", sys_number(sysfs, name, "ro") != 0,
				 "partitions", partitions_of(sysfs, name), "in_use", why);
		if (item)
			json_array_append_new(disks, item);
		free(model);
		free(serial);
		free(why);
		free(list[i]);
	}
	free(list);
	free(mountinfo);
	free(swaps);
	return disks;
}

int storage_resolve(const char *sysfs, const char *path, char *name, size_t size, char *why,
		    size_t why_size)
{
	char real[PATH_MAX];
	struct stat st;

	if (realpath(path, real) && stat(real, &st) == 0) {
		char link[PATH_MAX], target[PATH_MAX];
		ssize_t len;
		if (!S_ISBLK(st.st_mode)) {
			snprintf(why, why_size, "%s is not a block device", real);
			return -1;
		}
		/* the kernel name from sysfs: /sys/dev/block/MAJ:MIN -> .../block/NAME */
		snprintf(link, sizeof link, "%s/dev/block/%u:%u", sysfs, major(st.st_rdev),
			 minor(st.st_rdev));
		len = readlink(link, target, sizeof target - 1);
		if (len <= 0) {
			snprintf(why, why_size, "%s: no %s", real, link);
			return -1;
		}
		target[len] = '\0';
		snprintf(name, size, "%s", strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
		return 0;
	}
	if (strncmp(path, BY_ID, strlen(BY_ID)) == 0) {
		char dir[PATH_MAX];
		struct dirent **list = NULL;
		int n, found = -1;

		snprintf(dir, sizeof dir, "%s/block", sysfs);
		n = scandir(dir, &list, NULL, alphasort);
		for (int i = 0; i < n; i++) {
			if (found < 0 && list[i]->d_name[0] != '.') {
				json_t *names = storage_by_id_names(sysfs, list[i]->d_name), *item;
				size_t k;
				json_array_foreach(names, k, item)
					if (strcmp(json_string_value(item), path + strlen(BY_ID)) == 0)
						found = i;
				json_decref(names);
				if (found == i)
					snprintf(name, size, "%s", list[i]->d_name);
			}
			free(list[i]);
		}
		free(list);
		if (found >= 0)
			return 0;
	}
	snprintf(why, why_size, "not found (no such block device on this node)");
	return -1;
}

void storage_by_id_links(const char *dev, const json_t *disks)
{
	char dir[PATH_MAX];
	const json_t *disk, *id;
	size_t i, k;
	DIR *d;
	struct dirent *entry;

	snprintf(dir, sizeof dir, "%s/disk/by-id", dev);
	if (fileio_mkdirs(dir, 0755) < 0)
		return;
	json_array_foreach(disks, i, disk) {
		char target[PATH_MAX], have[PATH_MAX];
		snprintf(target, sizeof target, "../../%s", json_string_value(json_object_get(disk, "name")));
		json_array_foreach(json_object_get(disk, "by_id"), k, id) {
			char link[PATH_MAX + 300];
			ssize_t len;
			snprintf(link, sizeof link, "%s/%s", dir, json_string_value(id));
			len = readlink(link, have, sizeof have - 1);
			if (len >= 0) {
				have[len] = '\0';
				if (strcmp(have, target) == 0)
					continue;
				unlink(link);
			}
			if (symlink(target, link) < 0 && errno != EEXIST)
				continue;
		}
	}
	/* links to disks that went away */
	d = opendir(dir);
	while (d && (entry = readdir(d))) {
		char link[PATH_MAX + 300], target[PATH_MAX];
		struct stat st;
		if (entry->d_name[0] == '.')
			continue;
		snprintf(link, sizeof link, "%s/%s", dir, entry->d_name);
		if (readlink(link, target, sizeof target) > 0 && stat(link, &st) < 0 && errno == ENOENT)
			unlink(link);
	}
	if (d)
		closedir(d);
}
