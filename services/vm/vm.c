/* vm.c - the VM controller: desired VMs from the config, one pass per VM (prepare disks and
 * taps, write or remove vm-NAME.service, follow and drive the power state over QMP), removal,
 * the "vms" resource, and the imperative actions the API calls from its threads. */
#include <errno.h>
#include <dirent.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "resources.h"
#include "vm_int.h"

const char *const vm_monitor_allowed[] = {
	"query-status", "query-name", "query-version", "query-kvm", "query-uuid",
	"query-cpus-fast", "query-block", "query-blockstats", "query-chardev", "query-pci",
	"query-migrate", "query-balloon", "query-memory-size-summary", NULL,
};

static char *dup_or(const char *value, const char *fallback)
{
	char *copy = strdup(value ? value : fallback);

	if (!copy)
		abort();
	return copy;
}

static void mkdir_parents(const char *path, mode_t mode)
{
	char *copy = dup_or(path, "");

	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(copy, 0755);
		*p = '/';
	}
	mkdir(copy, mode);
	free(copy);
}

/* --- the per-VM state ------------------------------------------------------------------ */

static struct vm *vm_find(struct vm_ctl *ctl, const char *name)
{
	for (struct vm *vm = ctl->vms; vm; vm = vm->next)
		if (strcmp(vm->name, name) == 0)
			return vm;
	return NULL;
}

static struct vm *vm_add(struct vm_ctl *ctl, const char *name)
{
	struct vm *vm = calloc(1, sizeof *vm);

	if (!vm)
		abort();
	snprintf(vm->name, sizeof vm->name, "%s", name);
	vm->override = -1;
	vm->q_fd = -1;
	vm->next = ctl->vms;
	ctl->vms = vm;
	return vm;
}

static void vm_set_error(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vm_set_error(struct vm *vm, const char *fmt, ...)
{
	va_list args;

	free(vm->error);
	va_start(args, fmt);
	if (vasprintf(&vm->error, fmt, args) < 0)
		abort();
	va_end(args);
}

static void vm_changed(struct vm_ctl *ctl, struct vm *vm, const char *what)
{
	fprintf(stderr, "cairnd: vms: %s: %s\n", vm->name, what);
	ctl->changes++;
}

static void qmp_disconnect(struct vm_ctl *ctl, struct vm *vm)
{
	if (!vm->q)
		return;
	/* A connection the library closed already left the epoll set with its fd; its number
	 * may belong to another registration by now, so only an open one is removed. */
	if (qmp_state(vm->q) != QMP_STATE_CLOSED && vm->q_fd >= 0)
		epoll_ctl(ctl->epoll_fd, EPOLL_CTL_DEL, vm->q_fd, NULL);
	qmp_close(vm->q);
	vm->q = NULL;
	vm->q_fd = -1;
	vm->qmp_status[0] = '\0';
}

static void vm_free(struct vm_ctl *ctl, struct vm *vm)
{
	qmp_disconnect(ctl, vm);
	json_decref(vm->spec);
	json_decref(vm->volume_bytes);
	free(vm->rendered);
	free(vm->error);
	free(vm->error_logged);
	free(vm);
}

static const char *vm_policy(const struct vm *vm)
{
	const char *policy = json_string_value(json_object_get(vm->spec, "restartPolicy"));

	return policy ? policy : "always";
}

static bool vm_wanted(const struct vm *vm)
{
	const json_t *running = json_object_get(vm->spec, "running");

	if (vm->removing || !vm->spec)
		return false;
	if (vm->override >= 0)
		return vm->override == 1;
	return !json_is_false(running);
}

static char *vm_service_path(struct vm_ctl *ctl, const struct vm *vm)
{
	char *file, *path;

	if (asprintf(&file, "%s%s.service", VM_SERVICE_PREFIX, vm->name) < 0)
		abort();
	path = vm_path(ctl->services_dir, file, NULL);
	free(file);
	return path;
}

/* --- QMP ------------------------------------------------------------------------------- */

static void on_qmp_event(struct qmp *q, const struct qmp_event *ev, void *opaque)
{
	struct vm *vm = opaque;

	(void)q;
	vm->status_dirty = true;
	/* guest: false is QEMU ending on PID 1's SIGTERM (reason host-signal) */
	if (ev->type == QMP_EVENT_SHUTDOWN && json_is_true(json_object_get(ev->data, "guest"))) {
		if (vm->stopping)
			vm->saw_poweroff = true;
		else
			vm->guest_shutdown = true;
	}
}

static void qmp_try_connect(struct vm_ctl *ctl, struct vm *vm)
{
	char *path = vm_path(ctl->run_dir, "vm", vm->name), *socket_path;
	struct epoll_event event = { .events = EPOLLIN, .data.ptr = vm };
	struct qmp_error err;

	socket_path = vm_path(path, "qmp.sock", NULL);
	free(path);
	vm->q = qmp_connect(socket_path, 1000, &err);
	free(socket_path);
	if (!vm->q)
		return;   /* QEMU not listening yet: the next pass tries again */
	vm->q_fd = qmp_fd(vm->q);
	if (epoll_ctl(ctl->epoll_fd, EPOLL_CTL_ADD, vm->q_fd, &event) < 0)
		fprintf(stderr, "cairnd: vms: %s: epoll: %s\n", vm->name, strerror(errno));
	vm->status_dirty = true;   /* events sent while nobody listened are gone */
	qmp_set_event_handler(vm->q, on_qmp_event, vm);
}

/* Reads pending events; notices a QEMU that went away. */
static void qmp_pump(struct vm_ctl *ctl, struct vm *vm)
{
	struct qmp_error err;

	if (vm->q && qmp_state(vm->q) == QMP_STATE_READY)
		qmp_dispatch(vm->q, 0, &err);
	if (vm->q && vm->status_dirty && qmp_state(vm->q) == QMP_STATE_READY) {
		struct qmp_status status;
		if (qmp_query_status(vm->q, &status, &err, VM_QMP_TIMEOUT_MS) == 0) {
			snprintf(vm->qmp_status, sizeof vm->qmp_status, "%s", status.status);
			vm->status_dirty = false;
		}
	}
	if (vm->q && qmp_state(vm->q) == QMP_STATE_CLOSED) {
		bool expected = vm->stopping || !vm->file_present ||
				strcmp(vm->service_state, "stopping") == 0;
		qmp_disconnect(ctl, vm);
		if (!expected) {   /* killed or crashed: PID 1 knows how it ended */
			json_t *lines = NULL;
			char request[128];
			snprintf(request, sizeof request, "status %s%s", VM_SERVICE_PREFIX, vm->name);
			if (vm_init_request(ctl->init_socket, request, &lines) == 0) {
				size_t i;
				json_t *line;
				json_array_foreach(lines, i, line) {
					const char *text = json_string_value(line);
					if (strncmp(text, "last_exit=", 10) == 0 && strcmp(text + 10, "none") != 0)
						snprintf(vm->last_exit, sizeof vm->last_exit, "%s", text + 10);
				}
			}
			json_decref(lines);
			if (!vm->last_exit[0])
				snprintf(vm->last_exit, sizeof vm->last_exit, "QEMU exited");
			fprintf(stderr, "cairnd: vms: %s: QEMU went away (%s)\n", vm->name, vm->last_exit);
		}
	}
}

/* --- preparing the node: disks, bridges, taps ----------------------------------------- */

static int prepare_disks(struct vm_ctl *ctl, struct vm *vm)
{
	const json_t *disks = json_object_get(vm->spec, "disks"), *disk;
	size_t index;

	json_array_foreach(disks, index, disk) {
		const char *image = json_string_value(json_object_get(disk, "image"));
		const char *format = json_string_value(json_object_get(disk, "format"));
		char *path = vm_disk_path(ctl->state_dir, vm->name, disk), *tmp, *dir, *output;
		char size[32];
		int rc;

		if (json_object_get(disk, "volume")) {
			const char *volume = json_string_value(json_object_get(disk, "volume"));
			if (!json_is_true(json_object_get(ctl->volumes_primary, volume)))
				vm_set_error(vm, "disk %s: Volume %s is not Primary on this node yet "
					     "(cairnctl get volumes)", path, volume);
			else if (vm_chown(path, ctl->uid, ctl->gid) < 0)
				vm_set_error(vm, "disk %s: cannot give it to %s: %s", path,
					     ctl->user ? ctl->user : "root", strerror(errno));
			free(path);
			if (vm->error)
				return -1;
			continue;
		}
		dir = vm_path(ctl->state_dir, vm->name, NULL);
		if (access(path, F_OK) == 0) {
			/* QEMU's user owns its folder and disks (also ones made before) */
			if (vm_chown(dir, ctl->uid, ctl->gid) < 0 || vm_chown(path, ctl->uid, ctl->gid) < 0)
				vm_set_error(vm, "disk %s: cannot give it to %s: %s", path,
					     ctl->user ? ctl->user : "root", strerror(errno));
			free(dir);
			free(path);
			if (vm->error)
				return -1;
			continue;
		}
		if (ctl->disk_hold) {   /* never a disk where it would not last (vm_hold_disks) */
			vm_set_error(vm, "disk %s: not made yet: %s", path, ctl->disk_hold);
			free(dir);
			free(path);
			return -1;
		}
		mkdir_parents(dir, 0700);
		free(dir);
		if (asprintf(&tmp, "%s.creating", path) < 0)
			abort();
		format = format ? format : "qcow2";
		if (image) {
			char *argv[] = { ctl->qemu_img, "convert", "-O", (char *)format, (char *)image,
					 tmp, NULL };
			rc = vm_run(argv, 600000, &output);
		} else {
			char *argv[] = { ctl->qemu_img, "create", "-q", "-f", (char *)format, tmp, size, NULL };
			snprintf(size, sizeof size, "%lldM", vm_disk_size_mib(disk));
			rc = vm_run(argv, 60000, &output);
		}
		if (rc == 0 && vm_chown(tmp, ctl->uid, ctl->gid) < 0) {
			vm_set_error(vm, "disk %s: cannot give it to %s: %s", path,
				     ctl->user ? ctl->user : "root", strerror(errno));
			unlink(tmp);
		} else if (rc != 0 || rename(tmp, path) < 0) {
			vm_set_error(vm, "disk %s: %s %s failed: %s", path, ctl->qemu_img,
				     image ? "convert" : "create",
				     rc != 0 ? (output ? output : "no output") : strerror(errno));
			unlink(tmp);
		} else {
			char what[600];
			snprintf(what, sizeof what, "disk %s created%s%s", path, image ? " from " : "",
				 image ? image : "");
			vm_changed(ctl, vm, what);
		}
		free(output);
		free(tmp);
		free(path);
		if (vm->error)
			return -1;
	}
	return 0;
}

static int run_ip(struct vm_ctl *ctl, struct vm *vm, char *const args[])
{
	char *argv[12] = { ctl->ip }, *output;
	size_t i;
	int rc;

	for (i = 0; args[i] && i < 10; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	rc = vm_run(argv, 10000, &output);
	if (rc != 0) {
		char command[256] = "";
		for (i = 0; args[i]; i++)
			snprintf(command + strlen(command), sizeof command - strlen(command), " %s", args[i]);
		vm_set_error(vm, "ip%s: %s", command, output ? output : "failed");
	}
	free(output);
	return rc == 0 ? 0 : -1;
}

/* /dev/net/tun appears when the tun module loads, and nothing in the image loads it by
 * itself (there are no static device nodes to trigger the kernel's autoload), so the first
 * tap asks modprobe for it. */
static int tun_ready(struct vm_ctl *ctl, struct vm *vm)
{
	char *argv[] = { "/sbin/modprobe", "tun", NULL }, *output = NULL;
	int rc;

	if (access("/dev/net/tun", F_OK) == 0)
		return 0;
	rc = vm_run(argv, 10000, &output);
	if (rc != 0)
		vm_set_error(vm, "modprobe tun: %s", output ? output : "failed");
	else if (ctl->own_devices && chmod("/dev/net/tun", 0666) < 0)
		fprintf(stderr, "cairnd: vms: /dev/net/tun: chmod 0666: %s\n", strerror(errno));
	free(output);
	return rc == 0 ? 0 : -1;
}

/* False when TAP's owner (the uid that may attach to it) is known not to be QEMU's user. */
static bool tap_owned(struct vm_ctl *ctl, const char *tap)
{
	char *path, *text;
	bool owned;

	if (asprintf(&path, "/sys/class/net/%s/owner", tap) < 0)
		abort();
	text = file_read(path);
	/* unreadable (a sysfs of another network namespace): left alone; no owner suits root */
	owned = !text || strtol(text, NULL, 10) == (long)ctl->uid ||
		(ctl->uid == 0 && strtol(text, NULL, 10) == -1);
	free(text);
	free(path);
	return owned;
}

static int prepare_nics(struct vm_ctl *ctl, struct vm *vm)
{
	const json_t *nics = json_object_get(vm->spec, "nics"), *nic;
	size_t index;

	json_array_foreach(nics, index, nic) {
		char *bridge = (char *)json_string_value(json_object_get(nic, "bridge")), tap[16];
		const char *network = json_string_value(json_object_get(nic, "network"));

		if (index >= VM_NICS_MAX || (!bridge && !network))
			break;
		vm_tap_name(vm->name, index, tap);
		if (!bridge) {
			/* an OVN Network: the tap on br-int, bound to the NIC's logical port */
			char port[300], error[1200];
			/* = services/ovn/nb.h ovn_nb_port_name() */
			snprintf(port, sizeof port, "cairn_vm_%s_%zu", vm->name, index);
			if (if_nametoindex(tap) != 0 && !tap_owned(ctl, tap) &&
			    run_ip(ctl, vm, (char *[]){ "link", "del", "dev", tap, NULL }) < 0)
				return -1;
			if (if_nametoindex(tap) == 0) {
				char owner[16];
				snprintf(owner, sizeof owner, "%u", (unsigned)ctl->uid);
				if (tun_ready(ctl, vm) < 0 ||
				    run_ip(ctl, vm, (char *[]){ "tuntap", "add", "dev", tap, "mode", "tap", "user", owner, NULL }) < 0)
					return -1;
				vm->nic_attached[index] = false;
			}
			if (!vm->nic_attached[index]) {
				int rc = vm_ovs_port_add(tap, port, error, sizeof error);
				if (rc < 0) {
					vm_set_error(vm, "%s", error);
					return -1;
				}
				if (run_ip(ctl, vm, (char *[]){ "link", "set", "dev", tap, "up", NULL }) < 0)
					return -1;
				vm->nic_attached[index] = true;
				char what[360];
				snprintf(what, sizeof what, "tap %s on br-int (iface-id %s)", tap, port);
				vm_changed(ctl, vm, what);
			}
			continue;
		}
		if (if_nametoindex(bridge) == 0) {
			if (run_ip(ctl, vm, (char *[]){ "link", "add", "name", bridge, "type", "bridge", NULL }) < 0 ||
			    run_ip(ctl, vm, (char *[]){ "link", "set", "dev", bridge, "up", NULL }) < 0)
				return -1;
			char what[64];
			snprintf(what, sizeof what, "bridge %s created", bridge);
			vm_changed(ctl, vm, what);
		}
		if (if_nametoindex(tap) != 0 && !tap_owned(ctl, tap)) {
			/* made for another user (an earlier cairnd): QEMU could not open it */
			if (run_ip(ctl, vm, (char *[]){ "link", "del", "dev", tap, NULL }) < 0)
				return -1;
		}
		if (if_nametoindex(tap) == 0) {
			char owner[16];
			snprintf(owner, sizeof owner, "%u", (unsigned)ctl->uid);
			if (tun_ready(ctl, vm) < 0 ||
			    run_ip(ctl, vm, (char *[]){ "tuntap", "add", "dev", tap, "mode", "tap", "user", owner, NULL }) < 0)
				return -1;
			vm->nic_attached[index] = false;
		}
		if (!vm->nic_attached[index]) {
			if (run_ip(ctl, vm, (char *[]){ "link", "set", "dev", tap, "master", bridge, "up", NULL }) < 0)
				return -1;
			vm->nic_attached[index] = true;
			char what[80];
			snprintf(what, sizeof what, "tap %s on bridge %s", tap, bridge);
			vm_changed(ctl, vm, what);
		}
	}
	return 0;
}

static void remove_taps(struct vm_ctl *ctl, struct vm *vm)
{
	for (size_t index = 0; index < VM_NICS_MAX; index++) {
		char tap[16], *output;
		vm_tap_name(vm->name, index, tap);
		if (if_nametoindex(tap) == 0)
			continue;
		if (json_string_value(json_object_get(json_array_get(json_object_get(vm->spec, "nics"), index),
						      "network")))
			vm_ovs_port_remove(tap);
		char *argv[] = { ctl->ip, "link", "del", "dev", tap, NULL };
		vm_run(argv, 10000, &output);
		free(output);
	}
}

static int prepare(struct vm_ctl *ctl, struct vm *vm)
{
	const json_t *boot = json_object_get(vm->spec, "boot");
	const char *files[] = { json_string_value(json_object_get(boot, "kernel")),
				json_string_value(json_object_get(boot, "initrd")) };
	char *dir = vm_path(ctl->run_dir, "vm", vm->name);

	mkdir(dir, 0700);
	if (vm_chown(dir, ctl->uid, ctl->gid) < 0) {   /* QEMU makes its sockets there */
		vm_set_error(vm, "%s: cannot give it to %s: %s", dir, ctl->user ? ctl->user : "root",
			     strerror(errno));
		free(dir);
		return -1;
	}
	free(dir);
	for (size_t i = 0; i < 2; i++)
		if (files[i] && access(files[i], R_OK) < 0) {
			vm_set_error(vm, ".spec.boot.%s %s: %s", i ? "initrd" : "kernel", files[i],
				     strerror(errno));
			return -1;
		}
	if (prepare_disks(ctl, vm) < 0 || prepare_nics(ctl, vm) < 0)
		return -1;
	return 0;
}

/* --- one VM, one pass ------------------------------------------------------------------ */

static void write_service(struct vm_ctl *ctl, struct vm *vm)
{
	const char *error;
	char *text = vm_render_service(ctl, vm->name, vm->spec, ctl->kvm && !vm->kvm_failed, &error),
	     *path;
	int rc;

	if (!text) {
		vm_set_error(vm, "%s", error);
		return;
	}
	path = vm_service_path(ctl, vm);
	rc = file_write_if_changed(path, text, 0644);
	if (rc < 0) {
		vm_set_error(vm, "%s: cannot write: %s", path, strerror(errno));
	} else {
		vm->file_present = true;
		if (rc > 0) {
			vm->restarts_at_write = vm->service_restarts;
			vm->reached_running = false;
			vm_changed(ctl, vm, "service definition written");
			ctl->services_changed = true;
		}
	}
	free(vm->rendered);
	vm->rendered = text;
	free(path);
}

static void remove_service(struct vm_ctl *ctl, struct vm *vm, const char *why)
{
	char *path = vm_service_path(ctl, vm), *text = file_read(path);

	if (text && strncmp(text, VM_GENERATED, strlen(VM_GENERATED)) == 0 && unlink(path) < 0) {
		vm_set_error(vm, "%s: cannot remove: %s", path, strerror(errno));
	} else {
		char what[160];
		vm->file_present = false;
		ctl->services_changed = true;
		snprintf(what, sizeof what, "service definition removed (%s)", why);
		vm_changed(ctl, vm, what);
	}
	free(text);
	free(path);
}

/* True when PID 1 is stopping vm-NAME now (asked afresh: the list of this pass may be older
 * than the guest's poweroff). */
static bool pid1_stopping(struct vm_ctl *ctl, struct vm *vm)
{
	json_t *lines = NULL, *line;
	char request[128];
	size_t index;
	bool stopping = false;

	snprintf(request, sizeof request, "status %s%s", VM_SERVICE_PREFIX, vm->name);
	if (vm_init_request(ctl->init_socket, request, &lines) == 0)
		json_array_foreach(lines, index, line)
			stopping |= strcmp(json_string_value(line), "state=stopping") == 0;
	json_decref(lines);
	if (stopping)
		snprintf(vm->service_state, sizeof vm->service_state, "stopping");
	return stopping;
}

/* The guest powered itself off (QEMU waits in "shutdown" thanks to -no-shutdown). */
static void guest_poweroff(struct vm_ctl *ctl, struct vm *vm)
{
	struct qmp_error err;

	vm->guest_shutdown = false;
	if (pid1_stopping(ctl, vm))
		return;   /* the power button of PID 1's stop command (a node shutdown, say) */
	if (strcmp(vm_policy(vm), "always") == 0) {
		if (qmp_system_reset(vm->q, &err, VM_QMP_TIMEOUT_MS) < 0 ||
		    qmp_cont(vm->q, &err, VM_QMP_TIMEOUT_MS) < 0) {
			vm_set_error(vm, "guest powered off; reset failed: %s", err.message);
			return;
		}
		vm->guest_resets++;
		vm->status_dirty = true;
		snprintf(vm->last_exit, sizeof vm->last_exit, "guest poweroff (reset: restartPolicy always)");
		vm_changed(ctl, vm, "guest powered off: reset (restartPolicy always)");
		return;
	}
	vm->override = 0;
	snprintf(vm->last_exit, sizeof vm->last_exit, "guest poweroff");
	vm_changed(ctl, vm, "guest powered off: stays stopped");
	remove_service(ctl, vm, "guest poweroff");
}

/* A QEMU started with KVM that exits before its guest ever ran, with a KVM error in its last
 * log lines, fails on this host's KVM (a half-working nested KVM refuses an MSR, say): this VM
 * runs with TCG from now on. True when that happened now. */
static bool kvm_failed_at_start(struct vm_ctl *ctl, struct vm *vm)
{
	json_t *lines = NULL, *line;
	char request[128];
	size_t index;
	bool found = false;

	if (!ctl->kvm || vm->kvm_failed || vm->reached_running || !vm->file_present ||
	    (vm->service_restarts <= vm->restarts_at_write &&
	     strcmp(vm->service_state, "backoff") != 0 && strcmp(vm->service_state, "failed") != 0))
		return false;
	snprintf(request, sizeof request, "logs %s%s %d", VM_SERVICE_PREFIX, vm->name, VM_KVM_LOG_LINES);
	if (vm_init_request(ctl->init_socket, request, &lines) == 0)
		json_array_foreach(lines, index, line) {
			const char *text = json_string_value(line);
			if (text && strcasestr(text, "kvm")) {
				snprintf(vm->accel_reason, sizeof vm->accel_reason,
					 "QEMU with KVM failed at start (%.140s): TCG", text);
				found = true;
			}
		}
	json_decref(lines);
	if (found) {
		vm->kvm_failed = true;
		vm_changed(ctl, vm, vm->accel_reason);
	}
	return found;
}

/* A disk on a Volume that grew (services/storage: lvextend, drbdadm resize) while QEMU runs:
 * QEMU keeps the size it opened the device with until told, so it is told (QMP block_resize
 * of drive disk-NAME to the device's size) and the guest sees a larger virtio disk at once.
 * Looked at only when the device's size differs from the one last handled. */
static void grow_volume_disks(struct vm_ctl *ctl, struct vm *vm)
{
	const json_t *disk;
	json_t *blocks = NULL;
	size_t index;

	if (!vm->volume_bytes)
		vm->volume_bytes = json_object();
	json_array_foreach(json_object_get(vm->spec, "disks"), index, disk) {
		const char *name = json_string_value(json_object_get(disk, "name"));
		char *path, drive[96];
		long long bytes, told = -1;
		struct qmp_error err;
		const json_t *block;
		size_t k;

		if (!json_object_get(disk, "volume") || !name)
			continue;
		path = vm_disk_path(ctl->state_dir, vm->name, disk);
		bytes = fileio_block_bytes(path);
		free(path);
		if (bytes <= 0 || json_integer_value(json_object_get(vm->volume_bytes, name)) == bytes)
			continue;
		snprintf(drive, sizeof drive, "disk-%s", name);
		if (!blocks && qmp_query_block(vm->q, &blocks, &err, VM_QMP_TIMEOUT_MS) < 0)
			return;   /* asked again next pass */
		json_array_foreach(blocks, k, block)
			if (strcmp(json_string_value(json_object_get(block, "device")) ?: "", drive) == 0)
				told = json_integer_value(json_object_get(json_object_get(json_object_get(
					block, "inserted"), "image"), "virtual-size"));
		if (told >= 0 && told < bytes) {
			json_t *args = json_pack("{s:s, s:I}", "device", drive, "size", (json_int_t)bytes);
			int rc = qmp_command(vm->q, "block_resize", args, NULL, &err, VM_QMP_TIMEOUT_MS);
			json_decref(args);
			if (rc < 0) {
				vm_set_error(vm, "disk %s: block_resize to %lld bytes: %s", name, bytes,
					     err.message);
				continue;
			}
			{
				char what[160];
				snprintf(what, sizeof what, "disk %s: its Volume grew from %lld to %lld MiB: "
					 "QEMU told (block_resize), the guest sees it now", name,
					 told >> 20, bytes >> 20);
				vm_changed(ctl, vm, what);
			}
		}
		if (told >= 0)
			json_object_set_new(vm->volume_bytes, name, json_integer(bytes));
	}
	json_decref(blocks);
}

static void step_running(struct vm_ctl *ctl, struct vm *vm)
{
	struct qmp_error err;

	if (prepare(ctl, vm) < 0)
		return;
	kvm_failed_at_start(ctl, vm);
	write_service(ctl, vm);
	if (vm->error)
		return;
	if (strcmp(vm->service_state, "stopping") == 0)
		return;   /* PID 1 stops this QEMU (its stop command); a new one follows if wanted */
	vm->stopping = false;
	if (!vm->q && vm->pid > 0)
		qmp_try_connect(ctl, vm);
	qmp_pump(ctl, vm);
	if (!vm->q)
		return;
	if (strcmp(vm->qmp_status, "running") == 0) {
		vm->reached_running = true;
		grow_volume_disks(ctl, vm);
	}
	if (vm->guest_shutdown || strcmp(vm->qmp_status, "shutdown") == 0) {
		guest_poweroff(ctl, vm);
	} else if (strcmp(vm->qmp_status, "paused") == 0 || strcmp(vm->qmp_status, "prelaunch") == 0) {
		if (qmp_cont(vm->q, &err, VM_QMP_TIMEOUT_MS) < 0)
			vm_set_error(vm, "cont: %s", err.message);
		else
			vm_changed(ctl, vm, "resumed (cont)");
		vm->status_dirty = true;
		qmp_pump(ctl, vm);
	}
}

/* Not wanted: the definition goes, and PID 1's stop of vm-NAME runs its stop_command
 * (cairn-vm-stop presses the power button until the guest is off, then QEMU quits; after
 * powerdown_timeout_ms PID 1 sends SIGTERM). The same mechanism as a node shutdown. */
static void step_stopped(struct vm_ctl *ctl, struct vm *vm)
{
	if (vm->file_present) {
		if (vm->pid > 0 || vm->service_state[0]) {
			vm->stopping = true;
			vm->saw_poweroff = strcmp(vm->qmp_status, "shutdown") == 0;
		}
		remove_service(ctl, vm, vm->removing ? "removed from the config" : "stop");
		return;
	}
	if (vm->service_state[0])
		return;   /* PID 1 still stops it; QMP tells whether the guest powered off */
	if (vm->stopping) {
		vm->stopping = false;
		if (vm->saw_poweroff)
			snprintf(vm->last_exit, sizeof vm->last_exit, "stopped");
		else
			snprintf(vm->last_exit, sizeof vm->last_exit,
				 "stopped (no guest poweroff within %d s)", ctl->powerdown_timeout_ms / 1000);
		vm_changed(ctl, vm, vm->last_exit);
	}
	qmp_disconnect(ctl, vm);
	if (vm->restart_pending && !vm->removing) {
		vm->restart_pending = false;
		vm->override = 1;
		step_running(ctl, vm);
	}
}

/* Cleans up after a VM that left the config once PID 1 forgot it. True when done. */
static bool step_removed(struct vm_ctl *ctl, struct vm *vm)
{
	char *dir;

	if (vm->file_present || vm->service_state[0])
		return false;
	dir = vm_path(ctl->run_dir, "vm", vm->name);
	vm_remove_tree(dir);
	free(dir);
	remove_taps(ctl, vm);
	if (json_is_true(json_object_get(vm->spec, "deleteDisksOnRemoval"))) {
		const json_t *disk;
		size_t index;
		json_array_foreach(json_object_get(vm->spec, "disks"), index, disk) {
			char *path = vm_disk_path(ctl->state_dir, vm->name, disk);
			if (!json_object_get(disk, "volume") && unlink(path) == 0)
				fprintf(stderr, "cairnd: vms: %s: disk %s deleted (deleteDisksOnRemoval)\n",
					vm->name, path);
			free(path);
		}
		dir = vm_path(ctl->state_dir, vm->name, NULL);
		rmdir(dir);
		free(dir);
	}
	vm_changed(ctl, vm, "removed");
	return true;
}

/* --- PID 1's view ---------------------------------------------------------------------- */

static void read_services(struct vm_ctl *ctl)
{
	json_t *lines = NULL, *line;
	size_t index;
	bool ok = vm_init_request(ctl->init_socket, "list", &lines) == 0;

	for (struct vm *vm = ctl->vms; vm && ok; vm = vm->next)
		vm->service_state[0] = '\0';
	json_array_foreach(lines, index, line) {
		struct initctl_service service;
		long restarts;
		struct vm *vm;

		if (initctl_parse_service(json_string_value(line), &service) < 0 ||
		    strncmp(service.name, VM_SERVICE_PREFIX, strlen(VM_SERVICE_PREFIX)) != 0 ||
		    !(vm = vm_find(ctl, service.name + strlen(VM_SERVICE_PREFIX))))
			continue;
		snprintf(vm->service_state, sizeof vm->service_state, "%s", service.state);
		restarts = (long)service.restarts;
		long new_pid = service.pid;
		if (new_pid != vm->pid) {
			time_t wall = new_pid ? vm_process_started(new_pid) : 0;
			struct tm tm;
			vm->started_at[0] = '\0';
			if (new_pid && gmtime_r(&wall, &tm))
				strftime(vm->started_at, sizeof vm->started_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		vm->pid = new_pid;
		vm->service_restarts = restarts;
	}
	for (struct vm *vm = ctl->vms; vm && ok; vm = vm->next)
		if (!vm->service_state[0]) {
			vm->pid = 0;
			vm->started_at[0] = '\0';
		}
	json_decref(lines);
}

/* --- the resource ---------------------------------------------------------------------- */

static const char *vm_state(const struct vm *vm)
{
	if (vm->error)
		return "error";
	if (vm->stopping || (vm->file_present && !vm_wanted(vm)) || (vm->pid > 0 && !vm_wanted(vm)) ||
	    strcmp(vm->service_state, "stopping") == 0)
		return "stopping";
	if (vm->q && vm->qmp_status[0]) {
		if (strcmp(vm->qmp_status, "internal-error") == 0 || strcmp(vm->qmp_status, "guest-panicked") == 0)
			return "crashed";
		return vm->qmp_status;   /* running, paused, shutdown, inmigrate, ... */
	}
	if (strcmp(vm->service_state, "failed") == 0)
		return "crashed";
	if (strcmp(vm->service_state, "backoff") == 0)
		return "restarting";
	if (vm->pid > 0 || vm_wanted(vm))   /* wanted: its disks and taps may come first */
		return "starting";
	return "stopped";
}

static json_t *vm_item(struct vm_ctl *ctl, const struct vm *vm)
{
	const json_t *spec = vm->spec, *item;
	json_t *nics = json_array(), *disks = json_array();
	size_t index;

	json_array_foreach(json_object_get(spec, "nics"), index, item) {
		char mac[18], tap[16];
		vm_nic_mac(vm->name, item, index, mac);
		vm_tap_name(vm->name, index, tap);
		json_array_append_new(nics, json_pack("{s:s, s:O?, s:s}", "mac", mac, "bridge",
						      json_object_get(item, "bridge"), "tap", tap));
	}
	json_array_foreach(json_object_get(spec, "disks"), index, item) {
		char *path = vm_disk_path(ctl->state_dir, vm->name, item);
		json_array_append_new(disks, json_pack("{s:O?, s:s, s:O?}", "name",
						       json_object_get(item, "name"), "path", path,
						       "format", json_object_get(item, "format")));
		free(path);
	}
	return json_pack("{s:s, s:s, s:O?, s:s, s:b, s:s?, s:o, s:s?, s:s?, s:I, s:O?, s:I, s:s, s:s, s:o, s:o, s:s?, s:s?}",
			 "id", vm->name, "name", vm->name, "node", json_object_get(spec, "node"),
			 "state", vm_state(vm), "desired_running", vm_wanted(vm),
			 "service_state", vm->service_state[0] ? vm->service_state : NULL,
			 "pid", vm->pid > 0 ? json_integer(vm->pid) : json_null(),
			 "qmp_status", vm->qmp_status[0] ? vm->qmp_status : NULL,
			 "last_exit", vm->last_exit[0] ? vm->last_exit : NULL,
			 "restarts", (json_int_t)(vm->service_restarts + vm->guest_resets),
			 "cpus", json_object_get(spec, "cpus"),
			 "memory_mib", (json_int_t)vm_spec_memory_mib(spec),
			 "accel", ctl->kvm && !vm->kvm_failed ? "kvm" : "tcg",
			 "accel_reason", vm->kvm_failed ? vm->accel_reason : ctl->accel_reason,
			 "nics", nics, "disks", disks,
			 "error", vm->error, "started_at", vm->started_at[0] ? vm->started_at : NULL);
}

/* Publishes the items; the store reads each "uptime_s" off "started_at" (resources.h). */
static void publish(struct vm_ctl *ctl)
{
	json_t *items = json_array();

	for (struct vm *vm = ctl->vms; vm; vm = vm->next)
		if (vm->spec)
			json_array_append_new(items, vm_item(ctl, vm));
	resources_publish("vms", items);
}

/* --- the pass -------------------------------------------------------------------------- */

static void drain(int fd)
{
	uint64_t count;

	while (read(fd, &count, sizeof count) > 0)
		;
}

static bool transitional(const struct vm *vm)
{
	bool want = vm_wanted(vm);

	return vm->stopping || vm->restart_pending || (vm->removing && !vm->error) ||
	       (!vm->file_present && vm->service_state[0]) ||
	       (want && !vm->error && vm->file_present && !vm->q &&
		strcmp(vm->service_state, "failed") != 0 && strcmp(vm->service_state, "stopped") != 0) ||
	       (!want && vm->file_present);
}

static void arm_timer(struct vm_ctl *ctl, bool on)
{
	struct itimerspec spec = { 0 };

	if (on == ctl->timer_armed)
		return;
	if (on) {
		spec.it_value.tv_nsec = VM_TICK_MS * 1000000L;
		spec.it_interval = spec.it_value;
	}
	timerfd_settime(ctl->timer_fd, 0, &spec, NULL);
	ctl->timer_armed = on;
}

/* Takes the VirtualMachine documents of CONFIG for NODE into the list. */
static void take_desired(struct vm_ctl *ctl, const json_t *config, const char *node)
{
	const json_t *document;
	size_t index;

	for (struct vm *vm = ctl->vms; vm; vm = vm->next)
		vm->removing = true;
	json_array_foreach(config, index, document) {
		const json_t *spec = json_object_get(document, "spec");
		const char *kind = json_string_value(json_object_get(document, "kind"));
		const char *name = json_string_value(
			json_object_get(json_object_get(document, "metadata"), "name"));
		const char *vm_node = json_string_value(json_object_get(spec, "node"));
		struct vm *vm;

		if (!kind || strcmp(kind, "VirtualMachine") != 0 || !name || !node || !vm_node ||
		    strcmp(vm_node, node) != 0 || strlen(name) > VM_NAME_MAX)
			continue;
		vm = vm_find(ctl, name);
		if (!vm)
			vm = vm_add(ctl, name);
		if (vm->spec && !json_equal(vm->spec, spec)) {
			/* a new spec: the config decides again */
			vm->override = -1;
			vm->restart_pending = false;
		}
		if (!vm->spec || !json_equal(vm->spec, spec)) {
			json_decref(vm->spec);
			vm->spec = json_deep_copy(spec);
		}
		vm->document = (int)index + 1;
		vm->removing = false;
	}
}

void vm_set_volumes(struct vm_ctl *ctl, json_t *primary)
{
	pthread_mutex_lock(&ctl->lock);
	json_decref(ctl->volumes_primary);
	ctl->volumes_primary = primary;
	pthread_mutex_unlock(&ctl->lock);
}

void vm_hold_disks(struct vm_ctl *ctl, const char *reason)
{
	pthread_mutex_lock(&ctl->lock);
	free(ctl->disk_hold);
	ctl->disk_hold = reason ? strdup(reason) : NULL;
	pthread_mutex_unlock(&ctl->lock);
}

int vm_reconcile(struct vm_ctl *ctl, const json_t *config)
{
	const char *node;
	bool failed = false, busy = false;
	int changes;

	pthread_mutex_lock(&ctl->lock);
	drain(ctl->wake_fd);
	drain(ctl->timer_fd);
	ctl->changes = 0;
	ctl->services_changed = false;
	node = ctl->node_name ? ctl->node_name : vm_node_name(config);
	take_desired(ctl, config, node);
	read_services(ctl);
	/* a new VM is listed (starting) before its disks are made, which can take seconds */
	publish(ctl);
	for (struct vm **link = &ctl->vms; *link;) {
		struct vm *vm = *link;

		free(vm->error);
		vm->error = NULL;
		/* first, whatever else happens: QMP input is consumed, or the level-triggered
		 * vm_fd() would stay readable and spin cairnd's loop */
		qmp_pump(ctl, vm);
		if (vm_wanted(vm))
			step_running(ctl, vm);
		else
			step_stopped(ctl, vm);
		if (vm->error && (!vm->error_logged || strcmp(vm->error, vm->error_logged) != 0)) {
			fprintf(stderr, "cairnd: vms: %s: %s\n", vm->name, vm->error);
			free(vm->error_logged);
			vm->error_logged = strdup(vm->error);
		} else if (!vm->error) {
			free(vm->error_logged);
			vm->error_logged = NULL;
		}
		failed |= vm->error != NULL;
		if (vm->removing && step_removed(ctl, vm)) {
			*link = vm->next;
			vm_free(ctl, vm);
			continue;
		}
		busy |= transitional(vm);
		link = &vm->next;
	}
	if (ctl->services_changed) {
		json_t *lines = NULL;
		if (vm_init_request(ctl->init_socket, "rescan", &lines) != 0)
			fprintf(stderr, "cairnd: vms: rescan: %s: %s (PID 1 picks the change up from inotify)\n",
				ctl->init_socket, strerror(errno));
		json_decref(lines);
		busy = true;
	}
	arm_timer(ctl, busy);
	publish(ctl);
	changes = ctl->changes;
	pthread_mutex_unlock(&ctl->lock);
	return failed ? -1 : changes;
}

/* --- open, close ----------------------------------------------------------------------- */

/* Definitions a previous cairnd wrote: entries with no spec yet, so the first pass either
 * adopts them (same name in the config) or stops and removes them. */
static void take_over(struct vm_ctl *ctl)
{
	DIR *dir = opendir(ctl->services_dir);
	struct dirent *entry;

	while (dir && (entry = readdir(dir))) {
		size_t len = strlen(entry->d_name), prefix = strlen(VM_SERVICE_PREFIX);
		char name[VM_NAME_MAX + 1], *path, *text;

		if (strncmp(entry->d_name, VM_SERVICE_PREFIX, prefix) != 0 || len <= prefix + 8 ||
		    strcmp(entry->d_name + len - 8, ".service") != 0 || len - prefix - 8 > VM_NAME_MAX)
			continue;
		snprintf(name, sizeof name, "%.*s", (int)(len - prefix - 8), entry->d_name + prefix);
		path = vm_path(ctl->services_dir, entry->d_name, NULL);
		text = file_read(path);
		if (text && strncmp(text, VM_GENERATED, strlen(VM_GENERATED)) == 0 && !vm_find(ctl, name))
			vm_add(ctl, name)->file_present = true;
		free(text);
		free(path);
	}
	if (dir)
		closedir(dir);
}

/* cairn-vm-stop next to the running program (/usr/sbin/cairnd, build/cairnd-host), else
 * /usr/sbin/cairn-vm-stop. */
static char *default_stop_command(void)
{
	char exe[PATH_MAX], *slash, *path;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/'))) {
			*slash = '\0';
			path = vm_path(exe, "cairn-vm-stop", NULL);
			if (access(path, X_OK) == 0)
				return path;
			free(path);
		}
	}
	return dup_or(NULL, "/usr/sbin/cairn-vm-stop");
}

/* QEMU's user: USER, or VM_USER when this system has it (else root). With VM_USER, the
 * devices QEMU opens get what udev gives them on Debian (the image has no udev, and devtmpfs
 * makes them 0600 root:root): /dev/kvm to the kvm group (VM_USER is a member), 0660;
 * /dev/net/tun 0666 (it opens only taps made for the caller's uid). An explicit USER (tests)
 * leaves the devices alone. */
static int open_user(struct vm_ctl *ctl, const char *user)
{
	struct passwd *pw;
	struct group *kvm;

	if (user && strcmp(user, "root") == 0)
		return 0;
	pw = getpwnam(user ? user : VM_USER);
	if (!pw && user) {
		fprintf(stderr, "cairnd: vms: user %s: no such user\n", user);
		return -1;
	}
	if (!pw) {
		fprintf(stderr, "cairnd: vms: no user %s on this system: QEMU runs as root\n", VM_USER);
		return 0;
	}
	ctl->user = dup_or(pw->pw_name, "");
	ctl->uid = pw->pw_uid;
	ctl->gid = pw->pw_gid;
	if (user)
		return 0;
	ctl->own_devices = true;
	kvm = getgrnam("kvm");
	if (kvm && access("/dev/kvm", F_OK) == 0 &&
	    (chown("/dev/kvm", 0, kvm->gr_gid) < 0 || chmod("/dev/kvm", 0660) < 0))
		fprintf(stderr, "cairnd: vms: /dev/kvm: cannot give it to group kvm: %s\n", strerror(errno));
	return 0;
}

struct vm_ctl *vm_open(const struct vm_env *env)
{
	struct vm_ctl *ctl = calloc(1, sizeof *ctl);
	struct epoll_event event = { .events = EPOLLIN };
	char *vm_dir;

	if (!ctl)
		return NULL;
	pthread_mutex_init(&ctl->lock, NULL);
	ctl->run_dir = dup_or(env->run_dir, "/run/cairn");
	ctl->services_dir = dup_or(env->services_dir, "/run/cairn/services");
	ctl->init_socket = dup_or(env->init_socket, "/run/cairn/init.sock");
	ctl->state_dir = dup_or(env->state_dir, "/var/lib/cairn/vms");
	ctl->qemu = dup_or(env->qemu, "/usr/bin/qemu-system-x86_64");
	ctl->qemu_img = dup_or(env->qemu_img, "/usr/bin/qemu-img");
	ctl->ip = dup_or(env->ip, "/usr/sbin/ip");
	ctl->node_name = env->node_name ? dup_or(env->node_name, "") : NULL;
	if (env->kvm < 0)
		ctl->kvm = vm_kvm_probe(ctl->accel_reason, sizeof ctl->accel_reason);
	else
		snprintf(ctl->accel_reason, sizeof ctl->accel_reason, "set to %s (cairn.vm.accel)",
			 (ctl->kvm = env->kvm > 0) ? "KVM" : "TCG");
	ctl->powerdown_timeout_ms = env->powerdown_timeout_ms > 0 ? env->powerdown_timeout_ms :
				    VM_POWERDOWN_TIMEOUT_MS;
	ctl->stop_command = env->stop_command ? dup_or(env->stop_command, "") : default_stop_command();
	ctl->epoll_fd = ctl->wake_fd = ctl->timer_fd = -1;
	if (open_user(ctl, env->user) < 0) {
		vm_close(ctl);
		return NULL;
	}
	/* cairnd runs as a service of PID 1: the VMs need it, so a shutdown stops them first and
	 * cairnd (the console relay, the API) stays until their guests are off */
	if (getenv("CAIRN_SERVICE") && *getenv("CAIRN_SERVICE"))
		ctl->needs = dup_or(getenv("CAIRN_SERVICE"), "");
	ctl->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	ctl->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ctl->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	vm_dir = vm_path(ctl->run_dir, "vm", NULL);
	mkdir_parents(vm_dir, 0711);   /* QEMU's user may pass through to its own folder only */
	chmod(vm_dir, 0711);
	free(vm_dir);
	if (ctl->epoll_fd < 0 || ctl->wake_fd < 0 || ctl->timer_fd < 0 ||
	    epoll_ctl(ctl->epoll_fd, EPOLL_CTL_ADD, ctl->wake_fd, &event) < 0 ||
	    epoll_ctl(ctl->epoll_fd, EPOLL_CTL_ADD, ctl->timer_fd, &event) < 0) {
		fprintf(stderr, "cairnd: vms: cannot set up the event fds: %s\n", strerror(errno));
		vm_close(ctl);
		return NULL;
	}
	take_over(ctl);
	fprintf(stderr, "cairnd: vms: QEMU with %s: %s\n", ctl->kvm ? "KVM" : "TCG", ctl->accel_reason);
	fprintf(stderr, "cairnd: vms: QEMU runs as %s, stopped by %s\n", ctl->user ? ctl->user : "root",
		ctl->stop_command);
	return ctl;
}

void vm_close(struct vm_ctl *ctl)
{
	if (!ctl)
		return;
	while (ctl->vms) {
		struct vm *vm = ctl->vms;
		ctl->vms = vm->next;
		vm_free(ctl, vm);
	}
	for (int *fd = &ctl->epoll_fd; fd <= &ctl->timer_fd; fd++)
		if (*fd >= 0)
			close(*fd);
	free(ctl->run_dir);
	free(ctl->services_dir);
	free(ctl->init_socket);
	free(ctl->state_dir);
	free(ctl->disk_hold);
	json_decref(ctl->volumes_primary);
	free(ctl->qemu);
	free(ctl->qemu_img);
	free(ctl->ip);
	free(ctl->node_name);
	free(ctl->stop_command);
	free(ctl->user);
	free(ctl->needs);
	pthread_mutex_destroy(&ctl->lock);
	free(ctl);
}

int vm_fd(struct vm_ctl *ctl)
{
	return ctl->epoll_fd;
}

/* --- actions from the API -------------------------------------------------------------- */

static struct vm *vm_known(struct vm_ctl *ctl, const char *name)
{
	struct vm *vm = vm_find(ctl, name);

	return vm && vm->spec && !vm->removing ? vm : NULL;
}

int vm_action(struct vm_ctl *ctl, const char *name, const char *action, const char **error)
{
	struct vm *vm;
	uint64_t one = 1;
	int rc = 0;

	pthread_mutex_lock(&ctl->lock);
	vm = vm_known(ctl, name);
	if (!vm) {
		*error = "no such VM on this node";
		rc = -1;
	} else if (strcmp(action, "start") == 0) {
		vm->override = 1;
		vm->restart_pending = false;
	} else if (strcmp(action, "stop") == 0) {
		vm->override = 0;
		vm->restart_pending = false;
	} else if (strcmp(action, "restart") == 0) {
		vm->override = vm->file_present ? 0 : 1;
		vm->restart_pending = vm->file_present;
	} else {
		*error = "unknown action: expected start, stop or restart";
		rc = -2;
	}
	if (rc == 0) {
		fprintf(stderr, "cairnd: vms: %s: %s requested\n", name, action);
		if (write(ctl->wake_fd, &one, sizeof one) < 0)
			fprintf(stderr, "cairnd: vms: wake: %s\n", strerror(errno));
	}
	pthread_mutex_unlock(&ctl->lock);
	return rc;
}

/* VMs that still have a QEMU (or a definition PID 1 may start); the caller holds the lock. */
static int count_running(struct vm_ctl *ctl)
{
	int count = 0;

	for (struct vm *vm = ctl->vms; vm; vm = vm->next)
		count += vm->file_present || vm->pid > 0;
	return count;
}

int vm_running(struct vm_ctl *ctl)
{
	int count;

	pthread_mutex_lock(&ctl->lock);
	count = count_running(ctl);
	pthread_mutex_unlock(&ctl->lock);
	return count;
}

int vm_console_path(struct vm_ctl *ctl, const char *name, char *path, size_t size)
{
	struct vm *vm;
	int rc = 0;

	pthread_mutex_lock(&ctl->lock);
	vm = vm_known(ctl, name);
	if (!vm)
		rc = -1;
	else if (vm->pid <= 0 || !vm->file_present)
		rc = vm_wanted(vm) && !vm->error ? -3 : -2;
	else
		snprintf(path, size, "%s/vm/%s/console.sock", ctl->run_dir, vm->name);
	pthread_mutex_unlock(&ctl->lock);
	return rc;
}

int vm_monitor(struct vm_ctl *ctl, const char *name, const char *command, json_t **reply,
	       char **error)
{
	struct qmp_error err;
	struct vm *vm;
	bool allowed = false;
	int rc = 0;

	*reply = NULL;
	*error = NULL;
	for (size_t i = 0; command && vm_monitor_allowed[i]; i++)
		allowed |= strcmp(command, vm_monitor_allowed[i]) == 0;
	pthread_mutex_lock(&ctl->lock);
	vm = vm_known(ctl, name);
	if (!vm) {
		rc = -1;
		*error = strdup("no such VM on this node");
	} else if (!allowed) {
		rc = -2;
		if (asprintf(error, "%s is not a read-only monitor command", command ? command : "(none)") < 0)
			*error = NULL;
	} else if (!vm->q || qmp_state(vm->q) != QMP_STATE_READY) {
		rc = -3;
		*error = strdup("the VM is not running");
	} else if (qmp_command(vm->q, command, NULL, reply, &err, VM_QMP_TIMEOUT_MS) < 0) {
		rc = -4;
		*error = strdup(err.message);
	}
	pthread_mutex_unlock(&ctl->lock);
	return rc;
}
