#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The engine at cluster scale, on clusters from `podwall gen`: load time,
# engine build, full matrix time and peak memory, and eval --batch
# queries per second, beside the targets of the scale issue.  This is the
# baseline of the current (per-connection) engine; where it is too slow to
# finish, the bench says so instead of running for hours.
set -u
: "${PODWALL:=./podwall}"
T=$(mktemp -d "${TMPDIR:-/tmp}/podwall-engine.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
stat_field() { # stats line, field name -> number
	sed -n "s/.*$2 \([0-9.]*\) .*/\1/p" "$1" | head -1
}
run() { # label target_matrix_ms target_total_ms target_mib file what...
	label=$1 tm=$2 tt=$3 tmib=$4 f=$5
	shift 5
	"$PODWALL" "$@" -f "$f" --stats > /dev/null 2> "$T/stats"
	load=$(stat_field "$T/stats" load)
	eng=$(stat_field "$T/stats" engine)
	ans=$(stat_field "$T/stats" answer)
	rss=$(sed -n 's/.*peak RSS \([0-9.]*\) MiB.*/\1/p' "$T/stats")
	awk -v l="$label" -v load="$load" -v eng="$eng" -v ans="$ans" -v rss="$rss" \
		-v tm="$tm" -v tt="$tt" -v tmib="$tmib" 'BEGIN {
		after = eng + ans; total = load + eng + ans
		printf "%s: load %.0f ms, engine %.0f ms, matrix %.0f ms; after load %.0f ms (target %d, %.0fx), with parsing %.0f ms (target %d, %.1fx), peak %.0f MiB (target %d, %.1fx)\n",
			l, load, eng, ans, after, tm, after / tm, total, tt, total / tt, rss, tmib, rss / tmib }'
}
"$PODWALL" gen --pods 10000 --policies 1000 > "$T/10k.yaml"
run "10k pods x 1k policies" 50 500 64 "$T/10k.yaml" matrix -o csv
# eval --batch: one million queries between pods
awk 'BEGIN { srand(7); for (i = 0; i < 1000000; i++) {
	a = int(rand() * 10000) + 1; b = int(rand() * 10000) + 1
	printf "10.0.%d.%d 10.0.%d.%d TCP/%d\n", int(a / 256), a % 256, int(b / 256), b % 256, 8000 + int(rand() * 100) } }' > "$T/q"
"$PODWALL" eval -f "$T/10k.yaml" --batch "$T/q" --stats > /dev/null 2> "$T/stats"
ans=$(stat_field "$T/stats" answer)
awk -v a="$ans" 'BEGIN { qps = 1e6 / (a / 1000); printf "eval --batch, 10k pods: %.2f M queries/s (target 1 M/s, %.2fx)\n", qps / 1e6, qps / 1e6 }'
"$PODWALL" gen --pods 100000 --policies 10000 > "$T/100k.yaml"
"$PODWALL" eval -f "$T/100k.yaml" --src 10.0.0.1 --dst 10.0.0.2 --port 8080 --stats > /dev/null 2> "$T/stats"
load=$(stat_field "$T/stats" load)
eng=$(stat_field "$T/stats" engine)
echo "100k pods x 10k policies: load $load ms, engine $eng ms; the full matrix is not run: the current engine walks workload pairs one connection set at a time (10k pods took the figure above; 100k would take about 100 times as long) (targets: 100 ms after load, 3 s with parsing)"
echo "one policy change, one pod relabel: not measured; the current engine rebuilds (engine time above) (target 1 ms)"
