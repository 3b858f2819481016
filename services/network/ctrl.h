/* ctrl.h - cairnd's controllers: level-triggered reconcilers that drive the node toward the
 * MachineConfig and publish status resources (services/api/resources.h).
 *
 * The cairnd main thread owns the controllers: it calls ctrl_reconcile() after each apply,
 * when ctrl_fd() is readable (netlink changes, a DHCP lease reported by the udhcpc hook), and
 * at least every CTRL_PERIOD_MS. Each call compares desired with observed state for every
 * controller and acts only on differences, so repeating it is harmless. */
#ifndef CAIRN_API_CTRL_H
#define CAIRN_API_CTRL_H

#include <stdbool.h>

#include <jansson.h>

#define CTRL_PERIOD_MS 5000

/* Where the controllers act. Every path has a default (in brackets) used when NULL, so the
 * unit tests can point them into a temporary folder. */
struct ctrl_env {
	const char *run_dir;       /* [/run/cairn]: dhcp/ leases, etc/ generated files */
	const char *services_dir;  /* [/run/cairn/services]: dynamic service definitions */
	const char *init_socket;   /* [/run/cairn/init.sock]: PID 1's control socket */
	const char *proc_sys;      /* [/proc/sys]: sysctls */
	const char *modprobe;      /* [/sbin/modprobe]: kernel modules */
	bool set_hostname;         /* call sethostname(2) (false in tests without a UTS namespace) */
};

struct ctrl;

/* Opens netlink and the lease folder. NULL, with a message on stderr, on failure. */
struct ctrl *ctrl_open(const struct ctrl_env *env);
void ctrl_close(struct ctrl *ctrl);
/* A file descriptor to poll for reading; when readable, call ctrl_reconcile(). */
int ctrl_fd(struct ctrl *ctrl);
/* One reconcile pass of every controller toward CONFIG, the decoded config (lib/config), or
 * NULL when the node has none (maintenance mode: DHCP on every Ethernet link). Publishes the
 * resources links, addresses, routes, hostname, time, resolvers, sysctls, modules, dhcp.
 * Returns the number of changes it made (0 when converged), or -1 when a controller failed
 * (it logs why; the others still ran). */
int ctrl_reconcile(struct ctrl *ctrl, const json_t *config);

#endif
