#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The engine at cluster scale, on clusters from `podwall gen`, beside the
# targets of the scale issue and beside the reference per-connection
# evaluation (ratios).  Figures come from bench/engine-bench.c (one process
# per cluster: load, engine, the whole matrix, verdicts per second, 100
# policy changes and 100 relabels, each checked against a rebuild) and from
# the command line itself (matrix -o csv, eval --batch).
set -u
: "${PODWALL:=./podwall}"
: "${ENGINE_BENCH:=build/rel/engine-bench}"
T=$(mktemp -d "${TMPDIR:-/tmp}/podwall-engine.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

# label file sample target_after_ms target_total_ms target_mib(0: none)
one() {
	label=$1 f=$2 sample=$3 ta=$4 tt=$5 tm=$6
	if ! "$ENGINE_BENCH" "$f" --sample "$sample" > "$T/out" 2> "$T/err"; then
		echo "$label: engine-bench FAILED (a mismatch against the reference?)"
		cat "$T/out" "$T/err" | tail -5
		return
	fi
	awk -v l="$label" -v ta="$ta" -v tt="$tt" -v tm="$tm" '
	{ v[$1] = $2 }
	END {
		after = v["engine_ms"] + v["reach_ms"]; total = v["load_ms"] + after
		printf "%s: %d pods, %d identities, %d policies -> %d atoms, %d classes, %d rows (%.1f MiB)\n",
			l, v["pods"], v["identities"], v["policies"], v["atoms"], v["classes"], v["rows"], v["reach_mib"]
		printf "  load %.0f ms; full matrix after load %.0f ms (engine %.0f + rows %.0f): target %d ms, %.1fx it\n",
			v["load_ms"], after, v["engine_ms"], v["reach_ms"], ta, after / ta
		printf "  with parsing %.0f ms: target %d ms, %.2fx it", total, tt, total / tt
		if (tm > 0)
			printf "; peak RSS %.0f MiB: target %d MiB, %.2fx it\n", v["rss_mib"], tm, v["rss_mib"] / tm
		else
			printf "; peak RSS %.0f MiB\n", v["rss_mib"]
		printf "  reference matrix (per-connection, %d atom pairs, from a sample of %s): %.1f s; fast/reference time ratio 1/%.0f (sample mismatches: %d)\n",
			v["matrix_pairs"], "'"$sample"'", v["ref_matrix_ms"] / 1000, v["ref_matrix_ms"] / after, v["sample_mismatches"]
		printf "  verdicts: %.1f M/s (target 1 M/s, %.1fx it); reference %.2f M/s (%.0fx slower)\n",
			v["fast_qps"] / 1e6, v["fast_qps"] / 1e6, v["ref_qps"] / 1e6, v["fast_qps"] / v["ref_qps"]
		printf "  one policy change: p50 %.0f us, p99 %.0f us; one relabel: p50 %.0f us, p99 %.0f us (target 1000 us: p99 %.1fx, %.1fx)\n",
			v["policy_p50_us"], v["policy_p99_us"], v["relabel_p50_us"], v["relabel_p99_us"],
			v["policy_p99_us"] / 1000, v["relabel_p99_us"] / 1000
		printf "  reference for a change (rebuild engine and matrix): %.0f ms, %.0fx the policy p50, %.0fx the relabel p50; %d changes checked against a rebuild, %d mismatches\n",
			v["rebuild_ms"], v["rebuild_ms"] * 1000 / v["policy_p50_us"],
			v["rebuild_ms"] * 1000 / v["relabel_p50_us"], v["checked"], v["check_mismatches"]
	}' "$T/out"
}

"$PODWALL" gen --pods 10000 --policies 1000 > "$T/10k.yaml"
"$PODWALL" gen --pods 10000 --policies 1000 --calico > "$T/10kc.yaml"
"$PODWALL" gen --pods 100000 --policies 10000 > "$T/100k.yaml"
one "10k pods x 1k policies" "$T/10k.yaml" 20000 50 500 64
one "10k pods x 1k policies, Calico tiers" "$T/10kc.yaml" 20000 50 500 64
one "100k pods x 10k policies" "$T/100k.yaml" 3000 100 3000 0

# the command line, end to end on the 10k cluster
"$PODWALL" matrix -f "$T/10k.yaml" -o csv --stats > "$T/m.csv" 2> "$T/stats"
lines=$(($(wc -l < "$T/m.csv") - 1))
sed -n 's/^stats: /  /p' "$T/stats" | sed "s/^/podwall matrix -o csv, 10k pods ($lines workload pairs printed):/"
# -o json and -o yaml stream like csv: goal within 64 MiB and 2x the csv time
csv_ms=$(sed -n 's/.* total \([0-9.]*\) ms.*/\1/p' "$T/stats")
for f in json yaml; do
	"$PODWALL" matrix -f "$T/10k.yaml" -o $f --stats > /dev/null 2> "$T/stats-$f"
	awk -v f=$f -v c="$csv_ms" '/^stats:/ {
		t = $0; sub(/.* total /, "", t); sub(/ ms.*/, "", t)
		m = $0; sub(/.*peak RSS /, "", m); sub(/ MiB.*/, "", m)
		printf "podwall matrix -o %s, 10k pods: %.0f ms (%.2fx the csv time: goal 2x), peak RSS %.0f MiB (goal 64 MiB, %.2fx it)\n",
			f, t, t / c, m, m / 64 }' "$T/stats-$f"
done
awk 'BEGIN { srand(7); for (i = 0; i < 1000000; i++) {
	a = int(rand() * 10000) + 1; b = int(rand() * 10000) + 1
	printf "10.0.%d.%d 10.0.%d.%d TCP/%d\n", int(a / 256), a % 256, int(b / 256), b % 256, 8000 + int(rand() * 100) } }' > "$T/q"
"$PODWALL" eval -f "$T/10k.yaml" --batch "$T/q" --stats > /dev/null 2> "$T/stats"
ans=$(sed -n 's/.* answer \([0-9.]*\) ms.*/\1/p' "$T/stats")
awk -v a="$ans" 'BEGIN { printf "podwall eval --batch, 10k pods, 1M lines read, resolved and answered: %.2f M lines/s\n", 1e6 / (a / 1000) / 1e6 }'
