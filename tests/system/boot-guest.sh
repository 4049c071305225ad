#!/usr/bin/env bash
# Boots one tests/system guest: moves itself into the cgroups it is given (one per hierarchy,
# made by guest.ts) and then becomes systemd-nspawn, so everything the guest runs stays in
# those cgroups, where teardown finds it.
# Usage: boot-guest.sh <cgroup dir>... -- <systemd-nspawn arguments>
set -euo pipefail
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  printf '%s\n' "$$" >"$1/cgroup.procs"
  shift
done
shift
exec systemd-nspawn "$@"
