#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `podwall audit` cases: tests/audit/cases/NNN-name/ holds manifests (*.yaml,
# *.json), `args` (the options after `podwall audit -f .`, run inside the
# case directory), the expected standard output `expect.txt`, the exit
# status `rc`, and optionally the expected standard error `expect.err`.
# Adding a case needs no C.
# Then every case that is not bad input is run again with -o sarif and the
# logs are validated against the official SARIF 2.1.0 JSON Schema
# (scripts/sarif-tools.sh installs it with npm; skipped, and said so, only
# when npm is missing), and a log known to be invalid must be rejected.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
mkdir -p "$TMP/sarif"
for d in "$here"/audit/cases/*/; do
	name=audit/$(basename "$d")
	want_rc=$(cat "$d/rc")
	# shellcheck disable=SC2046
	(cd "$d" && eval "set -- $(cat args)" &&
		timeout 60 "$PODWALL" audit -f . "$@" > "$TMP/out" 2> "$TMP/err"
	 echo $? > "$TMP/rc")
	got_rc=$(cat "$TMP/rc")
	ok=1
	if [ "$got_rc" != "$want_rc" ]; then
		fail "$name: exit $got_rc, want $want_rc: $(head -3 "$TMP/err")"
		ok=0
	fi
	cmp_case "$name" stdout "$d/expect.txt" "$TMP/out" || ok=0
	[ ! -f "$d/expect.err" ] || cmp_case "$name" stderr "$d/expect.err" "$TMP/err" || ok=0
	[ $ok -eq 1 ] && pass
	[ "$want_rc" = 2 ] && continue
	(cd "$d" && eval "set -- $(cat args)" &&
		"$PODWALL" audit -f . "$@" -o sarif > "$TMP/sarif/$(basename "$d").sarif" 2> /dev/null)
done
schema=$(sh "$top/scripts/sarif-tools.sh")
case $? in
0)
	if node "$top/scripts/sarif-validate.js" "$schema" "$TMP"/sarif/*.sarif > "$TMP/v" 2>&1; then
		pass
	else
		fail "audit: SARIF logs invalid against the SARIF 2.1.0 schema:"
		grep -v ': valid$' "$TMP/v" | head -20
	fi
	n=$(grep -c ': valid$' "$TMP/v")
	echo "audit: $n SARIF logs validated against $(basename "$schema")"
	if node "$top/scripts/sarif-validate.js" "$schema" "$here/audit/invalid.sarif" > "$TMP/v" 2>&1; then
		fail "audit: the validator accepted tests/audit/invalid.sarif"
	else
		pass
	fi
	;;
77) echo "SKIP: audit: SARIF schema validation (npm is missing)" ;;
*) fail "audit: could not install the SARIF validator (scripts/sarif-tools.sh)" ;;
esac
summary audit
