/* api.h - cairnd, the node's declarative API: shared types of the server, the route table,
 * roles, the config store, the maintenance certificate and the PID 1 control client.
 * The pure pieces (routes, roles, apply options, store, control replies) need no TLS. */
#ifndef CAIRN_API_H
#define CAIRN_API_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define API_VERSION "0.1.0"
#define API_PORT_DEFAULT 50000
#define API_LISTEN_DEFAULT "0.0.0.0:50000"
#define API_STATE_DEFAULT "/system/state"
#define API_RUN_DEFAULT "/run/cairn"
#define API_BODY_MAX (1024 * 1024)            /* largest request body, bytes */
#define API_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3"
#define API_CONFIG_FILE "config.yaml"         /* in the state folder */
#define API_CONFIG_PREV "config.yaml.prev"    /* the config before the last apply */
#define API_INIT_SOCKET "init.sock"           /* in the run folder */
#define API_INIT_TIMEOUT_MS 5000              /* per control-socket request */
#define API_INIT_LINES_MAX 4096               /* most reply lines kept */

/* Roles, in increasing power: a route needs at least its role. */
enum api_role {
	ROLE_NONE,       /* no (valid) client certificate */
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
	enum api_role role;
};

/* A handler's answer: an HTTP status and a JSON body (the handler's reference). */
struct api_reply {
	unsigned status;
	json_t *body;
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
};

/* Finds the route of METHOD and PATH. NULL with *status 404 (no such path) or 405 (the path
 * exists with other methods). */
const struct api_route *route_find(const char *method, const char *path, unsigned *status);
/* The route table, ended by a NULL method (for the tests and the README). */
extern const struct api_route api_routes[];

/* POST /v1/config options. */
enum apply_mode { APPLY_AUTO, APPLY_NO_REBOOT, APPLY_REBOOT, APPLY_STAGED, APPLY_TRY };
struct apply_options {
	enum apply_mode mode;
	bool dry_run;
};
/* Parses the mode (NULL: auto) and dry_run (NULL: false; "1", "true", "0", "false", "")
 * query arguments. 0, or -1 with *error a static message. */
int apply_options_parse(const char *mode, const char *dry_run, struct apply_options *out,
			const char **error);
const char *apply_mode_name(enum apply_mode mode);

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

/* maint.c: a self-signed server certificate for maintenance mode, PEM (caller free()s). */
int maint_certificate(char **cert_pem, char **key_pem);

/* auth.c (TLS): checks that the identity PEMs load (server key pair, CA). 0, or -1 with
 * *error a static message. */
int auth_identity_check(const char *ca, const char *cert, const char *key, const char **error);

/* initctl.c: one request to PID 1's control socket SOCKET_PATH. 0: *LINES holds the reply's
 * lines (json array of strings, caller decrefs); -1: no valid reply, *error names the socket
 * and the reason; -2: PID 1 replied "error MESSAGE", *error is MESSAGE. The caller free()s
 * *error. */
int initctl_request(const char *socket_path, const char *request, json_t **lines, char **error);
/* Parses a reply BUF of LEN bytes. 1: complete, *LINES set; 0: incomplete; -1: malformed;
 * -2: an "error MESSAGE" reply. *error is set on -1 and -2 (caller free()s). */
int initctl_parse_reply(const char *buf, size_t len, json_t **lines, char **error);
/* "NAME STATE PID RESTARTS" lines into [{"name", "state", "pid", "restarts"}]; NULL when a
 * line is malformed. */
json_t *initctl_services_json(const json_t *lines);

#endif
