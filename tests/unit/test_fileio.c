/* test_fileio.c - lib/fileio on a real file system (a temporary folder): the bounded read at
 * and past its limit, the atomic write (content, mode, no temporary file left behind, the
 * target untouched until the commit, failures that leave nothing), write-if-changed, mkdirs
 * and remove. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

static char dir[64];

static char *path_in(const char *name)
{
	static char paths[4][300];
	static int next;
	char *path = paths[next++ % 4];

	snprintf(path, 300, "%s/%s", dir, name);
	return path;
}

static void put(const char *name, const char *text)
{
	FILE *f = fopen(path_in(name), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* How many entries DIR/SUB holds besides . and .. (temporary files left behind count). */
static int entries(const char *sub)
{
	DIR *d = opendir(sub ? path_in(sub) : dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/cairn-fileio-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_read_limit(void **state)
{
	size_t len = 99;
	char *text;

	(void)state;
	put("ten", "0123456789");
	text = fileio_read(path_in("ten"), 10, &len);
	assert_non_null(text);
	assert_string_equal(text, "0123456789");
	assert_int_equal(len, 10);
	free(text);
	errno = 0;
	assert_null(fileio_read(path_in("ten"), 9, &len));
	assert_int_equal(errno, EFBIG);
	assert_null(fileio_read(path_in("missing"), 10, NULL));
	assert_int_equal(errno, ENOENT);
	put("empty", "");
	text = fileio_read(path_in("empty"), 0, &len);
	assert_non_null(text);
	assert_int_equal(len, 0);
	free(text);
	/* a larger file crosses the growth steps; a pseudo-file has no size to trust */
	{
		char big[20000];

		memset(big, 'x', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		put("big", big);
		text = fileio_read(path_in("big"), sizeof big - 1, &len);
		assert_non_null(text);
		assert_int_equal(len, sizeof big - 1);
		assert_string_equal(text, big);
		free(text);
		assert_null(fileio_read(path_in("big"), sizeof big - 2, NULL));
		assert_int_equal(errno, EFBIG);
	}
	text = fileio_read("/proc/self/status", 1 << 20, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "Pid:"));
	free(text);
}

static void test_write_atomic(void **state)
{
	mode_t old_mask = umask(077);
	const char *what = NULL;
	struct stat st;
	char *text;

	(void)state;
	assert_int_equal(fileio_write_atomic(path_in("a"), "first\n", 6, 0644, &what), 0);
	assert_int_equal(stat(path_in("a"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);   /* MODE, not narrowed by the umask */
	assert_int_equal(fileio_write_atomic(path_in("a"), "second", 6, 0600, NULL), 0);
	text = fileio_read(path_in("a"), 100, NULL);
	assert_string_equal(text, "second");
	free(text);
	assert_int_equal(stat(path_in("a"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(entries(NULL), 1);   /* no temporary file left */
	/* binary data with NUL bytes is written as is */
	assert_int_equal(fileio_write_atomic(path_in("bin"), "a\0b", 3, 0600, NULL), 0);
	assert_int_equal(stat(path_in("bin"), &st), 0);
	assert_int_equal(st.st_size, 3);
	/* a missing folder: the first step fails and says so */
	assert_int_equal(fileio_write_atomic(path_in("no/such/file"), "x", 1, 0600, &what), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(what, "create temp file");
	/* the target is a folder: the rename fails and the temporary file goes */
	assert_int_equal(mkdir(path_in("folder"), 0755), 0);
	assert_int_equal(fileio_write_atomic(path_in("folder"), "x", 1, 0600, &what), -1);
	assert_int_equal(errno, EISDIR);
	assert_string_equal(what, "rename the temp file");
	assert_int_equal(entries(NULL), 3);   /* a, bin, folder */
	umask(old_mask);
}

static void test_stage_commit(void **state)
{
	char *tmp = NULL, *text;

	(void)state;
	put("cfg", "old");
	assert_int_equal(fileio_stage(path_in("cfg"), "new", 3, 0600, &tmp, NULL), 0);
	assert_non_null(tmp);
	assert_non_null(strstr(tmp, "/.cfg.tmp-"));   /* a dot file next to the target */
	text = fileio_read(path_in("cfg"), 100, NULL);
	assert_string_equal(text, "old");             /* untouched until the commit */
	free(text);
	assert_int_equal(entries(NULL), 2);
	assert_int_equal(fileio_commit(tmp, path_in("cfg"), NULL), 0);
	text = fileio_read(path_in("cfg"), 100, NULL);
	assert_string_equal(text, "new");
	free(text);
	assert_int_equal(entries(NULL), 1);
	assert_int_equal(fileio_stage(path_in("cfg"), "dropped", 7, 0600, &tmp, NULL), 0);
	fileio_discard(tmp);
	fileio_discard(NULL);
	text = fileio_read(path_in("cfg"), 100, NULL);
	assert_string_equal(text, "new");
	free(text);
	assert_int_equal(entries(NULL), 1);
	/* a relative path stages in the current folder */
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(fileio_write_atomic("rel", "r", 1, 0600, NULL), 0);
	assert_int_equal(access(path_in("rel"), F_OK), 0);
	assert_int_equal(chdir("/"), 0);
}

static void test_write_if_changed(void **state)
{
	struct stat before, after;

	(void)state;
	assert_int_equal(fileio_write_if_changed(path_in("d1/d2/f"), "one\n", 0644), 1);
	assert_int_equal(stat(path_in("d1/d2/f"), &before), 0);
	assert_int_equal(fileio_write_if_changed(path_in("d1/d2/f"), "one\n", 0644), 0);
	assert_int_equal(stat(path_in("d1/d2/f"), &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);   /* unchanged: not rewritten */
	assert_int_equal(fileio_write_if_changed(path_in("d1/d2/f"), "two\n", 0644), 1);
	assert_int_equal(stat(path_in("d1/d2/f"), &after), 0);
	assert_int_not_equal(before.st_ino, after.st_ino);
	assert_int_equal(entries("d1/d2"), 1);
	put("plain", "x");
	assert_int_equal(fileio_write_if_changed(path_in("plain/below"), "y", 0644), -1);
	assert_int_equal(errno, ENOTDIR);
}

static void test_mkdirs_remove(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(fileio_mkdirs(path_in("m/n/o"), 0700), 0);
	assert_int_equal(stat(path_in("m/n/o"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(fileio_mkdirs(path_in("m/n/o"), 0700), 0);   /* exists: fine */
	assert_int_equal(fileio_mkdirs("", 0700), -1);
	put("gone", "x");
	assert_int_equal(fileio_remove(path_in("gone")), 1);
	assert_int_equal(fileio_remove(path_in("gone")), 0);
	assert_int_equal(fileio_remove(path_in("m")), -1);   /* a folder: unlink fails */
	assert_int_equal(fileio_fsync_dir(dir), 0);
	assert_int_equal(fileio_fsync_dir(path_in("missing")), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stage_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_if_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdirs_remove, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
