#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Data-driven verdict cases: tests/cases/NNN-name/ holds manifests (*.yaml),
# verdicts.tsv ("SRC DST PROTO/PORT allow|deny [staged verdict]", # comments)
# and optionally
# flags (extra command-line flags).  Adding a case needs no C.
. "$(dirname "$0")/lib.sh"
for d in "$(dirname "$0")"/cases/*/; do
	name=$(basename "$d")
	flags=$(cat "$d/flags" 2>/dev/null || true)
	grep -v '^[[:space:]]*#' "$d/verdicts.tsv" | awk 'NF >= 4' > "$TMP/exp"
	# a fifth column is the verdict with the staged policies enforced
	if awk 'NF >= 5 { f = 1 } END { exit !f }' "$TMP/exp"; then
		case " $flags " in *" --staged "*) ;; *) flags="$flags --staged" ;; esac
	fi
	# shellcheck disable=SC2086
	if ! $PODWALL eval -f "$d" $flags --batch "$TMP/exp" > "$TMP/act" 2> "$TMP/err"; then
		fail "$name: podwall exited non-zero: $(head -3 "$TMP/err")"
		continue
	fi
	compare_verdicts "$name" "$TMP/exp" "$TMP/act"
done
summary cases
