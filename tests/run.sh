#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs every test suite and ends with one line "N passed, M failed".
# Environment: PODWALL (binary under test), SHARED (../shared), UNIT_BINS,
# REACH_DIFF (the differential runner).
: "${PODWALL:=./podwall}"
: "${SHARED:=../shared}"
case $PODWALL in /*) ;; *) PODWALL=$(pwd)/$PODWALL ;; esac
case $SHARED in /*) ;; *) SHARED=$(pwd)/$SHARED ;; esac
export PODWALL SHARED
here=$(dirname "$0")
total_pass=0
total_fail=0

# exec_suite CMD...: run one suite; print what it printed but its passing
# lines, its summary line and time, then "#TOTALS PASSED FAILED".
exec_suite() {
	slog=$(mktemp "${TMPDIR:-/tmp}/podwall-suite.XXXXXX")
	t0=$(date +%s)
	"$@" > "$slog" 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	grep -v ': [0-9]* passed, [0-9]* failed$' "$slog" | head -40
	line=$(grep -E ': [0-9]+ passed, [0-9]+ failed$' "$slog" | tail -1)
	rm -f "$slog"
	if [ -z "$line" ]; then
		echo "SUITE ERROR: $* printed no summary (exit $rc)"
		echo "#TOTALS 0 1"
		return
	fi
	echo "$line"
	echo "  ($secs s)"
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/')
	f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "SUITE ERROR: $* exited $rc"
		f=1
	fi
	echo "#TOTALS $p $f"
}

# collect FILE: print a suite's output and add its totals
collect() {
	grep -v '^#TOTALS ' "$1"
	set -- $(grep '^#TOTALS ' "$1" | tail -1) "#TOTALS" 0 1
	total_pass=$((total_pass + $2))
	total_fail=$((total_fail + $3))
}

# Suites that share nothing run $TEST_JOBS at a time (default 2: the
# machine's cores); their output comes in the order they were started.
jobs_dir=$(mktemp -d "${TMPDIR:-/tmp}/podwall-jobs.XXXXXX")
trap 'rm -rf "$jobs_dir"' EXIT
started=0
collected=0
finish_one() {
	collected=$((collected + 1))
	eval "wait \$pid_$collected"
	collect "$jobs_dir/$collected"
}
run_parallel() {
	started=$((started + 1))
	exec_suite "$@" > "$jobs_dir/$started" 2>&1 &
	eval "pid_$started=$!"
	while [ $((started - collected)) -ge "${TEST_JOBS:-2}" ]; do
		finish_one
	done
}
finish_all() {
	while [ "$collected" -lt "$started" ]; do
		finish_one
	done
}
# run_suite CMD...: alone (root suites: namespaces, timing)
run_suite() {
	finish_all
	exec_suite "$@" > "$jobs_dir/alone" 2>&1
	collect "$jobs_dir/alone"
}

for u in $UNIT_BINS; do
	run_parallel "$u"
done
run_parallel sh "$here/run-cases.sh"
run_parallel sh "$here/run-cli.sh"
run_parallel sh "$here/run-rbac.sh"
run_parallel sh "$here/run-audit.sh"
run_parallel sh "$here/help.sh"
run_parallel sh "$here/conformance/k8s-e2e.sh"
run_parallel sh "$here/conformance/recipes.sh"
run_parallel sh "$here/conformance/netpol-analyzer.sh"
run_parallel sh "$here/conformance/nca-calico.sh"
run_parallel sh "$here/conformance/rbac.sh"
run_parallel sh "$here/conformance/pod-security.sh"
run_parallel sh "$here/differential.sh"
run_parallel sh "$here/differential-outputs.sh"
run_parallel sh "$here/lint-dns.sh"
run_parallel sh "$here/scale/run.sh"
# the Kubernetes API source against recorded responses (no root)
run_parallel sh "$here/kube/run.sh"
# flow records and their stores, podwall flows and alerts (no root)
run_parallel sh "$here/flows/run.sh"
# GlobalAlerts: podwall alerts eval, and loading (no root)
run_parallel sh "$here/alerts/run.sh"
# podwall recommend: cases, the proof against podwall eval (no root)
run_parallel sh "$here/recommend/run.sh"
finish_all
# the agent and the lab need root (network namespaces, nftables); CI runs
# as root
if [ "$(id -u)" = 0 ]; then
	run_suite sh "$here/agent/run.sh"
	run_suite sh "$here/etcd/run.sh"
else
	echo "agent, etcd: not run (need root)"
fi
if [ "$(id -u)" = 0 ] && [ -z "$PODWALL_SKIP_LAB" ]; then
	run_suite sh "$here/lab/nft-check.sh"
	run_suite sh "$here/lab/run.sh"
	run_suite sh "$here/lab/services.sh"
	run_suite sh "$here/lab/gen.sh"
	run_suite sh "$here/lab/steps.sh"
	run_suite sh "$here/lab/robust.sh"
	run_suite sh "$here/lab/agent.sh"
	run_suite sh "$here/lab/nodes.sh"
	run_suite sh "$here/lab/etcd.sh"
	run_suite sh "$here/lab/flows.sh"
	run_suite sh "$here/lab/prometheus.sh"
else
	echo "lab: not run (needs root)"
fi
if [ -n "$VALGRIND_PODWALL" ]; then
	run_suite sh "$here/run-valgrind.sh"
fi
finish_all
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
