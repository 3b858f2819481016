/* test_units.c - unit tests for init/units.c (durations, sizes, percentages, names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>

#include "units.h"

static void test_durations(void **state)
{
	uint32_t ms;
	(void)state;
	assert_int_equal(units_parse_duration_ms("100ms", &ms), 0);
	assert_int_equal(ms, 100);
	assert_int_equal(units_parse_duration_ms("10s", &ms), 0);
	assert_int_equal(ms, 10000);
	assert_int_equal(units_parse_duration_ms("5m", &ms), 0);
	assert_int_equal(ms, 300000);
	assert_int_equal(units_parse_duration_ms("0s", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(units_parse_duration_ms("1440m", &ms), 0);
	const char *bad[] = { "", "10", "s", "-1s", "1.5s", "10 s", "10h", "1441m",
			      "99999999999999999999ms", "10sec", "ms" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(units_parse_duration_ms(bad[i], &ms), -1);
}

static void test_sizes(void **state)
{
	uint64_t b;
	(void)state;
	assert_int_equal(units_parse_size("256M", &b), 0);
	assert_int_equal(b, 256ull << 20);
	assert_int_equal(units_parse_size("1G", &b), 0);
	assert_int_equal(b, 1ull << 30);
	assert_int_equal(units_parse_size("4096", &b), 0);
	assert_int_equal(b, 4096);
	assert_int_equal(units_parse_size("64k", &b), 0);
	assert_int_equal(b, 65536);
	const char *bad[] = { "", "0", "0M", "M", "1MB", "-1M", "1P", "2000000T", "1.5G" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(units_parse_size(bad[i], &b), -1);
}

static void test_percent(void **state)
{
	uint32_t p;
	(void)state;
	assert_int_equal(units_parse_percent("50%", &p), 0);
	assert_int_equal(p, 50);
	assert_int_equal(units_parse_percent("250%", &p), 0);
	assert_int_equal(p, 250);
	const char *bad[] = { "", "50", "0%", "%", "50 %", "-5%", "100001%" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(units_parse_percent(bad[i], &p), -1);
}

static void test_signals(void **state)
{
	(void)state;
	assert_int_equal(units_signal_from_name("TERM"), SIGTERM);
	assert_int_equal(units_signal_from_name("SIGKILL"), SIGKILL);
	assert_int_equal(units_signal_from_name("hup"), SIGHUP);
	assert_int_equal(units_signal_from_name("10"), 10);
	assert_int_equal(units_signal_from_name("0"), -1);
	assert_int_equal(units_signal_from_name("65"), -1);
	assert_int_equal(units_signal_from_name("NOPE"), -1);
	assert_int_equal(units_signal_from_name("1x"), -1);
	assert_string_equal(units_signal_name(SIGTERM), "TERM");
	assert_string_equal(units_signal_name(SIGSEGV), "SEGV");
	assert_string_equal(units_signal_name(200), "?");
}

static void test_capabilities(void **state)
{
	(void)state;
	assert_int_equal(units_capability_from_name("CAP_NET_ADMIN"), 12);
	assert_int_equal(units_capability_from_name("sys_admin"), 21);
	assert_int_equal(units_capability_from_name("CAP_CHOWN"), 0);
	assert_int_equal(units_capability_from_name("CAP_CHECKPOINT_RESTORE"), 40);
	assert_int_equal(units_capability_from_name("CAP_FLY"), -1);
	assert_int_equal(units_capability_last(), 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_capabilities),
	};
	return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
