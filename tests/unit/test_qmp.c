/* test_qmp.c - unit tests for lib/qmp: the pure framing, then the client against real
 * qemu-system-x86_64 processes (TCG or -machine none, never KVM), then against fake servers
 * (a forked child on a socketpair) that send garbage, split or batched messages, or nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qmp.h"
#include "qmp_frame.h"

#define QEMU "qemu-system-x86_64"
#define TIMEOUT 5000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- framing (pure) ---- */

struct framed {
	json_t *msgs[8];
	size_t count;
	enum qmp_frame_status last;
	char why[256];
};

/* Feeds TEXT to the framer in chunks of CHUNK bytes, as a reader would. */
static void frame_text(const char *text, size_t chunk, size_t max, struct framed *out)
{
	struct qmp_frame frame = { .max = max };
	size_t len = strlen(text), have = 0, start = 0;

	memset(out, 0, sizeof(*out));
	while (start < len || have < len) {
		have = have + chunk < len ? have + chunk : len;
		for (;;) {
			size_t consumed;
			json_t *msg = NULL;
			out->last = qmp_frame_next(&frame, text + start, have - start, &consumed, &msg,
						   out->why, sizeof(out->why));
			assert_true(consumed <= have - start);
			start += consumed;
			if (out->last != QMP_FRAME_MESSAGE)
				break;
			assert_true(out->count < 8);
			out->msgs[out->count++] = msg;
		}
		if (out->last == QMP_FRAME_INVALID || have == len)
			break;
	}
}

static void framed_free(struct framed *f)
{
	for (size_t i = 0; i < f->count; i++)
		json_decref(f->msgs[i]);
}

static const char transcript[] =
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, "
	"\"capabilities\": [\"oob\"]}}\r\n"
	"\r\n"
	"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n"
	"{\"return\": {\"text\": \"a\\nb\"}, \"id\": 7}\r\n";

static void test_frame_transcript_any_split(void **state)
{
	(void)state;
	for (size_t chunk = 1; chunk <= sizeof(transcript); chunk++) {
		struct framed f;
		frame_text(transcript, chunk, QMP_RECV_MAX, &f);
		assert_int_equal(f.count, 3);
		assert_int_equal(f.last, QMP_FRAME_INCOMPLETE);
		assert_int_equal(qmp_message_kind(f.msgs[0]), QMP_MESSAGE_GREETING);
		assert_int_equal(qmp_message_kind(f.msgs[1]), QMP_MESSAGE_EVENT);
		assert_int_equal(qmp_message_kind(f.msgs[2]), QMP_MESSAGE_RETURN);
		uint64_t id = 0;
		assert_int_equal(qmp_message_id(f.msgs[2], &id), 1);
		assert_int_equal(id, 7);
		assert_int_equal(qmp_message_id(f.msgs[1], &id), 0);
		framed_free(&f);
	}
}

static void test_frame_incomplete_keeps_bytes(void **state)
{
	struct qmp_frame frame = { .max = 100 };
	const char *text = "{\"return\": {}";
	size_t consumed = 99;
	json_t *msg = NULL;
	char why[64];

	(void)state;
	assert_int_equal(qmp_frame_next(&frame, text, strlen(text), &consumed, &msg, why,
					sizeof(why)), QMP_FRAME_INCOMPLETE);
	assert_int_equal(consumed, 0);
	assert_null(msg);
	assert_int_equal(frame.scanned, strlen(text));
	/* a stale hint larger than the buffer is ignored, not trusted */
	frame.scanned = 1000;
	assert_int_equal(qmp_frame_next(&frame, "{}\n", 3, &consumed, &msg, why, sizeof(why)),
			 QMP_FRAME_MESSAGE);
	assert_int_equal(consumed, 3);
	json_decref(msg);
}

static void test_frame_rejects_garbage(void **state)
{
	struct framed f;

	(void)state;
	frame_text("this is not json\r\n", 4, QMP_RECV_MAX, &f);
	assert_int_equal(f.last, QMP_FRAME_INVALID);
	assert_non_null(strstr(f.why, "invalid JSON"));
	frame_text("[1, 2]\n", 100, QMP_RECV_MAX, &f);
	assert_int_equal(f.last, QMP_FRAME_INVALID);
	assert_string_equal(f.why, "message is not a JSON object");
	frame_text("{\"a\": 1} {\"b\": 2}\n", 100, QMP_RECV_MAX, &f);
	assert_int_equal(f.last, QMP_FRAME_INVALID);
	frame_text("{\"a\": 1}\n{\"b\n", 100, QMP_RECV_MAX, &f); /* a good one, then a bad one */
	assert_int_equal(f.count, 1);
	assert_int_equal(f.last, QMP_FRAME_INVALID);
	framed_free(&f);
}

static void test_frame_caps_line_length(void **state)
{
	struct framed f;

	(void)state;
	frame_text("{\"return\": {}}\n", 3, 14, &f); /* a 14-byte line */
	assert_int_equal(f.count, 1);
	framed_free(&f);
	frame_text("{\"return\": {}}\n", 3, 13, &f);
	assert_int_equal(f.last, QMP_FRAME_INVALID);
	assert_string_equal(f.why, "message longer than 13 bytes");
	frame_text("{\"return\": {   ", 1, 14, &f); /* no newline at all */
	assert_int_equal(f.last, QMP_FRAME_INVALID);
	assert_int_equal(f.count, 0);
}

static void test_message_kinds(void **state)
{
	static const struct {
		const char *text;
		enum qmp_message_kind kind;
	} cases[] = {
		{ "{\"QMP\": {}}", QMP_MESSAGE_GREETING },
		{ "{\"QMP\": 1}", QMP_MESSAGE_INVALID },
		{ "{\"return\": 1, \"id\": 1}", QMP_MESSAGE_RETURN },
		{ "{\"error\": {\"class\": \"A\", \"desc\": \"B\"}}", QMP_MESSAGE_ERROR },
		{ "{\"error\": {\"class\": \"A\"}}", QMP_MESSAGE_INVALID },
		{ "{\"error\": {\"class\": \"\", \"desc\": \"B\"}}", QMP_MESSAGE_INVALID },
		{ "{\"event\": \"X\"}", QMP_MESSAGE_EVENT },
		{ "{\"event\": \"X\", \"data\": []}", QMP_MESSAGE_INVALID },
		{ "{\"event\": 3}", QMP_MESSAGE_INVALID },
		{ "{}", QMP_MESSAGE_INVALID },
	};
	uint64_t id;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *msg = json_loads(cases[i].text, 0, NULL);
		assert_non_null(msg);
		assert_int_equal(qmp_message_kind(msg), cases[i].kind);
		json_decref(msg);
	}
	json_t *msg = json_loads("{\"return\": 1, \"id\": \"x\"}", 0, NULL);
	assert_int_equal(qmp_message_id(msg, &id), -1);
	json_decref(msg);
	msg = json_loads("{\"return\": 1, \"id\": -4}", 0, NULL);
	assert_int_equal(qmp_message_id(msg, &id), -1);
	json_decref(msg);
}

static void test_event_names(void **state)
{
	static const char *const names[] = { "SHUTDOWN", "POWERDOWN", "STOP", "RESUME",
					     "RESET", "DEVICE_DELETED", "MIGRATION" };

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		enum qmp_event_type type = qmp_event_type_from_name(names[i]);
		assert_int_not_equal(type, QMP_EVENT_OTHER);
		assert_string_equal(qmp_event_type_name(type), names[i]);
	}
	assert_int_equal(qmp_event_type_from_name("STOPPED"), QMP_EVENT_OTHER);
	assert_int_equal(qmp_event_type_from_name(""), QMP_EVENT_OTHER);
	assert_string_equal(qmp_event_type_name(QMP_EVENT_OTHER), "OTHER");
	assert_string_equal(qmp_state_name(QMP_STATE_READY), "ready");
}

/* ---- real QEMU ---- */

struct vm {
	pid_t pid;
	char dir[64];
	char sock[96];
	struct qmp *q;
};

/* Starts QEMU on a listening socket made here and passed as fd 3 (as libvirt does), so the
 * socket exists before QEMU runs and qmp_connect() needs no retry loop. */
static void vm_start(struct vm *vm, const char *const *extra)
{
	const char *argv[40] = { QEMU, "-nodefaults", "-display", "none", "-S",
				 "-chardev", "socket,id=qmp,fd=3,server=on,wait=off",
				 "-mon", "chardev=qmp,mode=control" };
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t argc = 9;
	struct qmp_error err;

	for (; *extra; extra++)
		argv[argc++] = *extra;
	snprintf(vm->dir, sizeof(vm->dir), "/tmp/test_qmp.XXXXXX");
	assert_non_null(mkdtemp(vm->dir));
	snprintf(vm->sock, sizeof(vm->sock), "%s/qmp.sock", vm->dir);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", vm->sock);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	vm->pid = fork();
	assert_true(vm->pid >= 0);
	if (vm->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* no stray QEMU when a test fails */
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(lfd, 3);
		execvp(QEMU, (char *const *)argv);
		_exit(127);
	}
	close(lfd);
	vm->q = qmp_connect(vm->sock, TIMEOUT, &err);
	if (!vm->q)
		fail_msg("%s", err.message);
	assert_int_equal(qmp_state(vm->q), QMP_STATE_READY);
}

static void vm_stop(struct vm *vm)
{
	qmp_close(vm->q);
	vm->q = NULL;
	if (vm->pid > 0) {
		kill(vm->pid, SIGKILL);
		waitpid(vm->pid, NULL, 0);
	}
	unlink(vm->sock);
	rmdir(vm->dir);
}

static const char *const machine_none[] = { "-machine", "none", NULL };
static const char *const machine_pc[] = { "-machine", "pc", "-accel", "tcg", "-m", "32",
					  "-device", "qemu-xhci,id=xhci", NULL };

/* The next event within TIMEOUT, which must be of TYPE. */
static void expect_event(struct qmp *q, enum qmp_event_type type, struct qmp_event *ev)
{
	struct qmp_error err;
	int rc = qmp_next_event(q, ev, TIMEOUT, &err);

	if (rc < 0)
		fail_msg("%s", err.message);
	assert_int_equal(rc, 1);
	if (ev->type != type)
		fail_msg("expected event %s, got %s", qmp_event_type_name(type), ev->name);
	assert_string_equal(ev->name, qmp_event_type_name(type));
	assert_true(ev->seconds > 0);
}

static void test_qemu_negotiation(void **state)
{
	struct vm vm;
	struct qmp_version version;
	struct qmp_status status;
	struct qmp_error err;
	struct qmp_error bad;

	(void)state;
	vm_start(&vm, machine_none);
	const json_t *greeting = qmp_greeting(vm.q);
	assert_true(json_is_object(json_object_get(greeting, "version")));
	assert_true(qmp_fd(vm.q) >= 0);
	assert_int_equal(qmp_query_version(vm.q, &version, &err, TIMEOUT), 0);
	assert_true(version.major >= 7);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(
		greeting, "version"), "qemu"), "major")), version.major);
	assert_int_equal(qmp_query_status(vm.q, &status, &err, TIMEOUT), 0);
	assert_false(status.running);
	assert_string_equal(status.status, "prelaunch");
	vm_stop(&vm);

	/* nothing listening: a prompt error naming the socket */
	assert_null(qmp_connect(vm.sock, TIMEOUT, &bad));
	assert_int_equal(bad.kind, QMP_ERROR_CLOSED);
	assert_non_null(strstr(bad.message, vm.sock));
	assert_non_null(strstr(bad.message, "No such file"));
}

static void test_qemu_errors(void **state)
{
	struct vm vm;
	struct qmp_error err;
	json_t *reply = (json_t *)1, *args;

	(void)state;
	vm_start(&vm, machine_none);
	assert_int_equal(qmp_command(vm.q, "no-such-command", NULL, &reply, &err, TIMEOUT), -1);
	assert_null(reply);
	assert_int_equal(err.kind, QMP_ERROR_QEMU);
	assert_string_equal(err.class, "CommandNotFound");
	assert_non_null(strstr(err.desc, "no-such-command"));
	assert_non_null(strstr(err.message, vm.sock));
	assert_non_null(strstr(err.message, ": no-such-command: CommandNotFound: "));

	args = json_pack("{s:i}", "bogus", 1);
	assert_int_equal(qmp_command(vm.q, "stop", args, NULL, &err, TIMEOUT), -1);
	json_decref(args);
	assert_string_equal(err.class, "GenericError");
	assert_non_null(strstr(err.desc, "bogus"));

	assert_int_equal(qmp_device_del(vm.q, "nic9", &err, TIMEOUT), -1);
	assert_string_equal(err.class, "DeviceNotFound");
	assert_int_equal(qmp_device_del(vm.q, "", &err, TIMEOUT), -1);
	assert_int_equal(err.kind, QMP_ERROR_INVALID);
	args = json_integer(3);
	assert_int_equal(qmp_command(vm.q, "stop", args, NULL, &err, TIMEOUT), -1);
	json_decref(args);
	assert_int_equal(err.kind, QMP_ERROR_INVALID);

	/* errors leave the connection usable; generic command with a reply */
	assert_int_equal(qmp_command(vm.q, "query-status", NULL, &reply, &err, TIMEOUT), 0);
	assert_string_equal(json_string_value(json_object_get(reply, "status")), "prelaunch");
	json_decref(reply);
	char *text = NULL;
	assert_int_equal(qmp_human_monitor_command(vm.q, "info version", &text, &err, TIMEOUT), 0);
	assert_non_null(text);
	assert_true(text[0] >= '7' && text[0] <= '9');
	free(text);
	vm_stop(&vm);
}

static void test_qemu_stop_cont_events(void **state)
{
	struct vm vm;
	struct qmp_status status;
	struct qmp_event ev;
	struct qmp_error err;

	(void)state;
	vm_start(&vm, machine_none);
	assert_int_equal(qmp_cont(vm.q, &err, TIMEOUT), 0);
	expect_event(vm.q, QMP_EVENT_RESUME, &ev);
	qmp_event_clear(&ev);
	assert_int_equal(qmp_query_status(vm.q, &status, &err, TIMEOUT), 0);
	assert_true(status.running);
	assert_string_equal(status.status, "running");
	assert_int_equal(qmp_stop(vm.q, &err, TIMEOUT), 0);
	assert_int_equal(qmp_events_queued(vm.q), 1); /* STOP came before the reply */
	expect_event(vm.q, QMP_EVENT_STOP, &ev);
	qmp_event_clear(&ev);
	assert_int_equal(qmp_next_event(vm.q, &ev, 0, &err), 0);
	assert_int_equal(qmp_events_dropped(vm.q), 0);
	vm_stop(&vm);
}

static void test_qemu_powerdown_reset_devices(void **state)
{
	struct vm vm;
	struct qmp_event ev;
	struct qmp_error err;
	struct qmp_cpu *cpus;
	size_t ncpus;
	json_t *blocks, *options;

	(void)state;
	vm_start(&vm, machine_pc);
	assert_int_equal(qmp_system_powerdown(vm.q, &err, TIMEOUT), 0);
	expect_event(vm.q, QMP_EVENT_POWERDOWN, &ev);
	qmp_event_clear(&ev);
	assert_int_equal(qmp_system_reset(vm.q, &err, TIMEOUT), 0);
	expect_event(vm.q, QMP_EVENT_RESET, &ev);
	assert_true(json_is_true(json_object_get(ev.data, "guest")) ||
		    json_is_false(json_object_get(ev.data, "guest")));
	qmp_event_clear(&ev);

	assert_int_equal(qmp_query_cpus_fast(vm.q, &cpus, &ncpus, &err, TIMEOUT), 0);
	assert_int_equal(ncpus, 1);
	assert_int_equal(cpus[0].cpu_index, 0);
	assert_true(cpus[0].thread_id > 0);
	assert_non_null(strstr(cpus[0].qom_path, "/machine/"));
	free(cpus);

	options = json_pack("{s:s, s:s}", "driver", "null-co", "node-name", "disk0");
	assert_int_equal(qmp_blockdev_add(vm.q, options, &err, TIMEOUT), 0);
	assert_int_equal(qmp_blockdev_add(vm.q, options, &err, TIMEOUT), -1); /* duplicate */
	assert_string_equal(err.class, "GenericError");
	json_decref(options);
	assert_int_equal(qmp_query_block(vm.q, &blocks, &err, TIMEOUT), 0);
	assert_true(json_is_array(blocks));
	json_decref(blocks);
	assert_int_equal(qmp_blockdev_del(vm.q, "disk0", &err, TIMEOUT), 0);
	assert_int_equal(qmp_blockdev_del(vm.q, "disk0", &err, TIMEOUT), -1);

	options = json_pack("{s:s, s:s, s:b}", "type", "user", "id", "net0", "restrict", 1);
	assert_int_equal(qmp_netdev_add(vm.q, options, &err, TIMEOUT), 0);
	json_decref(options);
	assert_int_equal(qmp_netdev_del(vm.q, "net0", &err, TIMEOUT), 0);
	assert_int_equal(qmp_netdev_del(vm.q, "net0", &err, TIMEOUT), -1);

	/* a USB device unplugs at once, without guest help: DEVICE_DELETED */
	options = json_pack("{s:s, s:s, s:s}", "driver", "usb-kbd", "id", "kbd0", "bus", "xhci.0");
	assert_int_equal(qmp_device_add(vm.q, options, &err, TIMEOUT), 0);
	json_decref(options);
	assert_int_equal(qmp_device_del(vm.q, "kbd0", &err, TIMEOUT), 0);
	for (;;) { /* the USB port's own DEVICE_DELETED (a QOM path, no id) may come first */
		expect_event(vm.q, QMP_EVENT_DEVICE_DELETED, &ev);
		const char *device = json_string_value(json_object_get(ev.data, "device"));
		bool ours = device && strcmp(device, "kbd0") == 0;
		qmp_event_clear(&ev);
		if (ours)
			break;
	}
	vm_stop(&vm);
}

static void test_qemu_migration(void **state)
{
	static const char *const incoming[] = { "-machine", "none", "-incoming", "defer", NULL };
	static const struct qmp_capability events_on[] = { { "events", true } };
	struct vm src, dst;
	struct qmp_migration info;
	struct qmp_event ev;
	struct qmp_error err;
	char uri[160];

	(void)state;
	vm_start(&src, machine_none);
	vm_start(&dst, incoming);
	snprintf(uri, sizeof(uri), "unix:%s/migrate.sock", dst.dir);
	assert_int_equal(qmp_query_migrate(src.q, &info, &err, TIMEOUT), 0);
	assert_string_equal(info.status, "none");
	assert_int_equal(qmp_migrate_set_capabilities(src.q, events_on, 1, &err, TIMEOUT), 0);
	assert_int_equal(qmp_migrate_incoming(dst.q, uri, &err, TIMEOUT), 0);
	assert_int_equal(qmp_migrate(src.q, uri, &err, TIMEOUT), 0);
	for (;;) {
		assert_int_equal(qmp_next_event(src.q, &ev, TIMEOUT, &err), 1);
		if (ev.type == QMP_EVENT_OTHER) { /* MIGRATION_PASS: unknown here, still delivered */
			assert_string_equal(ev.name, "MIGRATION_PASS");
			qmp_event_clear(&ev);
			continue;
		}
		assert_int_equal(ev.type, QMP_EVENT_MIGRATION);
		const char *status = json_string_value(json_object_get(ev.data, "status"));
		assert_non_null(status);
		bool done = strcmp(status, "completed") == 0;
		assert_string_not_equal(status, "failed");
		qmp_event_clear(&ev);
		if (done)
			break;
	}
	assert_int_equal(qmp_query_migrate(src.q, &info, &err, TIMEOUT), 0);
	assert_string_equal(info.status, "completed");
	assert_true(info.total_time_ms >= 0);
	struct qmp_capability bogus = { "no-such-capability", true };
	assert_int_equal(qmp_migrate_set_capabilities(src.q, &bogus, 1, &err, TIMEOUT), -1);
	assert_int_equal(err.kind, QMP_ERROR_QEMU);
	unlink(uri + strlen("unix:"));
	vm_stop(&dst);
	vm_stop(&src);
}

static void test_qemu_quit(void **state)
{
	struct vm vm;
	struct qmp_event ev;
	struct qmp_error err;
	struct qmp_status status;

	(void)state;
	vm_start(&vm, machine_none);
	assert_int_equal(qmp_quit(vm.q, &err, TIMEOUT), 0);
	int64_t start = now_ms();
	assert_int_equal(qmp_query_status(vm.q, &status, &err, TIMEOUT), -1);
	assert_true(now_ms() - start < 2000);
	assert_int_equal(err.kind, QMP_ERROR_CLOSED);
	assert_string_equal(err.class, "ConnectionClosed");
	assert_non_null(strstr(err.message, vm.sock));
	assert_non_null(strstr(err.message, "query-status: connection closed"));
	assert_int_equal(qmp_state(vm.q), QMP_STATE_CLOSED);
	assert_int_equal(qmp_fd(vm.q), -1);
	/* the SHUTDOWN that came before the close is still there */
	expect_event(vm.q, QMP_EVENT_SHUTDOWN, &ev);
	assert_string_equal(json_string_value(json_object_get(ev.data, "reason")), "host-qmp-quit");
	qmp_event_clear(&ev);
	assert_int_equal(qmp_next_event(vm.q, &ev, TIMEOUT, &err), -1);
	assert_int_equal(err.kind, QMP_ERROR_CLOSED);
	assert_int_equal(waitpid(vm.pid, NULL, 0), vm.pid);
	vm.pid = 0;
	vm_stop(&vm);
}

/* QEMU frozen with SIGSTOP, a command sent, then QEMU killed by a helper: the command must
 * fail as soon as the socket closes, long before its 20 s timeout. */
static void test_qemu_killed_mid_command(void **state)
{
	struct vm vm;
	struct qmp_error err;
	struct qmp_status status;

	(void)state;
	vm_start(&vm, machine_none);
	assert_int_equal(kill(vm.pid, SIGSTOP), 0);
	pid_t helper = fork();
	assert_true(helper >= 0);
	if (helper == 0) {
		pause_ms(300);
		kill(vm.pid, SIGKILL);
		_exit(0);
	}
	int64_t start = now_ms();
	assert_int_equal(qmp_query_status(vm.q, &status, &err, 20000), -1);
	int64_t elapsed = now_ms() - start;
	assert_int_equal(err.kind, QMP_ERROR_CLOSED);
	assert_true(elapsed >= 250 && elapsed < 3000);
	assert_non_null(strstr(err.message, "query-status: connection closed"));
	waitpid(helper, NULL, 0);
	waitpid(vm.pid, NULL, 0);
	vm.pid = 0;
	vm_stop(&vm);

	/* killed first, then called: the same error, at once */
	vm_start(&vm, machine_none);
	kill(vm.pid, SIGKILL);
	waitpid(vm.pid, NULL, 0);
	vm.pid = 0;
	start = now_ms();
	assert_int_equal(qmp_stop(vm.q, &err, 20000), -1);
	assert_int_equal(err.kind, QMP_ERROR_CLOSED);
	assert_non_null(strstr(err.message, "stop: connection closed"));
	assert_int_equal(qmp_cont(vm.q, &err, 20000), -1);
	assert_int_equal(err.kind, QMP_ERROR_CLOSED);
	assert_true(now_ms() - start < 1000);
	vm_stop(&vm);
}

struct seen {
	enum qmp_event_type types[8];
	int count;
	int depth, max_depth;
	bool nested_ok;
};

static void on_event(struct qmp *q, const struct qmp_event *ev, void *opaque)
{
	struct seen *seen = opaque;

	if (++seen->depth > seen->max_depth)
		seen->max_depth = seen->depth;
	if (seen->count < 8)
		seen->types[seen->count++] = ev->type;
	/* a handler may run commands on its own handle; the STOP event this one causes comes
	 * after the handler returns, not nested inside it */
	if (seen->count == 1)
		seen->nested_ok = qmp_stop(q, NULL, TIMEOUT) == 0;
	seen->depth--;
}

static void test_qemu_event_handler(void **state)
{
	struct vm vm;
	struct qmp_error err;
	struct seen seen = { .count = 0 };

	(void)state;
	vm_start(&vm, machine_none);
	assert_int_equal(qmp_cont(vm.q, &err, TIMEOUT), 0); /* RESUME queued, no handler yet */
	assert_int_equal(qmp_events_queued(vm.q), 1);
	qmp_set_event_handler(vm.q, on_event, &seen);
	assert_int_equal(seen.count, 2);
	assert_int_equal(seen.types[0], QMP_EVENT_RESUME);
	assert_int_equal(seen.types[1], QMP_EVENT_STOP);
	assert_true(seen.nested_ok);
	assert_int_equal(seen.max_depth, 1);
	assert_int_equal(qmp_cont(vm.q, &err, TIMEOUT), 0);
	assert_int_equal(seen.count, 3);
	assert_int_equal(seen.types[2], QMP_EVENT_RESUME);
	assert_int_equal(qmp_events_queued(vm.q), 0);

	/* the event-loop path: a raw command, then qmp_dispatch() on the readable fd */
	const char *stop = "{\"execute\": \"stop\"}\n";
	assert_int_equal(write(qmp_fd(vm.q), stop, strlen(stop)), (ssize_t)strlen(stop));
	int64_t start = now_ms();
	while (seen.count < 4 && now_ms() - start < TIMEOUT)
		assert_true(qmp_dispatch(vm.q, 500, &err) >= 0);
	assert_int_equal(seen.count, 4);
	assert_int_equal(seen.types[3], QMP_EVENT_STOP);
	qmp_set_event_handler(vm.q, NULL, NULL);
	vm_stop(&vm);
}

/* ---- fake servers ---- */

/* A script step for the fake QEMU: 'r' read a line that must contain TEXT, 'w' write TEXT at
 * once, 'b' write TEXT a byte at a time, 'B' write N+1 bytes with no newline (N = QMP_RECV_MAX),
 * 'e' write QMP_EVENT_QUEUE_MAX + 5 events at once, 'h' read nothing until the client hangs up. After the script the server reads until
 * the client closes. Its exit status says whether the client sent what the script expected. */
struct step {
	char op;
	const char *text;
};

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \"major\": 9}}, " \
		 "\"capabilities\": []}}\r\n"
#define CAPS_OK { 'r', "\"qmp_capabilities\"" }, { 'w', "{\"return\": {}, \"id\": 1}\r\n" }

static int server_read_line(int fd, char *line, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		ssize_t n = read(fd, line + len, 1);
		if (n <= 0)
			return -1;
		if (line[len++] == '\n')
			break;
	}
	line[len] = '\0';
	return 0;
}

static int server_write(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int server_step(int fd, const struct step *step)
{
	char line[4096];

	switch (step->op) {
	case 'r':
		return server_read_line(fd, line, sizeof(line)) == 0 && strstr(line, step->text) ? 0 : 3;
	case 'w':
		return server_write(fd, step->text, strlen(step->text)) == 0 ? 0 : 4;
	case 'b':
		for (const char *p = step->text; *p; p++) {
			if (server_write(fd, p, 1) < 0)
				return 5;
			pause_ms(1);
		}
		return 0;
	case 'B': {
		size_t len = QMP_RECV_MAX + 1;
		char *big = malloc(len);
		memset(big, ' ', len);
		big[0] = '{';
		server_write(fd, big, len); /* the client gives up part way: not an error */
		free(big);
		return 0;
	}
	case 'h': { /* read nothing more until the client hangs up */
		struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };
		return poll(&pfd, 1, 20000) == 1 ? 0 : 8;
	}
	case 'e':
		for (int i = 0; i < QMP_EVENT_QUEUE_MAX + 5; i++) {
			snprintf(line, sizeof(line), "{\"event\": \"E%d\", \"data\": {\"n\": %d}, "
				 "\"timestamp\": {\"seconds\": 1, \"microseconds\": 0}}\r\n", i, i);
			if (server_write(fd, line, strlen(line)) < 0)
				return 6;
		}
		return 0;
	}
	return 7;
}

static pid_t fake_server(int *client_fd, const struct step *script)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		close(sv[0]);
		for (; script->op; script++) {
			int rc = server_step(sv[1], script);
			if (rc != 0)
				_exit(rc);
		}
		while (read(sv[1], &c, 1) > 0)
			;
		_exit(0);
	}
	close(sv[1]);
	*client_fd = sv[0];
	return pid;
}

/* Waits for the fake server; its script must have run to the end. */
static void fake_server_done(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static struct qmp *fake_connect(const struct step *script, pid_t *pid)
{
	struct qmp_error err;
	int fd;

	*pid = fake_server(&fd, script);
	struct qmp *q = qmp_connect_fd(fd, "fake", TIMEOUT, &err);
	if (!q)
		fail_msg("%s", err.message);
	return q;
}

#define BATCH "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 5, \"microseconds\": 6}}\r\n" \
	      "{\"event\": \"BLOCK_JOB_READY\", \"data\": {\"device\": \"d\"}, " \
	      "\"timestamp\": {\"seconds\": 5, \"microseconds\": 7}}\r\n" \
	      "{\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": 2}\r\n"

static void check_batch_result(struct qmp *q)
{
	struct qmp_status status;
	struct qmp_event ev;
	struct qmp_error err;

	assert_int_equal(qmp_query_status(q, &status, &err, TIMEOUT), 0);
	assert_string_equal(status.status, "paused");
	assert_int_equal(qmp_events_queued(q), 2);
	assert_int_equal(qmp_next_event(q, &ev, 0, &err), 1);
	assert_int_equal(ev.type, QMP_EVENT_STOP);
	assert_null(ev.data);
	assert_int_equal(ev.seconds, 5);
	assert_int_equal(ev.microseconds, 6);
	qmp_event_clear(&ev);
	assert_int_equal(qmp_next_event(q, &ev, 0, &err), 1);
	assert_int_equal(ev.type, QMP_EVENT_OTHER); /* unknown events keep their name */
	assert_string_equal(ev.name, "BLOCK_JOB_READY");
	assert_string_equal(json_string_value(json_object_get(ev.data, "device")), "d");
	qmp_event_clear(&ev);
}

static void test_fake_all_at_once(void **state)
{
	static const struct step script[] = {
		{ 'w', GREETING "{\"return\": {}, \"id\": 1}\r\n" }, /* reply before request */
		{ 'r', "\"qmp_capabilities\"" },
		{ 'r', "\"query-status\"" }, { 'w', BATCH }, { 0, NULL },
	};
	pid_t pid;
	struct qmp *q = fake_connect(script, &pid);

	(void)state;
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(
		qmp_greeting(q), "version"), "qemu"), "major")), 9);
	check_batch_result(q);
	qmp_close(q);
	fake_server_done(pid);
}

static void test_fake_byte_by_byte(void **state)
{
	static const struct step script[] = {
		{ 'b', GREETING }, { 'r', "\"qmp_capabilities\"" },
		{ 'b', "{\"return\": {}, \"id\": 1}\r\n" },
		{ 'r', "\"query-status\"" }, { 'b', BATCH }, { 0, NULL },
	};
	pid_t pid;
	struct qmp *q = fake_connect(script, &pid);

	(void)state;
	check_batch_result(q);
	qmp_close(q);
	fake_server_done(pid);
}

static void expect_protocol_failure(const struct step *script, const char *reason)
{
	struct qmp_error err;
	pid_t pid;
	struct qmp *q = fake_connect(script, &pid);

	assert_int_equal(qmp_command(q, "query-status", NULL, NULL, &err, TIMEOUT), -1);
	assert_int_equal(err.kind, QMP_ERROR_PROTOCOL);
	assert_string_equal(err.class, "ProtocolError");
	if (!strstr(err.message, reason))
		fail_msg("'%s' does not say '%s'", err.message, reason);
	assert_non_null(strstr(err.message, "qmp fake: query-status: "));
	assert_int_equal(qmp_state(q), QMP_STATE_CLOSED);
	assert_int_equal(qmp_command(q, "query-status", NULL, NULL, &err, TIMEOUT), -1);
	assert_int_equal(err.kind, QMP_ERROR_CLOSED);
	qmp_close(q);
	fake_server_done(pid);
}

static void test_fake_garbage(void **state)
{
	static const struct step garbage[] = {
		{ 'w', GREETING }, CAPS_OK, { 'r', "query-status" },
		{ 'w', "\x01\x02garbage \xff\xfe\r\n" }, { 0, NULL },
	};
	static const struct step not_object[] = {
		{ 'w', GREETING }, CAPS_OK, { 'r', "query-status" }, { 'w', "[42]\r\n" }, { 0, NULL },
	};
	static const struct step newline_class[] = {
		{ 'w', GREETING }, CAPS_OK, { 'r', "query-status" },
		{ 'w', "{\"error\": {\"class\": \"Generic\\nError\", \"desc\": \"a\\r\\nb\"}, "
		       "\"id\": 2}\r\n" }, { 0, NULL },
	};
	static const struct step wrong_shape[] = {
		{ 'w', GREETING }, CAPS_OK, { 'r', "query-status" },
		{ 'w', "{\"error\": \"no class\", \"id\": 2}\r\n" }, { 0, NULL },
	};
	static const struct step second_greeting[] = {
		{ 'w', GREETING }, CAPS_OK, { 'r', "query-status" }, { 'w', GREETING }, { 0, NULL },
	};
	static const struct step oversized[] = {
		{ 'w', GREETING }, CAPS_OK, { 'r', "query-status" }, { 'B', NULL }, { 0, NULL },
	};

	(void)state;
	expect_protocol_failure(garbage, "invalid JSON");
	expect_protocol_failure(not_object, "not a JSON object");
	/* a QEMU error whose text holds newlines still makes a one-line message */
	struct qmp_error err;
	pid_t pid;
	struct qmp *q = fake_connect(newline_class, &pid);
	assert_int_equal(qmp_command(q, "query-status", NULL, NULL, &err, TIMEOUT), -1);
	assert_int_equal(err.kind, QMP_ERROR_QEMU);
	assert_string_equal(err.class, "Generic Error");
	assert_string_equal(err.message, "qmp fake: query-status: Generic Error: a  b");
	qmp_close(q);
	fake_server_done(pid);
	expect_protocol_failure(wrong_shape, "unexpected message {\"error\":\"no class\"");
	expect_protocol_failure(second_greeting, "unexpected message {\"QMP\"");
	expect_protocol_failure(oversized, "message longer than 10485760 bytes");
}

static void expect_connect_failure(const struct step *script, enum qmp_error_kind kind,
				   const char *reason, int timeout_ms)
{
	struct qmp_error err;
	int fd;
	pid_t pid = fake_server(&fd, script);
	int64_t start = now_ms();

	assert_null(qmp_connect_fd(fd, "fake", timeout_ms, &err));
	assert_true(now_ms() - start < timeout_ms + 1000);
	assert_int_equal(err.kind, kind);
	if (!strstr(err.message, reason))
		fail_msg("'%s' does not say '%s'", err.message, reason);
	fake_server_done(pid);
}

static void test_fake_bad_greeting(void **state)
{
	static const struct step garbage[] = { { 'w', "SSH-2.0-OpenSSH_9.2\r\n" }, { 0, NULL } };
	static const struct step reply_first[] = { { 'w', "{\"return\": {}}\r\n" }, { 0, NULL } };
	static const struct step silent[] = { { 0, NULL } };
	static const struct step refused[] = {
		{ 'w', GREETING }, { 'r', "qmp_capabilities" },
		{ 'w', "{\"id\": 1, \"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}\n" },
		{ 0, NULL },
	};

	(void)state;
	expect_connect_failure(garbage, QMP_ERROR_PROTOCOL, "qmp fake: greeting: invalid JSON", TIMEOUT);
	expect_connect_failure(reply_first, QMP_ERROR_PROTOCOL,
			       "qmp fake: greeting: unexpected message", TIMEOUT);
	expect_connect_failure(silent, QMP_ERROR_TIMEOUT, "qmp fake: greeting: no greeting", 200);
	expect_connect_failure(refused, QMP_ERROR_QEMU,
			       "qmp fake: qmp_capabilities: GenericError: no", TIMEOUT);
}

/* No answer: the command times out, the connection stays usable, and the late reply (id 2)
 * is dropped rather than taken for the answer to the next command (id 3). */
static void test_fake_timeout(void **state)
{
	static const struct step script[] = {
		{ 'w', GREETING }, CAPS_OK, { 'r', "\"id\":2" }, { 'r', "\"id\":3" },
		{ 'w', "{\"return\": {\"which\": 2}, \"id\": 2}\r\n"
		       "{\"return\": {\"which\": 3}, \"id\": 3}\r\n" },
		{ 'r', "\"id\":4" },
		{ 'w', "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}\r\n" },
		{ 0, NULL },
	};
	struct qmp_error err;
	json_t *reply;
	pid_t pid;
	struct qmp *q = fake_connect(script, &pid);

	(void)state;
	int64_t start = now_ms();
	assert_int_equal(qmp_command(q, "query-status", NULL, &reply, &err, 200), -1);
	int64_t elapsed = now_ms() - start;
	assert_true(elapsed >= 190 && elapsed < 1000);
	assert_int_equal(err.kind, QMP_ERROR_TIMEOUT);
	assert_string_equal(err.class, "Timeout");
	assert_string_equal(err.message, "qmp fake: query-status: no reply within the timeout");
	assert_int_equal(qmp_state(q), QMP_STATE_READY);
	assert_int_equal(qmp_command(q, "query-status", NULL, &reply, &err, TIMEOUT), 0);
	assert_int_equal(json_integer_value(json_object_get(reply, "which")), 3);
	json_decref(reply);
	/* an error without id (QEMU could not parse the request) ends the command in flight */
	assert_int_equal(qmp_command(q, "query-status", NULL, NULL, &err, TIMEOUT), -1);
	assert_int_equal(err.kind, QMP_ERROR_QEMU);
	assert_string_equal(err.desc, "JSON parse error");
	/* nothing at all to read: qmp_next_event and qmp_dispatch return 0 after the timeout */
	struct qmp_event ev;
	assert_int_equal(qmp_next_event(q, &ev, 50, &err), 0);
	assert_int_equal(qmp_dispatch(q, 50, &err), 0);
	qmp_close(q);
	fake_server_done(pid);
}

/* A peer that stops reading: a command too big for the socket buffer times out part way, and
 * the connection closes, since QEMU would hold half a request. A small one that could not even
 * start would leave it open. */
static void test_fake_send_timeout(void **state)
{
	static const struct step script[] = {
		{ 'w', GREETING }, CAPS_OK, { 'h', NULL }, { 0, NULL },
	};
	struct qmp_error err;
	pid_t pid;
	struct qmp *q = fake_connect(script, &pid);
	size_t size = 8u << 20;
	char *line = malloc(size + 1);

	(void)state;
	memset(line, 'x', size);
	line[size] = '\0';
	int64_t start = now_ms();
	assert_int_equal(qmp_human_monitor_command(q, line, NULL, &err, 200), -1);
	assert_true(now_ms() - start < 1500);
	free(line);
	assert_int_equal(err.kind, QMP_ERROR_TIMEOUT);
	assert_non_null(strstr(err.message, "human-monitor-command: timed out part way"));
	assert_int_equal(qmp_state(q), QMP_STATE_CLOSED);
	qmp_close(q);
	fake_server_done(pid);
}

static void test_fake_event_queue_bound(void **state)
{
	static const struct step script[] = {
		{ 'w', GREETING }, CAPS_OK, { 'r', "query-status" }, { 'e', NULL },
		{ 'w', "{\"return\": {}, \"id\": 2}\r\n" }, { 0, NULL },
	};
	struct qmp_error err;
	struct qmp_event ev;
	pid_t pid;
	struct qmp *q = fake_connect(script, &pid);

	(void)state;
	assert_int_equal(qmp_command(q, "query-status", NULL, NULL, &err, TIMEOUT), 0);
	assert_int_equal(qmp_events_queued(q), QMP_EVENT_QUEUE_MAX);
	assert_int_equal(qmp_events_dropped(q), 5);
	assert_int_equal(qmp_next_event(q, &ev, 0, &err), 1);
	assert_string_equal(ev.name, "E5"); /* the oldest five were dropped */
	assert_int_equal(json_integer_value(json_object_get(ev.data, "n")), 5);
	qmp_event_clear(&ev);
	qmp_close(q); /* frees the 1023 still queued (LeakSanitizer checks) */
	fake_server_done(pid);
}

/* A hung test fails (SIGALRM ends the program) instead of hanging `make unit`. */
static int arm_watchdog(void **state)
{
	(void)state;
	alarm(30);
	return 0;
}

static int disarm_watchdog(void **state)
{
	(void)state;
	alarm(0);
	return 0;
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, arm_watchdog, disarm_watchdog)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_frame_transcript_any_split),
		TEST(test_frame_incomplete_keeps_bytes),
		TEST(test_frame_rejects_garbage),
		TEST(test_frame_caps_line_length),
		TEST(test_message_kinds),
		TEST(test_event_names),
		TEST(test_qemu_negotiation),
		TEST(test_qemu_errors),
		TEST(test_qemu_stop_cont_events),
		TEST(test_qemu_powerdown_reset_devices),
		TEST(test_qemu_migration),
		TEST(test_qemu_quit),
		TEST(test_qemu_killed_mid_command),
		TEST(test_qemu_event_handler),
		TEST(test_fake_all_at_once),
		TEST(test_fake_byte_by_byte),
		TEST(test_fake_garbage),
		TEST(test_fake_bad_greeting),
		TEST(test_fake_timeout),
		TEST(test_fake_send_timeout),
		TEST(test_fake_event_queue_bound),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
