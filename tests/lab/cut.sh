#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A tightened policy cuts the established TCP connections it now denies;
# with --keep-established they live on.
set -u
: "${PODWALL:=./podwall}"
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/podwall-cut.XXXXXX")
trap '$PODWALL lab down --name pwt-cut > /dev/null 2>&1; rm -rf "$T"' EXIT INT TERM
rc=0
for mode in cut keep; do
	$PODWALL lab up -f "$here/cut/pods.yaml" --name pwt-cut --no-external > /dev/null || exit 1
	$PODWALL lab exec cut/server --name pwt-cut -- "$PODWALL" lab __echo 9000 &
	echo_pid=$!
	sleep 0.3
	$PODWALL lab exec cut/client --name pwt-cut -- "$PODWALL" lab __hold 10.60.0.2 9000 4 > "$T/hold" 2>&1 &
	hold_pid=$!
	sleep 1
	if [ $mode = cut ]; then
		$PODWALL lab apply -f "$here/cut/deny.yaml" --name pwt-cut > "$T/apply" || rc=1
	else
		$PODWALL lab apply -f "$here/cut/deny.yaml" --name pwt-cut --keep-established > "$T/apply" || rc=1
	fi
	wait $hold_pid
	hold_rc=$?
	kill $echo_pid 2> /dev/null
	wait $echo_pid 2> /dev/null
	echo "$mode: $(cat "$T/hold") / $(tr '\n' ' ' < "$T/apply")"
	if [ $mode = cut ]; then
		[ $hold_rc -ne 0 ] && grep -q '^cut after' "$T/hold" && grep -q 'cut 1 established' "$T/apply" || rc=1
	else
		[ $hold_rc -eq 0 ] && grep -q '^held' "$T/hold" || rc=1
	fi
	# a new connection is denied either way
	if $PODWALL lab exec cut/client --name pwt-cut -- "$PODWALL" lab __hold 10.60.0.2 9000 1 > /dev/null 2>&1; then
		echo "$mode: a new connection was not denied"
		rc=1
	fi
	$PODWALL lab down --name pwt-cut > /dev/null || rc=1
done
# nothing the test started in the pods is left either
if pgrep -f "lab __(echo|hold) .*" > /dev/null; then echo "test processes left behind"; rc=1; fi
exit $rc
