/**
 * The node-stats agent (decision 50): what runs on every node of a Swarm of hiy's, as a busybox
 * shell loop and awk. It reads only files: this node's /proc (a container's /proc/stat and
 * /proc/meminfo are the node's) and the node's cgroup tree (mounted read-only at /host/cgroup).
 * Its own container id (from /proc/self/mountinfo: the engine bind-mounts
 * /var/lib/docker/containers/<id>/hostname) finds its own cgroup; its siblings there are the
 * containers of the same engine (cgroup v1 or v2, cgroupfs or systemd driver, any cgroup parent).
 * Every HIY_INTERVAL seconds it prints one JSON line (node-stats-line.ts reads it):
 *   {"hiy":"node-stats","v":1,"node":<Swarm node id>,"up":<uptime s>,"cpu":[total,idle,cores],
 *    "mem":[total,used],"own":<found its cgroup>,"c":[[<container id>,<cpu ns>,<memory bytes>],…]}
 * Memory is the working set (usage minus inactive page cache), as `docker stats` and cgroup.ts count it.
 */

export const AGENT_SH = `# hiy's node-stats agent (docs/architecture.md decision 50): one JSON line every HIY_INTERVAL
# seconds with this node's CPU and memory counters and, for every container of this node's
# engine (the siblings of this container's own cgroup), its CPU time and memory in use.
C=/host/cgroup
I=\${HIY_INTERVAL:-10}
id=$(sed -n 's|.*/containers/\\([0-9a-f]\\{64\\}\\)/.*|\\1|p' /proc/self/mountinfo | head -n 1)
if [ -f "$C/cgroup.controllers" ]; then v=2; cpu=$C; mem=$C; else v=1; cpu=$C/cpuacct; mem=$C/memory; fi
# The parent of this container's own cgroup, per hierarchy (v1 controllers may sit at different
# depths: an engine's relative --cgroup-parent lands under the engine's own cgroup in each).
parent() {
  [ -n "$id" ] || return 0
  d=$(find "$1/" -maxdepth 8 -type d -name "$id" 2>/dev/null | head -n 1)
  [ -n "$d" ] || d=$(find "$1/" -maxdepth 8 -type d -name "docker-$id.scope" 2>/dev/null | head -n 1)
  [ -n "$d" ] && echo "\${d%/*}"
}
cdir=$(parent "$cpu")
mdir=$(parent "$mem")
while :; do
  if [ -n "$cdir" ] && [ -n "$mdir" ]; then set -- $(ls "$cdir"); else set --; fi
  awk -v node="$HIY_NODE" -v v="$v" -v cpu="$cdir" -v mem="$mdir" -v found="\${mdir:+\${cdir:+1}}" -f /agent.awk "$@"
  sleep "$I"
done
`;

export const AGENT_AWK = `function line1(file,   l) { l = ""; getline l < file; close(file); return l }
function stat(file, key,   l, a, out) {
  out = 0
  while ((getline l < file) > 0) { split(l, a, " "); if (a[1] == key) out = a[2] }
  close(file)
  return out
}
BEGIN {
  split(line1("/proc/uptime"), u, " ")
  total = 0; idle = 0; cores = 0
  while ((getline l < "/proc/stat") > 0) {
    if (l ~ /^cpu /) { n = split(l, f, " "); for (i = 2; i <= n && i <= 9; i++) total += f[i]; idle = f[5] + f[6] }
    else if (l ~ /^cpu[0-9]/) cores++
  }
  close("/proc/stat")
  mt = stat("/proc/meminfo", "MemTotal:"); ma = stat("/proc/meminfo", "MemAvailable:")
  printf "{\\"hiy\\":\\"node-stats\\",\\"v\\":1,\\"node\\":\\"%s\\",\\"up\\":%s,\\"cpu\\":[%.0f,%.0f,%d],\\"mem\\":[%.0f,%.0f],\\"own\\":%s,\\"c\\":[", node, u[1], total, idle, cores, mt * 1024, (mt - ma) * 1024, found ? "true" : "false"
  sep = ""
  for (k = 1; k < ARGC; k++) {
    d = ARGV[k]; id = d; sub(/^docker-/, "", id); sub(/\\.scope$/, "", id)
    if (length(id) != 64 || id ~ /[^0-9a-f]/) continue
    if (v == 2) { ns = stat(cpu "/" d "/cpu.stat", "usage_usec") * 1000; use = line1(mem "/" d "/memory.current"); inact = stat(mem "/" d "/memory.stat", "inactive_file") }
    else { ns = line1(cpu "/" d "/cpuacct.usage"); use = line1(mem "/" d "/memory.usage_in_bytes"); inact = stat(mem "/" d "/memory.stat", "total_inactive_file") }
    if (ns == "" || use == "") continue
    if (inact > use) inact = 0
    printf "%s[\\"%s\\",%.0f,%.0f]", sep, id, ns, use - inact
    sep = ","
  }
  printf "]}\\n"
  exit
}
`;
