#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Lab cases as transcripts (root).  tests/lab/steps/NNNN-name/ holds `steps`
# (one podwall command line a line, run in the case directory; the lab is
# named pwt-step) and `expected`, the transcript:
#   $ ARGS
#   stdout lines
#   ! stderr lines
#   [exit N]
# Times ("in force 8.7 ms") read as "N ms", "pid 123" as "pid N" and the
# case directory as ".".
# `lab down --name pwt-step` runs before and after every case.  Prints one
# line per failed case, ends with "lab steps: N passed, M failed".
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
trap '$PODWALL lab down --name pwt-step > /dev/null 2>&1; rm -rf "$TMP"' EXIT INT TERM
for d in "$here"/steps/*/; do
	d=${d%/}
	name=lab/steps/$(basename "$d")
	$PODWALL lab down --name pwt-step > /dev/null 2>&1
	: > "$TMP/got"
	while IFS= read -r line; do
		case $line in '' | '#'*) continue ;; esac
		echo "\$ $line" >> "$TMP/got"
		(
			cd "$d" || exit 99
			eval "set -- $line"
			"$PODWALL" "$@" > "$TMP/out" 2> "$TMP/err" < /dev/null
			echo $? > "$TMP/rc"
		)
		cat "$TMP/out" >> "$TMP/got"
		sed 's/^/! /' "$TMP/err" >> "$TMP/got"
		echo "[exit $(cat "$TMP/rc")]" >> "$TMP/got"
	done < "$d/steps"
	$PODWALL lab down --name pwt-step > /dev/null 2>&1
	sed -E "s|$d|.|g; s/[0-9]+\.[0-9]+ ms/N ms/g; s/pid [0-9]+/pid N/g" "$TMP/got" > "$TMP/norm"
	if cmp -s "$d/expected" "$TMP/norm"; then
		pass
	else
		fail "$name: transcript differs"
		diff "$d/expected" "$TMP/norm" | head -20
		[ -n "$LAB_STEPS_BLESS" ] && cp "$TMP/norm" "$d/expected"
	fi
done
summary "lab steps"
