/* test_logring.c - unit tests for init/logring.c (bounded ring of log lines). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "logring.h"

static struct logring ring;
static char got[64][LOGRING_LINE_MAX + 1];
static size_t got_count;

static void collect(const char *line, size_t len, void *arg)
{
	(void)arg;
	if (got_count < 64) {
		memcpy(got[got_count], line, len);
		got[got_count][len] = '\0';
	}
	got_count++;
}

static int setup(void **state)
{
	(void)state;
	got_count = 0;
	return logring_init(&ring);
}

static int teardown(void **state)
{
	(void)state;
	logring_free(&ring);
	return 0;
}

static void test_lines_and_partials(void **state)
{
	(void)state;
	logring_feed(&ring, "one\ntw", 6, collect, NULL);
	assert_int_equal(got_count, 1);
	logring_feed(&ring, "o\r\nthree", 8, collect, NULL);
	assert_int_equal(got_count, 2);
	assert_string_equal(got[1], "two");
	logring_flush(&ring, collect, NULL);
	assert_int_equal(ring.lines, 3);
	got_count = 0;
	assert_int_equal(logring_tail(&ring, 2, collect, NULL), 2);
	assert_string_equal(got[0], "two");
	assert_string_equal(got[1], "three");
	got_count = 0;
	assert_int_equal(logring_tail(&ring, 100, collect, NULL), 3);
	assert_string_equal(got[0], "one");
}

static void test_overwrites_oldest_keeps_newest(void **state)
{
	char line[64];
	(void)state;
	for (int i = 0; i < 20000; i++) {
		int n = snprintf(line, sizeof line, "line %05d\n", i);
		logring_feed(&ring, line, (size_t)n, NULL, NULL);
	}
	assert_true(ring.used <= LOGRING_SIZE);
	assert_true(ring.lines > 1000);
	got_count = 0;
	assert_int_equal(logring_tail(&ring, 3, collect, NULL), 3);
	assert_string_equal(got[0], "line 19997");
	assert_string_equal(got[2], "line 19999");
	/* the oldest kept line follows on from the newest dropped one */
	got_count = 0;
	logring_tail(&ring, ring.lines, collect, NULL);
	assert_int_equal(got_count, ring.lines);
}

static void test_long_line_is_split(void **state)
{
	static char big[LOGRING_LINE_MAX * 2 + 10];
	(void)state;
	memset(big, 'x', sizeof big);
	logring_feed(&ring, big, sizeof big, collect, NULL);
	assert_int_equal(got_count, 2);
	assert_int_equal(strlen(got[0]), LOGRING_LINE_MAX);
	logring_flush(&ring, collect, NULL);
	assert_int_equal(got_count, 3);
	assert_int_equal(strlen(got[2]), 10);
}

static void test_empty(void **state)
{
	(void)state;
	assert_int_equal(logring_tail(&ring, 10, collect, NULL), 0);
	logring_flush(&ring, collect, NULL);
	assert_int_equal(got_count, 0);
	logring_feed(&ring, "\n\n", 2, collect, NULL);
	assert_int_equal(logring_tail(&ring, 10, NULL, NULL), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lines_and_partials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overwrites_oldest_keeps_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line_is_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
	};
	return cmocka_run_group_tests_name("logring", tests, NULL, NULL);
}
