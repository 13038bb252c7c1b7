#!/usr/bin/env bash
# Replay benchmark: generates a mixed capture (web, DNS, TLS, IPv6, and every P2P session
# scenario), then times `peerwall replay` and `ndpiReader -i` on it in the same run, and measures
# the engine's memory per tracked flow at 1,000,000 flows. Prints a Markdown table.
# Usage: Scripts/bench.sh [packets] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-500000}
runs=${2:-3}
out=bench-out
mkdir -p "$out"
bin=.build/release
capture="$out/mixed-$packets.pcap"

[ -f "$capture" ] || "$bin/peerwall-sim" capture mixed --packets "$packets" --out "$capture" >/dev/null
frames=$(python3 -c "
import struct,sys
f=open(sys.argv[1],'rb'); f.read(24); n=0
while True:
    h=f.read(16)
    if len(h)<16: break
    f.seek(struct.unpack('<IIII',h)[2],1); n+=1
print(n)" "$capture")

# Runs a command under /usr/bin/time; prints "cpu_seconds max_rss_kib wall_seconds". CPU time
# (user + system) is the figure compared: it moves less than wall time on a shared machine.
measure() {
    /usr/bin/time -f "%U %S %M %e" -o "$out/time.txt" "$@" >/dev/null 2>"$out/stderr.txt" || { cat "$out/stderr.txt" >&2; return 1; }
    awk '{ printf "%.2f %s %s\n", $1 + $2, $3, $4 }' "$out/time.txt"
}

best() { sort -n | head -1; }

peerwall_times=(); ndpi_times=(); peerwall_rss=0; ndpi_rss=0
for _ in $(seq "$runs"); do
    read -r s rss wall < <(measure "$bin/peerwall" replay --signatures signatures --format json "$capture")
    peerwall_times+=("$s"); peerwall_rss=$rss
    read -r s rss wall < <(measure ndpiReader -i "$capture" -q)
    ndpi_times+=("$s"); ndpi_rss=$rss
done
pw=$(printf '%s\n' "${peerwall_times[@]}" | best)
nd=$(printf '%s\n' "${ndpi_times[@]}" | best)
flow_memory=$("$bin/peerwall-bench" 1000000 signatures | sed -n 's/memory per tracked flow: //p')

python3 - "$frames" "$pw" "$nd" "$peerwall_rss" "$ndpi_rss" "$flow_memory" "${peerwall_times[*]}" "${ndpi_times[*]}" <<'PY'
import sys
frames, pw, nd, pw_rss, nd_rss, flow_mem, pw_all, nd_all = sys.argv[1:9]
frames = int(frames); pw = float(pw); nd = float(nd)
pps = lambda s: f"{frames / s:,.0f}" if s > 0 else "n/a"
print(f"capture: {frames} packets")
print()
print("| tool | best CPU time (s) | all runs, CPU s | packets per CPU second (best) | peak RSS |")
print("|---|---|---|---|---|")
print(f"| peerwall replay --format json | {pw:.2f} | {pw_all} | {pps(pw)} | {int(pw_rss)/1024:.1f} MiB |")
print(f"| ndpiReader -i -q | {nd:.2f} | {nd_all} | {pps(nd)} | {int(nd_rss)/1024:.1f} MiB |")
print()
print(f"speed ratio (ndpiReader CPU time / peerwall CPU time): {nd / pw:.2f}x" if pw > 0 else "speed ratio: n/a")
print(f"memory per tracked flow at 1,000,000 flows: {flow_mem}")
PY
