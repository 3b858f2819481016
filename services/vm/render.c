/* render.c - the pure parts of the VM controller: a VirtualMachine spec (lib/config's decoded
 * JSON, read by field name) into the QEMU command line and the vm-NAME.service definition,
 * generated MACs and tap names, and the admission check (memory, names). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "vm_int.h"

/* FNV-1a, 32 bits: stable across builds and hosts. */
static uint32_t name_hash(const char *name, size_t index)
{
	uint32_t hash = 2166136261u;

	for (const char *p = name; *p; p++)
		hash = (hash ^ (unsigned char)*p) * 16777619u;
	hash = (hash ^ (uint32_t)index) * 16777619u;
	return hash;
}

long long vm_spec_memory_mib(const json_t *spec)
{
	const json_t *mib = json_object_get(spec, "memory_mib");
	const char *text = json_string_value(json_object_get(spec, "memory"));
	char *end;
	long long value;

	if (json_is_integer(mib))
		return json_integer_value(mib);
	if (!text)
		return -1;
	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno || value <= 0 || end == text)
		return -1;
	if (strcmp(end, "Mi") == 0)
		return value;
	if (strcmp(end, "Gi") == 0 && value < (1LL << 40))
		return value * 1024;
	return -1;
}

static long long disk_size_mib(const json_t *disk)
{
	json_t *copy = json_pack("{s:O?, s:O?}", "memory", json_object_get(disk, "size"),
				 "memory_mib", json_object_get(disk, "size_mib"));
	long long mib = vm_spec_memory_mib(copy);

	json_decref(copy);
	return mib;
}

void vm_nic_mac(const char *name, const json_t *nic, size_t index, char mac[18])
{
	const char *given = json_string_value(json_object_get(nic, "mac"));
	uint32_t hash = name_hash(name, index);

	if (given && strlen(given) == 17) {
		for (size_t i = 0; i < 17; i++)
			mac[i] = (char)(given[i] >= 'A' && given[i] <= 'F' ? given[i] + 32 : given[i]);
		mac[17] = '\0';
		return;
	}
	snprintf(mac, 18, "52:54:00:%02x:%02x:%02x", (hash >> 16) & 0xff, (hash >> 8) & 0xff,
		 hash & 0xff);
}

void vm_tap_name(const char *name, size_t index, char tap[16])
{
	snprintf(tap, 16, "vm%08" PRIx32 "n%zu", name_hash(name, VM_NICS_MAX + 1), index % 100);
}

char *vm_disk_path(const char *state_dir, const char *name, const json_t *disk)
{
	const char *format = json_string_value(json_object_get(disk, "format"));
	const char *volume = json_string_value(json_object_get(disk, "volume"));
	char *file, *path;

	if (volume) {   /* a Volume's DRBD device (services/storage/volumes.c) */
		if (asprintf(&path, "/dev/drbd%u", config_volume_minor(volume)) < 0)
			abort();
		return path;
	}
	if (asprintf(&file, "%s.%s", json_string_value(json_object_get(disk, "name")),
		     format ? format : "qcow2") < 0)
		abort();
	path = vm_path(state_dir, name, file);
	free(file);
	return path;
}

/* Appends WORD to OUT as one word for PID 1's command parser: bare when it holds only safe
 * characters, else in double quotes with " and \ escaped. */
static void append_word(char **out, size_t *len, const char *word)
{
	size_t need = strlen(word) * 2 + 4;
	bool bare = *word != '\0';
	char *p;

	for (const char *c = word; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/.,=:+@%-", *c))
			bare = false;
	*out = realloc(*out, *len + need + 1);
	if (!*out)
		abort();
	p = *out + *len;
	if (*len)
		*p++ = ' ';
	if (!bare)
		*p++ = '"';
	for (const char *c = word; *c; c++) {
		if (!bare && (*c == '"' || *c == '\\'))
			*p++ = '\\';
		*p++ = *c;
	}
	if (!bare)
		*p++ = '"';
	*p = '\0';
	*len = (size_t)(p - *out);
}

static void append_format(char **out, size_t *len, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
static void append_format(char **out, size_t *len, const char *format, ...)
{
	va_list args;
	char *word;

	va_start(args, format);
	if (vasprintf(&word, format, args) < 0)
		abort();
	va_end(args);
	append_word(out, len, word);
	free(word);
}

/* The qemu-system-x86_64 command line, one string of words. */
static char *render_command(const struct vm_ctl *ctl, const char *name, const json_t *spec,
			    bool kvm, const char **error)
{
	const json_t *boot = json_object_get(spec, "boot"), *disks = json_object_get(spec, "disks"),
		     *nics = json_object_get(spec, "nics"), *item;
	const char *kernel = json_string_value(json_object_get(boot, "kernel")),
		   *initrd = json_string_value(json_object_get(boot, "initrd")),
		   *cmdline = json_string_value(json_object_get(boot, "cmdline")),
		   *boot_disk = json_string_value(json_object_get(boot, "disk"));
	const json_t *cpus = json_object_get(spec, "cpus");
	long long memory = vm_spec_memory_mib(spec);
	char *out = NULL, *dir = vm_path(ctl->run_dir, "vm", name);
	size_t len = 0, index;

	if (memory <= 0) {
		*error = ".spec.memory is missing or not a size";
		free(dir);
		return NULL;
	}
	if (!kernel && !boot_disk) {
		*error = ".spec.boot has neither kernel nor disk";
		free(dir);
		return NULL;
	}
	append_word(&out, &len, ctl->qemu);
	append_word(&out, &len, "-name");
	append_format(&out, &len, "%s,debug-threads=on", name);
	append_word(&out, &len, "-machine");
	append_word(&out, &len, "pc");
	append_word(&out, &len, "-accel");
	/* TCG's translation cache defaults to 1 GiB: 64 MiB is plenty for small guests */
	append_word(&out, &len, kvm ? "kvm" : "tcg,tb-size=64");
	if (kvm) {
		append_word(&out, &len, "-cpu");
		append_word(&out, &len, "host");
	}
	append_word(&out, &len, "-smp");
	append_format(&out, &len, "%lld", json_is_integer(cpus) ? json_integer_value(cpus) : 1LL);
	append_word(&out, &len, "-m");
	append_format(&out, &len, "%lldM", memory);
	for (const char *word = "-nodefaults -no-user-config -display none -no-shutdown"; *word;) {
		size_t n = strcspn(word, " ");
		char piece[32];
		snprintf(piece, sizeof piece, "%.*s", (int)n, word);
		append_word(&out, &len, piece);
		word += n + (word[n] == ' ');
	}
	/* seccomp: no obsolete system calls, no setuid/setgid, no fork/exec, no affinity or
	 * scheduler changes */
	append_word(&out, &len, "-sandbox");
	append_word(&out, &len, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	append_word(&out, &len, "-qmp");
	append_format(&out, &len, "unix:%s/qmp.sock,server=on,wait=off", dir);
	/* a second monitor for PID 1's stop command: cairnd holds the first one */
	append_word(&out, &len, "-qmp");
	append_format(&out, &len, "unix:%s/stop.sock,server=on,wait=off", dir);
	append_word(&out, &len, "-chardev");
	append_format(&out, &len, "socket,id=console,path=%s/console.sock,server=on,wait=off", dir);
	append_word(&out, &len, "-serial");
	append_word(&out, &len, "chardev:console");
	if (kernel) {
		append_word(&out, &len, "-kernel");
		append_word(&out, &len, kernel);
		if (initrd) {
			append_word(&out, &len, "-initrd");
			append_word(&out, &len, initrd);
		}
		if (cmdline) {
			append_word(&out, &len, "-append");
			append_word(&out, &len, cmdline);
		}
	}
	json_array_foreach(disks, index, item) {
		const char *disk_name = json_string_value(json_object_get(item, "name"));
		const char *format = json_string_value(json_object_get(item, "format"));
		char *path = vm_disk_path(ctl->state_dir, name, item);

		append_word(&out, &len, "-drive");
		if (json_object_get(item, "volume"))   /* the block device, straight to it */
			append_format(&out, &len, "file=%s,format=raw,if=none,id=disk-%s,"
				      "cache=none,aio=native", path, disk_name);
		else
			append_format(&out, &len, "file=%s,format=%s,if=none,id=disk-%s", path,
				      format ? format : "qcow2", disk_name);
		append_word(&out, &len, "-device");
		append_format(&out, &len, "virtio-blk-pci,drive=disk-%s%s", disk_name,
			      boot_disk && strcmp(boot_disk, disk_name) == 0 ? ",bootindex=0" : "");
		free(path);
	}
	json_array_foreach(nics, index, item) {
		char mac[18], tap[16];

		if (index >= VM_NICS_MAX)
			break;
		vm_nic_mac(name, item, index, mac);
		vm_tap_name(name, index, tap);
		append_word(&out, &len, "-netdev");
		append_format(&out, &len, "tap,id=net%zu,ifname=%s,script=no,downscript=no", index, tap);
		append_word(&out, &len, "-device");
		append_format(&out, &len, "virtio-net-pci,netdev=net%zu,mac=%s", index, mac);
	}
	free(dir);
	return out;
}

char *vm_render_service(const struct vm_ctl *ctl, const char *name, const json_t *spec, bool kvm,
			const char **error)
{
	const char *policy = json_string_value(json_object_get(spec, "restartPolicy"));
	char *command = render_command(ctl, name, spec, kvm, error), *text, *dir, *user = NULL,
	     *needs = NULL, *stop = NULL;
	size_t stop_len = 0;
	int stop_seconds;

	if (!command)
		return NULL;
	if (!policy || (strcmp(policy, "on-failure") != 0 && strcmp(policy, "never") != 0))
		policy = "always";
	/* Every stop of the service (the controller's, a node shutdown, `service stop`) runs
	 * stop_command first: cairn-vm-stop presses the power button until the guest is off,
	 * for powerdown_timeout_ms; PID 1's SIGTERM only ends a QEMU whose guest did not power
	 * off in time. QEMU runs as ctl->user with no capabilities and NoNewPrivs. */
	dir = vm_path(ctl->run_dir, "vm", name);
	stop_seconds = (ctl->powerdown_timeout_ms + 999) / 1000;
	if (ctl->user && asprintf(&user, "user = %s\n", ctl->user) < 0)
		abort();
	if (ctl->needs && asprintf(&needs, "needs = %s\n", ctl->needs) < 0)
		abort();
	append_word(&stop, &stop_len, ctl->stop_command);
	append_format(&stop, &stop_len, "%s/stop.sock", dir);
	append_format(&stop, &stop_len, "%d", stop_seconds);
	if (asprintf(&text, "%s\n"
		     "command = %s\n"
		     "%s%s"
		     "no_new_privs = yes\n"
		     "restart = %s\n"
		     "restart_delay = 1s\n"
		     "restart_delay_max = 30s\n"
		     "stop_command = %s\n"
		     "stop_signal = TERM\n"
		     "stop_timeout = %ds\n"
		     "env = CAIRN_VM=%s\n",
		     VM_GENERATED, command, user ? user : "", needs ? needs : "", policy, stop,
		     stop_seconds + 5, name) < 0)
		abort();
	free(dir);
	free(user);
	free(needs);
	free(stop);
	free(command);
	if (strlen(text) > 4000) {   /* PID 1's line limit is 4096 */
		free(text);
		*error = "the QEMU command line is too long for a service definition";
		return NULL;
	}
	return text;
}

const char *vm_node_name(const json_t *config)
{
	const json_t *document;
	size_t index;

	json_array_foreach(config, index, document) {
		const char *kind = json_string_value(json_object_get(document, "kind"));
		const char *name = json_string_value(
			json_object_get(json_object_get(document, "metadata"), "name"));

		if (!kind || strcmp(kind, "MachineConfig") != 0)
			continue;
		if (name)
			return name;
		return json_string_value(json_object_get(json_object_get(document, "spec"),
							 "hostname"));
	}
	return NULL;
}

int vm_admit_memory(const json_t *config, const char *node_name, long long mem_total_mib,
		    json_t **details)
{
	long long free_mib = mem_total_mib - VM_RESERVE_MIB;
	const json_t *document;
	size_t index;

	*details = json_array();
	if (!node_name)
		node_name = vm_node_name(config);
	if (free_mib < 0)
		free_mib = 0;
	json_array_foreach(config, index, document) {
		const char *kind = json_string_value(json_object_get(document, "kind"));
		const char *name = json_string_value(
			json_object_get(json_object_get(document, "metadata"), "name"));
		const json_t *spec = json_object_get(document, "spec");
		const char *node = json_string_value(json_object_get(spec, "node"));
		long long memory = vm_spec_memory_mib(spec), need;
		char line[512];

		if (!kind || strcmp(kind, "VirtualMachine") != 0 || !node || !node_name ||
		    strcmp(node, node_name) != 0)
			continue;
		line[0] = '\0';
		need = memory + VM_OVERHEAD_MIB;
		if (!name || strlen(name) > VM_NAME_MAX)
			snprintf(line, sizeof line, "document %zu (VirtualMachine) %s: the name must have 1 to %d characters to run as service vm-NAME",
				 index + 1, name ? name : "(unnamed)", VM_NAME_MAX);
		else if (memory <= 0)
			snprintf(line, sizeof line, "document %zu (VirtualMachine) %s: .spec.memory is not a size",
				 index + 1, name);
		else if (need > free_mib)
			snprintf(line, sizeof line, "document %zu (VirtualMachine) %s: needs %lld MiB but %s has %lld MiB free for VMs",
				 index + 1, name, need, node_name, free_mib);
		else
			free_mib -= need;
		if (line[0])
			json_array_append_new(*details, json_string(line));
	}
	if (json_array_size(*details) == 0) {
		json_decref(*details);
		*details = NULL;
		return 0;
	}
	return -1;
}

int vm_admit(const json_t *config, const char *node_name, json_t **details)
{
	return vm_admit_memory(config, node_name, vm_mem_total_mib(), details);
}

long long vm_disk_size_mib(const json_t *disk)
{
	return disk_size_mib(disk);
}
