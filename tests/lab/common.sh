# SPDX-License-Identifier: Apache-2.0
# Shared by the lab suites (sourced after tests/lib.sh).

# compare_probe NAME EXPECTED(src dst proto/port verdict) PROBE_TSV
# Counts into PASS, FAIL and untested.
untested=0
compare_probe() {
	out=$(awk -F'\t' -v name="$1" '
		NR == FNR { k = $1 " " $2 " " $3; want[k] = tolower($4); order[++n] = k; next }
		{ k = $1 " " $2 " " $3; obs[k] = $4; pred[k] = $5 }
		END {
			p = 0; f = 0; u = 0
			for (i = 1; i <= n; i++) {
				k = order[i]
				if (!(k in obs)) { f++; printf "FAIL: %s: %s not probed\n", name, k; continue }
				if (obs[k] == "untested") { u++; if (pred[k] == want[k]) continue; f++;
					printf "FAIL: %s: %s: engine %s, expected %s\n", name, k, pred[k], want[k]; continue }
				if (obs[k] == want[k] && pred[k] == want[k]) p++
				else { f++; printf "FAIL: %s: %s: lab %s, engine %s, expected %s\n", name, k, obs[k], pred[k], want[k] }
			}
			printf "#%d %d %d\n", p, f, u
		}' "$2" "$3")
	echo "$out" | grep -v '^#' || true
	c=$(echo "$out" | grep '^#' | tr -d '#')
	set -- $c
	PASS=$((PASS + $1))
	FAIL=$((FAIL + $2))
	untested=$((untested + $3))
}

# case_expect DIR OUT: the rows of DIR/verdicts.tsv the lab can reproduce
# (pods and TEST-NET addresses, TCP/UDP/SCTP ports) into OUT; then
# $ext (--external ADDR... or --no-external), $ports (--port ...) and
# $flags (the case's engine flags) for lab up and lab probe.
case_expect() {
	grep -v '^[[:space:]]*#' "$1/verdicts.tsv" | awk '
		function ok(x) { return x ~ /\// || x ~ /^(192\.0\.2|198\.51\.100|203\.0\.113)\.[0-9]+$/ }
		NF >= 4 && ok($1) && ok($2) && $3 ~ /^(TCP|UDP|SCTP)\// { print $1 "\t" $2 "\t" $3 "\t" $4 }' > "$2"
	ext=$(awk -F'\t' '{ print $1; print $2 }' "$2" | grep -E '^[0-9.]+$' | sort -u | sed 's/^/--external /' | tr '\n' ' ')
	[ -n "$ext" ] || ext=--no-external
	ports=$(awk -F'\t' '{ print "--port " $3 }' "$2" | sort -u | tr '\n' ' ')
	flags=$(cat "$1/flags" 2>/dev/null | sed 's/--staged//')
}

# probe_agrees NAME PROBE_TSV: every probed cell equals the engine
probe_agrees() {
	awk -F'\t' '$4 != "untested" && $4 != $5' "$2" > "$TMP/bad"
	if [ -s "$TMP/bad" ]; then fail "$1: lab differs from the engine:"; head -5 "$TMP/bad"; else pass; fi
}
