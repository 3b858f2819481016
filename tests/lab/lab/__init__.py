"""lab - the Cairn QEMU lab (a package): boot nodes from out/, watch their serial consoles, drive QMP.

Python 3 standard library only. Scenarios import this module; tests/lab/main.py is the CLI
behind `make run`, `make lab`, `make lab-down`, `make lab-test` and `make bench`.

Environment (all optional):
  LAB_DIR    lab folder (default build/lab under the repo)
  LAB_OUT    artifact folder to boot from (default out/ under the repo)
  LAB_ACCEL  force "kvm" or "tcg" instead of probing
  LAB_CPUS   vCPUs per node (default 1)     LAB_MEM  MiB per node (default 2048)
"""
#
# The package is split by job; scenarios keep importing names from `lab` directly:
#   paths      artifacts, folders, limits, errors (LabError, Abort, need, out, log)
#   processes  spawn() and process hygiene (children die with the lab)
#   qmp        a QMP client for the nodes' QEMUs
#   accel      the KVM probe and its cached verdict
#   nodes      Switch (vde), Node (one QEMU), initramfs surgery (with_services)
#   scenarios  Scenario (PASS/FAIL lines), cairnctl helpers, wait_until, items
from .paths import *  # noqa: F401,F403
from .processes import *  # noqa: F401,F403
from .qmp import *  # noqa: F401,F403
from .accel import *  # noqa: F401,F403
from .nodes import *  # noqa: F401,F403
from .scenarios import *  # noqa: F401,F403
from .paths import LabError, Abort  # noqa: F401
