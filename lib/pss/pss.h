/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pod Security Standards as upstream's pod-security-admission plugin judges
 * them (kubernetes/pod-security-admission, policy/check_*.go and
 * registry.go; the facts are in shared/conformance/pod-security/README.md).
 *
 * Loading (lib/pss/load.c, called by the manifest loader for every Pod and
 * every workload's pod template): the fields the checks read, after the
 * API server's defaulting that matters to them (a volume with no source is
 * an emptyDir).  They hang off struct pw_pod (p->pss; NULL when the spec
 * could not be read).
 *
 * Judging (lib/pss/check.c): a policy is a level and a version v1.N.
 *
 *   - privileged runs no check; baseline runs the baseline checks;
 *     restricted runs the restricted checks and every baseline check that
 *     no running restricted check overrides;
 *   - a check runs from its first version on, with the variant of the
 *     largest minimum version <= N; "latest" and any version newer than
 *     PW_PSS_LATEST are PW_PSS_LATEST;
 *   - findings come in upstream's order: baseline check IDs sorted, then
 *     restricted ones; each message starts with upstream's forbidden reason
 *     and gives the offending fields in parentheses.
 *
 * Auditing (pw_pss_audit): every Pod and workload template of a cluster,
 * against the namespace's pod-security.kubernetes.io/enforce, audit and
 * warn labels (with their -version labels; default latest), or against one
 * policy for all (--pss).  An invalid label value is read, as upstream
 * does, as restricted:latest, with a warning.
 *
 * Nothing here prints.
 */
#ifndef PW_PSS_H
#define PW_PSS_H

#include "../base.h"
#include "../model.h"

#define PW_PSS_LATEST 37 /* the newest version known: v1.37 */

enum pw_pss_level { PW_PSS_PRIVILEGED, PW_PSS_BASELINE, PW_PSS_RESTRICTED };

struct pw_pss_policy {
	enum pw_pss_level level;
	int minor; /* v1.minor, at most PW_PSS_LATEST */
};

/* "privileged", "baseline" or "restricted"; -1 for another. */
int pw_pss_parse_level(const char *s);
/* "latest" or "v1.N" (N >= 0; newer than known: PW_PSS_LATEST): 0, or -1. */
int pw_pss_parse_version(const char *s, int *minor);
/* "LEVEL[:VERSION]": 0, or -1 with the reason in err. */
int pw_pss_parse_policy(const char *s, struct pw_pss_policy *p, struct pw_buf *err);
const char *pw_pss_level_name(enum pw_pss_level l);

/* Fields of a securityContext shared by pods and containers; -1 unset for
   the booleans (tri-state). */
struct pw_pss_sc {
	signed char run_as_non_root, host_process;
	bool has_run_as_user, has_seccomp, has_apparmor;
	long run_as_user;
	const char *seccomp, *apparmor; /* their type ("" when not given) */
	const char *se_type, *se_user, *se_role; /* seLinuxOptions; NULL unset */
};

struct pw_pss_container {
	const char *name;
	struct pw_pss_sc sc;
	signed char privileged, allow_priv_esc;
	bool has_caps; /* securityContext.capabilities given */
	const char **add, **drop;
	uint32_t nadd, ndrop;
	long *host_ports; /* the non-zero ones */
	uint32_t nhost_ports;
	const char *proc_mount; /* NULL unset */
	const char **probe_hosts; /* non-empty hosts of probes and lifecycle */
	uint32_t nprobe_hosts;
};

/* One source of a volume (a volume without one: emptyDir). */
struct pw_pss_volume {
	const char *name, *type;
};

struct pw_pss_pod {
	bool host_network, host_pid, host_ipc;
	bool userns; /* spec.hostUsers: false */
	const char *os; /* spec.os.name; NULL unset */
	struct pw_pss_sc sc;
	const char **sysctls;
	uint32_t nsysctls;
	struct pw_pss_volume *vols;
	uint32_t nvols;
	/* initContainers, containers, ephemeralContainers, in that order */
	struct pw_pss_container *cts;
	uint32_t ncts;
	const char **ann_keys, **ann_vals; /* metadata.annotations */
	uint32_t nann;
};

/* A check a pod fails. */
struct pw_pss_violation {
	const char *check;   /* upstream's ID, e.g. "capabilities_restricted" */
	const char *message; /* reason (details) */
	const char *fix;
};

/* The checks pod p fails under pol, in upstream's order (arena a). */
uint32_t pw_pss_judge(const struct pw_pss_pod *p, struct pw_pss_policy pol,
		      struct pw_arena *a, struct pw_pss_violation **out);
/* The checks that run under pol, "id@v1.N" in upstream's order, joined with
   ','  (as shared/conformance/pod-security/active-checks.tsv writes them). */
void pw_pss_active(struct pw_pss_policy pol, struct pw_buf *out);

enum pw_pss_mode { PW_PSS_ENFORCE, PW_PSS_AUDIT, PW_PSS_WARN, PW_PSS_FORCED };
const char *pw_pss_mode_name(enum pw_pss_mode m); /* "enforce", ..., "pss" */

struct pw_pss_finding {
	const struct pw_pod *pod; /* a Pod or a workload's template */
	const char *ns;
	enum pw_pss_mode mode;
	struct pw_pss_policy pol;
	struct pw_pss_violation v;
};

/* The findings of every pod and workload template of c (finished), by
   namespace labels, or under *forced for all when forced is set; warnings
   about labels go to d.  Arena a. */
uint32_t pw_pss_audit(const struct pw_cluster *c, const struct pw_pss_policy *forced,
		      struct pw_arena *a, struct pw_pss_finding **out, struct pw_diags *d);

#endif
