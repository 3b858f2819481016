/* supervisor.h - stage 2: the service supervisor (also host mode for tests).
 * One epoll loop; all state lives in struct supervisor and the service table.
 *
 * Service states (svc_state_name gives the names used on the console and the socket):
 *   waiting  --needs ready-->  starting --readiness--> ready
 *   (oneshot: running --exit 0--> done)
 *   ready/starting/running --exit--> backoff --delay--> waiting   (restart policy)
 *                                --exit--> stopped | failed | done
 *   any live state --stop--> stopping --exit or SIGKILL after stop_timeout--> stopped
 *   (with stop_command: stopping runs it first, for up to stop_timeout; the main process
 *   exiting meanwhile ends the stop; the command's exit, failure or timeout sends stop_signal,
 *   then SIGKILL after another stop_timeout)
 *   failed: rejected definition, unknown need, dependency cycle, spawn error, exit under
 *   restart=never/oneshot with non-zero status. */
#ifndef CAIRN_SUPERVISOR_H
#define CAIRN_SUPERVISOR_H

#include "control.h"
#include "logring.h"
#include "svcdef.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SUPERVISOR_CLIENTS_MAX 8
#define SUPERVISOR_CLIENT_OUT_MAX (LOGRING_SIZE + 64 * 1024)
#define SUPERVISOR_POWER_KEYS_MAX 8
#define SUPERVISOR_DIRS_MAX 8
#define SVC_PROBE_INTERVAL_MS 50
/* A ready=exec check that failed runs again after 4 times as long as it took, within these
 * bounds: a check is a whole program (kubectl, etcdctl) that competes for the CPU with the
 * service it waits for, and on a slow node back-to-back checks would take most of it. */
#define SVC_EXEC_RETRY_MIN_MS 500
#define SVC_EXEC_RETRY_MAX_MS 5000
#define SVC_STABLE_MS 60000
#define SVC_STOP_GRACE_MS 5000      /* after a stop command that succeeded, before the signal */
#define SVC_LOGFILE_MAX (1024 * 1024)

enum svc_state {
	SVC_WAITING,
	SVC_STARTING,
	SVC_RUNNING,
	SVC_READY,
	SVC_STOPPING,
	SVC_STOPPED,
	SVC_BACKOFF,
	SVC_FAILED,
	SVC_DONE,
};

struct svc {
	struct svcdef def;
	bool has_def;              /* false: only a rejected definition exists */
	unsigned slot;             /* index in sup.svcs, for epoll */
	char path[PATH_MAX];       /* definition file */
	uint64_t file_hash;        /* to see changes on rescan */
	enum svc_state state;
	pid_t pid;                 /* main process, 0 when none */
	pid_t check_pid;           /* ready=exec check process */
	int64_t check_started_ms;  /* when it was spawned */
	pid_t stop_pid;            /* stop_command process, 0 when none */
	int probe_fd;              /* socket/tcp probe in flight, -1 */
	int notify_fd;             /* read end of the notify pipe, -1 */
	int log_read_fd, log_write_fd;
	int logfile_fd;
	uint64_t logfile_size;
	struct logring ring;
	unsigned restarts;         /* restarts since load */
	unsigned attempt;          /* consecutive failed runs, for the backoff */
	uint32_t delay_ms;         /* current backoff delay */
	int64_t deadline_ms;       /* backoff end / stop timeout / next probe; 0: none */
	int64_t started_ms;
	int last_status;           /* wait status of the last exit */
	bool has_exited;
	bool want_up;              /* false after an administrative stop */
	bool restart_pending;      /* start again once stopped (restart, changed definition) */
	bool remove_pending;       /* definition removed: forget once stopped */
	bool at_boot;              /* counts for the "ready in" line */
	bool seen;                 /* rescan mark */
	bool killed;               /* SIGKILL already sent */
	bool signalled;            /* stopping: stop_signal sent (no stop command, or after it) */
	bool cgroup_ok;
	bool dep_error;            /* unknown need or dependency cycle */
	char cgroup[PATH_MAX];
	char reason[512];          /* why failed or waiting */
};

struct control_client {
	int fd;                    /* -1: free slot */
	size_t in_len;
	char in[CONTROL_REQUEST_MAX + 2];
	bool discarding;           /* skipping an over-long request */
	bool eof;                  /* peer closed its side: close after the replies */
	char *out;                 /* SUPERVISOR_CLIENT_OUT_MAX bytes, kept once allocated */
	size_t out_len, out_sent;
};

enum supervisor_mode { SUPERVISOR_STAGE2, SUPERVISOR_HOST };
enum shutdown_action { SHUTDOWN_NONE, SHUTDOWN_POWEROFF, SHUTDOWN_REBOOT };

struct supervisor {
	enum supervisor_mode mode;
	int epoll_fd, signal_fd, timer_fd, listen_fd, inotify_fd;
	struct svc **svcs;         /* slots; NULL: free */
	size_t svc_slots;
	const char *dirs[SUPERVISOR_DIRS_MAX];
	size_t dir_count;
	const char *socket_path;
	const char *log_dir;       /* NULL: no mirror files */
	const char *cgroup_base;   /* NULL: no cgroups */
	enum shutdown_action shutdown;
	int shutdown_phase;        /* 0 services, 1 TERM sent to the rest, 2 done */
	int64_t shutdown_deadline;
	bool boot_reported;
	int64_t rescan_at;         /* 0: none pending */
	struct control_client clients[SUPERVISOR_CLIENTS_MAX];
	int power_fds[SUPERVISOR_POWER_KEYS_MAX];
	size_t power_count;
};

extern struct supervisor sup;

/* supervisor.c */
int64_t now_ms(void);
int supervisor_main(enum supervisor_mode mode, int argc, char **argv);
void supervisor_watch(int fd, uint32_t events, unsigned type, unsigned index);
void supervisor_unwatch(int fd);
void supervisor_request_shutdown(enum shutdown_action action);
enum { EV_SIGNAL = 1, EV_TIMER, EV_LISTEN, EV_CLIENT, EV_LOG, EV_NOTIFY, EV_INOTIFY, EV_POWER };

/* svc.c: the state machine */
const char *svc_state_name(enum svc_state state);
struct svc *svc_find(const char *name);
void svc_reconcile(void);
void svc_on_exit(pid_t pid, int status);
void svc_on_deadline(struct svc *svc, int64_t now);
void svc_on_notify(struct svc *svc);
int svc_stop(struct svc *svc);
void svc_start_request(struct svc *svc);
void svc_restart_request(struct svc *svc);
bool svc_is_alive(const struct svc *svc);
bool svc_is_satisfied(const struct svc *svc);
bool svc_is_settled(const struct svc *svc);
void svc_set_failed(struct svc *svc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* svc_spawn.c */
pid_t svc_spawn(struct svc *svc, char **argv, int notify_write_fd, char *error, size_t errlen);

/* svc_log.c */
int svc_log_open(struct svc *svc);
void svc_log_close(struct svc *svc);
void svc_log_readable(struct svc *svc);
void svc_log_note(struct svc *svc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* svc_load.c */
void svc_load_all(bool at_boot);
void svc_forget(struct svc *svc);

/* cgroup.c */
void cgroup_setup(void);
void cgroup_prepare(struct svc *svc);
int cgroup_enter(const struct svc *svc);   /* in the child */
void cgroup_kill(const struct svc *svc);
void cgroup_remove(struct svc *svc);

/* control_server.c */
int control_server_open(void);
void control_server_accept(void);
void control_server_client_event(unsigned index, uint32_t events);

/* powerkey.c */
void powerkey_open_all(void);
void powerkey_event(unsigned index);

/* shutdown.c */
void shutdown_step(int64_t now);
void host_kill_children(int sig);

#endif
