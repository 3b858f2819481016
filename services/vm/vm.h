/* vm.h - the VM controller: each VirtualMachine document of the config whose .spec.node names
 * this node becomes a supervised qemu-system-x86_64 (a service definition vm-NAME.service that
 * PID 1 runs), driven over QMP (lib/qmp) for its power state, and published as resource "vms".
 *
 * Threads: cairnd's main thread calls vm_reconcile() (after every apply, when vm_fd() is
 * readable, and at least every few seconds); the API's connection threads call vm_action(),
 * vm_monitor() and vm_console_path(). One mutex inside struct vm_ctl serialises them, so a
 * handler may wait for a reconcile pass in progress (at most a few seconds).
 *
 * Errors: a failure is logged once as "cairnd: vms: NAME: REASON" (again only when the reason
 * changes) and shown in the item's "error". */
#ifndef CAIRN_VM_H
#define CAIRN_VM_H

#include <stddef.h>

#include <jansson.h>

#define VM_RESERVE_MIB 512          /* MemTotal kept for the node itself (vm_admit) */
#define VM_OVERHEAD_MIB 96          /* QEMU's own memory per VM, an estimate (vm_admit) */
#define VM_POWERDOWN_TIMEOUT_MS 30000
#define VM_NAME_MAX 60              /* vm-NAME must be a PID 1 service name (63) */

/* Where the controller acts. NULL strings take the default in brackets. */
struct vm_env {
	const char *run_dir;       /* [/run/cairn]: vm/NAME/{qmp.sock,console.sock} */
	const char *services_dir;  /* [/run/cairn/services]: vm-NAME.service */
	const char *init_socket;   /* [/run/cairn/init.sock]: PID 1 (rescan, list, status) */
	const char *state_dir;     /* [/var/lib/cairn/vms]: NAME/DISK.FORMAT */
	const char *qemu;          /* [/usr/bin/qemu-system-x86_64] */
	const char *qemu_img;      /* [/usr/bin/qemu-img] */
	const char *ip;            /* [/usr/sbin/ip]: bridges and taps (iproute2) */
	/* This node's name: VMs whose .spec.node equals it run here. NULL: taken from each config
	 * passed to vm_reconcile(), see vm_node_name(). */
	const char *node_name;
	int kvm;                   /* -1: probe /dev/kvm once at vm_open(); 0: TCG; 1: KVM */
	int powerdown_timeout_ms;  /* [VM_POWERDOWN_TIMEOUT_MS]: how long the stop command presses
				    * the power button before PID 1's stop signal */
	/* [cairn-vm-stop next to the running program, else /usr/sbin/cairn-vm-stop]: the VMs'
	 * stop_command, which PID 1 runs on every stop (the ACPI power button over QMP) */
	const char *stop_command;
	/* [cairn-vm when /etc/passwd has it, else root, said on stderr]: the user QEMU runs as;
	 * "root" keeps root */
	const char *user;
};

struct vm_ctl;

/* Creates RUN/vm, takes over vm-*.service definitions cairnd wrote before (a restarted cairnd
 * reconnects to running VMs). NULL with a message on stderr on failure. */
struct vm_ctl *vm_open(const struct vm_env *env);
/* Closes the QMP connections; the VMs keep running under PID 1. NULL is allowed. */
void vm_close(struct vm_ctl *ctl);
/* An fd to poll for reading (QMP events, actions, the pass timer): when readable, call
 * vm_reconcile(), which consumes what made it readable. */
int vm_fd(struct vm_ctl *ctl);
/* One pass toward CONFIG (the decoded config; NULL: none, so no VM runs here): disks, bridges,
 * taps, service definitions, power state, removal. Publishes resource "vms". Returns the number
 * of changes made, or -1 when a VM has an error (the others were still handled). */
int vm_reconcile(struct vm_ctl *ctl, const json_t *config);

/* While REASON is not NULL, no VM disk file is made (a VM that needs one gets the error
 * "disk PATH: not made yet: REASON"); disks that exist are used. The storage controller's
 * state volume is not mounted yet: a disk made now would land in tmpfs and be hidden by the
 * mount (vm_controller.c sets it from resource "pools"). NULL lifts the hold. */
void vm_hold_disks(struct vm_ctl *ctl, const char *reason);

/* The Volumes that are Primary on this node: an object name -> true (stolen). A VM with a
 * disk on a Volume missing here does not start ("Volume NAME is not Primary on this node
 * yet"); vm_controller.c sets it from resource "volumes" (services/storage/volumes.c). */
void vm_set_volumes(struct vm_ctl *ctl, json_t *primary);

/* The name this node goes by in .spec.node: the MachineConfig's metadata.name, else its
 * .spec.hostname; NULL when CONFIG has neither. Borrowed from CONFIG. */
const char *vm_node_name(const json_t *config);

/* Checks that the VMs of CONFIG that would run on NODE_NAME (NULL: vm_node_name(CONFIG)) fit
 * in MemTotal - VM_RESERVE_MIB, counting VM_OVERHEAD_MIB per VM, and that their names fit
 * the service and socket limits. 0, or -1 with *details a new JSON array of lines like
 * "document 2 (VirtualMachine) web-1: needs 4192 MiB but node-1 has 1024 MiB free for VMs". */
int vm_admit(const json_t *config, const char *node_name, json_t **details);
/* The same against MEM_TOTAL_MIB instead of /proc/meminfo (tests). */
int vm_admit_memory(const json_t *config, const char *node_name, long long mem_total_mib,
		    json_t **details);

/* Imperative power actions on VM NAME: "start" (run it even if .spec.running is false),
 * "stop" (graceful: the definition is removed, and PID 1's stop of vm-NAME runs its
 * stop_command, cairn-vm-stop, which presses the power button) or "restart"
 * (a graceful stop, then start). The override lasts until the next action or until the
 * VM's spec changes. The work happens in the next pass (vm_fd() is woken).
 * 0; -1 unknown VM (404); -2 bad action (400). *error: a static message. */
int vm_action(struct vm_ctl *ctl, const char *name, const char *action, const char **error);

/* How many VMs have a QEMU (or a definition PID 1 may start) now. */
int vm_running(struct vm_ctl *ctl);

/* Copies the console socket path of VM NAME into PATH. 0; -1 unknown VM (404);
 * -2 not running (409); -3 wanted running but QEMU is not up yet (409 "the VM is starting"). (Refined from the contract's `const char *` return, which could not
 * stay valid while another thread removes the VM.) */
int vm_console_path(struct vm_ctl *ctl, const char *name, char *path, size_t size);

/* A read-only QMP query on VM NAME's monitor. COMMAND must be one of vm_monitor_allowed;
 * *reply gets a new reference to QEMU's "return" value. 0; -1 unknown VM (404); -2 a command
 * outside the subset (400); -3 not running (409); -4 QEMU failed (502). *error: malloc'd
 * message, the caller free()s it (NULL on success). */
int vm_monitor(struct vm_ctl *ctl, const char *name, const char *command, json_t **reply,
	       char **error);
/* The allowed commands, NULL-ended. */
extern const char *const vm_monitor_allowed[];

#endif
