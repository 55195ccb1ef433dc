#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Pod Security Standards conformance ($SHARED/conformance/pod-security),
# through the CLI: every upstream fixture of {baseline,restricted}/{v1.0,
# v1.37}/{pass,fail}, each directory judged in one `podwall audit --only pod-security --pss
# LEVEL:VERSION -o json` (findings are attributed to their file by "pos").
# A pass fixture must have no finding; a fail fixture a finding whose
# message holds the expected substring of its check (the README's table;
# appArmorProfile's "forbidden AppArmor profile(s)" is upstream's
# pluralized reason, so its singular stem is looked for).  Also: the checks
# that run at each level and version equal active-checks.tsv.
. "$(dirname "$0")/../lib.sh"
root="$SHARED/conformance/pod-security"
[ -d "$root/baseline" ] || { echo "pod-security: $root missing"; exit 1; }

# the expected substring of a fixture, from its name's check ID
expect() {
	case ${1%%[0-9]*} in
	allowprivilegeescalation) echo 'allowPrivilegeEscalation' ;;
	apparmorprofile) echo 'forbidden AppArmor profile' ;;
	capabilities_baseline) echo 'capabilities' ;;
	capabilities_restricted) echo 'unrestricted capabilities' ;;
	hostnamespaces) echo 'host namespaces' ;;
	hostpathvolumes) echo 'hostPath' ;;
	hostports) echo 'hostPort' ;;
	hostprobesandhostlifecycle) echo 'probe or lifecycle host' ;;
	privileged) echo 'privileged' ;;
	procmount | procmount_restricted) echo 'procMount' ;;
	restrictedvolumes) echo 'restricted volume types' ;;
	runasnonroot) echo 'runAsNonRoot' ;;
	runasuser) echo 'runAsUser' ;;
	selinuxoptions) echo 'seLinuxOptions' ;;
	seccompprofile_baseline | seccompprofile_restricted) echo 'seccompProfile' ;;
	sysctls) echo 'forbidden sysctl' ;;
	windowshostprocess) echo 'hostProcess' ;;
	*) echo "?unknown check of $1" ;;
	esac
}

# the messages of the findings of FILE in a JSON output, one a line
messages_of() {
	awk -v f="$1" '
		/"pos": / { p = $0; sub(/.*"pos": "/, "", p); sub(/:[0-9]+:[0-9]+",?$/, "", p) }
		/"message": / && p == f { m = $0; sub(/.*"message": "/, "", m); sub(/",?$/, "", m); print m }
	' "$2"
}

for level in baseline restricted; do
	for ver in v1.0 v1.37; do
		for want in pass fail; do
			dir="$root/$level/$ver/$want"
			$PODWALL audit --only pod-security --pss "$level:$ver" -f "$dir" -o json > "$TMP/out" 2> "$TMP/err"
			rc=$?
			if [ $rc = 2 ] || { [ $want = pass ] && [ $rc != 0 ]; } || { [ $want = fail ] && [ $rc != 1 ]; }; then
				fail "$level/$ver/$want: podwall audit exited $rc: $(head -2 "$TMP/err")"
			fi
			for f in "$dir"/*.yaml; do
				name=$(basename "$f" .yaml)
				messages_of "$f" "$TMP/out" > "$TMP/msgs"
				if [ $want = pass ]; then
					if [ -s "$TMP/msgs" ]; then
						fail "$level/$ver/pass/$name: allowed upstream, got: $(head -1 "$TMP/msgs")"
					else pass; fi
				else
					sub=$(expect "$name")
					if grep -qF -- "$sub" "$TMP/msgs"; then pass; else
						fail "$level/$ver/fail/$name: want a finding with \"$sub\", got: $(head -1 "$TMP/msgs")"
					fi
				fi
			done
		done
	done
done

# the checks each level and version runs, and their variants
tail -n +2 "$root/active-checks.tsv" | while IFS='	' read -r level ver checks; do
	got=$($PODWALL audit --pss "$level:$ver" --pss-checks 2>&1)
	if [ "$got" = "$checks" ]; then echo pass; else
		echo "FAIL: active checks $level $ver: expected $checks, got $got"; fi
done > "$TMP/act"
PASS=$((PASS + $(grep -c '^pass$' "$TMP/act")))
FAIL=$((FAIL + $(grep -c '^FAIL' "$TMP/act")))
grep '^FAIL' "$TMP/act"
summary pod-security
