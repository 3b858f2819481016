/* fileio.h - small-file I/O shared by cairnd, its controllers and cairnctl: a whole-file read
 * with a size limit, and the atomic replacement of a file (a temporary file in the same folder,
 * written and fsync()ed, renamed over the target, then the folder fsync()ed), so that after a
 * crash the path holds either the old or the new bytes, never a mix, and the rename survives.
 *
 * Every function returns -1 with errno set on failure; none prints anything. No global state,
 * safe from any thread. */
#ifndef CAIRN_FILEIO_H
#define CAIRN_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads PATH whole into a NUL-terminated malloc()ed buffer, at most MAX bytes; *LEN (when
 * LEN) gets the length. NULL with errno: ENOENT and the like from open(), EFBIG when PATH
 * holds more than MAX bytes, ENOMEM. */
char *fileio_read(const char *path, size_t max, size_t *len);

/* The first half of an atomic write: creates a temporary file ".NAME.tmp-XXXXXX" next to PATH
 * (PID 1 and the other watchers of a folder ignore dot files) with MODE (not narrowed by the
 * umask), writes LEN bytes of DATA and fsync()s it. 0 with *TMP its malloc()ed path, or -1
 * with errno, *WHAT (when WHAT) the step that failed, and nothing left behind. */
int fileio_stage(const char *path, const void *data, size_t len, mode_t mode, char **tmp,
		 const char **what);
/* The second half: renames TMP over PATH, then fsync()s PATH's folder. Frees TMP. 0, or -1
 * with errno and *WHAT (the temporary file removed when the rename failed). */
int fileio_commit(char *tmp, const char *path, const char **what);
/* Removes and frees a staged TMP that will not be committed (NULL is allowed). */
void fileio_discard(char *tmp);

/* fileio_stage() then fileio_commit(). 0, or -1 with errno (*WHAT, when WHAT, names the step). */
int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			const char **what);
/* Writes the string TEXT to PATH atomically unless PATH already holds exactly TEXT (compared
 * after a read of at most FILEIO_COMPARE_MAX bytes), creating PATH's missing folders (0755).
 * 1: written; 0: unchanged; -1: errno set. */
#define FILEIO_COMPARE_MAX (4 * 1024 * 1024)
int fileio_write_if_changed(const char *path, const char *text, mode_t mode);

/* fsync() of the folder DIR (after a rename or unlink in it). 0, or -1 with errno. */
int fileio_fsync_dir(const char *dir);
/* mkdir -p PATH with MODE for the folders it creates. 0, or -1 with errno. */
int fileio_mkdirs(const char *path, mode_t mode);
/* Removes PATH. 1: removed; 0: it was absent; -1: errno set. */
int fileio_remove(const char *path);
/* The size in bytes of the block device PATH (a node or a link to one), from
 * /sys/dev/block/MAJ:MIN/size; 0 when PATH is no block device or sysfs does not say. */
long long fileio_block_bytes(const char *path);
/* Whether PATH (absolute, as /proc/self/mountinfo spells it) is a mount point of this process's
 * mount namespace. */
bool fileio_is_mount_point(const char *path);

#endif
