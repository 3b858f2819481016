/* server.h - the cairnd server: its state, the MHD daemon life cycle (server.c), the peer's
 * role from the TLS session (auth.c) and the handlers (handlers_*.c). */
#ifndef CAIRN_API_SERVER_H
#define CAIRN_API_SERVER_H

#include <stdbool.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <jansson.h>

#include "api.h"

struct MHD_Daemon;

struct api_server {
	struct sockaddr_storage addr;    /* where to listen */
	const char *state_dir;           /* holds config.yaml */
	char init_socket[256];           /* RUN/init.sock */
	json_t *config;                  /* the stored config, decoded; NULL: maintenance */
	bool maintenance;
	char *tls_ca, *tls_cert, *tls_key;  /* PEM the daemon uses (MHD keeps pointers) */
	struct MHD_Daemon *daemon;
	bool reload_pending;             /* set by a handler: new identity after this request */
	bool reload_now;                 /* set when that request completed */
};

/* Parses "ADDR:PORT" or "[IPV6]:PORT" into *addr. 0, or -1. */
int server_parse_listen(const char *text, struct sockaddr_storage *addr);
/* Takes the TLS identity from server->config (secure mode), or makes a self-signed one
 * (maintenance mode), and starts the daemon. LISTEN_FD: a socket to reuse, or -1. */
int server_start(struct api_server *server, int listen_fd);
/* Restarts the daemon with the identity of the current config, keeping the listen socket. */
int server_reload(struct api_server *server);
void server_stop(struct api_server *server);
/* Serves until *STOP becomes true. 0, or -1 when the daemon failed. */
int server_run(struct api_server *server, volatile int *stop);

/* The role of the peer of SESSION. ROLE_NONE with *status 401 (no or untrusted certificate)
 * or 403 (no cairn role) and *error a static message; *detail, when set, the verification
 * status text (caller gnutls_free()s its data). */
enum api_role auth_peer_role(gnutls_session_t session, unsigned *status, const char **error,
			     gnutls_datum_t *detail);

/* Handlers (routes.c names them in the table). */
api_handler handle_version, handle_health, handle_config_get, handle_config_apply,
	handle_reboot, handle_shutdown, handle_services;

#endif
