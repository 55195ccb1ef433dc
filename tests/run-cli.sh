#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# CLI behaviour cases: tests/cli/NNNN-name/ holds `cmd` (the arguments after
# `podwall`, run inside the case directory), the expected `stdout`, the
# expected exit status in `rc`, optionally the expected `stderr`, and any
# manifests the command reads.  Adding a case needs no C.
. "$(dirname "$0")/lib.sh"
for d in "$(dirname "$0")"/cli/*/; do
	name=cli/$(basename "$d")
	want_rc=$(cat "$d/rc" 2>/dev/null || echo 0)
	(
		cd "$d" || exit 99
		# shellcheck disable=SC2046
		eval "set -- $(cat cmd)"
		"$PODWALL" "$@" > "$TMP/out" 2> "$TMP/err" < /dev/null
		echo $? > "$TMP/rc"
	)
	got_rc=$(cat "$TMP/rc")
	ok=1
	if [ "$got_rc" != "$want_rc" ]; then
		fail "$name: exit $got_rc, want $want_rc: $(head -3 "$TMP/err")"
		ok=0
	fi
	if [ -f "$d/stdout" ] && ! cmp -s "$d/stdout" "$TMP/out"; then
		fail "$name: stdout differs"
		diff "$d/stdout" "$TMP/out" | head -10
		ok=0
	fi
	if [ -f "$d/stderr" ] && ! cmp -s "$d/stderr" "$TMP/err"; then
		fail "$name: stderr differs"
		diff "$d/stderr" "$TMP/err" | head -10
		ok=0
	fi
	[ $ok -eq 1 ] && pass
done
summary cli
