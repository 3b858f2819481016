/* vm_controller.c - the adapter of vm_controller.h. */
#include "vm_controller.h"
#include "vm.h"

void *vm_controller_init(const struct controller_env *env)
{
	const struct vm_env vm_env = {
		.run_dir = env->run_dir,
		.services_dir = env->services_dir,
		.init_socket = env->init_socket,
		.state_dir = env->vm_state_dir,
		.kvm = env->vm_accel,
	};

	return vm_open(&vm_env);
}

int vm_controller_reconcile(void *state, const json_t *config, struct ctrl_report *report)
{
	int rc = vm_reconcile(state, config);

	ctrl_account(report, rc > 0 ? rc : 0, rc < 0);
	return rc;
}

int vm_controller_fd(void *state)
{
	return vm_fd(state);
}

void vm_controller_halt(void *state)
{
	vm_close(state);
}
