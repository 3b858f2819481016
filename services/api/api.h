/* api.h - cairnd, the node's declarative API: shared types of the server, the route table,
 * roles, the config store and the maintenance certificate; PID 1's control client is lib/initctl.
 * The pure pieces (routes, roles, apply options, store, control replies) need no TLS. */
#ifndef CAIRN_API_H
#define CAIRN_API_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "initctl.h"

#define API_VERSION "0.1.0"
#define API_PORT_DEFAULT 50000
#define API_LISTEN_DEFAULT "0.0.0.0:50000"
#define API_STATE_DEFAULT "/system/state"
#define API_RUN_DEFAULT "/run/cairn"
#define API_BODY_MAX (1024 * 1024)            /* largest request body, bytes */
#define API_UPLOAD_MAX (1024ULL << 20)        /* largest upload (image archive), bytes */
#define API_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3"
#define API_CONFIG_FILE "config.yaml"         /* in the state folder */
#define API_CONFIG_PREV "config.yaml.prev"    /* the config before the last apply */
#define API_CONFIG_TRY "config.yaml.try"      /* a pending try's rollback point */
#define API_INIT_SOCKET "init.sock"           /* in the run folder */
#define API_LOG_DIR_DEFAULT "/var/log/cairn"  /* PID 1's mirrored service logs NAME.log */
#define API_KMSG_DEFAULT "/dev/kmsg"
#define API_CMDLINE_DEFAULT "/proc/cmdline"
#define API_SYSFS_DEFAULT "/sys"
#define API_VM_STATE_DEFAULT "/var/lib/cairn/vms"   /* VM disks (services/vm) */
#define API_TAIL_DEFAULT 100                  /* lines of logs and dmesg */
#define API_TAIL_MAX 100000
#define API_TRY_TIMEOUT_DEFAULT_MS 60000      /* apply mode try: revert unless confirmed */
#define API_TRY_TIMEOUT_MAX_MS (24LL * 3600 * 1000)
#define API_RECONCILE_PERIOD_MS 5000          /* the reconcile hook runs at least this often */
#define API_SERVICES_POLL_MS 1000             /* PID 1's list -> the services resource */
#define API_SERVICE_NAME_MAX 63

/* Roles, in increasing power: a route needs at least its role. */
enum api_role {
	ROLE_NONE,       /* no (valid) client certificate */
	ROLE_NODE,       /* O=cairn:node: another node of the cluster; only routes whose role is
			  * ROLE_NODE (node-to-node calls), which operators and admins may call too */
	ROLE_READER,     /* O=cairn:reader: read only */
	ROLE_OPERATOR,   /* O=cairn:operator: lifecycle and service actions */
	ROLE_ADMIN,      /* O=cairn:admin: everything */
};

/* The role named by one Organization value, ROLE_NONE when it names none. */
enum api_role role_from_organization(const char *organization, size_t len);
const char *role_name(enum api_role role);

/* A request as the handlers see it. */
struct api_request {
	const char *method, *path;
	const char *mode, *dry_run;   /* query arguments, NULL when absent */
	const char *body;             /* NUL-terminated; "" when none */
	size_t body_len;
	const char *upload_path;      /* an upload route's body, in a file; NULL when none came */
	unsigned long long upload_len;
	enum api_role role;
	const char *param[2];         /* the path segments matched by the route's "*"s */
	/* Any query argument: NULL when absent, "" when given without a value. */
	const char *(*query)(const struct api_request *req, const char *key);
	/* A request header (case-insensitive name): NULL when absent. */
	const char *(*header)(const struct api_request *req, const char *name);
	/* True when the client has gone (closed, reset, or shut down by the server's gate):
	 * a handler checks it before expensive work and then stops. */
	bool (*client_gone)(const struct api_request *req);
	void *conn;                   /* the server's connection, for query() */
};

/* A growable byte buffer (streamed replies). */
struct api_buf {
	char *data;
	size_t len, cap;
};
/* Appends LEN bytes. 0, or -1 when out of memory or past 64 MiB. */
int buf_append(struct api_buf *buf, const void *data, size_t len);
void buf_free(struct api_buf *buf);

/* A streamed reply's producer, on the connection's own thread: appends bytes to OUT, waiting
 * (stream_wait in server.h) until it has some. 1: appended; 0: end of the stream (OUT may
 * still hold a last piece); -1: error (the connection is closed). */
struct api_stream;
typedef int api_stream_next(void *state, struct api_stream *stream, struct api_buf *out);

/* After a 101 Switching Protocols head: runs on a thread of its own with SOCK, the client's
 * connection as plain bytes (the server does the TLS), EXTRA the bytes the client sent after
 * its request head. It owns STATE and must return soon after *STOP becomes non-zero (cairnd
 * stopping or restarting its daemon); the server closes the connection when it returns. */
typedef void api_upgrade_run(void *state, int sock, const char *extra, size_t extra_len,
			     const volatile int *stop);

/* A handler's answer: an HTTP status and a JSON body (the handler's reference), or a stream:
 * STREAM_HEAD is sent first, then whatever STREAM_NEXT produces (none: the head only), or an
 * upgrade: UPGRADE_PROTOCOL names it in the 101 head, then UPGRADE_RUN takes the connection. */
struct api_reply {
	unsigned status;
	json_t *body;
	bool reload_identity;         /* restart the daemon with the new identity afterwards */
	const char *content_type;     /* a stream's type; NULL: JSON */
	struct api_buf stream_head;
	api_stream_next *stream_next;
	void *stream_state;
	void (*stream_free)(void *state);
	const char *upgrade_protocol;
	api_upgrade_run *upgrade_run;
	void *upgrade_state;
	void (*upgrade_free)(void *state);   /* when the upgrade never runs */
};

struct api_server;
typedef void api_handler(struct api_server *server, const struct api_request *req,
			 struct api_reply *reply);

struct api_route {
	const char *method;
	const char *path;
	enum api_role role;        /* least role allowed */
	bool maintenance;          /* allowed without a certificate in maintenance mode */
	api_handler *handler;
	/* Nonzero: the body (up to this many bytes) is streamed to a file in the server's upload
	 * folder instead of memory; the handler gets its path (upload_path) and no body. */
	unsigned long long upload_max;
};

/* Finds the route of METHOD and PATH; a "*" segment of a route's path matches one non-empty
 * segment. NULL with *status 404 (no such path) or 405 (the path exists with other methods). */
const struct api_route *route_find(const char *method, const char *path, unsigned *status);
/* Copies the path segment of PATH that matched the INDEX-th "*" of PATTERN into BUF.
 * 0, or -1 when PATH does not match or the segment does not fit. */
int route_param(const char *pattern, const char *path, unsigned index, char *buf, size_t size);
/* The route table, ended by a NULL method (for the tests and the README). */
extern const struct api_route api_routes[];

/* POST /v1/config options. */
enum apply_mode { APPLY_AUTO, APPLY_NO_REBOOT, APPLY_REBOOT, APPLY_STAGED, APPLY_TRY };
struct apply_options {
	enum apply_mode mode;
	bool dry_run;
	long long try_timeout_ms;   /* mode try only */
};
/* Parses the mode (NULL: auto) and dry_run (NULL: false; "1", "true", "0", "false", "")
 * query arguments. 0, or -1 with *error a static message. */
int apply_options_parse(const char *mode, const char *dry_run, struct apply_options *out,
			const char **error);
/* The same plus timeout (NULL: 60 s; only with mode try): a duration of 1 s to 24 h. */
int apply_options_parse_timeout(const char *timeout, struct apply_options *out,
				const char **error);
const char *apply_mode_name(enum apply_mode mode);

/* args.c: pure parsers of request arguments. */
/* "Nms", "Ns", "Nm" or "Nh" (N decimal digits) into *MS. 0, or -1. */
int duration_parse(const char *text, long long *ms);
/* MS as the largest exact unit: "2m", "30s", "1500ms". */
void duration_format(long long ms, char *buf, size_t size);
/* A flag argument: NULL -> false; "", "1", "true" -> true; "0", "false" -> false. 0, or -1. */
int flag_parse(const char *text, bool *out);
/* A decimal count MIN..MAX (NULL: DEFAULT). 0, or -1. */
int count_parse(const char *text, long min, long max, long default_value, long *out);
/* PID 1's service name rule: 1-63 of A-Z a-z 0-9 _ . @ -, not starting with . or -. */
bool service_name_valid(const char *name);

/* JSON helpers for replies. */
void reply_json(struct api_reply *reply, unsigned status, json_t *body);
void reply_error(struct api_reply *reply, unsigned status, const char *error, json_t *details);

/* store.c: the config in the state folder DIR. */
/* Reads DIR/config.yaml into *TEXT (NUL-terminated, caller free()s). 1: read; 0: no file;
 * -1: error (errno set). */
int store_read(const char *dir, char **text, size_t *len);
/* Replaces DIR/config.yaml atomically with TEXT: temp file, fsync, rename, fsync DIR. The
 * old file, if any, becomes DIR/config.yaml.prev. 0, or -1 with errno set and *what naming
 * the step that failed. */
int store_write(const char *dir, const char *text, size_t len, const char **what);

/* Restores DIR/config.yaml atomically to TEXT (LEN bytes), or removes it when TEXT is NULL
 * (then fsyncs DIR). 0, or -1 with errno set and *what naming the step. */
int store_restore(const char *dir, const char *text, size_t len, const char **what);
/* A pending try's rollback bytes in DIR/config.yaml.try: saved atomically (0, or -1 with
 * errno and *what), read (as store_read), removed. */
int store_try_save(const char *dir, const char *text, size_t len, const char **what);
int store_try_read(const char *dir, char **text, size_t *len);
void store_try_clear(const char *dir);
/* The SHA-256 of TEXT as 64 lowercase hex digits. */
void store_sha256(const char *text, size_t len, char hex[65]);

/* maint.c: a self-signed server certificate for maintenance mode, PEM (caller free()s). */
int maint_certificate(char **cert_pem, char **key_pem);

/* auth.c (TLS): checks that the identity PEMs load (server key pair, CA). 0, or -1 with
 * *error a static message. */
int auth_identity_check(const char *ca, const char *cert, const char *key, const char **error);

/* PID 1's control socket: lib/initctl (initctl_request(), initctl_services_json(), ...). */

/* logs.c, pure: one /dev/kmsg record "PRI,SEQ,USEC,FLAGS[,...];MESSAGE" (LEN bytes, no
 * newline) as "[SECONDS.MICROS] MESSAGE" into OUT. The length written, or -1 (a continuation
 * line " KEY=VALUE", or malformed). */
int kmsg_format(const char *record, size_t len, char *out, size_t size);
/* How many bytes at the start of DATA (LEN bytes of whole lines from a log file) repeat the
 * last lines of TAIL (a json array of strings): the overlap to skip when a follow starts. */
size_t log_overlap(const json_t *tail, const char *data, size_t len);

/* sources.c, pure: TEMPLATE with ${mac} and ${uuid} replaced by MAC and UUID (NULL: not
 * known). 0, or -1 with *error a static message (an unknown variable, an unknown value, too
 * long for SIZE). */
int url_expand(const char *template, const char *mac, const char *uuid, char *out, size_t size,
	       const char **error);

#endif
