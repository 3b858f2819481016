/* units.c - parsing of durations, sizes, percentages, signal and capability names. */
#include "units.h"

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parses a decimal number without sign; sets *end after the digits. */
static int parse_decimal(const char *text, uint64_t limit, uint64_t *value, const char **end)
{
	uint64_t v = 0;
	const char *p = text;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > limit)
			return -1;
	}
	*value = v;
	*end = p;
	return 0;
}

int units_parse_duration_ms(const char *text, uint32_t *ms)
{
	const uint64_t max_ms = 24ull * 3600 * 1000;
	uint64_t v, scale;
	const char *p;

	if (parse_decimal(text, max_ms, &v, &p) < 0)
		return -1;
	if (strcmp(p, "ms") == 0)
		scale = 1;
	else if (strcmp(p, "s") == 0)
		scale = 1000;
	else if (strcmp(p, "m") == 0)
		scale = 60000;
	else
		return -1;
	if (v * scale > max_ms)
		return -1;
	*ms = (uint32_t)(v * scale);
	return 0;
}

int units_parse_size(const char *text, uint64_t *bytes)
{
	uint64_t v, scale = 1;
	const char *p;

	if (parse_decimal(text, 1ull << 50, &v, &p) < 0)
		return -1;
	switch (*p) {
	case '\0': break;
	case 'K': case 'k': scale = 1ull << 10; p++; break;
	case 'M': case 'm': scale = 1ull << 20; p++; break;
	case 'G': case 'g': scale = 1ull << 30; p++; break;
	case 'T': case 't': scale = 1ull << 40; p++; break;
	default: return -1;
	}
	if (*p != '\0' || v == 0 || v > (1ull << 50) / scale)
		return -1;
	*bytes = v * scale;
	return 0;
}

int units_parse_percent(const char *text, uint32_t *percent)
{
	uint64_t v;
	const char *p;

	if (parse_decimal(text, 100000, &v, &p) < 0 || strcmp(p, "%") != 0 || v == 0)
		return -1;
	*percent = (uint32_t)v;
	return 0;
}

static const struct {
	const char *name;
	int number;
} signal_table[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ILL", SIGILL },
	{ "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "BUS", SIGBUS }, { "FPE", SIGFPE },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "CHLD", SIGCHLD },
	{ "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },
	{ "TTOU", SIGTTOU }, { "URG", SIGURG }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "PWR", SIGPWR }, { "SYS", SIGSYS },
};

int units_signal_from_name(const char *text)
{
	uint64_t v;
	const char *p;

	if (parse_decimal(text, 64, &v, &p) == 0)
		return (*p == '\0' && v >= 1) ? (int)v : -1;
	if (strncasecmp(text, "SIG", 3) == 0)
		text += 3;
	for (size_t i = 0; i < sizeof signal_table / sizeof signal_table[0]; i++)
		if (strcasecmp(text, signal_table[i].name) == 0)
			return signal_table[i].number;
	return -1;
}

const char *units_signal_name(int sig)
{
	for (size_t i = 0; i < sizeof signal_table / sizeof signal_table[0]; i++)
		if (signal_table[i].number == sig)
			return signal_table[i].name;
	return "?";
}

static const char *const capability_table[] = {
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid",
	"setuid", "setpcap", "linux_immutable", "net_bind_service", "net_broadcast",
	"net_admin", "net_raw", "ipc_lock", "ipc_owner", "sys_module", "sys_rawio",
	"sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
	"sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write",
	"audit_control", "setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm",
	"block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
};

int units_capability_from_name(const char *text)
{
	if (strncasecmp(text, "CAP_", 4) == 0)
		text += 4;
	for (size_t i = 0; i < sizeof capability_table / sizeof capability_table[0]; i++)
		if (strcasecmp(text, capability_table[i]) == 0)
			return (int)i;
	return -1;
}

int units_capability_last(void)
{
	return (int)(sizeof capability_table / sizeof capability_table[0]) - 1;
}
