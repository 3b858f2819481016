/* test_storage.c - the storage controller (services/storage) through the real runtime, against
 * loop devices on sparse files and the host's lvm2 and libblkid, in a mount namespace of its
 * own: a pool made and found again without a second creation, a disk with a filesystem
 * refused (and wiped only with wipe: true), a foreign volume group refused, a mounted disk
 * refused even with wipe, a missing disk, the apply's admission of pools (storage_admit:
 * missing, mounted, two pools on one disk, a disk held by its own pool), a file pool with
 * the state folder and the VMs' folder bound on it, the disks resource; and a disk the config does not name keeps every
 * byte. Needs root, loop devices and lvm2 (skipped with the reason otherwise). Where the
 * host kernel has no device-mapper (dmsetup version fails), the thin pool cannot be made: the
 * test then checks that the pool reports that, after the PV and VG were made. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "fileio.h"
#include "harness.h"
#include "resources.h"
#include "runtime.h"
#include "storage.h"

#define KINDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const struct controller table[] = {
	{ "storage", KINDS("MachineConfig"), NULL, KINDS("disks", "pools"),
	  storage_init, storage_reconcile, NULL, storage_halt },
};

static char skip_reason[256];
static char loops[4][32];     /* a: blank, b: ext4, c: ext4 never named, d: spare */
static bool have_dm;

static void capture(const char *command, char *buf, size_t size)
{
	FILE *p = popen(command, "r");
	size_t n = p ? fread(buf, 1, size - 1, p) : 0;

	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (p)
		pclose(p);
}

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		snprintf(skip_reason, sizeof skip_reason, "needs root (loop devices, lvm2)");
		return 0;
	}
	if (access(STORAGE_LVM, X_OK) != 0 || access(STORAGE_MKFS, X_OK) != 0) {
		snprintf(skip_reason, sizeof skip_reason, "no %s or %s on this host (apt-get install "
			 "lvm2 e2fsprogs)", STORAGE_LVM, STORAGE_MKFS);
		return 0;
	}
	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		snprintf(skip_reason, sizeof skip_reason, "no mount namespace");
		return 0;
	}
	if (test_dir_make("storage") < 0)
		return -1;
	for (int i = 0; i < 4; i++) {
		char cmd[512];
		snprintf(cmd, sizeof cmd, "truncate -s 256M %s/disk%d.img && losetup -f --show %s/disk%d.img",
			 test_dir(), i, test_dir(), i);
		capture(cmd, loops[i], sizeof loops[i]);
		if (strncmp(loops[i], "/dev/loop", 9) != 0) {
			snprintf(skip_reason, sizeof skip_reason, "no loop device (losetup -f failed)");
			return 0;
		}
	}
	if (shell_status("mkfs.ext4 -q -F %s && mkfs.ext4 -q -F %s", loops[1], loops[2]) != 0)
		return -1;
	have_dm = shell_status("dmsetup version >/dev/null 2>&1") == 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	umount2(test_path("vms"), MNT_DETACH);
	umount2(test_path("state"), MNT_DETACH);
	umount2(test_path("mnt"), MNT_DETACH);
	for (int i = 0; i < 4; i++) {
		if (!loops[i][0])
			continue;
		shell_status("lvm vgchange --devices %s -an >/dev/null 2>&1; "
			     "for vg in $(lvm vgs --devices %s --noheadings -o vg_name 2>/dev/null); do "
			     "lvm vgremove --devices %s -ff -y $vg >/dev/null 2>&1; done; "
			     "lvm pvremove --devices %s -ff -y %s >/dev/null 2>&1; losetup -d %s",
			     loops[i], loops[i], loops[i], loops[i], loops[i], loops[i]);
	}
	if (test_dir()[0])
		test_dir_remove();
	return 0;
}

#define NEED_HOST() do { if (skip_reason[0]) { fprintf(stderr, "skipped: %s\n", skip_reason); skip(); } } while (0)

static struct runtime *open_runtime(void)
{
	static struct controller_env env;

	env = (struct controller_env){ .run_dir = test_path("run"),
		.init_socket = test_path("run/none.sock"), .services_dir = test_path("services"),
		.vm_state_dir = test_path("vms"), .storage_state_dir = test_path("state"),
		.modprobe = "/bin/true" };
	struct runtime *rt = runtime_open(table, 1, &env, NULL);
	assert_non_null(rt);
	return rt;
}

static json_t *decode(const char *pools, const char *state)
{
	char yaml[4096];
	struct config_errors errs = { 0 };
	json_t *config = NULL;

	snprintf(yaml, sizeof yaml, "apiVersion: cairn.dev/v1alpha1\nkind: MachineConfig\n"
		 "metadata:\n  name: node-1\nspec:\n  role: worker\n  storage:\n    pools:\n%s%s",
		 pools, state ? state : "");
	if (config_decode("test", yaml, strlen(yaml), &config, &errs) < 0) {
		config_errors_print(stderr, &errs);
		fail_msg("config does not decode");
	}
	config_errors_free(&errs);
	return config;
}

/* The pools item NAME (a new reference), or fails. */
static json_t *pool_item(const char *name)
{
	json_t *snapshot = resources_get("pools"), *item, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(snapshot, "items"), i, item)
		if (strcmp(json_string_value(json_object_get(item, "name")), name) == 0)
			found = json_incref(item);
	json_decref(snapshot);
	if (!found)
		fail_msg("no pool %s in resource pools", name);
	return found;
}

static const char *str(const json_t *item, const char *key)
{
	const char *value = json_string_value(json_object_get(item, key));
	return value ? value : "";
}

static void pv_uuid(const char *loop, char *buf, size_t size)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "lvm pvs --devices %s --noheadings -o pv_uuid,vg_name %s 2>/dev/null "
		 "| tr -s ' ' | sed 's/^ //'", loop, loop);
	capture(cmd, buf, size);
}

static void checksum(const char *loop, char *buf, size_t size)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "sha256sum %s | cut -c1-64", loop);
	capture(cmd, buf, size);
}

/* a: a blank disk becomes PV + VG cairn-a (and, with device-mapper, the thin pool, the state
 * volume on /state and vms bound); a second pass makes nothing again. b: ext4 on it, no wipe:
 * refused, untouched. c is never named: every byte stays. */
static void test_lvm_pool_and_refusal(void **state)
{
	(void)state;
	NEED_HOST();
	char pools[1024], uuid1[128], uuid2[128], b_before[80], b_after[80], c_before[80],
		c_after[80];
	snprintf(pools, sizeof pools, "      - name: a\n        disk: %s\n      - name: b\n"
		 "        disk: %s\n", loops[0], loops[1]);
	json_t *config = decode(pools, NULL);
	struct runtime *rt = open_runtime();
	json_t *a, *b;

	checksum(loops[1], b_before, sizeof b_before);
	checksum(loops[2], c_before, sizeof c_before);
	runtime_reconcile(rt, config, true);
	a = pool_item("a");
	b = pool_item("b");
	pv_uuid(loops[0], uuid1, sizeof uuid1);
	assert_non_null(strstr(uuid1, "cairn-a"));
	if (have_dm) {
		assert_string_equal(str(a, "state"), "ready");
		assert_string_equal(str(a, "state_volume"), test_path("state"));
		assert_true(json_is_true(json_object_get(a, "vms_on_state")));
	} else {
		/* the host kernel lacks device-mapper: the PV and VG exist, the thin pool fails */
		assert_string_equal(str(a, "state"), "failed");
		assert_non_null(strstr(str(a, "error"), "thin pool: lvm lvcreate"));
	}
	assert_string_equal(str(b, "state"), "refused");
	assert_non_null(strstr(str(b, "error"), "carries an ext4 signature (filesystem)"));
	assert_non_null(strstr(str(b, "error"), "wipe: true"));
	json_decref(a);
	json_decref(b);

	/* second pass: nothing is made again (the same PV), b still refused and untouched */
	runtime_reconcile(rt, config, true);
	pv_uuid(loops[0], uuid2, sizeof uuid2);
	assert_string_equal(uuid1, uuid2);
	assert_int_equal(shell_status("test $(lvm vgs --devices %s --noheadings -o vg_name | wc -l) = 1",
				      loops[0]), 0);
	if (have_dm) {
		a = pool_item("a");
		assert_string_equal(str(a, "state"), "ready");
		json_decref(a);
	}
	checksum(loops[1], b_after, sizeof b_after);
	checksum(loops[2], c_after, sizeof c_after);
	assert_string_equal(b_before, b_after);
	assert_string_equal(c_before, c_after);

	/* the disks resource: the named loops are listed with their pool, the unnamed one not */
	json_t *disks = resources_get("disks"), *item;
	size_t i;
	bool seen_a = false, seen_c = false;
	json_array_foreach(json_object_get(disks, "items"), i, item) {
		if (strcmp(str(item, "device"), loops[0]) == 0) {
			seen_a = true;
			assert_string_equal(str(item, "pool"), "a");
			assert_int_equal(json_integer_value(json_object_get(item, "size_bytes")), 256 << 20);
		}
		if (strcmp(str(item, "device"), loops[2]) == 0)
			seen_c = true;
	}
	json_decref(disks);
	assert_true(seen_a);
	assert_false(seen_c);
	runtime_close(rt);
	json_decref(config);
	umount2(test_path("vms"), MNT_DETACH);
	umount2(test_path("state"), MNT_DETACH);
}

/* b with wipe: true: the ext4 signature is erased and b becomes cairn-b. d holds a foreign
 * volume group: refused, and it stays. c mounted, named with wipe: true: refused, untouched.
 * A by-id path that names nothing: missing. */
static void test_wipe_foreign_in_use_missing(void **state)
{
	(void)state;
	NEED_HOST();
	char pools[2048], uuid[128], c_before[80], c_after[80], d_vg[128];
	shell("lvm pvcreate -q --devices %s %s >/dev/null && lvm vgcreate -q --devices %s other %s >/dev/null",
	      loops[3], loops[3], loops[3], loops[3]);
	/* read-only, no journal replay: the mount itself writes nothing */
	shell("mkdir -p %s && mount -o ro,noload %s %s", test_path("mnt"), loops[2], test_path("mnt"));
	checksum(loops[2], c_before, sizeof c_before);
	snprintf(pools, sizeof pools,
		 "      - name: b\n        disk: %s\n        wipe: true\n"
		 "      - name: d\n        disk: %s\n"
		 "      - name: c\n        disk: %s\n        wipe: true\n"
		 "      - name: gone\n        disk: /dev/disk/by-id/virtio-no-such-disk\n",
		 loops[1], loops[3], loops[2]);
	json_t *config = decode(pools, "    state:\n      pool: b\n");
	struct runtime *rt = open_runtime();
	json_t *item;

	runtime_reconcile(rt, config, true);
	/* lib/fileio's block device size, on a device of known size */
	assert_int_equal(fileio_block_bytes(loops[1]), 256LL << 20);
	assert_int_equal(fileio_block_bytes(test_path("disk1.img")), 0);   /* a file: no device */
	pv_uuid(loops[1], uuid, sizeof uuid);
	assert_non_null(strstr(uuid, "cairn-b"));
	assert_int_equal(shell_status("blkid -p %s | grep -q ext4", loops[1]), 1);

	item = pool_item("d");
	assert_string_equal(str(item, "state"), "refused");
	assert_non_null(strstr(str(item, "error"), "an LVM physical volume of volume group other"));
	json_decref(item);
	pv_uuid(loops[3], d_vg, sizeof d_vg);
	assert_non_null(strstr(d_vg, "other"));

	item = pool_item("c");
	assert_string_equal(str(item, "state"), "refused");
	assert_non_null(strstr(str(item, "error"), "is mounted at"));
	assert_non_null(strstr(str(item, "error"), "does not touch it"));
	json_decref(item);

	item = pool_item("gone");
	assert_string_equal(str(item, "state"), "missing");
	assert_non_null(strstr(str(item, "error"), "/dev/disk/by-id/virtio-no-such-disk: not found"));
	json_decref(item);

	runtime_close(rt);
	json_decref(config);
	umount2(test_path("mnt"), MNT_DETACH);
	checksum(loops[2], c_after, sizeof c_after);
	assert_string_equal(c_before, c_after);
	umount2(test_path("vms"), MNT_DETACH);
	umount2(test_path("state"), MNT_DETACH);
}

/* The apply's admission (storage_admit): a missing disk, a mounted one, and two pools on one
 * disk (a symbolic link to it) are refused, each line naming the pool and the path; a blank
 * disk is admitted; a pool already in force with the same disk is not checked again. */
static void test_admit(void **state)
{
	(void)state;
	NEED_HOST();
	char pools[8192], alias[1024];
	json_t *details = NULL, *config, *current;

	shell("mkdir -p %s && mount -o ro,noload %s %s", test_path("mnt"), loops[2], test_path("mnt"));
	snprintf(alias, sizeof alias, "/dev/cairn-test-alias-%d", (int)getpid());
	shell("ln -sf %s %s", loops[3], alias);
	snprintf(pools, sizeof pools,
		 "      - name: c\n        disk: %s\n        wipe: true\n"
		 "      - name: gone\n        disk: /dev/disk/by-id/virtio-no-such-disk\n"
		 "      - name: d\n        disk: %s\n"
		 "      - name: d2\n        disk: %s\n", loops[2], loops[3], alias);
	config = decode(pools, NULL);
	assert_int_equal(storage_admit(config, NULL, NULL, &details), -1);
	char *dump = json_dumps(details, 0);
	fprintf(stderr, "admit: %s\n", dump);
	assert_int_equal(json_array_size(details), 3);
	assert_non_null(strstr(json_string_value(json_array_get(details, 0)), "storage.pools[0] (pool c): disk "));
	assert_non_null(strstr(json_string_value(json_array_get(details, 0)), "is mounted at"));
	assert_non_null(strstr(json_string_value(json_array_get(details, 1)),
			       "(pool gone): disk /dev/disk/by-id/virtio-no-such-disk: not found"));
	assert_non_null(strstr(json_string_value(json_array_get(details, 2)), "which pool d already names"));
	free(dump);
	json_decref(details);

	/* the missing disk's pool already in force: not checked again; a blank disk admitted */
	snprintf(pools, sizeof pools, "      - name: gone\n        disk: /dev/disk/by-id/virtio-no-such-disk\n");
	current = decode(pools, NULL);
	snprintf(pools, sizeof pools, "      - name: gone\n        disk: /dev/disk/by-id/virtio-no-such-disk\n"
		 "      - name: d\n        disk: %s\n", loops[3]);
	json_decref(config);
	config = decode(pools, NULL);
	details = NULL;
	assert_int_equal(storage_admit(config, current, NULL, &details), 0);
	assert_null(details);
	assert_int_equal(storage_admit(config, NULL, NULL, &details), -1);
	assert_int_equal(json_array_size(details), 1);
	json_decref(details);
	json_decref(config);
	json_decref(current);
	umount2(test_path("mnt"), MNT_DETACH);
	unlink(alias);
}

/* A file pool: the folder is made (0700; a folder made above it 0755), its state/ bound on the state folder and state/vms on the
 * VMs' folder; a file written through the VMs' folder is in the pool; a second pass changes
 * nothing. A VMs' folder that already holds files is not mounted over. */
static void test_file_pool(void **state)
{
	(void)state;
	NEED_HOST();
	char pools[512];
	snprintf(pools, sizeof pools, "      - name: files\n        type: file\n        path: %s\n",
		 test_path("above/pool"));
	json_t *config = decode(pools, NULL);
	struct runtime *rt;
	json_t *item;

	shell("mkdir -p %s && touch %s/old-disk", test_path("vms"), test_path("vms"));
	rt = open_runtime();
	runtime_reconcile(rt, config, true);
	item = pool_item("files");
	assert_string_equal(str(item, "state"), "failed");
	assert_non_null(strstr(str(item, "error"), "already holds VM disks"));
	assert_string_equal(str(item, "state_volume"), test_path("state"));
	json_decref(item);
	shell("rm %s/old-disk", test_path("vms"));

	assert_int_equal(runtime_reconcile(rt, config, true), 1);
	item = pool_item("files");
	assert_string_equal(str(item, "state"), "ready");
	assert_true(json_is_true(json_object_get(item, "vms_on_state")));
	assert_true(json_integer_value(json_object_get(item, "size_bytes")) > 0);
	json_decref(item);
	shell("echo disk > %s/vm1.qcow2 && test -f %s/state/vms/vm1.qcow2", test_path("vms"),
	      test_path("above/pool"));
	/* the folder made above the pool stays open to unprivileged services, the pool is not */
	shell("test \"$(stat -c %%a %s)\" = 755 && test \"$(stat -c %%a %s)\" = 700",
	      test_path("above"), test_path("above/pool"));
	assert_int_equal(runtime_reconcile(rt, config, true), 0);
	runtime_close(rt);
	json_decref(config);
	umount2(test_path("vms"), MNT_DETACH);
	umount2(test_path("state"), MNT_DETACH);
}

/* Pure pieces: sizes, by-id names of a fake sysfs. */
static void test_pure(void **state)
{
	(void)state;
	char buf[32];
	storage_human_size(10ULL << 30, buf, sizeof buf);
	assert_string_equal(buf, "10.0Gi");
	storage_human_size(1536ULL << 20, buf, sizeof buf);
	assert_string_equal(buf, "1.5Gi");
	storage_human_size(512, buf, sizeof buf);
	assert_string_equal(buf, "512");

	if (test_dir()[0] == '\0' && test_dir_make("storage-pure") < 0)
		fail_msg("no test folder");
	shell("mkdir -p %s/sys/block/vdb %s/sys/block/nvme0n1/device", test_path("fake"),
	      test_path("fake"));
	file_put(test_path("fake/sys/block/vdb/serial"), "data-1\n");
	file_put(test_path("fake/sys/block/nvme0n1/device/model"), "Samsung SSD 980 1TB       \n");
	file_put(test_path("fake/sys/block/nvme0n1/device/serial"), "  S64ANS0T123456  \n");
	file_put(test_path("fake/sys/block/nvme0n1/wwid"), "eui.0025388b91c1b8e2\n");
	json_t *names = storage_by_id_names(test_path("fake/sys"), "vdb");
	assert_string_equal(json_string_value(json_array_get(names, 0)), "virtio-data-1");
	json_decref(names);
	names = storage_by_id_names(test_path("fake/sys"), "nvme0n1");
	assert_string_equal(json_string_value(json_array_get(names, 0)),
			    "nvme-Samsung_SSD_980_1TB_S64ANS0T123456");
	assert_string_equal(json_string_value(json_array_get(names, 1)), "nvme-eui.0025388b91c1b8e2");
	json_decref(names);
	char name[64], why[256];
	assert_int_equal(storage_resolve(test_path("fake/sys"), "/dev/disk/by-id/virtio-data-1", name,
					 sizeof name, why, sizeof why), 0);
	assert_string_equal(name, "vdb");
	assert_int_equal(storage_resolve(test_path("fake/sys"), "/dev/disk/by-id/virtio-other", name,
					 sizeof name, why, sizeof why), -1);
	assert_string_equal(why, "not found (no such block device on this node)");

	/* a disk held by its own pool's device-mapper devices is not in use for that pool */
	shell("mkdir -p %s/sys/block/vdb/holders/dm-0 %s/sys/block/dm-0/dm", test_path("fake"),
	      test_path("fake"));
	file_put(test_path("fake/sys/block/dm-0/dm/name"), "cairn--data-pool_tdata\n");
	char *in_use = storage_disk_in_use(test_path("fake/sys"), "vdb", NULL, NULL, "cairn-data");
	assert_null(in_use);
	in_use = storage_disk_in_use(test_path("fake/sys"), "vdb", NULL, NULL, "cairn-other");
	assert_non_null(in_use);
	assert_string_equal(in_use, "vdb is held by dm-0 (cairn--data-pool_tdata)");
	free(in_use);
	in_use = storage_disk_in_use(test_path("fake/sys"), "vdb", NULL, NULL, NULL);
	assert_non_null(in_use);
	free(in_use);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pure),
		cmocka_unit_test(test_lvm_pool_and_refusal),
		cmocka_unit_test(test_wipe_foreign_in_use_missing),
		cmocka_unit_test(test_file_pool),
		cmocka_unit_test(test_admit),
	};

	resources_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
