/* signatures.c - what a disk carries, and erasing it, with libblkid (util-linux's probing
 * library, as wipefs uses it): filesystems, RAID and LVM labels, partition tables. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <blkid/blkid.h>

#include "storage.h"

/* A probe of every signature libblkid knows on FD (superblocks and partition tables, all of
 * them, not only the first: BLKID_PROBE_FL_IGNORE_PT off, low probe mode). */
static blkid_probe open_probe(int fd)
{
	blkid_probe pr = blkid_new_probe();

	if (!pr)
		return NULL;
	if (blkid_probe_set_device(pr, fd, 0, 0) < 0) {
		blkid_free_probe(pr);
		return NULL;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_TYPE |
					  BLKID_SUBLKS_USAGE | BLKID_SUBLKS_BADCSUM);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC | BLKID_PARTS_FORCE_GPT);
	return pr;
}

/* Walks the signatures of PR; with WIPE each one is erased as it is found. */
static json_t *walk(blkid_probe pr, bool wipe)
{
	json_t *found = json_array();

	while (blkid_do_probe(pr) == 0) {
		const char *type = NULL, *usage = "filesystem", *offset = NULL;
		if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0) {
			blkid_probe_lookup_value(pr, "USAGE", &usage, NULL);
			blkid_probe_lookup_value(pr, "SBMAGIC_OFFSET", &offset, NULL);
		} else if (blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL) == 0) {
			usage = "partition table";
			blkid_probe_lookup_value(pr, "PTMAGIC_OFFSET", &offset, NULL);
		} else {
			continue;
		}
		json_array_append_new(found, json_pack("{s:s, s:s, s:s}", "type", type, "usage",
						       usage ? usage : "", "offset", offset ? offset : ""));
		if (wipe)
			blkid_do_wipe(pr, 0);
	}
	return found;
}

json_t *storage_signatures(const char *path, char *why, size_t why_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	blkid_probe pr;
	json_t *found;

	if (fd < 0) {
		snprintf(why, why_size, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	pr = open_probe(fd);
	if (!pr) {
		snprintf(why, why_size, "libblkid cannot probe %s", path);
		close(fd);
		return NULL;
	}
	found = walk(pr, false);
	blkid_free_probe(pr);
	close(fd);
	return found;
}

int storage_wipe(const char *path, char *why, size_t why_size)
{
	/* O_EXCL on a block device: refused while anything else has it open exclusively
	 * (mounted, a device-mapper holder, swap) */
	int fd = open(path, O_RDWR | O_EXCL | O_CLOEXEC);
	blkid_probe pr;
	json_t *left;

	if (fd < 0) {
		snprintf(why, why_size, "cannot open %s for wiping: %s", path, strerror(errno));
		return -1;
	}
	pr = open_probe(fd);
	if (!pr) {
		snprintf(why, why_size, "libblkid cannot probe %s", path);
		close(fd);
		return -1;
	}
	json_decref(walk(pr, true));
	blkid_free_probe(pr);
	fsync(fd);
	ioctl(fd, BLKRRPART);   /* the partitions go; fails harmlessly on a device without any */
	close(fd);
	left = storage_signatures(path, why, why_size);
	if (!left)
		return -1;
	if (json_array_size(left) > 0) {
		snprintf(why, why_size, "%s still carries %s after the wipe", path,
			 json_string_value(json_object_get(json_array_get(left, 0), "type")));
		json_decref(left);
		return -1;
	}
	json_decref(left);
	return 0;
}
