#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# lab down removes everything lab up and lab apply created, also after
# kill -9 in the middle of either, is idempotent, and touches nothing else:
# no namespace, link, route, table, server, state or temporary file
# (/tmp/podwall-ip-*) is left.  Only this test's lab (pwt-kill) is looked
# at where other labs may run at the same time.
set -u
: "${PODWALL:=./podwall}"
: "${SHARED:=../shared}"
here=$(cd "$(dirname "$0")/.." && pwd)
L=pwt-kill
T=$(mktemp -d "${TMPDIR:-/tmp}/podwall-left.XXXXXX")
trap '$PODWALL lab down --name $L > /dev/null 2>&1; rm -rf "$T"' EXIT INT TERM
snapshot() {
	{
		echo "# netns"; ip netns list | grep "^pwl-$L-" | sort
		echo "# links"; ip -o link show | awk -F': ' '{ print $2 }' | sort
		echo "# routes"; ip route show | sort
		echo "# nft"; nft list tables 2> /dev/null | sort
		echo "# servers"; pgrep -f "lab __serve $L " | sort
		echo "# state"; ls /run/podwall/lab 2> /dev/null | grep -x $L
	} > "$1"
	ls /tmp | grep '^podwall-ip-' | sort > "$1.tmp"
}
# compare NAME: the state now against before; temporary files that other
# programs' runs make and remove at once do not count, so only those new
# files that are still there a moment later do
compare() {
	snapshot "$T/after"
	if ! cmp -s "$T/before" "$T/after"; then echo "$1:"; diff "$T/before" "$T/after"; rc=1; fi
	comm -13 "$T/before.tmp" "$T/after.tmp" > "$T/new"
	if [ -s "$T/new" ]; then
		sleep 0.5
		left=$(while read -r f; do [ -e "/tmp/$f" ] && echo "$f"; done < "$T/new")
		[ -n "$left" ] && { echo "$1: temporary files left: $left"; rc=1; }
	fi
}
rc=0
manifests=$SHARED/conformance/k8s-e2e/E01/step1/manifests.yaml
snapshot "$T/before"
$PODWALL lab up -f "$here/../examples/seed000" --name $L > /dev/null || rc=1
$PODWALL lab down --name $L > /dev/null || rc=1
compare "after up+down"
# killed WHAT DELAY CMD...: run CMD, kill -9 it after DELAY s, lab down,
# and compare
killed() {
	what=$1 delay=$2
	shift 2
	"$@" > /dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 $pid 2> /dev/null
	wait $pid 2> /dev/null
	$PODWALL lab down --name $L > "$T/down" 2>&1 || { echo "down after kill -9 of $what at $delay s failed:"; cat "$T/down"; rc=1; }
	compare "after kill -9 of $what at $delay s and down"
}
# kill -9 at several moments of lab up, and of a lab apply that adds pods
for delay in 0.05 0.15 0.3; do
	killed up $delay $PODWALL lab up -f "$manifests" --name $L
done
for delay in 0.05 0.15 0.3; do
	$PODWALL lab up -f "$here/lab/robust/pods.yaml" --name $L --no-external > /dev/null || rc=1
	killed apply $delay $PODWALL lab apply -f "$manifests" --name $L
done
# idempotent
$PODWALL lab down --name $L | grep -q 'is not up' || { echo "second lab down did not say so"; rc=1; }
exit $rc
