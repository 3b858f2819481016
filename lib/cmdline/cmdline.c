/* cmdline.c - parser for the kernel command line, cairn.* arguments. */
#include "cmdline.h"

#include <string.h>

static void add_problem(struct cmdline *out, const char *argument, const char *reason)
{
	if (out->problem_count < CMDLINE_MAX_PROBLEMS) {
		out->problems[out->problem_count].argument = argument;
		out->problems[out->problem_count].reason = reason;
	}
	out->problem_count++;
}

/* Interprets one argument (NUL-terminated, quotes removed). */
static void parse_argument(struct cmdline *out, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t keylen = eq ? (size_t)(eq - arg) : strlen(arg);
	const char *value = eq ? eq + 1 : NULL;

	if (strncmp(arg, "cairn.", 6) != 0)
		return;
#define KEY_IS(k) (keylen == sizeof(k) - 1 && memcmp(arg, k, keylen) == 0)
	if (KEY_IS("cairn.debug")) {
		if (value && strcmp(value, "1") != 0 && strcmp(value, "yes") != 0 &&
		    strcmp(value, "0") != 0 && strcmp(value, "no") != 0)
			add_problem(out, arg, "invalid value (expected nothing, 1, yes, 0 or no)");
		else
			out->debug = !value || value[0] == '1' || value[0] == 'y';
	} else if (KEY_IS("cairn.rootfs")) {
		if (value && strcmp(value, "ram") == 0)
			out->rootfs = CMDLINE_ROOTFS_RAM;
		else if (value && strcmp(value, "iso") == 0)
			out->rootfs = CMDLINE_ROOTFS_ISO;
		else if (value && strcmp(value, "auto") == 0)
			out->rootfs = CMDLINE_ROOTFS_AUTO;
		else
			add_problem(out, arg, "invalid value (expected ram, iso or auto)");
	} else if (KEY_IS("cairn.config")) {
		if (!value || !*value)
			add_problem(out, arg, "missing value (expected a URL)");
		else
			out->config_url = value;
	} else if (KEY_IS("cairn.config.inline")) {
		if (!value || !*value)
			add_problem(out, arg, "missing value (expected base64 data)");
		else
			out->config_inline = value;
	} else if (KEY_IS("cairn.vm.accel")) {
		if (value && strcmp(value, "auto") == 0)
			out->vm_accel = -1;
		else if (value && strcmp(value, "kvm") == 0)
			out->vm_accel = 1;
		else if (value && strcmp(value, "tcg") == 0)
			out->vm_accel = 0;
		else
			add_problem(out, arg, "invalid value (expected auto, kvm or tcg)");
	} else {
		add_problem(out, arg, "unknown argument");
	}
#undef KEY_IS
}

void cmdline_parse(const char *text, size_t len, struct cmdline *out)
{
	size_t in = 0, used = 0;

	memset(out, 0, sizeof *out);
	out->rootfs = CMDLINE_ROOTFS_AUTO;
	out->vm_accel = -1;
	if (len > CMDLINE_MAX - 1)
		len = CMDLINE_MAX - 1;
	/* Split into words: whitespace separates, double quotes group and are removed,
	 * as the kernel does. Each word ends with a NUL in storage; len+1 bytes suffice. */
	while (in < len) {
		bool quoted = false;
		size_t start = used;

		while (in < len && (text[in] == ' ' || text[in] == '\t' || text[in] == '\n' ||
				    text[in] == '\r' || text[in] == '\0'))
			in++;
		if (in >= len)
			break;
		while (in < len && text[in] != '\0') {
			char c = text[in];
			if (!quoted && (c == ' ' || c == '\t' || c == '\n' || c == '\r'))
				break;
			in++;
			if (c == '"') {
				quoted = !quoted;
				continue;
			}
			out->storage[used++] = c;
		}
		out->storage[used++] = '\0';
		parse_argument(out, out->storage + start);
	}
}

const char *cmdline_rootfs_name(enum cmdline_rootfs rootfs)
{
	switch (rootfs) {
	case CMDLINE_ROOTFS_RAM: return "ram";
	case CMDLINE_ROOTFS_ISO: return "iso";
	default: return "auto";
	}
}
