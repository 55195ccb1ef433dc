# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the test scripts.  Each suite script prints failures
# and ends with one line "<suite>: N passed, M failed".
: "${PODWALL:=./podwall}"
: "${SHARED:=../shared}"
PASS=0
FAIL=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/podwall-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

pass() { PASS=$((PASS + 1)); }
fail() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }
# cmp_case NAME WHAT EXPECTED ACTUAL: 0 when the files are equal, else a
# failure with the start of the diff
cmp_case() {
	cmp -s "$3" "$4" && return 0
	fail "$1: $2 differs"
	diff "$3" "$4" | head -10
	return 1
}
summary() { echo "$1: $PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ]; }

# compare_verdicts NAME EXPECTED ACTUAL: both files "SRC DST PROTO/PORT VERDICT",
# verdicts compared case-insensitively line by line.
compare_verdicts() {
	name=$1 exp=$2 act=$3
	out=$(awk -v name="$name" '
		NR == FNR { e[FNR] = toupper($4); s[FNR] = toupper($5); l[FNR] = $1 " " $2 " " $3; n = FNR; next }
		{ a[FNR] = $4; b[FNR] = $5; m = FNR }
		END {
			p = 0; f = 0
			for (i = 1; i <= n; i++) {
				if (a[i] == e[i]) p++
				else { f++; printf "FAIL: %s: %s: expected %s, got %s\n", name, l[i], e[i], (a[i] == "" ? "nothing" : a[i]) }
				if (s[i] == "") continue
				if (b[i] == s[i]) p++
				else { f++; printf "FAIL: %s: %s: staged: expected %s, got %s\n", name, l[i], s[i], (b[i] == "" ? "nothing" : b[i]) }
			}
			printf "#%d %d\n", p, f
		}' "$exp" "$act")
	echo "$out" | grep -v '^#' || true
	counts=$(echo "$out" | grep '^#' | tr -d '#')
	PASS=$((PASS + ${counts% *}))
	FAIL=$((FAIL + ${counts#* }))
}

# own_netns PREFIX: a network namespace PREFIX-PID for this run (root),
# after removing those of runs that were killed (their PID is gone)
own_netns() {
	for n in $(ip netns list | awk '{ print $1 }' | grep "^$1-[0-9]*\$"); do
		kill -0 "${n#"$1"-}" 2> /dev/null || ip netns del "$n"
	done
	ip netns add "$1-$$"
}

# need_root SUITE: end the suite (failed) unless run as root
need_root() {
	[ "$(id -u)" = 0 ] && return 0
	echo "$1: needs root"
	summary "$1"
	exit 1
}
