/* server.h - the cairnd server: its shared state, the MHD daemon life cycle (server.c), the
 * main loop with the reconcile hook and the try deadline (loop.c), the status publishers
 * (status.c), the config sources (sources.c), the peer's role (auth.c) and the handlers.
 *
 * Threads: libmicrohttpd runs its own listening thread and one thread per connection; the
 * handlers run there. The main thread runs server_run(). status.c and sources.c each run one
 * background thread, gate.c its watchdog. Everything marked "lock" below is read and written only with
 * server->lock held. */
#ifndef CAIRN_API_SERVER_H
#define CAIRN_API_SERVER_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <jansson.h>

#include "api.h"
#include "gate.h"
#include "resources.h"

struct MHD_Daemon;
struct vm_ctl;

/* The outcome of the last try apply, for health and machinestatus. */
enum try_state { TRY_NONE, TRY_PENDING, TRY_CONFIRMED, TRY_REVERTED, TRY_SUPERSEDED };

struct api_server {
	/* set before server_start(), then read-only */
	struct sockaddr_storage addr;    /* where to listen */
	const char *state_dir;           /* holds config.yaml */
	char init_socket[256];           /* RUN/init.sock */
	char upload_dir[256];            /* RUN/uploads: upload routes' bodies, while handled */
	const char *log_dir;             /* PID 1's mirrored logs, NAME.log */
	const char *kmsg_path;           /* /dev/kmsg */
	const char *cmdline_path;        /* /proc/cmdline */
	const char *sysfs;               /* /sys */
	sigset_t run_sigmask;            /* the main loop's mask while it waits (signals open) */
	time_t started;                  /* wall clock at start */

	/* The reconcile hook, called by the main thread only: after each apply that changes the
	 * running config (not staged, not dry run), when reconcile_fd (-1: none) is readable,
	 * and at least every API_RECONCILE_PERIOD_MS. CONFIG is the running config, or NULL in
	 * maintenance mode; borrowed for the call. */
	void (*reconcile)(void *arg, const json_t *config);
	void *reconcile_arg;
	int reconcile_fd;
	struct vm_ctl *vm;               /* the VM controller (services/vm), NULL: none */

	pthread_mutex_t lock;
	json_t *config;                  /* lock: the running config, decoded; NULL: none */
	char config_sha256[65];          /* lock: of its stored bytes; "" none */
	char staged_sha256[65];          /* lock: of stored bytes that differ from the running */
	long long config_revision;       /* lock: +1 each time the running config changes */
	bool maintenance;                /* lock: serving the self-signed identity */
	const char *stage;               /* lock: machinestatus stage (static text) */
	const char *source;              /* lock: where the running config came from */
	struct {
		enum try_state state;
		long long deadline_ms;       /* CLOCK_MONOTONIC */
		time_t deadline_wall;
		long long timeout_ms;
		char *prev_text;             /* the stored bytes to restore */
		size_t prev_len;
	} try;                           /* lock */
	bool reload_now;                 /* lock: restart the daemon with the config's identity */
	bool reconcile_now;              /* lock: call the hook at once */
	int wake_fd;                     /* eventfd: wakes the main loop */
	volatile int stopping;           /* cairnd is exiting: streams end */
	volatile int streams_stop;       /* the daemon is restarting: streams end */
	volatile int upgrades_stop;      /* stopping or streams_stop: upgraded connections end */
	int upgrades_active;             /* atomic: upgrade threads still running */

	struct gate gate;                /* the connection table and its caps (own lock) */

	char *tls_ca, *tls_cert, *tls_key;  /* lock: PEM the daemon uses (MHD keeps pointers) */
	struct MHD_Daemon *daemon;       /* main thread */

	pthread_t status_thread, source_thread;
	bool status_running, source_running;
	pthread_mutex_t poll_lock;       /* status.c and sources.c sleep on poll_wake */
	pthread_cond_t poll_wake;
	bool services_poke;              /* poll_lock: poll PID 1 again now */
};

/* Initial values: lock, eventfd, reconcile_fd -1, default paths. 0, or -1. */
int server_init(struct api_server *server);
void server_destroy(struct api_server *server);
/* Wakes the main loop (any thread). */
void server_wake(struct api_server *server);

/* Parses "ADDR:PORT" or "[IPV6]:PORT" into *addr. 0, or -1. */
int server_parse_listen(const char *text, struct sockaddr_storage *addr);
/* Takes the TLS identity from server->config (secure mode), or makes a self-signed one
 * (maintenance mode), and starts the daemon. LISTEN_FD: a socket to reuse, or -1. */
int server_start(struct api_server *server, int listen_fd);
/* Restarts the daemon with the identity of the current config, keeping the listen socket;
 * open streams end first. Main thread. */
int server_reload(struct api_server *server);
void server_stop(struct api_server *server);
/* loop.c: the main loop until *STOP becomes true. 0, or -1 when the daemon failed. */
int server_run(struct api_server *server, volatile sig_atomic_t *stop);

/* Validates a config like an apply: strict decode (errors named NAME:LINE), and an identity
 * GnuTLS loads. 0 with *config; -1 with *details the error lines (caller decrefs). */
int config_validate(const char *name, const char *text, size_t len, json_t **config,
		    json_t **details);
/* With the lock held: CONFIG (stolen; NULL: none) from TEXT becomes the running config,
 * SOURCE (static text) names where it came from; asks for a reconcile pass and wakes the main
 * loop. True when the daemon must restart with another identity (the caller arranges it). */
bool server_adopt_config(struct api_server *server, json_t *config, const char *text,
			 size_t len, const char *source);
/* A new reference to the running config (NULL: none), and the mode, under the lock. */
json_t *server_config_ref(struct api_server *server, bool *maintenance);

/* status.c: polls PID 1's list every API_SERVICES_POLL_MS into the services resource. */
int status_start(struct api_server *server);
void status_poke(struct api_server *server);
void status_stop(struct api_server *server);
/* Publishes machinestatus from the server state (main thread). */
void status_publish_machine(struct api_server *server);
/* The try state as JSON for health and machinestatus; the caller holds the lock. */
json_t *status_try_json(const struct api_server *server);

/* sources.c: with no stored config, the kernel command line's cairn.config= (fetched in a
 * background thread, retried forever) or cairn.config.inline= (at once). Main thread,
 * before server_start() for inline, after it for the fetch thread. */
void sources_begin(struct api_server *server);
void sources_stop(struct api_server *server);

/* Streams (server.c): waits up to TIMEOUT_MS for FD (-1: none, just sleep) to be readable.
 * 1: readable; 0: timed out; -1: end the stream now (client gone, cairnd stopping or
 * restarting its daemon). */
int stream_wait(struct api_stream *stream, int fd, int timeout_ms);

/* The role of the peer of SESSION. ROLE_NONE with *status 401 (no or untrusted certificate)
 * or 403 (no clientAuth key purpose, no cairn role) and *error a static message; *detail,
 * when set, the verification status text (caller gnutls_free()s its data). */
enum api_role auth_peer_role(gnutls_session_t session, unsigned *status, const char **error,
			     gnutls_datum_t *detail);
/* The SHA-256 of the peer's certificate (DER). 0, or -1 when it sent none. */
int auth_peer_fingerprint(gnutls_session_t session, unsigned char fingerprint[32]);

/* Handlers (routes.c names them in the table). */
api_handler handle_version, handle_health, handle_config_get, handle_config_apply,
	handle_config_confirm, handle_reboot, handle_shutdown, handle_services,
	handle_service_action, handle_resource_kinds, handle_resource_get, handle_logs,
	handle_dmesg, handle_vm_action, handle_vm_console, handle_vm_monitor,
	handle_volume_outdate, handle_volume_peer_down, handle_volume_resolve, handle_kubeconfig,
	handle_image_import, handle_etcd_snapshot, handle_etcd_restore;

/* PID 1 request for a handler: the reply lines, or NULL with REPLY set to 503 (unreachable),
 * 404 ("no such service: NAME"), or 502 (another refusal). */
json_t *handler_init_request(struct api_server *server, const char *request,
			     struct api_reply *reply);

#endif
