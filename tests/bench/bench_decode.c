/* bench_decode.c - lib/config's decoder against libyaml's parse alone, on the worst shapes of
 * config an API client can send (each up to CONFIG_TEXT_MAX, 1 MiB): one long list, wide
 * mappings, many documents, deep nesting, a list full of duplicates, and the largest valid
 * network config (8 interfaces x 4094 VLANs). For each shape it times the full
 * config_decode() and a libyaml event loop over the same bytes, best of RUNS in CPU time,
 * and prints the ratio decode/parse (the goal: at most 3).
 *
 *   build/bench/bench_decode [--runs N] [--rows] [--dump SHAPE] [SHAPE...]
 *
 * --rows prints "label<TAB>value<TAB>note" lines for tests/lab/bench.py; --dump SHAPE writes
 * the generated config to stdout. Built by `make build/bench/bench_decode` (lib/config/config.mk);
 * `make bench-decode` runs it, `make bench` prints its rows. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yaml.h>

#include "config.h"

#define HEAD "apiVersion: cairn.dev/v1alpha1\nkind: MachineConfig\n"
/* Room kept for the closing text of a shape. */
#define TAIL_ROOM 256

struct buf {
	char *text;
	size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();
		if (b->len + (size_t)n < b->cap)
			break;
		b->cap = b->cap ? b->cap * 2 : 4096;
		while (b->cap <= b->len + (size_t)n)
			b->cap *= 2;
		if (!(b->text = realloc(b->text, b->cap)))
			abort();
	}
	b->len += (size_t)n;
}

/* True while an item of about ITEM bytes still fits below 1 MiB. */
static bool room(const struct buf *b, size_t item)
{
	return b->len + item + TAIL_ROOM <= CONFIG_TEXT_MAX;
}

/* Nodes used so far are counted by each shape; this keeps them below the node limit. */
#define NODES_ROOM (CONFIG_NODES_MAX - 100)

/* api.certSANs with as many unique DNS names as the node limit and 1 MiB allow (the issue's
 * 99k certSANs; the list allows 64, so the decode fails, after checking every item). */
static void shape_long_list(struct buf *b)
{
	put(b, HEAD "spec:\n  role: worker\n  api:\n    certSANs: [\n");
	for (unsigned i = 0; i < NODES_ROOM && room(b, 16); i++)
		put(b, "s%05u.io,%s", i, i % 8 == 7 ? "\n" : " ");
	put(b, "]\n");
}

/* spec.sysctls with as many unique keys as fit (the map allows 1024). */
static void shape_wide_map(struct buf *b)
{
	put(b, HEAD "spec:\n  role: worker\n  sysctls:\n");
	for (unsigned i = 0; i < NODES_ROOM / 2 && room(b, 24); i++)
		put(b, "    net.core.k%05u: \"%u\"\n", i, i % 10);
}

/* A mapping in a schema object (spec) with as many unknown keys as fit. */
static void shape_wide_object(struct buf *b)
{
	put(b, HEAD "spec:\n  role: worker\n");
	for (unsigned i = 0; i < NODES_ROOM / 2 && room(b, 16); i++)
		put(b, "  key%05u: %u\n", i, i % 10);
}

/* A list whose items all repeat one unique key: every VLAN id is 7. */
static void shape_duplicates(struct buf *b)
{
	put(b, HEAD "spec:\n  role: worker\n  network:\n    interfaces:\n      - name: eth0\n"
	       "        vlans:\n");
	for (unsigned i = 0; i < NODES_ROOM / 3 && room(b, 20); i++)
		put(b, "          - {id: 7}\n");
}

/* As many small VirtualMachine documents as fit below the document and node limits, each
 * with a NIC MAC (the checks across documents: names, MACs). */
static void shape_documents(struct buf *b)
{
	const unsigned nodes_per_document = 26;

	for (unsigned i = 0; i < CONFIG_DOCUMENTS_MAX && (i + 1) * nodes_per_document < NODES_ROOM &&
	     room(b, 220); i++)
		put(b, "---\napiVersion: cairn.dev/v1alpha1\nkind: VirtualMachine\n"
		       "metadata: {name: vm-%05u}\n"
		       "spec: {node: node-1, memory: 16Mi, boot: {kernel: /k},\n"
		       "       nics: [{bridge: br0, mac: \"52:54:00:%02x:%02x:%02x\"}]}\n",
		       i, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
}

/* 1 MiB of empty documents: "---" alone (stops at the document limit). */
static void shape_empty_documents(struct buf *b)
{
	while (room(b, 4))
		put(b, "---\n");
}

/* Under unknown keys of spec, chains of mappings nested as deep as the limit allows. */
static void shape_deep(struct buf *b)
{
	const unsigned depth = CONFIG_DEPTH_MAX - 2;   /* spec and its keys take two levels */
	unsigned nodes = 0;

	put(b, HEAD "spec:\n  role: worker\n");
	for (unsigned i = 0; nodes + 2 * depth < NODES_ROOM && room(b, depth * (depth + 2)); i++) {
		put(b, "  deep%05u:\n", i);
		for (unsigned level = 1; level < depth; level++)
			put(b, "%*sk%u:\n", (int)(2 * level + 2), "", level);
		put(b, "%*send: 1\n", (int)(2 * depth + 2), "");
		nodes += 2 * depth + 1;
	}
}

/* Valid: 8 interfaces with 4094 VLANs each (the 353 KB config). */
static void shape_vlans(struct buf *b)
{
	put(b, HEAD "metadata: {name: node-1}\nspec:\n  role: worker\n  network:\n    interfaces:\n");
	for (unsigned i = 0; i < 8; i++) {
		put(b, "      - name: eth%u\n        vlans:\n", i);
		for (unsigned id = 1; id <= 4094; id++)
			put(b, "          - {id: %u}\n", id);
	}
}

struct shape {
	const char *name;
	const char *what;       /* for the rows */
	void (*make)(struct buf *b);
	bool valid;             /* the decode must succeed (else it must fail) */
};

static const struct shape shapes[] = {
	{ "long-list", "long list (certSANs)", shape_long_list, false },
	{ "wide-map", "wide mapping (sysctls)", shape_wide_map, false },
	{ "wide-object", "wide mapping (unknown keys)", shape_wide_object, false },
	{ "duplicates", "list of duplicates (VLAN ids)", shape_duplicates, false },
	{ "documents", "many documents (VMs)", shape_documents, true },
	{ "empty-documents", "empty documents", shape_empty_documents, false },
	{ "deep", "deep nesting", shape_deep, false },
	{ "vlans", "valid, 8 interfaces x 4094 VLANs", shape_vlans, true },
	{ NULL, NULL, NULL, false },
};

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* libyaml alone: every event of the stream, to its end or its first error. */
static size_t parse_only(const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t event;
	size_t events = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && yaml_parser_parse(&parser, &event)) {
		done = event.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&event);
		events++;
	}
	yaml_parser_delete(&parser);
	return events;
}

struct result {
	double parse, decode;   /* best, seconds */
	size_t events, errors;
	int rc;
	char first_error[160];
};

static void measure(const struct buf *b, unsigned runs, struct result *r)
{
	struct config_errors errs = { 0 };

	r->parse = r->decode = 1e9;
	for (unsigned i = 0; i < runs; i++) {
		json_t *config = NULL;
		double t0 = cpu_seconds();
		r->events = parse_only(b->text, b->len);
		double t1 = cpu_seconds();
		r->rc = config_decode("bench.yaml", b->text, b->len, &config, &errs);
		double t2 = cpu_seconds();
		json_decref(config);
		if (t1 - t0 < r->parse)
			r->parse = t1 - t0;
		if (t2 - t1 < r->decode)
			r->decode = t2 - t1;
	}
	r->errors = errs.count + errs.dropped;
	snprintf(r->first_error, sizeof r->first_error, "%s",
		 errs.count ? errs.items[0].text : "");
	config_errors_free(&errs);
}

static const struct shape *find_shape(const char *name)
{
	for (const struct shape *s = shapes; s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	fprintf(stderr, "bench_decode: no shape %s\n", name);
	exit(2);
}

int main(int argc, char **argv)
{
	const struct shape *chosen[sizeof shapes / sizeof shapes[0]];
	size_t count = 0;
	unsigned runs = 5;
	bool rows = false, failed = false;
	double worst = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			runs = (unsigned)atoi(argv[++i]);
			if (runs == 0)
				runs = 1;
		} else if (strcmp(argv[i], "--rows") == 0) {
			rows = true;
		} else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) {
			struct buf b = { 0 };
			find_shape(argv[++i])->make(&b);
			fwrite(b.text, 1, b.len, stdout);
			free(b.text);
			return 0;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: bench_decode [--runs N] [--rows] [--dump SHAPE] [SHAPE...]\n");
			return 2;
		} else if (count < sizeof chosen / sizeof chosen[0] - 1) {
			chosen[count++] = find_shape(argv[i]);
		}
	}
	if (count == 0)
		for (const struct shape *s = shapes; s->name; s++)
			chosen[count++] = s;

	if (!rows) {
		printf("config_decode vs libyaml's parse of the same bytes, best of %u, CPU time\n", runs);
		printf("  %-16s %9s %7s %9s %10s %6s  %s\n", "shape", "bytes", "events", "parse ms",
		       "decode ms", "ratio", "result");
	}
	for (size_t i = 0; i < count; i++) {
		const struct shape *s = chosen[i];
		struct buf b = { 0 };
		struct result r;
		char result[64];

		s->make(&b);
		measure(&b, runs, &r);
		double ratio = r.decode / r.parse;
		if (ratio > worst)
			worst = ratio;
		if ((r.rc == 0) != s->valid) {
			failed = true;
			fprintf(stderr, "bench_decode: %s: decode %s: %s\n", s->name,
				r.rc == 0 ? "succeeded" : "failed", r.first_error);
		}
		if (r.rc == 0)
			snprintf(result, sizeof result, "valid");
		else
			snprintf(result, sizeof result, "%zu error%s", r.errors, r.errors == 1 ? "" : "s");
		if (rows)
			printf("decode: %s, %.0f KiB\t%.1f ms\tratio %.2f to libyaml's parse (%.1f ms); %s\n",
			       s->what, b.len / 1024.0, r.decode * 1e3, ratio, r.parse * 1e3, result);
		else
			printf("  %-16s %9zu %7zu %9.1f %10.1f %6.2f  %s\n", s->name, b.len, r.events,
			       r.parse * 1e3, r.decode * 1e3, ratio, result);
		fflush(stdout);
		free(b.text);
	}
	if (!rows)
		printf("  worst ratio %.2f (goal <= 3)\n", worst);
	return failed ? 1 : 0;
}
