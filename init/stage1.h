/* stage1.h - stage 1: PID 1 in the initramfs, up to exec of stage 2 on the new root. */
#ifndef CAIRN_STAGE1_H
#define CAIRN_STAGE1_H

#include <stddef.h>

#define STAGE1_NEWROOT "/newroot"

void stage1_main(void) __attribute__((noreturn));

/* stage1_modules.c: modules.boot plus modalias coldplug. */
void stage1_load_modules(void);

/* stage1_rootfs.c: find, verify and mount rootfs.squashfs on STAGE1_NEWROOT.
 * MODE is a cmdline_rootfs value. */
void stage1_mount_rootfs(int mode);

/* digest.c: SHA-256 of a file through the kernel crypto API (AF_ALG).
 * Writes 64 lowercase hex chars + NUL into HEX. 0, or -1 with *error set. */
int digest_sha256_file(const char *path, char hex[65], const char **error);

#endif
