#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The differential test of the fast engine against the per-connection
# reference (tests/differential/reach-diff.c): every behaviour case, every
# k8s-e2e step, every netpol-analyzer input and random clusters (Kubernetes
# and Calico) from `podwall gen`, each with random sequences of
# incremental changes (relabels; policy edits, deletions and additions),
# under each engine flag.  One check per cluster state.
# Then the same for the world (tests/differential/world-diff.c): random
# document changes committed through lib/world.c, each compared with a
# world built from scratch (verdicts, reach, the dataplane's table,
# rejections, memory).
# Environment: REACH_DIFF (default build/asan/reach-diff), WORLD_DIFF,
# PODWALL, SHARED.
: "${REACH_DIFF:=build/asan/reach-diff}"
: "${WORLD_DIFF:=build/asan/world-diff}"
: "${PODWALL:=./podwall}"
: "${SHARED:=../shared}"
here=$(dirname "$0")
T=$(mktemp -d "${TMPDIR:-/tmp}/podwall-diff.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
pass=0
fail=0
run() {
	"$REACH_DIFF" "$@" > "$T/out" 2>&1
	rc=$?
	grep -v ': [0-9]* passed, [0-9]* failed$' "$T/out" | grep -v 'inputs skipped' | head -20
	line=$(grep -E '^reach-diff: [0-9]+ passed, [0-9]+ failed$' "$T/out")
	if [ -z "$line" ]; then
		echo "FAIL: reach-diff $1 $2 $3 $4 $5 $6 (and $(($# - 6)) inputs) printed no summary (exit $rc)"
		tail -5 "$T/out"
		fail=$((fail + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/')
	f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/')
	pass=$((pass + p))
	fail=$((fail + f))
}
for s in 1 2 3 4 5 6 7 8; do
	extra=
	[ $((s % 2)) = 0 ] && extra=--calico
	$PODWALL gen --pods $((30 + s * 10)) --policies $((20 + s * 5)) --namespaces 4 \
		--seed $s $extra > "$T/gen-$s.yaml"
done
# rules that alias one list of peers and one of ports (tests/scale/cube.sh)
sh "$here/scale/cube.sh" 12 20 16 > "$T/gen-cube.yaml"
npa=$(ls -d "$SHARED"/conformance/netpol-analyzer/tests/*/ 2>/dev/null)
e2e=$(ls "$SHARED"/conformance/k8s-e2e/E*/step*/manifests.yaml 2>/dev/null)
for flags in 0 1 2; do
	run --changes 40 --seed $((flags + 11)) --flags $flags "$T"/gen-*.yaml "$here"/cases/*/
	run --changes 8 --seed $((flags + 21)) --flags $flags $npa $e2e
done
# the world: documents changed and committed as the agent does
wrun() {
	"$WORLD_DIFF" "$@" > "$T/out" 2>&1
	rc=$?
	grep '^FAIL' "$T/out" | head -20
	line=$(grep -E '^world-diff: [0-9]+ passed, [0-9]+ failed$' "$T/out")
	if [ -z "$line" ]; then
		echo "FAIL: world-diff $* printed no summary (exit $rc)"
		tail -5 "$T/out"
		fail=$((fail + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/')
	f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/')
	pass=$((pass + p))
	fail=$((fail + f))
}
wrun --changes 40 --seed 5 "$T"/gen-1.yaml "$T"/gen-2.yaml "$T"/gen-3.yaml "$T"/gen-4.yaml
wrun --changes 30 --seed 6 --flags 1 "$T"/gen-5.yaml "$T"/gen-6.yaml
wrun --changes 4 --seed 7 "$here"/cases/*/
echo "differential: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
