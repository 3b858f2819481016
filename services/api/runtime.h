/* runtime.h - cairnd's controller runtime: runs the rows of a controller table
 * (controller.h) in the order their resource kinds imply, on cairnd's main thread.
 *
 * Order: a controller that reads a resource kind runs after every controller that writes it;
 * among the ones free to run, the table's order decides. A cycle is an error at start.
 *
 * A round (runtime_reconcile) runs every controller that is due, in that order: one whose
 * config documents changed, whose fd is readable, that has not run for CONTROLLER_PERIOD_MS,
 * or that reads a resource kind whose revision changed since it last ran (so a change flows
 * down the table in the same round). After the round PID 1 gets one `rescan` when a service
 * definition was written or removed. */
#ifndef CAIRN_API_RUNTIME_H
#define CAIRN_API_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include "controller.h"

/* The table cairnd runs (controllers.c). */
extern const struct controller controller_table[];
extern const size_t controller_count;

/* The run order of the COUNT rows of TABLE into ORDER (COUNT indices). 0, or -1 with ERROR
 * naming the controllers of a cycle. */
int runtime_order(const struct controller *table, size_t count, size_t *order, char *error,
		  size_t size);

struct runtime;

/* Orders TABLE, then calls init of every row whose ENABLED(name) is true (NULL: all). A row
 * whose init fails is left out (logged). NULL on a cycle (logged). */
struct runtime *runtime_open(const struct controller *table, size_t count,
			     const struct controller_env *env, bool (*enabled)(const char *name));
/* halt of every running controller, then frees the runtime. NULL is allowed. */
void runtime_close(struct runtime *rt);
/* One fd to poll (an epoll set of the controllers' fds), -1 when none. */
int runtime_fd(struct runtime *rt);
/* One round toward CONFIG. ALL: every controller runs, due or not. Returns the changes made,
 * or -1 when a controller failed (the others still ran). */
int runtime_reconcile(struct runtime *rt, const json_t *config, bool all);
/* The state of controller NAME (what its init returned), or NULL when it does not run. */
void *runtime_state(struct runtime *rt, const char *name);
/* The names of the running controllers in run order, as a new JSON array. */
json_t *runtime_running(struct runtime *rt);

#endif
