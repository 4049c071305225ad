#!/usr/bin/env bash
# Installs hiy and what it needs on Debian 12 / Raspberry Pi OS (arm64, amd64) and starts it.
# Idempotent (run it again after `git pull` to upgrade) and non-interactive. Run as root.
set -Eeuo pipefail
# set -e alone exits silently: say which step failed.
trap 'printf "install.sh: failed (exit %s) at line %s: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

usage() {
  cat <<'EOF'
Usage: sudo infra/install.sh [options]

Installs Docker, Caddy, git and hiy's Node dependencies, builds hiy, writes
/etc/hiy/hiy.env on the first run and starts hiy (a systemd service where
systemd runs, otherwise a background process). Hardens the host: ufw (22, 80,
443 only), fail2ban (sshd and hiy's own auth failures), unattended security
upgrades, Docker log and build cache limits; installs the daily backup timer.
Safe to run again: a second run changes nothing.

Options:
  --domain D     domain apps are served under (<app>.D, dashboard hiy.D). Written to
                 /etc/hiy/hiy.env; on a later run a different D replaces the one there
                 (with a warning: app URLs change). Default: $HIY_DOMAIN or localhost
  --keep-backup-key
                 keep the backup key made on the first run in /etc/hiy/backup-identity.txt
                 (0600) instead of only printing it once; without a terminal the key is
                 only made when this is given
  --enable-memory-cgroup
                 where the kernel boots with memory cgroups off (stock Raspberry Pi OS),
                 add cgroup_enable=memory cgroup_memory=1 to the boot command line; takes
                 effect after a reboot
  --nodes        prepare this box to run apps on more boxes (hiy nodes:add, docs/nodes.md):
                 install the registry the other boxes pull from (docker-registry,
                 apache2-utils, openssl), busybox-static (the nodes' metrics agent)
                 and set "live-restore": false in
                 /etc/docker/daemon.json (Docker Swarm refuses live-restore); the engine
                 restarts once, and with it the apps' containers
  --production   skip what only the test suite needs (chromium, busybox-static, rclone,
                 debootstrap, systemd-container, pebble, knot, bind9-dnsutils,
                 docker-registry, apache2-utils)
  --no-start     install and build, but do not start or restart hiy
  --no-firewall  leave the firewall alone (a box whose firewall is managed elsewhere)
  --no-fail2ban  do not install or configure fail2ban
  --no-upgrades  do not install or configure unattended-upgrades
  --dry-run      print every step it would take, change nothing
  -h, --help     show this help
EOF
}

ENV_FILE=/etc/hiy/hiy.env
DATA_DIR=/var/lib/hiy
UNIT_FILE=/etc/systemd/system/hiy.service
BIN_LINK=/usr/local/bin/hiy
HIY_LOG=/var/log/hiy.log
HIY_PID=/run/hiy.pid
DOCKERD_LOG=/var/log/hiy-dockerd.log
WAIT_SECONDS=60

DOCKER_DAEMON_JSON=/etc/docker/daemon.json
F2B_FILTER=/etc/fail2ban/filter.d/hiy.conf
F2B_JAIL=/etc/fail2ban/jail.d/hiy.conf
AUTO_UPGRADES=/etc/apt/apt.conf.d/20auto-upgrades
LOGROTATE_FILE=/etc/logrotate.d/hiy
BACKUP_UNIT=/etc/systemd/system/hiy-backup.service
BACKUP_TIMER=/etc/systemd/system/hiy-backup.timer
CADDY_DROPIN=/etc/systemd/system/caddy.service.d/hiy-restart.conf
CADDY_ADMIN_DROPIN=/etc/systemd/system/caddy.service.d/hiy-admin.conf
CADDY_ADMIN_JSON=/etc/hiy/caddy-admin.json
# Hash of what hiy was last started from: a rerun restarts it only when this changes. Kept on
# disk, not in /run: after a reboot systemd starts hiy from the same files, so a rerun then
# has nothing to restart.
RUN_STAMP=/var/lib/hiy/.install-stamp

DRY=0 PRODUCTION=0 NO_START=0 NO_FIREWALL=0 NO_FAIL2BAN=0 NO_UPGRADES=0 KEEP_BACKUP_KEY=0 ENABLE_MEMORY_CGROUP=0 NODES=0
DOMAIN="${HIY_DOMAIN:-localhost}"
DOMAIN_GIVEN=0
[ -n "${HIY_DOMAIN:-}" ] && DOMAIN_GIVEN=1
FIRST_RUN=0
# What the operator must see at the end, not only where it scrolled past.
LATER=()
BACKUP_IDENTITY=''
BACKUP_IDENTITY_FILE=/etc/hiy/backup-identity.txt
# Where the kernel says what it booted with and which cgroup controllers it has (tests point
# these at files of their own).
PROC_CMDLINE="${HIY_INSTALL_PROC_CMDLINE:-/proc/cmdline}"
PROC_CGROUPS="${HIY_INSTALL_PROC_CGROUPS:-/proc/cgroups}"
CGROUP_ROOT="${HIY_INSTALL_CGROUP_ROOT:-/sys/fs/cgroup}"
BOOT_CMDLINE="${HIY_INSTALL_BOOT_CMDLINE:-}"

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
# A warning that is also repeated at the end, next to the URLs.
warn_later() { warn "$*"; LATER+=("$*"); }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
usage_error() { printf 'install.sh: %s (see --help)\n' "$*" >&2; exit 2; }

# Every change goes through run: in --dry-run it prints the exact command instead.
run() {
  if [ "$DRY" = 1 ]; then
    printf '    would run:'; printf ' %q' "$@"; printf '\n'
  else
    "$@" || {
      local rc=$?
      printf 'install.sh: failed (exit %s):' "$rc" >&2; printf ' %q' "$@" >&2; printf '\n' >&2
      exit "$rc"
    }
  fi
}

# Writes stdin to $1 (mode $2) only when the content differs, atomically. Status 0 when the file
# changed (or would change, in a dry run), 1 when it was already up to date.
put_file() {
  local dest="$1" mode="$2" content tmp
  content="$(cat; printf x)"
  content="${content%x}"
  if [ -f "$dest" ] && [ "$(cat "$dest"; printf x)" = "${content}x" ]; then
    note "$dest is up to date"
    return 1
  fi
  if [ "$DRY" = 1 ]; then
    note "would write $dest"
    # A dry run leaves the env file as it is, so the run stamp cannot see this change.
    [ "$dest" != "${ENV_FILE:-}" ] || DRY_ENV_CHANGE=1
    return 0
  fi
  install -d -m 0755 "$(dirname "$dest")"
  tmp="$(mktemp "$dest.XXXXXX")"
  printf '%s' "$content" >"$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$dest"
  note "wrote $dest"
  return 0
}

while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dry-run) DRY=1 ;;
    --production) PRODUCTION=1 ;;
    --no-start) NO_START=1 ;;
    --no-firewall) NO_FIREWALL=1 ;;
    --no-fail2ban) NO_FAIL2BAN=1 ;;
    --no-upgrades) NO_UPGRADES=1 ;;
    --keep-backup-key) KEEP_BACKUP_KEY=1 ;;
    --enable-memory-cgroup) ENABLE_MEMORY_CGROUP=1 ;;
    --nodes) NODES=1 ;;
    --domain) [ $# -ge 2 ] || usage_error '--domain needs a value'; DOMAIN="$2" DOMAIN_GIVEN=1; shift ;;
    --domain=*) DOMAIN="${1#--domain=}" DOMAIN_GIVEN=1 ;;
    *) usage_error "unknown option: $1" ;;
  esac
  shift
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
DOMAIN="${DOMAIN,,}"
# The value lands in an env file: only a plain domain name may pass.
if ! [[ "$DOMAIN" =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$ ]] || [ ${#DOMAIN} -gt 200 ]; then
  usage_error "--domain: \"$DOMAIN\" is not a domain name (for example pi.example.com)"
fi
[ "$DRY" = 1 ] || [ "$(id -u)" = 0 ] || die 'run me as root (sudo infra/install.sh), or try --dry-run'
command -v dpkg-query >/dev/null || die 'this installer needs a Debian-based system (apt-get, dpkg)'
command -v apt-get >/dev/null || die 'this installer needs a Debian-based system (apt-get, dpkg)'
[ "$DRY" = 1 ] && say "dry run: nothing will be changed"

HAS_SYSTEMD=0
[ -d /run/systemd/system ] && HAS_SYSTEMD=1
export DEBIAN_FRONTEND=noninteractive

pkg_installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = 'install ok installed' ]; }
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

APT_UPDATED=0
apt_install() {
  [ $# -gt 0 ] || return 0
  if [ "$APT_UPDATED" = 0 ]; then run apt-get update -q; APT_UPDATED=1; fi
  run apt-get install -y -q --no-install-recommends "$@"
}

# Debian 12 ships Node 18, which hiy cannot use: install Debian's nodejs only where it is new enough.
ensure_node() {
  say 'Node.js 20 or newer'
  if command -v node >/dev/null && [ "$(node_major)" -ge 20 ]; then
    note "node $(node --version) found"
  else
    local candidate
    candidate="$(apt-cache policy nodejs 2>/dev/null | sed -n 's/^ *Candidate: *\([0-9]*:\)\{0,1\}\([0-9]*\).*/\2/p')"
    if [ -n "$candidate" ] && [ "$candidate" -ge 20 ]; then
      apt_install nodejs
    else
      die "hiy needs Node.js 20 or newer; found: $(node --version 2>/dev/null || echo none), and apt offers: ${candidate:-none}.
  Debian 12 (bookworm) and Raspberry Pi OS bookworm ship Node 18. Install Node 22 from NodeSource:
    curl -fsSL https://deb.nodesource.com/setup_22.x -o /tmp/nodesource_setup.sh
    sudo bash /tmp/nodesource_setup.sh
    sudo apt-get install -y nodejs
  (NodeSource's nodejs includes npm.) Debian 13 (trixie) and Raspberry Pi OS trixie ship Node 20:
  there this script installs it itself. Then run this script again."
    fi
  fi
  if ! command -v npm >/dev/null; then
    apt_install npm
    [ "$DRY" = 1 ] || command -v npm >/dev/null || die 'npm is missing and could not be installed'
  fi
}

# The firmware's kernel command line on a Raspberry Pi (one line); elsewhere there is none.
boot_cmdline_file() {
  if [ -n "$BOOT_CMDLINE" ]; then printf '%s' "$BOOT_CMDLINE"; return 0; fi
  local f
  for f in /boot/firmware/cmdline.txt /boot/cmdline.txt; do [ -f "$f" ] && { printf '%s' "$f"; return 0; }; done
  return 0
}

# True when the kernel has the memory cgroup controller on: without it Docker accepts memory
# limits and enforces none, so an app or a build can take the whole box.
memory_cgroup_on() {
  if [ -f "$CGROUP_ROOT/cgroup.controllers" ]; then
    grep -qw memory "$CGROUP_ROOT/cgroup.controllers"
    return
  fi
  # cgroup v1: /proc/cgroups has "memory <hierarchy> <cgroups> <enabled>".
  awk '$1 == "memory" { found = 1; on = ($4 == 1) } END { exit (found && on) ? 0 : 1 }' "$PROC_CGROUPS" 2>/dev/null
}

# Stock Raspberry Pi OS boots with cgroup_disable=memory: app and build memory limits then do
# nothing. Said, with the fix; --enable-memory-cgroup applies it (a reboot makes it count).
check_memory_cgroup() {
  say 'memory cgroups (app and build memory limits)'
  if memory_cgroup_on; then note 'on'; return 0; fi
  local file why='' line
  file="$(boot_cmdline_file)"
  grep -qw 'cgroup_disable=memory' "$PROC_CMDLINE" 2>/dev/null && why=' (the kernel was booted with cgroup_disable=memory)'
  if [ -z "$file" ]; then
    warn_later "memory cgroups are off$why: app and build memory limits do nothing. Boot the kernel with cgroup_enable=memory cgroup_memory=1 (your boot loader's kernel command line), then reboot"
    return 0
  fi
  line="$(head -n 1 "$file")"
  line="${line%"${line##*[![:space:]]}"}"
  if [[ " $line " == *' cgroup_enable=memory '* && " $line " == *' cgroup_memory=1 '* ]]; then
    warn_later "memory cgroups are off$why, but $file already turns them on: reboot (sudo reboot) for it to count"
    return 0
  fi
  if [ "$ENABLE_MEMORY_CGROUP" = 1 ]; then
    # In place, not through put_file: the firmware partition is FAT (no modes, no chmod); the
    # previous line stays next to it.
    if [ "$DRY" = 1 ]; then
      note "would append cgroup_enable=memory cgroup_memory=1 to $file (the previous one kept as $file.before-hiy)"
    else
      cp -f "$file" "$file.before-hiy"
      printf '%s cgroup_enable=memory cgroup_memory=1\n' "$line" >"$file"
      note "appended cgroup_enable=memory cgroup_memory=1 to $file (the previous one: $file.before-hiy)"
    fi
    warn_later "memory cgroups are off$why: $file now turns them on; reboot (sudo reboot) for app and build memory limits to work"
    return 0
  fi
  warn_later "memory cgroups are off$why: app and build memory limits do nothing, so one app or build can take the whole box. Fix: sudo $ROOT/infra/install.sh --enable-memory-cgroup (adds cgroup_enable=memory cgroup_memory=1 to the one line of $file), then sudo reboot"
}

ensure_packages() {
  say 'system packages'
  local want=(git ca-certificates curl) missing=() p
  # A Docker CE or a custom Caddy (with a DNS module) already installed is kept, not replaced.
  command -v docker >/dev/null && command -v dockerd >/dev/null || want+=(docker.io)
  command -v caddy >/dev/null || want+=(caddy)
  # Docker cannot load its container profile where AppArmor is on but its parser is missing.
  [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null || true)" = Y ] && want+=(apparmor)
  # Only the test suite uses these: pebble and knot are test ACME/DNS servers the tests start
  # themselves; tests/system boots a Debian made with debootstrap under systemd-nspawn;
  # docker-registry (with htpasswd from apache2-utils) is the registry image deploys pull from;
  # harness/swarm.ts links its namespaced Swarm nodes with ip (iproute2).
  [ "$PRODUCTION" = 1 ] || want+=(chromium busybox-static rclone debootstrap systemd-container pebble knot bind9-dnsutils docker-registry apache2-utils iproute2)
  # HIY_TLS=dns with RFC 2136 writes its DNS-01 records with nsupdate (docs/tls.md).
  [ "$(env_get HIY_DNS_PROVIDER)" = rfc2136 ] && want+=(bind9-dnsutils)
  # More than one box (--nodes): the registry other nodes pull app images from, its htpasswd and certificates.
  # busybox-static: the node-stats agent every node runs (decision 50) is built FROM scratch with it.
  [ "$NODES" = 1 ] && want+=(docker-registry apache2-utils openssl busybox-static)
  [ "$NO_FIREWALL" = 1 ] || want+=(ufw)
  # fail2ban reads the journal through python3-systemd, only a Recommends (not installed here).
  [ "$NO_FAIL2BAN" = 1 ] || want+=(fail2ban)
  [ "$NO_FAIL2BAN" = 1 ] || [ "$HAS_SYSTEMD" = 0 ] || want+=(python3-systemd)
  [ "$NO_UPGRADES" = 1 ] || want+=(unattended-upgrades)
  for p in "${want[@]}"; do pkg_installed "$p" || [[ " ${missing[*]} " == *" $p "* ]] || missing+=("$p"); done
  if [ ${#missing[@]} -eq 0 ]; then note 'all present'; else apt_install "${missing[@]}"; fi
  [[ " ${missing[*]} " == *" knot "* ]] && stop_test_service knot
  [[ " ${missing[*]} " == *" docker-registry "* ]] && stop_test_service docker-registry
  return 0
}

# Debian's knot and docker-registry packages start their own servers (knotd; a registry on port
# 5000 of every interface); here both are only test tools (the tests run theirs on addresses of
# their own), so the service installed just now is stopped and disabled.
stop_test_service() {
  if [ "$HAS_SYSTEMD" = 1 ]; then
    run systemctl disable --now "$1"
  elif [ -x "/etc/init.d/$1" ]; then
    run "/etc/init.d/$1" stop || true
    run update-rc.d "$1" disable || true
  fi
}

docker_answers() { docker info >/dev/null 2>&1; }

DOCKER_CONFIG_CHANGED=0
ensure_docker_config() {
  say "Docker daemon settings $DOCKER_DAEMON_JSON (log limits, build cache GC, live-restore, cgroup driver)"
  local merged rc=0
  # Merged into what is there: the operator's own settings always win (infra/docker-daemon.mjs).
  local args=("$DOCKER_DAEMON_JSON")
  # Swarm refuses an engine with live-restore on: --nodes turns it off, even where it was set before.
  [ "$NODES" = 1 ] && args+=(--live-restore=false)
  # With systemd as init on cgroup v2 (Raspberry Pi OS bookworm, Debian 12), Docker picks the
  # systemd cgroup driver, under which hiy cannot hold BuildKit's steps to the build limits (no
  # dependency caches): cgroupfs there, unless the operator chose a driver. Elsewhere Docker uses
  # cgroupfs already, and daemon.json stays as it is (no restart for nothing). Decision 52.
  [ "$HAS_SYSTEMD" = 1 ] && [ -f "$CGROUP_ROOT/cgroup.controllers" ] && args+=(--cgroupfs)
  merged="$(node "$ROOT/infra/docker-daemon.mjs" "${args[@]}")" || rc=$?
  if [ "$rc" = 3 ]; then
    warn "$DOCKER_DAEMON_JSON is not a valid JSON object: left as it is (fix it, then run me again)"
    return 0
  fi
  [ "$rc" = 0 ] || die "could not compute the Docker daemon settings from $DOCKER_DAEMON_JSON"
  if printf '%s\n' "$merged" | put_file "$DOCKER_DAEMON_JSON" 0644; then DOCKER_CONFIG_CHANGED=1; fi
  if [[ "$merged" == *'native.cgroupdriver=systemd'* ]]; then
    warn_later "$DOCKER_DAEMON_JSON sets the systemd cgroup driver: hiy builds without BuildKit there, so apps get no dependency caches and Dockerfiles with RUN --mount are refused (docs/build-strategies.md, \"Where BuildKit is used\")"
  fi
}

# dockerd started without systemd (CI, containers): apply a changed daemon.json by restarting it.
# SIGHUP first turns live-restore on in the running daemon, so its containers survive the restart.
restart_background_dockerd() {
  local pid i
  pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
  if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! grep -qa dockerd "/proc/$pid/cmdline" 2>/dev/null; then
    warn "$DOCKER_DAEMON_JSON changed, but the running dockerd is not in /var/run/docker.pid: restart it yourself to apply it"
    return 0
  fi
  if [ "$NODES" = 1 ]; then note "$DOCKER_DAEMON_JSON changed: restarting dockerd (pid $pid); live-restore is off (--nodes), so the apps' containers restart with it"
  else note "$DOCKER_DAEMON_JSON changed: restarting dockerd (pid $pid); live-restore keeps containers running"; fi
  if [ "$DRY" = 1 ]; then note "would run: kill -HUP $pid; kill -TERM $pid; nohup dockerd >>$DOCKERD_LOG 2>&1 &"; return 0; fi
  kill -HUP "$pid" 2>/dev/null || true
  sleep 1
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < WAIT_SECONDS; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -0 "$pid" 2>/dev/null && die "dockerd (pid $pid) did not stop within ${WAIT_SECONDS}s"
  nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
}

ensure_docker() {
  say 'Docker engine'
  if [ "$HAS_SYSTEMD" = 1 ]; then
    run systemctl enable --now docker
    if [ "$DOCKER_CONFIG_CHANGED" = 1 ]; then
      # reload (SIGHUP) first: live-restore is on before the restart, so apps keep running.
      run systemctl reload docker
      run systemctl restart docker
    fi
  elif docker_answers; then
    if [ "$DOCKER_CONFIG_CHANGED" = 0 ]; then note 'dockerd answers'; return 0; fi
    restart_background_dockerd
  else
    note "no systemd: starting dockerd in the background (log: $DOCKERD_LOG)"
    [ "$DRY" = 1 ] && { note "would run: nohup dockerd >>$DOCKERD_LOG 2>&1 &"; return 0; }
    nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  [ "$DRY" = 1 ] && return 0
  local i
  for ((i = 0; i < WAIT_SECONDS; i++)); do docker_answers && { note 'dockerd answers'; return 0; }; sleep 1; done
  tail -n 20 "$DOCKERD_LOG" 2>/dev/null || true
  die "Docker did not answer within ${WAIT_SECONDS}s"
}

caddy_dropin() {
  printf "# Written by hiy's infra/install.sh; it rewrites this file.\n"
  printf '# Debian'"'"'s caddy.service never restarts Caddy: a crash or a kill would leave every app down.\n'
  printf '[Service]\nRestart=on-failure\nRestartSec=1\n'
}

# caddy.service with its admin API on hiy's default socket, /run/hiy/caddy-admin/admin.sock
# (infra/caddy-hiy.conf says why). Left alone when hiy.env moves the socket or the run dir.
ensure_caddy_admin_socket() {
  if [ -n "$(env_get HIY_CADDY_ADMIN)" ] || [ -n "$(env_get HIY_RUN_DIR)" ]; then
    note "HIY_CADDY_ADMIN or HIY_RUN_DIR is set in $ENV_FILE: caddy.service is not changed; give it that admin address yourself (docs/operations.md)"
    return 1
  fi
  local changed=1 bin unit
  bin="$(command -v caddy || echo /usr/bin/caddy)"
  unit="$(<"$ROOT/infra/caddy-hiy.conf")"
  printf '{"admin":{"listen":"unix//run/hiy/caddy-admin/admin.sock"}}\n' | put_file "$CADDY_ADMIN_JSON" 0644 || changed=0
  if printf '%s\n' "${unit//@CADDY_BIN@/$bin}" | put_file "$CADDY_ADMIN_DROPIN" 0644; then changed=1; fi
  [ "$changed" = 1 ]
}

# A running caddy.service keeps its admin API on TCP 127.0.0.1:2019 until it restarts with the
# drop-in. Restarted now while it serves no app of hiy's (a fresh install: Debian's package just
# started it); one that serves apps (an upgrade) is left running, since a restart drops their
# requests: hiy uses it where it is until its next restart (src/proxy/caddy-legacy-admin.ts).
caddy_admin_to_socket() {
  local changed="$1" config
  # Only for the socket this installer gave caddy.service (ensure_caddy_admin_socket).
  if [ -n "$(env_get HIY_CADDY_ADMIN)" ] || [ -n "$(env_get HIY_RUN_DIR)" ]; then return 0; fi
  if [ "$DRY" = 1 ]; then
    if [ "$changed" = 1 ]; then note 'would restart caddy.service if it serves no app yet'; fi
    return 0
  fi
  # --noproxy: an http_proxy set for apt must not send a loopback check to another machine.
  config="$(curl -fsS --noproxy '*' --max-time 2 http://127.0.0.1:2019/config/ 2>/dev/null)" || return 0
  if [[ "$config" == *'"hiy-control-plane"'* ]]; then
    note "caddy.service serves hiy's apps with its admin API still on TCP 127.0.0.1:2019: it moves to the socket at its next restart (a reboot, or systemctl restart caddy: apps pause for about a second)"
  else
    run systemctl restart caddy
  fi
}

ensure_caddy() {
  say 'Caddy (admin API on a unix socket only root and Caddy can reach)'
  if [ "$HAS_SYSTEMD" = 1 ]; then
    local reload=0 restart=0
    # Its unit has no Restart=: the drop-in brings a crashed or killed Caddy back.
    if caddy_dropin | put_file "$CADDY_DROPIN" 0644; then reload=1; fi
    if ensure_caddy_admin_socket; then reload=1 restart=1; fi
    if [ "$reload" = 1 ]; then run systemctl daemon-reload; fi
    run systemctl enable --now caddy
    caddy_admin_to_socket "$restart"
  else
    note 'no systemd: not started here; hiy starts its own Caddy (admin socket in its run dir) when none answers'
  fi
}

# hiy runs as root from this checkout (its dist/, hooks/, node_modules/): whoever can change a
# file in it, or rename a folder on the way to it, becomes root at hiy's next start. So the
# checkout, every file in it and every folder above it must belong to root or to the
# administrator running this installer (SUDO_UID: their own clone, as docs/setup.md does it; they
# are root already), and be writable by nobody else (a sticky folder like /tmp is fine: others
# cannot rename what is not theirs). Anything else is refused, not fixed: chown -R would silently
# take a user's working copy away from them.
ADMIN_UID="${SUDO_UID:-0}"
[[ "$ADMIN_UID" =~ ^[0-9]+$ ]] || ADMIN_UID=0
check_checkout_owner() {
  local d="$ROOT" mode owner found
  while :; do
    owner="$(stat -c %u "$d")" mode="$(stat -c %a "$d")"
    if [ "$owner" != 0 ] && [ "$owner" != "$ADMIN_UID" ]; then
      foreign_checkout "$d belongs to $(stat -c %U "$d")"
    elif (( (8#$mode & 8#022) != 0 && (8#$mode & 8#1000) == 0 )); then
      foreign_checkout "$d can be changed by other users (mode $mode)"
    fi
    [ "$d" = / ] && break
    d="$(dirname "$d")"
  done
  found="$(find "$ROOT" -xdev \( \( ! -uid 0 ! -uid "$ADMIN_UID" \) -o \( -perm /022 ! -type l \) \) -print -quit 2>/dev/null || true)"
  [ -z "$found" ] || foreign_checkout "$found belongs to another user or can be changed by other users"
}

foreign_checkout() {
  local why="$1"
  if [ "$DRY" = 1 ]; then warn "a real run would stop here: $why"; return 0; fi
  die "refusing to install: hiy runs as root from $ROOT, and $why, so that user would become root.
  Use a checkout that only root (or you, running this with sudo) can change, for example:
    sudo git clone <this repository> /opt/hiy && sudo /opt/hiy/infra/install.sh
  or fix this one: chown -R to yourself, chmod -R go-w (docs/setup.md, step 5)"
}

# npm runs as the owner of the checkout, so the administrator's own clone stays theirs.
REPO_OWNER="$(stat -c %U "$ROOT")"
as_owner() {
  if [ "$REPO_OWNER" = root ] || [ "$(id -u)" != 0 ]; then
    run "$@"
  else
    run runuser -u "$REPO_OWNER" -- env HOME="$(getent passwd "$REPO_OWNER" | cut -d: -f6)" "$@"
  fi
}
# as_owner, but a failure is returned to the caller instead of ending the install.
as_owner_try() {
  if [ "$REPO_OWNER" = root ] || [ "$(id -u)" != 0 ]; then
    "$@"
  else
    runuser -u "$REPO_OWNER" -- env HOME="$(getent passwd "$REPO_OWNER" | cut -d: -f6)" "$@"
  fi
}

compilers_missing() {
  local t missing=()
  for t in g++ make python3; do command -v "$t" >/dev/null || missing+=("$t"); done
  printf '%s' "${missing[*]}"
}

# better-sqlite3 is a native module: npm downloads a prebuilt binary for this Node and machine
# when there is one, and compiles it otherwise, which needs g++, make and python3. They are not
# installed up front (--production stays lean, and a Pi usually gets the prebuilt binary): when
# npm ci fails without them, they are installed and npm ci runs once more.
npm_ci() {
  if [ "$DRY" = 1 ]; then as_owner npm ci --no-audit --no-fund; return 0; fi
  local missing rc=0
  missing="$(compilers_missing)"
  if [ -z "$missing" ]; then as_owner npm ci --no-audit --no-fund; return 0; fi
  as_owner_try npm ci --no-audit --no-fund || rc=$?
  [ "$rc" = 0 ] && return 0
  warn "npm ci failed (exit $rc) and $missing missing: a native module (better-sqlite3) has to be compiled when no prebuilt binary for node $(node --version 2>/dev/null) on $(uname -m) can be downloaded. Installing g++ make python3 and trying once more"
  apt_install g++ make python3
  as_owner npm ci --no-audit --no-fund
}

build_hiy() {
  say "Node dependencies and build in $ROOT"
  [ -f "$ROOT/package-lock.json" ] || die "$ROOT/package-lock.json is missing"
  # npm ci wipes node_modules and compiles better-sqlite3 (minutes on a Pi): skip it when nothing changed.
  local stamp_file="$ROOT/node_modules/.hiy-install-stamp" stamp
  stamp="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1) node-$(node --version 2>/dev/null || echo none) $(uname -m)"
  if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
    note 'node_modules matches package-lock.json'
  else
    npm_ci
    [ "$DRY" = 1 ] || printf '%s\n' "$stamp" >"$stamp_file"
  fi
  as_owner npm run build
}

# Reads KEY from the env file without sourcing it (no code runs from config files).
env_get() {
  local key="$1" line
  [ -r "$ENV_FILE" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    [[ "$line" == "$key="* ]] && { line="${line#"$key="}"; line="${line%\"}"; printf '%s' "${line#\"}"; return 0; }
  done <"$ENV_FILE"
  return 0
}

# A later --domain D moves hiy to D: the HIY_DOMAIN line is replaced (or added), nothing else in
# the file changes, and hiy restarts with it below (its configuration changed).
change_domain() {
  local old="$1" text line out='' replaced=0
  text="$(cat "$ENV_FILE"; printf x)"
  text="${text%x}"
  while IFS= read -r line || [ -n "$line" ]; do
    if [ "$replaced" = 0 ] && [[ "$line" == HIY_DOMAIN=* ]]; then line="HIY_DOMAIN=$DOMAIN"; replaced=1; fi
    out+="$line"$'\n'
  done <<<"${text%$'\n'}"
  [ "$replaced" = 1 ] || out+="HIY_DOMAIN=$DOMAIN"$'\n'
  # Not in a pipeline: put_file runs in this shell, so a dry run can note the change (DRY_ENV_CHANGE).
  put_file "$ENV_FILE" 0600 < <(printf '%s' "$out") || true
  warn_later "HIY_DOMAIN changes from $old to $DOMAIN: apps move to https://<app>.$DOMAIN and the dashboard to https://hiy.$DOMAIN (point *.$DOMAIN and $DOMAIN at this box; certificates for the new names are requested as they are first used); git remotes and HIY_URL that name the old domain need the new one"
}

ensure_env_file() {
  say "configuration $ENV_FILE"
  if [ -f "$ENV_FILE" ]; then
    local have
    have="$(env_get HIY_DOMAIN)"
    if [ "$DOMAIN_GIVEN" = 1 ] && [ "${have:-localhost}" != "$DOMAIN" ]; then
      change_domain "${have:-localhost}"
    else
      note 'exists, left unchanged'
    fi
    return 0
  fi
  FIRST_RUN=1
  if [ "$DRY" = 1 ]; then
    note "would create it (mode 0600) with HIY_DATA_DIR=$DATA_DIR, HIY_DOMAIN=$DOMAIN and a new HIY_ADMIN_TOKEN"
    return 0
  fi
  local token tmp
  token="hiy_$(node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("base64url"))')"
  [[ "$token" =~ ^hiy_[A-Za-z0-9_-]{43}$ ]] || die 'could not generate an admin token'
  local recipient=''
  # A backup key pair, so the daily backup works from day one. Its identity is shown once on a
  # terminal and kept nowhere (--keep-backup-key keeps it in a root-only file); without a
  # terminal and without that flag no pair is made, so no key ever lands in a log.
  if [ -t 1 ] || [ "$KEEP_BACKUP_KEY" = 1 ]; then
    local keys
    keys="$(node "$ROOT/infra/backup-key.mjs")" || die 'could not make a backup key pair (infra/backup-key.mjs)'
    BACKUP_IDENTITY="${keys%%$'\n'*}" recipient="${keys##*$'\n'}"
    [[ "$BACKUP_IDENTITY" =~ ^AGE-SECRET-KEY-1[0-9A-Z]+$ && "$recipient" =~ ^age1[0-9a-z]+$ ]] || die 'could not make a backup key pair'
  fi
  install -d -m 0755 "$(dirname "$ENV_FILE")"
  tmp="$(mktemp "$ENV_FILE.XXXXXX")" # mktemp creates it 0600 before the token is written
  {
    printf '# hiy configuration, read by hiy.service and infra/install.sh. See README.md "Operator contract".\n'
    printf 'HIY_DATA_DIR=%s\nHIY_DOMAIN=%s\nHIY_ADMIN_TOKEN=%s\n' "$DATA_DIR" "$DOMAIN" "$token"
    printf '#HIY_LISTEN=127.0.0.1:3000\n#HIY_CADDY_ADMIN=unix:/run/hiy/caddy-admin/admin.sock   # host:port = TCP, open to every local user\n#HIY_HTTP_PORT=80\n#HIY_HTTPS_PORT=443\n'
    printf '#HIY_TLS=auto   # auto | internal | off; internal is the default for localhost\n'
    printf '# Backups (docs/backup.md): the public key (age1...) of a key pair kept OFF this box.\n'
    if [ -n "$recipient" ]; then printf 'HIY_BACKUP_RECIPIENT=%s\n' "$recipient"; else printf '#HIY_BACKUP_RECIPIENT=age1...\n'; fi
    printf '#HIY_BACKUP_DIR=/var/backups/hiy\n#HIY_BACKUP_KEEP_DAYS=30\n#HIY_BACKUP_RCLONE=remote:hiy-backups\n'
  } >"$tmp"
  chmod 0600 "$tmp"
  mv -f "$tmp" "$ENV_FILE"
  note "created (mode 0600) with a new admin token${recipient:+ and a backup key pair (HIY_BACKUP_RECIPIENT)}"
  if [ -n "$recipient" ] && [ "$KEEP_BACKUP_KEY" = 1 ]; then
    tmp="$(mktemp "$BACKUP_IDENTITY_FILE.XXXXXX")"
    printf '# hiy backup key (age identity): restore needs it. Keep a copy OFF this box.\n%s\n' "$BACKUP_IDENTITY" >"$tmp"
    chmod 0600 "$tmp"
    mv -f "$tmp" "$BACKUP_IDENTITY_FILE"
    note "backup key kept in $BACKUP_IDENTITY_FILE (--keep-backup-key)"
  fi
}

ensure_dirs_and_link() {
  say "data directory $DATA_DIR and $BIN_LINK"
  if [ -d "$DATA_DIR" ] && [ "$(stat -c %a "$DATA_DIR")" = 700 ]; then note "$DATA_DIR exists"; else run install -d -m 0700 "$DATA_DIR"; fi
  # ln -sfn would replace an up-to-date link too (a new mtime on every run).
  if [ "$(readlink "$BIN_LINK" 2>/dev/null || true)" = "$ROOT/bin/hiy.js" ]; then note "$BIN_LINK is up to date"; else run ln -sfn "$ROOT/bin/hiy.js" "$BIN_LINK"; fi
}

LISTEN=127.0.0.1:3000
health_url() {
  local host="${LISTEN%:*}" port="${LISTEN##*:}"
  [[ "$LISTEN" == *:* ]] || { host=127.0.0.1; port="$LISTEN"; }
  [ "$host" = 0.0.0.0 ] && host=127.0.0.1
  [ "$host" = '[::]' ] && host='[::1]'
  printf 'http://%s:%s' "$host" "$port"
}
# --noproxy: with http_proxy set (apt behind a proxy), a loopback check would ask the proxy's box.
healthy() { curl -fsS --noproxy '*' --max-time 2 -o /dev/null "$(health_url)/api/v1/health" 2>/dev/null; }

wait_healthy() {
  local pid="${1:-}" i
  for ((i = 0; i < WAIT_SECONDS; i++)); do
    healthy && { note "hiy answers at $(health_url)/api/v1/health"; return 0; }
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 1
  done
  printf 'install.sh: hiy did not answer %s/api/v1/health within %ss. Last lines of its log:\n' "$(health_url)" "$WAIT_SECONDS" >&2
  if [ "$HAS_SYSTEMD" = 1 ]; then journalctl -u hiy -n 40 --no-pager >&2 || true; else tail -n 40 "$HIY_LOG" >&2 || true; fi
  exit 1
}

# What the running hiy was started from: build output, runtime assets, config, Node.
build_stamp() {
  local paths=() p
  for p in dist hooks proxy ui package-lock.json; do [ -e "$ROOT/$p" ] && paths+=("$ROOT/$p"); done
  {
    node --version 2>/dev/null || true
    cat "$ENV_FILE" 2>/dev/null || true
    cat "$ROOT/infra/hiy.service"
    find "${paths[@]}" -type f -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -d' ' -f1
}

# True when hiy runs and was started from exactly this build and configuration.
running_current() {
  local stamp="$1"
  [ -f "$RUN_STAMP" ] && [ "$(cat "$RUN_STAMP")" = "$stamp" ] && healthy
}

write_stamp() { [ "$DRY" = 1 ] || printf '%s\n' "$1" >"$RUN_STAMP"; }

start_with_systemd() {
  local unit stamp changed=0
  [[ "$ROOT" =~ ^/[A-Za-z0-9._/+-]+$ ]] || die "systemd unit: the checkout path \"$ROOT\" may only hold letters, digits and ._/+-"
  unit="$(<"$ROOT/infra/hiy.service")"
  unit="${unit//@HIY_ROOT@/$ROOT}"
  if printf '%s\n' "$unit" | put_file "$UNIT_FILE" 0644; then changed=1; run systemctl daemon-reload; fi
  run systemctl enable hiy
  stamp="$(build_stamp)"
  if [ "$changed" = 0 ] && [ "$DRY" = 0 ] && systemctl is-active --quiet hiy && running_current "$stamp"; then
    note 'hiy runs this build and configuration: not restarted'
    return 0
  fi
  run systemctl restart hiy
  [ "$DRY" = 1 ] || wait_healthy
  write_stamp "$stamp"
}

stop_background_hiy() {
  local pid
  pid="$(cat "$HIY_PID" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  # Only a process that is still our hiy: the pid may have been reused.
  grep -qa 'hiy.js' "/proc/$pid/cmdline" 2>/dev/null || { run rm -f "$HIY_PID"; return 0; }
  note "stopping the running hiy (pid $pid)"
  [ "$DRY" = 1 ] && { note "would run: kill -TERM $pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$HIY_PID"
}

background_pid_alive() {
  local pid
  pid="$(cat "$HIY_PID" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] && grep -qa 'hiy.js' "/proc/$pid/cmdline" 2>/dev/null
}

start_in_background() {
  local stamp
  stamp="$(build_stamp)"
  if background_pid_alive && running_current "$stamp" && [ "${DRY_ENV_CHANGE:-0}" = 0 ]; then
    note "hiy (pid $(cat "$HIY_PID")) runs this build and configuration: not restarted"
    return 0
  fi
  stop_background_hiy
  if [ "$DRY" = 0 ] && healthy; then
    die "something else already answers at $(health_url) (another hiy?); stop it or set HIY_LISTEN in $ENV_FILE"
  fi
  # hiy reads the env file itself (--env-file; it is parsed, never evaluated): passing its
  # assignments on a command line (`env HIY_ADMIN_TOKEN=…`) would show the token to every local
  # user in `ps`.
  note "no systemd: starting hiy in the background (log: $HIY_LOG, pid file: $HIY_PID)"
  if [ "$DRY" = 1 ]; then
    note "would run: nohup setsid node $ROOT/bin/hiy.js server --env-file $ENV_FILE >>$HIY_LOG 2>&1 &"
    return 0
  fi
  (umask 077 && : >>"$HIY_LOG")
  nohup setsid node --max-semi-space-size=1 "$ROOT/bin/hiy.js" server --env-file "$ENV_FILE" >>"$HIY_LOG" 2>&1 </dev/null &
  local pid=$!
  printf '%s\n' "$pid" >"$HIY_PID"
  wait_healthy "$pid"
  kill -0 "$pid" 2>/dev/null || die "hiy (pid $pid) exited; see $HIY_LOG"
  write_stamp "$stamp"
}

start_hiy() {
  say 'hiy server'
  LISTEN="$(env_get HIY_LISTEN)"
  LISTEN="${LISTEN:-127.0.0.1:3000}"
  if [ "$NO_START" = 1 ]; then note '--no-start: not started'; return 0; fi
  if [ "$HAS_SYSTEMD" = 1 ]; then start_with_systemd; else start_in_background; fi
}

# ---- host hardening -------------------------------------------------------------------------

# Ports the firewall opens: ssh (22 and any other port sshd is configured for), http, https
# (443/udp too: Caddy serves HTTP/3).
firewall_ports() {
  local ports=(22/tcp) p
  if command -v sshd >/dev/null; then
    for p in $( { sshd -T 2>/dev/null || sed -n 's/^[[:space:]]*[Pp]ort[[:space:]]\{1,\}\([0-9]\{1,5\}\).*/port \1/p' /etc/ssh/sshd_config 2>/dev/null || true; } | awk '$1 == "port" { print $2 }'); do
      ports+=("$p/tcp")
    done
  fi
  printf '%s\n' "${ports[@]}" 80/tcp 443/tcp 443/udp | sort -u
}

# TCP ports something listens on for other machines (not loopback-only): enabling the firewall
# would cut them off. Prints "port/tcp (process)" lines.
exposed_ports() {
  ss -Hltnp 2>/dev/null | awk '{
    addr = $4; port = addr; sub(/.*:/, "", port); host = addr; sub(/:[^:]*$/, "", host)
    if (host ~ /^127\./ || host == "[::1]" || host ~ /^\[::ffff:127\./) next
    proc = ""; if (match($0, /users:\(\("[^"]*"/)) proc = " (" substr($0, RSTART + 9, RLENGTH - 10) ")"
    print port "/tcp" proc
  }' | sort -u
}

ensure_firewall() {
  say 'firewall: ufw allows ssh, 80 and 443 only'
  if [ "$NO_FIREWALL" = 1 ]; then note '--no-firewall: left alone'; return 0; fi
  if ! command -v ufw >/dev/null; then note 'ufw is not installed yet: would configure it'; return 0; fi
  local added want=() p line port blocked=()
  added="$(ufw show added 2>/dev/null || true)"
  mapfile -t want < <(firewall_ports)
  # Allow rules first, so enabling can never come before the ssh rule.
  for p in "${want[@]}"; do
    grep -qxF "ufw allow $p" <<<"$added" || run ufw allow "$p"
  done
  if ufw status 2>/dev/null | grep -q '^Status: active'; then note 'ufw is active'; return 0; fi
  if ! command -v ss >/dev/null; then
    warn 'ufw NOT enabled: cannot tell what listens on this box (ss from iproute2 is missing); enable it yourself: ufw enable'
    return 0
  fi
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    port="${line%% *}"
    printf '%s\n' "${want[@]}" | grep -qxF "$port" && continue
    grep -qxF "ufw allow $port" <<<"$added" && continue
    blocked+=("$line")
  done < <(exposed_ports)
  if [ ${#blocked[@]} -gt 0 ]; then
    warn "ufw NOT enabled, so nobody is locked out: something listens for other machines on $(IFS=,; printf '%s' "${blocked[*]}"), and the firewall would close that. Allow what must stay reachable (ufw allow PORT/tcp) and run me again, or pass --no-firewall"
    return 0
  fi
  if [ "$DRY" = 1 ]; then note 'would run: ufw --force enable'; return 0; fi
  if ufw --force enable >/dev/null 2>&1; then
    note 'ufw enabled'
  else
    ufw --force disable >/dev/null 2>&1 || true
    warn 'ufw could not be enabled here (no kernel support or no iptables permission, as in many containers): the firewall is NOT active; the install goes on'
  fi
}

jail_conf() {
  printf "# Written by hiy's infra/install.sh; it rewrites this file. Put your own settings in\n"
  printf '# /etc/fail2ban/jail.d/zz-local.conf.\n\n'
  printf '# hiy: failed API tokens, git passwords and dashboard sign-ins (infra/fail2ban/hiy-filter.conf).\n'
  printf '[hiy]\nenabled = true\nfilter = hiy\nport = http,https\nmaxretry = 10\nfindtime = 10m\nbantime = 1h\n'
  printf '# Local clients (the CLI on the box, tests) are never banned.\nignoreip = 127.0.0.1/8 ::1\n'
  if [ "$HAS_SYSTEMD" = 1 ]; then
    printf 'backend = systemd\n'
  else
    printf 'backend = auto\nlogpath = %s\n' "$HIY_LOG"
  fi
  printf '\n[sshd]\n'
  if [ "$HAS_SYSTEMD" = 1 ]; then
    printf 'enabled = true\nbackend = systemd\n'
  elif [ -f /var/log/auth.log ]; then
    printf 'enabled = true\nbackend = auto\nlogpath = /var/log/auth.log\n'
  else
    printf "# No systemd journal and no /var/log/auth.log to read sshd's failures from.\nenabled = false\n"
  fi
}

wait_fail2ban() {
  local i
  for ((i = 0; i < WAIT_SECONDS; i++)); do fail2ban-client ping >/dev/null 2>&1 && return 0; sleep 1; done
  return 1
}

ensure_fail2ban() {
  say 'fail2ban: sshd, and hiy auth failures (api, git, dashboard)'
  if [ "$NO_FAIL2BAN" = 1 ]; then note '--no-fail2ban: left alone'; return 0; fi
  local changed=0
  if put_file "$F2B_FILTER" 0644 <"$ROOT/infra/fail2ban/hiy-filter.conf"; then changed=1; fi
  if jail_conf | put_file "$F2B_JAIL" 0644; then changed=1; fi
  if ! command -v fail2ban-client >/dev/null; then note 'fail2ban is not installed yet: would start it'; return 0; fi
  # The file backend needs the log to exist before the jail starts.
  if [ "$HAS_SYSTEMD" = 0 ] && [ "$DRY" = 0 ] && [ ! -e "$HIY_LOG" ]; then (umask 077 && : >>"$HIY_LOG"); fi
  if [ "$HAS_SYSTEMD" = 1 ]; then
    run systemctl enable --now fail2ban
    [ "$DRY" = 1 ] && { [ "$changed" = 0 ] || note 'would run: systemctl reload fail2ban'; return 0; }
    # Its socket appears a moment after the start: a reload before that fails ("Could not find server").
    wait_fail2ban || {
      journalctl -u fail2ban -n 20 --no-pager >&2 || true
      die "fail2ban did not answer within ${WAIT_SECONDS}s (see above, and /var/log/fail2ban.log)"
    }
    if [ "$changed" = 1 ]; then run systemctl reload fail2ban; else note 'fail2ban runs'; fi
    return 0
  fi
  if fail2ban-client ping >/dev/null 2>&1; then
    if [ "$changed" = 1 ]; then run fail2ban-client reload; else note 'fail2ban runs'; fi
    return 0
  fi
  if [ "$DRY" = 1 ]; then note 'would run: fail2ban-client start (no systemd: in the background)'; return 0; fi
  install -d -m 0755 /run/fail2ban
  if fail2ban-client -x start >/dev/null 2>&1; then
    note 'fail2ban started in the background'
  else
    warn 'fail2ban could not start here (see /var/log/fail2ban.log): the install goes on without it'
  fi
}

ensure_upgrades() {
  say 'unattended security upgrades'
  if [ "$NO_UPGRADES" = 1 ]; then note '--no-upgrades: left alone'; return 0; fi
  printf 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n' | put_file "$AUTO_UPGRADES" 0644 || true
  if [ "$HAS_SYSTEMD" = 1 ]; then
    run systemctl enable --now apt-daily.timer apt-daily-upgrade.timer
  else
    note "no systemd: apt's daily timers do not run here; cron runs /etc/cron.daily/apt-compat where a cron daemon runs"
  fi
}

ensure_logrotate() {
  [ -d /etc/logrotate.d ] || return 0
  say "log rotation $LOGROTATE_FILE"
  printf '%s\n' "# Written by hiy's infra/install.sh: the logs of hiy and dockerd when started without systemd." \
    "$HIY_LOG $DOCKERD_LOG {" '  weekly' '  maxsize 50M' '  rotate 4' '  compress' '  delaycompress' '  missingok' '  notifempty' \
    '  # Both are written with O_APPEND: truncating in place keeps them writing to the same file.' '  copytruncate' '}' \
    | put_file "$LOGROTATE_FILE" 0644 || true
}

ensure_backup_timer() {
  say 'daily backup (hiy-backup.timer)'
  if [ "$HAS_SYSTEMD" = 0 ]; then
    note 'no systemd: no timer installed; run "hiy backup" daily from cron (docs/backup.md)'
  else
    local changed=0 unit
    unit="$(<"$ROOT/infra/hiy-backup.service")"
    if printf '%s\n' "${unit//@HIY_ROOT@/$ROOT}" | put_file "$BACKUP_UNIT" 0644; then changed=1; fi
    if put_file "$BACKUP_TIMER" 0644 <"$ROOT/infra/hiy-backup.timer"; then changed=1; fi
    if [ "$changed" = 1 ]; then run systemctl daemon-reload; fi
    run systemctl enable --now hiy-backup.timer
  fi
  if [ -z "$(env_get HIY_BACKUP_RECIPIENT)" ] && [ "$DRY" = 0 ]; then
    warn_later "HIY_BACKUP_RECIPIENT is not set in $ENV_FILE: backups fail until it is (docs/backup.md: age-keygen, or rerun on a fresh box from a terminal)"
  fi
}

summary() {
  local domain scheme=https port default=443 token
  domain="$(env_get HIY_DOMAIN)"; domain="${domain:-$DOMAIN}"
  # A dry run did not write the new domain; a real run wrote exactly this.
  [ "$DOMAIN_GIVEN" = 1 ] && domain="$DOMAIN"
  port="$(env_get HIY_HTTPS_PORT)"
  if [ "$(env_get HIY_TLS)" = off ]; then scheme=http port="$(env_get HIY_HTTP_PORT)" default=80; fi
  if [ -z "$port" ] || [ "$port" = "$default" ]; then port=''; else port=":$port"; fi
  if [ "$DRY" = 1 ]; then printf '\nDry run finished: nothing was changed. hiy would be at:\n\n'; else printf '\nhiy is installed.\n\n'; fi
  printf '  Dashboard:  %s://hiy.%s%s\n' "$scheme" "$domain" "$port"
  printf '  Direct:     %s  (API under /api/v1)\n' "$(health_url)"
  printf '  Apps:       %s://<app>.%s%s   git remote: %s://hiy.%s%s/git/<app>.git\n\n' "$scheme" "$domain" "$port" "$scheme" "$domain" "$port"
  printf '  CLI:        export HIY_URL=%s HIY_TOKEN=<token>\n' "$(health_url)"
  printf '              hiy apps        (%s -> %s)\n' "$BIN_LINK" "$ROOT/bin/hiy.js"
  token="$(env_get HIY_ADMIN_TOKEN)"
  # The token goes to a terminal only, once: CI logs and redirected output never hold it.
  if [ "$FIRST_RUN" = 1 ] && [ -n "$token" ] && [ -t 1 ]; then
    printf '\n  Admin token (shown once; it stays in %s):\n\n    %s\n\n' "$ENV_FILE" "$token"
  else
    printf '  Token:      sudo grep HIY_ADMIN_TOKEN %s\n\n' "$ENV_FILE"
  fi
  if [ -n "$BACKUP_IDENTITY" ] && [ -t 1 ]; then
    printf '  Backup key: the daily backup is encrypted to HIY_BACKUP_RECIPIENT in %s. Restoring needs\n' "$ENV_FILE"
    printf '  this key. Store it OFFLINE now (a password manager, paper); it is shown this once%s:\n\n    %s\n\n' \
      "$([ "$KEEP_BACKUP_KEY" = 1 ] && printf ' (a copy is in %s)' "$BACKUP_IDENTITY_FILE" || printf ' and not kept on this box')" "$BACKUP_IDENTITY"
  fi
  if [ ${#LATER[@]} -gt 0 ]; then
    local w
    printf '  Before your first app:\n'
    for w in "${LATER[@]}"; do printf '    - %s\n' "$w"; done
    printf '\n'
  fi
  printf '  Laptop CLI: %s://hiy.%s%s/cli/hiy (one file, Node 20+; docs/cli.md)\n' "$scheme" "$domain" "$port"
  printf '  Next:       docs/setup.md (DNS, the first app), docs/add-app.md\n\n'
}

check_checkout_owner
ensure_node
check_memory_cgroup
ensure_packages
ensure_docker_config
ensure_docker
ensure_caddy
build_hiy
ensure_env_file
ensure_dirs_and_link
ensure_logrotate
start_hiy
ensure_fail2ban
ensure_upgrades
ensure_backup_timer
# Last: everything above works before the firewall changes anything.
ensure_firewall
summary
