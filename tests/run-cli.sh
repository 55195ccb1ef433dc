#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# CLI behaviour cases: tests/cli/NNNN-name/ holds `cmd` (the arguments after
# `podwall`, run inside the case directory), the expected `stdout`, the
# expected exit status in `rc`, optionally the expected `stderr`, and any
# manifests the command reads.  Adding a case needs no C.
# Optional: `setup`, a shell script run first in a copy of the case
# directory (for what git cannot hold, such as a FIFO; the command then runs
# in that copy), and `stdout-to`, where the command's standard output goes
# instead (`/dev/full`, or `closed`); `stdout` is then not compared; and
# `stdin`, the command's standard input (else /dev/null).  A case
# that runs longer than 60 s fails.
. "$(dirname "$0")/lib.sh"
for d in "$(dirname "$0")"/cli/*/; do
	name=cli/$(basename "$d")
	want_rc=$(cat "$d/rc" 2>/dev/null || echo 0)
	echo 99 > "$TMP/rc"
	(
		cd "$d" || exit 99
		if [ -f setup ]; then
			rm -rf "$TMP/case" && cp -R . "$TMP/case" &&
				cd "$TMP/case" && sh ./setup || exit 99
		fi
		# shellcheck disable=SC2046
		eval "set -- $(cat cmd)"
		to=$TMP/out
		in=/dev/null
		[ -f stdin ] && in=$(pwd)/stdin
		[ -f stdout-to ] && to=$(cat stdout-to)
		if [ "$to" = closed ]; then
			timeout 60 "$PODWALL" "$@" >&- 2> "$TMP/err" < "$in"
		else
			timeout 60 "$PODWALL" "$@" > "$to" 2> "$TMP/err" < "$in"
		fi
		echo $? > "$TMP/rc"
	)
	got_rc=$(cat "$TMP/rc")
	ok=1
	if [ "$got_rc" != "$want_rc" ]; then
		fail "$name: exit $got_rc, want $want_rc: $(head -3 "$TMP/err")"
		ok=0
	fi
	if [ -f "$d/stdout" ] && [ ! -f "$d/stdout-to" ] && ! cmp -s "$d/stdout" "$TMP/out"; then
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
