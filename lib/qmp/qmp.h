/* qmp.h - a client for the QEMU Machine Protocol (QMP) over a unix socket.
 *
 * C11, jansson for JSON, no threads, no signals, no global state. Usable outside Cairn:
 * link lib/qmp/{qmp.c,qmp_commands.c,qmp_frame.c} (or libcairnqmp.a) and -ljansson.
 *
 * CONNECTION STATES
 *   QMP_STATE_CONNECTING    socket() + connect() to the QMP socket
 *   QMP_STATE_GREETING      waiting for QEMU's {"QMP": {...}} banner
 *   QMP_STATE_CAPABILITIES  qmp_capabilities sent, waiting for its reply
 *   QMP_STATE_READY         commands may be issued, events arrive
 *   QMP_STATE_CLOSED        the peer closed the socket, or sent something that is not QMP;
 *                           the fd is closed, every further command fails at once with
 *                           QMP_ERROR_CLOSED. Events queued before the close can still be
 *                           read with qmp_next_event(). Only qmp_close() remains to be done.
 *   qmp_connect() walks CONNECTING -> GREETING -> CAPABILITIES -> READY and returns a handle
 *   only in READY; on any failure it returns NULL and frees everything.
 *
 * COMMANDS are synchronous. Each carries a fresh id (a monotonic counter from 1); the reply with
 * that id completes it. Events that arrive meanwhile are queued. A reply with an older id (the
 * late answer to a command that timed out) is dropped. A reply with no id (QEMU could not parse
 * the request) completes the command in flight.
 *
 * TIMEOUTS are in milliseconds and cover a whole call (send and wait). QMP_WAIT_FOREVER (-1)
 * waits without limit; 0 never blocks. Waiting is poll(2) on the socket with a CLOCK_MONOTONIC
 * deadline. A timeout (QMP_ERROR_TIMEOUT) leaves the connection READY; the command may still
 * run in QEMU, and its late reply is dropped. (Exception: a timeout part way through writing a
 * large command closes the connection, since QEMU would hold half a request.)
 *
 * EVENTS are queued in arrival order, at most QMP_EVENT_QUEUE_MAX; when the queue is full the
 * oldest event is dropped and counted (qmp_events_dropped()). Read them with qmp_next_event(),
 * or install a handler with qmp_set_event_handler(): the handler then receives each event
 * (instead of the queue) when no command is in flight, i.e. at the end of qmp_command(), in
 * qmp_dispatch() and in qmp_set_event_handler() itself. Events are lost while disconnected: after
 * a reconnect, run qmp_query_status() to resynchronise.
 *
 * OWNERSHIP of json_t values: arguments passed in (ARGS, OPTIONS) are borrowed: the library
 * neither changes nor releases them. A json_t ** out-parameter receives a new reference that the
 * caller must json_decref(); it is set to NULL on failure. struct qmp_event.data belongs to
 * whoever holds the event: qmp_event_clear() releases it. In a handler, ev->data is borrowed
 * for the duration of the call (json_incref() it to keep it).
 *
 * ERRORS: functions return 0 (or a count, or a handle) on success and -1 (or NULL) on failure,
 * filling the struct qmp_error if the caller passed one (NULL is allowed). err->message is one
 * log line that names the socket and the command, then the reason:
 *   "qmp /run/vm/web.qmp: device_del: DeviceNotFound: Device 'nic1' not found"
 * Control characters in class, desc and message are replaced by spaces.
 *
 * THREAD SAFETY: none. A handle must be used by one thread at a time. Distinct handles are
 * independent. The handler must not call qmp_close() on its own handle.
 *
 * SIGNALS: writes use MSG_NOSIGNAL, so a dead QEMU never raises SIGPIPE; EINTR is retried
 * within the same deadline.
 */
#ifndef CAIRN_QMP_H
#define CAIRN_QMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QMP_WAIT_FOREVER (-1)
#define QMP_RECV_MAX (10u * 1024 * 1024) /* longest message accepted, like libvirt */
#define QMP_EVENT_QUEUE_MAX 1024

struct qmp;

enum qmp_state {
	QMP_STATE_CONNECTING,
	QMP_STATE_GREETING,
	QMP_STATE_CAPABILITIES,
	QMP_STATE_READY,
	QMP_STATE_CLOSED,
};

enum qmp_error_kind {
	QMP_ERROR_NONE,
	QMP_ERROR_QEMU,     /* QEMU answered {"error": ...}; class/desc are QEMU's; still READY */
	QMP_ERROR_TIMEOUT,  /* no answer within the timeout; still READY */
	QMP_ERROR_CLOSED,   /* the connection is closed (now or before the call) */
	QMP_ERROR_PROTOCOL, /* the peer sent something that is not QMP (connection closed), or a
			     * reply of an unexpected shape to a typed helper (still READY) */
	QMP_ERROR_SYSTEM,   /* a system call failed (socket, connect, poll, memory) */
	QMP_ERROR_INVALID,  /* bad arguments from the caller; nothing was sent */
};

struct qmp_error {
	enum qmp_error_kind kind;
	char class[64];     /* QEMU's class ("GenericError", "CommandNotFound", "DeviceNotFound"),
			     * or for local errors "Timeout", "ConnectionClosed", "ProtocolError",
			     * "SystemError", "InvalidArgument" */
	char desc[512];     /* QEMU's description, or the local reason */
	char message[768];  /* "qmp SOCKET: COMMAND: [CLASS: ]DESC", for logs */
};

/* Events that Cairn acts on; any other event is QMP_EVENT_OTHER and keeps its name. */
enum qmp_event_type {
	QMP_EVENT_OTHER,
	QMP_EVENT_DEVICE_DELETED,
	QMP_EVENT_MIGRATION,
	QMP_EVENT_POWERDOWN,
	QMP_EVENT_RESET,
	QMP_EVENT_RESUME,
	QMP_EVENT_SHUTDOWN,
	QMP_EVENT_STOP,
};

struct qmp_event {
	enum qmp_event_type type;
	char name[64];           /* QEMU's event name, e.g. "SHUTDOWN", "BLOCK_JOB_COMPLETED" */
	json_t *data;            /* the "data" member, or NULL; see OWNERSHIP */
	int64_t seconds;         /* QEMU's timestamp */
	int64_t microseconds;
};

typedef void (*qmp_event_handler)(struct qmp *q, const struct qmp_event *ev, void *opaque);

/* ---- connection ---- */

/* Connects to the QMP unix socket at PATH and negotiates capabilities. Fails at once if nothing
 * listens there (the caller decides whether to retry); times out if QEMU never greets (e.g.
 * another client holds the monitor). Returns a READY handle, or NULL with *err set. */
struct qmp *qmp_connect(const char *path, int timeout_ms, struct qmp_error *err);

/* The same over an already connected stream socket FD (e.g. one end of a socketpair whose other
 * end QEMU got as -chardev socket,fd=N). Takes ownership of FD, even on failure, and makes it
 * non-blocking. NAME labels the connection in messages. */
struct qmp *qmp_connect_fd(int fd, const char *name, int timeout_ms, struct qmp_error *err);

/* Closes the socket and frees the handle and its queued events. NULL is allowed. */
void qmp_close(struct qmp *q);

enum qmp_state qmp_state(const struct qmp *q);
const char *qmp_state_name(enum qmp_state state);

/* The fd to watch for readability in an outer poll/epoll loop (then call qmp_dispatch()), or
 * -1 once closed. Do not read from it or close it. */
int qmp_fd(const struct qmp *q);

/* QEMU's greeting, the value of its "QMP" member (borrowed; lives as long as Q). */
const json_t *qmp_greeting(const struct qmp *q);

/* ---- commands ---- */

/* Runs command NAME with ARGS (a JSON object or NULL; borrowed). On success returns 0 and, if
 * REPLY is not NULL, stores a new reference to the "return" value in *REPLY. On failure
 * returns -1, sets *REPLY to NULL and fills *ERR. */
int qmp_command(struct qmp *q, const char *name, json_t *args, json_t **reply,
		struct qmp_error *err, int timeout_ms);

/* ---- events ---- */

/* Takes the oldest queued event into *EV (release with qmp_event_clear()). With an empty
 * queue it reads from the socket for up to TIMEOUT_MS. Returns 1 with an event, 0 if none came
 * in time, -1 with *ERR set if the connection is closed and the queue is empty. */
int qmp_next_event(struct qmp *q, struct qmp_event *ev, int timeout_ms, struct qmp_error *err);

/* Reads what the socket holds (waiting up to TIMEOUT_MS for the first byte when nothing is
 * buffered), queues the events and passes them to the handler if one is set. For event loops:
 * call it with 0 when qmp_fd() is readable. Returns the number of events read, or -1. */
int qmp_dispatch(struct qmp *q, int timeout_ms, struct qmp_error *err);

/* Installs (or with NULL removes) the event handler. Events already queued are delivered now. */
void qmp_set_event_handler(struct qmp *q, qmp_event_handler handler, void *opaque);

size_t qmp_events_queued(const struct qmp *q);
uint64_t qmp_events_dropped(const struct qmp *q);
void qmp_event_clear(struct qmp_event *ev);

enum qmp_event_type qmp_event_type_from_name(const char *name);
const char *qmp_event_type_name(enum qmp_event_type type); /* "OTHER" for QMP_EVENT_OTHER */

/* ---- typed helpers (qmp_commands.c); each is qmp_command() with a fixed name ---- */

struct qmp_status {
	bool running;
	char status[32];        /* "running", "paused", "prelaunch", "shutdown", "inmigrate", ... */
};

struct qmp_version {
	int major, minor, micro;
	char package[128];
};

struct qmp_cpu {
	int cpu_index;
	int64_t thread_id;      /* host thread of the vCPU (for pinning) */
	char qom_path[128];
	char target[32];
};

struct qmp_migration {
	char status[32];        /* "none", "setup", "active", "completed", "failed", ... */
	int64_t total_time_ms;  /* -1 when QEMU did not report it */
	int64_t ram_transferred, ram_remaining, ram_total; /* bytes; -1 when not reported */
	char error_desc[256];   /* set when status is "failed" and QEMU said why */
};

struct qmp_capability {
	const char *name;       /* e.g. "xbzrle", "postcopy-ram", "events" */
	bool state;
};

int qmp_query_status(struct qmp *q, struct qmp_status *status, struct qmp_error *err, int timeout_ms);
int qmp_query_version(struct qmp *q, struct qmp_version *version, struct qmp_error *err, int timeout_ms);
int qmp_cont(struct qmp *q, struct qmp_error *err, int timeout_ms);
int qmp_stop(struct qmp *q, struct qmp_error *err, int timeout_ms);
int qmp_system_powerdown(struct qmp *q, struct qmp_error *err, int timeout_ms);
int qmp_system_reset(struct qmp *q, struct qmp_error *err, int timeout_ms);
/* QEMU answers, then exits and closes the socket. */
int qmp_quit(struct qmp *q, struct qmp_error *err, int timeout_ms);

/* *CPUS is a malloc'd array of *COUNT entries (free() it; NULL when COUNT is 0). */
int qmp_query_cpus_fast(struct qmp *q, struct qmp_cpu **cpus, size_t *count,
			struct qmp_error *err, int timeout_ms);
/* *BLOCKS is a new reference to QEMU's array of BlockInfo objects. */
int qmp_query_block(struct qmp *q, json_t **blocks, struct qmp_error *err, int timeout_ms);

/* OPTIONS is the command's argument object (BlockdevOptions, device or netdev properties). */
int qmp_blockdev_add(struct qmp *q, json_t *options, struct qmp_error *err, int timeout_ms);
int qmp_blockdev_del(struct qmp *q, const char *node_name, struct qmp_error *err, int timeout_ms);
int qmp_device_add(struct qmp *q, json_t *options, struct qmp_error *err, int timeout_ms);
/* Starts the unplug; completion is the DEVICE_DELETED event with data.device == ID. */
int qmp_device_del(struct qmp *q, const char *id, struct qmp_error *err, int timeout_ms);
int qmp_netdev_add(struct qmp *q, json_t *options, struct qmp_error *err, int timeout_ms);
int qmp_netdev_del(struct qmp *q, const char *id, struct qmp_error *err, int timeout_ms);

/* Starts an outgoing migration to URI ("tcp:HOST:PORT", "unix:PATH", "exec:..."); follow it with
 * MIGRATION events (capability "events") or qmp_query_migrate(). */
int qmp_migrate(struct qmp *q, const char *uri, struct qmp_error *err, int timeout_ms);
/* On a QEMU started with -incoming defer. */
int qmp_migrate_incoming(struct qmp *q, const char *uri, struct qmp_error *err, int timeout_ms);
int qmp_query_migrate(struct qmp *q, struct qmp_migration *info, struct qmp_error *err, int timeout_ms);
int qmp_migrate_set_capabilities(struct qmp *q, const struct qmp_capability *caps, size_t count,
				 struct qmp_error *err, int timeout_ms);

/* Runs an HMP command line; *OUTPUT (if not NULL) gets its malloc'd text output (free() it). */
int qmp_human_monitor_command(struct qmp *q, const char *command_line, char **output,
			      struct qmp_error *err, int timeout_ms);

#endif
