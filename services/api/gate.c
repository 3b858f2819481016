/* gate.c - the connection table of cairnd's HTTPS server: per-address and global caps on
 * pending connections with eviction, per-certificate caps, the unauthenticated active cap and
 * the watchdog (head deadline, minimum body rate). See gate.h.
 *
 * Shutting a connection down is shutdown(fd, SHUT_RDWR) under the table lock: it does not
 * close the fd, and libmicrohttpd calls its "closed" notification (gate_close(), which takes
 * the same lock and removes the entry) before it closes the socket, so the fd of an entry in
 * the table is always still the connection's own. The connection's thread then sees the end
 * of its socket and closes the connection the usual way. */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/tcp.h>   /* struct tcp_info with tcpi_bytes_received */

#include "gate.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void gate_init(struct gate *gate)
{
	memset(gate, 0, sizeof *gate);
	pthread_mutex_init(&gate->lock, NULL);
	gate->next_id = 1;
	gate->reported_ms = now_ms();
}

void gate_destroy(struct gate *gate)
{
	gate_stop(gate);
	pthread_mutex_destroy(&gate->lock);
}

static struct gate_conn *find(struct gate *gate, uint64_t id)
{
	if (id == 0)
		return NULL;
	for (unsigned i = 0; i < GATE_CONN_MAX; i++)
		if (gate->conns[i].id == id)
			return &gate->conns[i];
	return NULL;
}

static bool same_address(const struct gate_conn *a, const struct gate_conn *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, sizeof a->addr) == 0;
}

/* Counted as pending: no complete head yet (or idle between requests), not authenticated,
 * not already shut down. */
static bool pending(const struct gate_conn *conn)
{
	return conn->id && !conn->evicted && !conn->authenticated && conn->phase == GATE_HEAD;
}

static void shut(struct gate_conn *conn)
{
	if (!conn->evicted)
		shutdown(conn->fd, SHUT_RDWR);
	conn->evicted = true;
}

/* Bytes received per second of life (*bytes: in all); with no TCP_INFO (not TCP), 0. */
static unsigned long long progress(const struct gate_conn *conn, long long now,
				   unsigned long long *bytes)
{
	struct tcp_info info;
	socklen_t len = sizeof info;
	long long age = now - conn->opened_ms;

	*bytes = 0;
	memset(&info, 0, sizeof info);
	if (getsockopt(conn->fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received)
		return 0;
	*bytes = info.tcpi_bytes_received;
	return info.tcpi_bytes_received * 1000 / (unsigned long long)(age < 100 ? 100 : age);
}

/* The eviction class of a pending connection (gate.h, gate_open): lower goes first. */
static int evict_class(const struct gate_conn *conn, long long now, unsigned long long bytes)
{
	if (conn->tls == GATE_TLS_DONE)
		return 1;
	if (conn->tls == GATE_TLS_HELLO)
		return 2;
	return bytes == 0 && now - conn->opened_ms < GATE_FRESH_MS ? 3 : 0;
}

/* Shuts down one pending connection from the address of LIKE (NULL: any), never SPARE, in
 * the order of gate_open(). */
static void evict_one(struct gate *gate, const struct gate_conn *like, const struct gate_conn *spare)
{
	struct gate_conn *victim = NULL;
	unsigned long long victim_progress = 0;
	long long victim_since = 0, now = now_ms();
	int victim_class = 0;

	for (unsigned i = 0; i < GATE_CONN_MAX; i++) {
		struct gate_conn *conn = &gate->conns[i];
		unsigned long long rate, bytes;
		long long since;
		int class;

		if (!pending(conn) || conn == spare || (like && !same_address(conn, like)))
			continue;
		rate = progress(conn, now, &bytes);
		class = evict_class(conn, now, bytes);
		/* classes 1 and 2: since the stage began, or since the last reply on the connection */
		since = conn->tls_ms > conn->phase_ms ? conn->tls_ms : conn->phase_ms;
		if (class == 0 || class == 3) {
			since = conn->opened_ms;
		} else {
			rate = 0;
		}
		if (!victim || class < victim_class ||
		    (class == victim_class &&
		     (rate < victim_progress || (rate == victim_progress && since < victim_since)))) {
			victim = conn;
			victim_progress = rate;
			victim_since = since;
			victim_class = class;
		}
	}
	if (victim) {
		shut(victim);
		gate->stats.evicted++;
	}
}

/* Makes room for CONN (pending, already in the table) within the pending caps. */
static void enforce_pending(struct gate *gate, struct gate_conn *conn)
{
	unsigned same = 0, all = 0;

	for (unsigned i = 0; i < GATE_CONN_MAX; i++) {
		if (!pending(&gate->conns[i]))
			continue;
		all++;
		if (same_address(&gate->conns[i], conn))
			same++;
	}
	if (same > GATE_PENDING_PER_ADDR) {
		evict_one(gate, conn, conn);
		all--;
	}
	if (all > GATE_PENDING_MAX) {
		/* the address with the most pending connections gives one up */
		const struct gate_conn *most = NULL;
		unsigned most_count = 0;
		for (unsigned i = 0; i < GATE_CONN_MAX; i++) {
			unsigned count = 0;
			if (!pending(&gate->conns[i]))
				continue;
			for (unsigned j = 0; j < GATE_CONN_MAX; j++)
				if (pending(&gate->conns[j]) && same_address(&gate->conns[i], &gate->conns[j]))
					count++;
			if (count > most_count) {
				most = &gate->conns[i];
				most_count = count;
			}
		}
		evict_one(gate, most, conn);
	}
}

uint64_t gate_tls(struct gate *gate, const void *session, enum gate_tls stage)
{
	uint64_t id = 0;

	if (!session)
		return 0;
	pthread_mutex_lock(&gate->lock);
	for (unsigned i = 0; i < GATE_CONN_MAX; i++) {
		struct gate_conn *conn = &gate->conns[i];
		if (conn->id && conn->session == session) {
			if (stage > conn->tls) {
				conn->tls = stage;
				conn->tls_ms = now_ms();
			}
			id = conn->id;
			break;
		}
	}
	pthread_mutex_unlock(&gate->lock);
	return id;
}

bool gate_session_evicted(struct gate *gate, const void *session)
{
	bool evicted = true;

	pthread_mutex_lock(&gate->lock);
	for (unsigned i = 0; i < GATE_CONN_MAX; i++)
		if (gate->conns[i].id && gate->conns[i].session == session) {
			evicted = gate->conns[i].evicted;
			break;
		}
	pthread_mutex_unlock(&gate->lock);
	return evicted;
}

uint64_t gate_open(struct gate *gate, int fd, const struct sockaddr *addr, const void *session)
{
	struct gate_conn *conn = NULL;
	uint64_t id = 0;

	pthread_mutex_lock(&gate->lock);
	for (unsigned i = 0; i < GATE_CONN_MAX && !conn; i++)
		if (gate->conns[i].id == 0)
			conn = &gate->conns[i];
	if (!conn) {
		shutdown(fd, SHUT_RDWR);
		pthread_mutex_unlock(&gate->lock);
		return 0;
	}
	id = gate->next_id++;
	*conn = (struct gate_conn){ .id = id, .fd = fd, .session = session, .phase = GATE_HEAD,
				    .cert = -1, .opened_ms = now_ms() };
	conn->phase_ms = conn->opened_ms;
	if (addr && addr->sa_family == AF_INET) {
		conn->family = AF_INET;
		memcpy(conn->addr, &((const struct sockaddr_in *)addr)->sin_addr, 4);
	} else if (addr && addr->sa_family == AF_INET6) {
		conn->family = AF_INET6;
		memcpy(conn->addr, &((const struct sockaddr_in6 *)addr)->sin6_addr, 16);
	}
	enforce_pending(gate, conn);
	pthread_mutex_unlock(&gate->lock);
	return id;
}

static void cert_release(struct gate *gate, struct gate_conn *conn)
{
	if (conn->cert < 0)
		return;
	struct gate_cert *cert = &gate->certs[conn->cert];
	if (conn->streaming && cert->streams > 0)
		cert->streams--;
	if (cert->conns > 0)
		cert->conns--;
	conn->streaming = false;
	conn->cert = -1;
}

void gate_close(struct gate *gate, uint64_t id)
{
	struct gate_conn *conn;

	pthread_mutex_lock(&gate->lock);
	conn = find(gate, id);
	if (conn) {
		cert_release(gate, conn);
		memset(conn, 0, sizeof *conn);
	}
	pthread_mutex_unlock(&gate->lock);
}

enum gate_verdict gate_head(struct gate *gate, uint64_t id)
{
	struct gate_conn *conn;
	enum gate_verdict verdict = GATE_GONE;

	pthread_mutex_lock(&gate->lock);
	conn = find(gate, id);
	if (conn && !conn->evicted) {
		conn->phase = GATE_BODY;
		conn->phase_ms = now_ms();
		conn->body_bytes = 0;
		verdict = GATE_OK;
	}
	pthread_mutex_unlock(&gate->lock);
	return verdict;
}

/* Shuts down the unauthenticated request still receiving its body with the lowest body
 * rate (the oldest among equals), from the address of LIKE (NULL: any), never SPARE. True
 * when there was one. */
static bool evict_slow_body(struct gate *gate, const struct gate_conn *like,
			    const struct gate_conn *spare)
{
	struct gate_conn *victim = NULL;
	unsigned long long victim_rate = 0;
	long long now = now_ms();

	for (unsigned i = 0; i < GATE_CONN_MAX; i++) {
		struct gate_conn *conn = &gate->conns[i];
		long long age = now - conn->phase_ms;
		unsigned long long rate;

		if (!conn->id || conn->evicted || !conn->unauth_active || conn->phase != GATE_BODY ||
		    conn == spare || (like && !same_address(conn, like)))
			continue;
		rate = conn->body_bytes * 1000 / (unsigned long long)(age < 100 ? 100 : age);
		if (!victim || rate < victim_rate ||
		    (rate == victim_rate && conn->phase_ms < victim->phase_ms)) {
			victim = conn;
			victim_rate = rate;
		}
	}
	if (!victim)
		return false;
	shut(victim);
	victim->unauth_active = false;
	gate->stats.evicted_body++;
	return true;
}

enum gate_verdict gate_unauth(struct gate *gate, uint64_t id)
{
	struct gate_conn *conn;
	enum gate_verdict verdict = GATE_GONE;

	pthread_mutex_lock(&gate->lock);
	conn = find(gate, id);
	if (conn && conn->unauth_active) {
		verdict = GATE_OK;
	} else if (conn) {
		unsigned same = 0, all = 0;
		bool room;
		for (unsigned i = 0; i < GATE_CONN_MAX; i++) {
			if (!gate->conns[i].id || gate->conns[i].evicted || !gate->conns[i].unauth_active)
				continue;
			all++;
			if (same_address(&gate->conns[i], conn))
				same++;
		}
		/* full: a body that arrives slowest gives its place up, else 503 */
		if (same >= GATE_UNAUTH_ACTIVE_PER_ADDR)
			room = evict_slow_body(gate, conn, conn);
		else if (all >= GATE_UNAUTH_ACTIVE_MAX)
			room = evict_slow_body(gate, NULL, conn);
		else
			room = true;
		if (!room) {
			gate->stats.busy++;
			verdict = GATE_FULL;
		} else {
			conn->unauth_active = true;
			verdict = GATE_OK;
		}
	}
	pthread_mutex_unlock(&gate->lock);
	return verdict;
}

enum gate_verdict gate_authenticate(struct gate *gate, uint64_t id,
				    const unsigned char fingerprint[32])
{
	struct gate_conn *conn;
	enum gate_verdict verdict = GATE_GONE;

	pthread_mutex_lock(&gate->lock);
	conn = find(gate, id);
	if (conn && conn->authenticated) {
		verdict = GATE_OK;   /* a later request on the same connection */
	} else if (conn) {
		int slot = -1, free_slot = -1;
		for (int i = 0; i < GATE_CONN_MAX; i++) {
			struct gate_cert *cert = &gate->certs[i];
			if (cert->conns == 0 && cert->streams == 0) {
				if (free_slot < 0)
					free_slot = i;
			} else if (memcmp(cert->fingerprint, fingerprint, 32) == 0) {
				slot = i;
			}
		}
		if (slot < 0 && free_slot >= 0) {
			slot = free_slot;
			memcpy(gate->certs[slot].fingerprint, fingerprint, 32);
		}
		if (slot < 0 || gate->certs[slot].conns >= GATE_CERT_CONN_MAX) {
			gate->stats.cert_conns++;
			verdict = GATE_CERT_CONNS;
		} else {
			gate->certs[slot].conns++;
			conn->cert = slot;
			conn->authenticated = true;
			verdict = GATE_OK;
		}
	}
	pthread_mutex_unlock(&gate->lock);
	return verdict;
}

void gate_body(struct gate *gate, uint64_t id, size_t len)
{
	struct gate_conn *conn;

	pthread_mutex_lock(&gate->lock);
	conn = find(gate, id);
	if (conn)
		conn->body_bytes += len;
	pthread_mutex_unlock(&gate->lock);
}

void gate_busy(struct gate *gate, uint64_t id)
{
	struct gate_conn *conn;

	pthread_mutex_lock(&gate->lock);
	conn = find(gate, id);
	if (conn) {
		conn->phase = GATE_BUSY;
		conn->phase_ms = now_ms();
	}
	pthread_mutex_unlock(&gate->lock);
}

enum gate_verdict gate_stream_begin(struct gate *gate, uint64_t id)
{
	struct gate_conn *conn;
	enum gate_verdict verdict = GATE_GONE;

	pthread_mutex_lock(&gate->lock);
	conn = find(gate, id);
	if (conn && (conn->streaming || conn->cert < 0)) {
		verdict = GATE_OK;   /* no certificate: nothing to count against */
	} else if (conn) {
		struct gate_cert *cert = &gate->certs[conn->cert];
		if (cert->streams >= GATE_CERT_STREAM_MAX) {
			gate->stats.cert_streams++;
			verdict = GATE_CERT_STREAMS;
		} else {
			cert->streams++;
			conn->streaming = true;
			verdict = GATE_OK;
		}
	}
	pthread_mutex_unlock(&gate->lock);
	return verdict;
}

void gate_stream_end(struct gate *gate, uint64_t id)
{
	struct gate_conn *conn;

	pthread_mutex_lock(&gate->lock);
	conn = find(gate, id);
	if (conn && conn->streaming) {
		if (conn->cert >= 0 && gate->certs[conn->cert].streams > 0)
			gate->certs[conn->cert].streams--;
		conn->streaming = false;
	}
	pthread_mutex_unlock(&gate->lock);
}

void gate_request_done(struct gate *gate, uint64_t id, bool upgraded)
{
	struct gate_conn *conn;

	pthread_mutex_lock(&gate->lock);
	conn = find(gate, id);
	if (conn) {
		conn->unauth_active = false;
		if (upgraded)
			conn->upgraded = true;
		if (!conn->upgraded) {
			conn->phase = GATE_HEAD;
			conn->phase_ms = now_ms();
			if (!conn->authenticated)
				enforce_pending(gate, conn);
		}
	}
	pthread_mutex_unlock(&gate->lock);
}

bool gate_evicted(struct gate *gate, uint64_t id)
{
	struct gate_conn *conn;
	bool evicted;

	pthread_mutex_lock(&gate->lock);
	conn = find(gate, id);
	evicted = !conn || conn->evicted;
	pthread_mutex_unlock(&gate->lock);
	return evicted;
}

struct gate_stats gate_stats(struct gate *gate)
{
	struct gate_stats stats;

	pthread_mutex_lock(&gate->lock);
	stats = gate->stats;
	pthread_mutex_unlock(&gate->lock);
	return stats;
}

/* One log line when the counters moved, at most every GATE_REPORT_MS. */
static void report(struct gate *gate, long long now)
{
	struct gate_stats *s = &gate->stats, *r = &gate->reported;

	if (now - gate->reported_ms < GATE_REPORT_MS || memcmp(s, r, sizeof *s) == 0)
		return;
	fprintf(stderr, "cairnd: gate: in the last %llds: %llu pending connections evicted, "
		"%llu unauthenticated slow bodies evicted, %llu past the %ds head deadline, %llu bodies below %d bytes/s, %llu refused busy "
		"(503), %llu over a certificate's connection cap, %llu over its stream cap (429)\n",
		(now - gate->reported_ms + 500) / 1000, s->evicted - r->evicted,
		s->evicted_body - r->evicted_body,
		s->head_late - r->head_late, GATE_HEAD_DEADLINE_MS / 1000, s->body_slow - r->body_slow,
		GATE_BODY_MIN_RATE, s->busy - r->busy, s->cert_conns - r->cert_conns,
		s->cert_streams - r->cert_streams);
	/* and what the table holds now */
	unsigned open = 0, pend = 0, shut_down = 0, authed = 0, body = 0, busy = 0;
	for (unsigned i = 0; i < GATE_CONN_MAX; i++) {
		const struct gate_conn *conn = &gate->conns[i];
		if (!conn->id)
			continue;
		open++;
		pend += pending(conn);
		shut_down += conn->evicted;
		authed += conn->authenticated;
		body += !conn->evicted && conn->phase == GATE_BODY;
		busy += !conn->evicted && conn->phase == GATE_BUSY;
	}
	fprintf(stderr, "cairnd: gate: now %u connections: %u pending, %u shut down and closing, "
		"%u authenticated, %u receiving a body, %u in a handler or stream\n", open, pend,
		shut_down, authed, body, busy);
	*r = *s;
	gate->reported_ms = now;
}

static void *watchdog_main(void *arg)
{
	struct gate *gate = arg;

	while (!__atomic_load_n(&gate->stop, __ATOMIC_RELAXED)) {
		struct timespec tick = { 0, GATE_TICK_MS * 1000000L };
		long long now;

		nanosleep(&tick, NULL);
		now = now_ms();
		pthread_mutex_lock(&gate->lock);
		for (unsigned i = 0; i < GATE_CONN_MAX; i++) {
			struct gate_conn *conn = &gate->conns[i];
			long long age = now - conn->phase_ms;

			if (!conn->id || conn->evicted)
				continue;
			if (conn->phase == GATE_HEAD && age > GATE_HEAD_DEADLINE_MS) {
				shut(conn);
				gate->stats.head_late++;
			} else if (conn->phase == GATE_BODY && age > GATE_BODY_GRACE_MS &&
				   conn->body_bytes * 1000 <
					   (unsigned long long)(age - GATE_BODY_GRACE_MS) * GATE_BODY_MIN_RATE) {
				shut(conn);
				gate->stats.body_slow++;
			}
		}
		report(gate, now);
		pthread_mutex_unlock(&gate->lock);
	}
	return NULL;
}

int gate_start(struct gate *gate)
{
	int rc;

	if (gate->running)
		return 0;
	__atomic_store_n(&gate->stop, 0, __ATOMIC_RELAXED);
	/* the caller's signal mask is inherited: SIGTERM/SIGINT stay with the main loop */
	rc = pthread_create(&gate->watchdog, NULL, watchdog_main, gate);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	gate->running = true;
	return 0;
}

void gate_stop(struct gate *gate)
{
	if (!gate->running)
		return;
	__atomic_store_n(&gate->stop, 1, __ATOMIC_RELAXED);
	pthread_join(gate->watchdog, NULL);
	gate->running = false;
}
