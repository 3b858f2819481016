/* vm.h - what the `cairnctl vm ...` commands share (cmd_vm.c, console.c). */
#ifndef CAIRN_CTL_VM_H
#define CAIRN_CTL_VM_H

#include <stdbool.h>

#define VM_NAME_MAX 253   /* lib/config's object names: a DNS name, lower case */

/* NAME is a VirtualMachine name (lower-case letters, digits, '-', '.'; not starting with
 * '-' or '.'), so it can go into a URL path as it is. */
bool vm_name_valid(const char *name);

#endif
