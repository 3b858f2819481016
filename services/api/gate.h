/* gate.h - who gets a connection slot of cairnd's HTTPS server: a table of the open
 * connections (fed by libmicrohttpd's connection notifications), caps per address, per
 * client certificate and for the unauthenticated, eviction of the pending connections that
 * make the least progress, and a watchdog thread that closes connections past the request
 * head deadline and bodies below the minimum upload rate. The model and its numbers:
 * services/api/README.md, "Capacity".
 *
 * A connection is **pending** from its accept until it has delivered a complete request
 * head (and again between requests while it is not authenticated). It becomes
 * **authenticated** when a request's client certificate verified with a role; from then on it
 * counts against its certificate's caps instead. Everything here is thread-safe (one mutex);
 * connections are named by ids, never reused, so a late call about a closed connection is a
 * no-op. */
#ifndef CAIRN_API_GATE_H
#define CAIRN_API_GATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define GATE_CONN_MAX 512            /* libmicrohttpd's connection (= thread) limit */
#define GATE_PENDING_MAX 64          /* pending connections, all addresses */
#define GATE_PENDING_PER_ADDR 32     /* pending connections from one address */
#define GATE_UNAUTH_ACTIVE_MAX 16    /* unauthenticated requests past their head, in all */
#define GATE_UNAUTH_ACTIVE_PER_ADDR 8   /* ... from one address */
#define GATE_CERT_CONN_MAX 16        /* connections of one client certificate */
#define GATE_CERT_STREAM_MAX 8       /* open streams and upgrades of one certificate */
#define GATE_FRESH_MS 250             /* a silent new connection is spared this long */
#define GATE_HEAD_DEADLINE_MS 10000  /* accept (or end of the last reply) to complete head */
#define GATE_BODY_GRACE_MS 5000      /* a body may start slowly for this long */
#define GATE_BODY_MIN_RATE 1024      /* then it must average this many bytes/s */
#define GATE_TICK_MS 200             /* the watchdog's period */
#define GATE_REPORT_MS 10000         /* at most one summary log line this often */

enum gate_verdict {
	GATE_OK,
	GATE_FULL,        /* the unauthenticated active cap is reached: 503 */
	GATE_CERT_CONNS,  /* the certificate's connection cap is reached: 429 */
	GATE_CERT_STREAMS,   /* the certificate's stream cap is reached: 429 */
	GATE_GONE,        /* the connection is no longer in the table (closed or evicted) */
};

/* How far the TLS handshake got (from GnuTLS's handshake hook): a client that sent a whole
 * ClientHello waits for the server, and one whose handshake is done owes its request head. */
enum gate_tls {
	GATE_TLS_NONE,    /* no complete ClientHello yet */
	GATE_TLS_HELLO,   /* ClientHello in: the server's turn, then the client's Finished */
	GATE_TLS_DONE,    /* handshake done: the client owes its request head */
};

enum gate_phase {
	GATE_HEAD,        /* waiting for a request head (or the TLS handshake) */
	GATE_BODY,        /* head in, body arriving */
	GATE_BUSY,        /* handler or reply (a stream, an upgraded connection) */
};

struct gate_conn {
	uint64_t id;                 /* 0: free slot */
	int fd;
	const void *session;         /* its GnuTLS session (the handshake hook finds it by it) */
	enum gate_tls tls;
	long long tls_ms;            /* when it reached that stage */
	int family;
	unsigned char addr[16];      /* IPv4 (4 bytes) or IPv6 address */
	enum gate_phase phase;
	bool authenticated;
	bool unauth_active;          /* counted in the unauthenticated active cap */
	bool streaming;              /* holds one of its certificate's streams */
	bool upgraded;               /* a 101 went out: stays busy until closed */
	bool evicted;                /* shut down by the gate: waiting for its close */
	int cert;                    /* index in certs[], -1: none */
	long long opened_ms, phase_ms;   /* CLOCK_MONOTONIC */
	unsigned long long body_bytes;
};

struct gate_cert {
	unsigned char fingerprint[32];   /* SHA-256 of the DER certificate */
	unsigned conns, streams;     /* 0 and 0: free slot */
};

struct gate_stats {
	unsigned long long evicted, evicted_body, head_late, body_slow, busy, cert_conns, cert_streams;
};

struct gate {
	pthread_mutex_t lock;
	struct gate_conn conns[GATE_CONN_MAX];
	struct gate_cert certs[GATE_CONN_MAX];
	uint64_t next_id;
	struct gate_stats stats, reported;  /* counters, and their values at the last report */
	long long reported_ms;
	pthread_t watchdog;
	bool running;
	volatile int stop;
};

void gate_init(struct gate *gate);
void gate_destroy(struct gate *gate);
/* Starts the watchdog thread (once). 0, or -1. */
int gate_start(struct gate *gate);
void gate_stop(struct gate *gate);

/* A connection was accepted on FD from ADDR, with the TLS session SESSION (NULL: none): a
 * new pending entry. When the pending caps are reached, one pending connection of the same
 * address (or of the address with the most pending ones) is shut down, in this order:
 *   1. no complete ClientHello yet: the least progress first (bytes received per second of
 *      its life), the oldest among equals;
 *   2. handshake done, no request head yet (the client owes it): the longest waiting first;
 *   3. ClientHello in, handshake not done (the server's turn, or the client's Finished): the
 *      longest waiting first;
 *   4. last, a connection under GATE_FRESH_MS old that has sent nothing.
 * An honest client passes each stage in a round trip, so it is the youngest of its class;
 * a slow handshake on a busy node (the server's turn) does not count against it.
 * Its id, or 0 when the table is full (FD is then shut down). */
uint64_t gate_open(struct gate *gate, int fd, const struct sockaddr *addr, const void *session);
/* The handshake of the connection with SESSION reached STAGE. Its id (0: not in the table). */
uint64_t gate_tls(struct gate *gate, const void *session, enum gate_tls stage);
/* True when the connection with SESSION was shut down by the gate (or is gone): its
 * handshake should stop before the server spends CPU on its next message. */
bool gate_session_evicted(struct gate *gate, const void *session);
/* The connection is about to be closed: its entry and its counts go. */
void gate_close(struct gate *gate, uint64_t id);

/* A request head is complete: the connection leaves the pending class (phase BODY). */
enum gate_verdict gate_head(struct gate *gate, uint64_t id);
/* The request is unauthenticated (maintenance mode) and goes on past its head: counted in
 * the unauthenticated active caps. When they are reached, the counted request whose body
 * arrives slowest (of the same address, or of any for the global cap) is shut down to make
 * room; with none still receiving its body, GATE_FULL. GATE_OK or GATE_FULL. */
enum gate_verdict gate_unauth(struct gate *gate, uint64_t id);
/* The request's certificate verified with a role: the connection counts against the
 * certificate's connection cap. GATE_OK or GATE_CERT_CONNS. */
enum gate_verdict gate_authenticate(struct gate *gate, uint64_t id,
				    const unsigned char fingerprint[32]);
/* LEN more body bytes arrived. */
void gate_body(struct gate *gate, uint64_t id, size_t len);
/* The body is complete: the handler runs (phase BUSY). */
void gate_busy(struct gate *gate, uint64_t id);
/* A stream or an upgrade begins on the connection. GATE_OK or GATE_CERT_STREAMS. */
enum gate_verdict gate_stream_begin(struct gate *gate, uint64_t id);
void gate_stream_end(struct gate *gate, uint64_t id);
/* The reply went out; UPGRADED: the connection was upgraded (it stays busy). Otherwise it
 * waits for the next request head, and is pending again unless authenticated. */
void gate_request_done(struct gate *gate, uint64_t id, bool upgraded);
/* True when the gate shut the connection down or it is no longer open. */
bool gate_evicted(struct gate *gate, uint64_t id);

/* The counters since start (for tests and the log). */
struct gate_stats gate_stats(struct gate *gate);

#endif
