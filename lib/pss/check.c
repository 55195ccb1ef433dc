// SPDX-License-Identifier: Apache-2.0
/*
 * The checks of the Pod Security Standards, their versions and variants,
 * and the audit of a cluster by its namespaces' labels (lib/pss/pss.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pss.h"

#define NS_LABEL "pod-security.kubernetes.io/"

/* ", "-joined details of one check */
static void detail(struct pw_buf *d, const char *fmt, ...) PW_PRINTF(2, 3);
static void detail(struct pw_buf *d, const char *fmt, ...)
{
	va_list ap;
	if (d->len)
		pw_buf_puts(d, ", ");
	va_start(ap, fmt);
	pw_buf_vprintf(d, fmt, ap);
	va_end(ap);
}

static bool in(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, set[i]))
			return true;
	return false;
}

static bool windows(const struct pw_pss_pod *p)
{
	return p->os && !strcmp(p->os, "windows");
}

/* Each check: its reason when p fails it at variant v (a minor version),
   details in d; NULL when p passes. */
typedef const char *check_fn(const struct pw_pss_pod *p, int v, struct pw_buf *d);

static const char *host_namespaces(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	(void)v;
	if (p->host_network)
		detail(d, "hostNetwork=true");
	if (p->host_pid)
		detail(d, "hostPID=true");
	if (p->host_ipc)
		detail(d, "hostIPC=true");
	return d->len ? "host namespaces" : NULL;
}

static const char *privileged(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	(void)v;
	for (uint32_t i = 0; i < p->ncts; i++)
		if (p->cts[i].privileged == 1)
			detail(d, "container \"%s\" must not set securityContext.privileged=true",
			       p->cts[i].name);
	return d->len ? "privileged" : NULL;
}

static const char *capabilities_baseline(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	static const char *const ok[] = { "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER",
					  "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
					  "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT" };
	(void)v;
	for (uint32_t i = 0; i < p->ncts; i++)
		for (uint32_t j = 0; j < p->cts[i].nadd; j++)
			if (!in(p->cts[i].add[j], ok, PW_ARRAY_SIZE(ok)))
				detail(d, "container \"%s\" must not include \"%s\" in securityContext.capabilities.add",
				       p->cts[i].name, p->cts[i].add[j]);
	return d->len ? "non-default capabilities" : NULL;
}

static const char *host_path_volumes(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	(void)v;
	for (uint32_t i = 0; i < p->nvols; i++)
		if (!strcmp(p->vols[i].type, "hostPath"))
			detail(d, "volume \"%s\"", p->vols[i].name);
	return d->len ? "hostPath volumes" : NULL;
}

static const char *host_ports(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	(void)v;
	for (uint32_t i = 0; i < p->ncts; i++)
		for (uint32_t j = 0; j < p->cts[i].nhost_ports; j++)
			detail(d, "container \"%s\" uses hostPort %ld", p->cts[i].name,
			       p->cts[i].host_ports[j]);
	return d->len ? "hostPort" : NULL;
}

static bool apparmor_type_ok(const struct pw_pss_sc *sc)
{
	return !sc->has_apparmor || !strcmp(sc->apparmor, "RuntimeDefault") ||
	       !strcmp(sc->apparmor, "Localhost");
}

static const char *apparmor(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	static const char prefix[] = "container.apparmor.security.beta.kubernetes.io/";
	uint32_t bad = 0;
	(void)v;
	if (!apparmor_type_ok(&p->sc)) {
		detail(d, "pod must not set securityContext.appArmorProfile.type to \"%s\"", p->sc.apparmor);
		bad++;
	}
	for (uint32_t i = 0; i < p->ncts; i++)
		if (!apparmor_type_ok(&p->cts[i].sc)) {
			detail(d, "container \"%s\" must not set securityContext.appArmorProfile.type to \"%s\"",
			       p->cts[i].name, p->cts[i].sc.apparmor);
			bad++;
		}
	for (uint32_t i = 0; i < p->nann; i++) {
		const char *val = p->ann_vals[i];
		if (strncmp(p->ann_keys[i], prefix, sizeof(prefix) - 1) || !*val ||
		    !strcmp(val, "runtime/default") || !strncmp(val, "localhost/", 10))
			continue;
		detail(d, "%s=\"%s\"", p->ann_keys[i], val);
		bad++;
	}
	return !bad ? NULL : bad == 1 ? "forbidden AppArmor profile" : "forbidden AppArmor profiles";
}

static void selinux_one(const struct pw_pss_sc *sc, const char *who, int v, struct pw_buf *d)
{
	static const char *const types[] = { "", "container_t", "container_init_t",
					     "container_kvm_t", "container_engine_t" };
	size_t ntypes = v >= 31 ? 5 : 4;
	if (sc->se_type && !in(sc->se_type, types, ntypes))
		detail(d, "%s set forbidden securityContext.seLinuxOptions: type \"%s\"", who, sc->se_type);
	if (sc->se_user && *sc->se_user)
		detail(d, "%s set forbidden securityContext.seLinuxOptions: user \"%s\"", who, sc->se_user);
	if (sc->se_role && *sc->se_role)
		detail(d, "%s set forbidden securityContext.seLinuxOptions: role \"%s\"", who, sc->se_role);
}

static const char *selinux(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	selinux_one(&p->sc, "pod", v, d);
	for (uint32_t i = 0; i < p->ncts; i++) {
		char who[300];
		snprintf(who, sizeof(who), "container \"%s\"", p->cts[i].name);
		selinux_one(&p->cts[i].sc, who, v, d);
	}
	return d->len ? "seLinuxOptions" : NULL;
}

/* procMount; from v1.35 a user-namespace pod may set any (relax). */
static const char *proc_mount_any(const struct pw_pss_pod *p, bool relax, struct pw_buf *d)
{
	if (relax && p->userns)
		return NULL;
	for (uint32_t i = 0; i < p->ncts; i++) {
		const char *pm = p->cts[i].proc_mount;
		if (pm && strcmp(pm, "Default"))
			detail(d, "container \"%s\" must not set securityContext.procMount to \"%s\"",
			       p->cts[i].name, pm);
	}
	return d->len ? "procMount" : NULL;
}

static const char *proc_mount(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	return proc_mount_any(p, v >= 35, d);
}

static const char *proc_mount_restricted(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	(void)v;
	return proc_mount_any(p, false, d);
}

static bool seccomp_type_ok(const char *t)
{
	return !strcmp(t, "RuntimeDefault") || !strcmp(t, "Localhost");
}

static const char *annotation(const struct pw_pss_pod *p, const char *key)
{
	for (uint32_t i = 0; i < p->nann; i++)
		if (!strcmp(p->ann_keys[i], key))
			return p->ann_vals[i];
	return NULL;
}

static bool seccomp_annotation_ok(const char *v)
{
	return !strcmp(v, "runtime/default") || !strcmp(v, "docker/default") ||
	       !strncmp(v, "localhost/", 10);
}

static const char *seccomp_baseline(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	if (v < 19) { /* the alpha annotations */
		static const char pod_key[] = "seccomp.security.alpha.kubernetes.io/pod";
		const char *val = annotation(p, pod_key);
		if (val && !seccomp_annotation_ok(val))
			detail(d, "%s=\"%s\"", pod_key, val);
		for (uint32_t i = 0; i < p->ncts; i++) {
			char key[400];
			snprintf(key, sizeof(key), "container.seccomp.security.alpha.kubernetes.io/%s",
				 p->cts[i].name);
			val = annotation(p, key);
			if (val && !seccomp_annotation_ok(val))
				detail(d, "%s=\"%s\"", key, val);
		}
		return d->len ? "seccompProfile" : NULL;
	}
	if (p->sc.has_seccomp && !seccomp_type_ok(p->sc.seccomp))
		detail(d, "pod must not set securityContext.seccompProfile.type to \"%s\"", p->sc.seccomp);
	for (uint32_t i = 0; i < p->ncts; i++)
		if (p->cts[i].sc.has_seccomp && !seccomp_type_ok(p->cts[i].sc.seccomp))
			detail(d, "container \"%s\" must not set securityContext.seccompProfile.type to \"%s\"",
			       p->cts[i].name, p->cts[i].sc.seccomp);
	return d->len ? "seccompProfile" : NULL;
}

static const char *seccomp_restricted(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	if (v >= 25 && windows(p))
		return NULL;
	bool pod_ok = false;
	if (p->sc.has_seccomp) {
		if (seccomp_type_ok(p->sc.seccomp))
			pod_ok = true;
		else
			detail(d, "pod must not set securityContext.seccompProfile.type to \"%s\"",
			       p->sc.seccomp);
	}
	for (uint32_t i = 0; i < p->ncts; i++) {
		const struct pw_pss_sc *sc = &p->cts[i].sc;
		if (sc->has_seccomp && !seccomp_type_ok(sc->seccomp))
			detail(d, "container \"%s\" must not set securityContext.seccompProfile.type to \"%s\"",
			       p->cts[i].name, sc->seccomp);
		else if (!sc->has_seccomp && !pod_ok)
			detail(d, "pod or container \"%s\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
			       p->cts[i].name);
	}
	return d->len ? "seccompProfile" : NULL;
}

static const char *sysctls(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	/* the allow-list, each name with the version that added it */
	static const struct {
		const char *name;
		int from;
	} ok[] = {
		{ "kernel.shm_rmid_forced", 0 },
		{ "net.ipv4.ip_local_port_range", 0 },
		{ "net.ipv4.tcp_syncookies", 0 },
		{ "net.ipv4.ping_group_range", 0 },
		{ "net.ipv4.ip_unprivileged_port_start", 0 },
		{ "net.ipv4.ip_local_reserved_ports", 27 },
		{ "net.ipv4.tcp_keepalive_time", 29 },
		{ "net.ipv4.tcp_fin_timeout", 29 },
		{ "net.ipv4.tcp_keepalive_intvl", 29 },
		{ "net.ipv4.tcp_keepalive_probes", 29 },
		{ "net.ipv4.tcp_rmem", 32 },
		{ "net.ipv4.tcp_wmem", 32 },
		{ "net.ipv4.tcp_slow_start_after_idle", 37 },
		{ "net.ipv4.tcp_notsent_lowat", 37 },
	};
	for (uint32_t i = 0; i < p->nsysctls; i++) {
		bool allowed = false;
		for (size_t j = 0; j < PW_ARRAY_SIZE(ok) && !allowed; j++)
			allowed = ok[j].from <= v && !strcmp(ok[j].name, p->sysctls[i]);
		if (!allowed)
			detail(d, "%s", p->sysctls[i]);
	}
	return d->len ? "forbidden sysctls" : NULL;
}

static const char *windows_host_process(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	(void)v;
	if (p->sc.host_process == 1)
		detail(d, "pod must not set securityContext.windowsOptions.hostProcess=true");
	for (uint32_t i = 0; i < p->ncts; i++)
		if (p->cts[i].sc.host_process == 1)
			detail(d, "container \"%s\" must not set securityContext.windowsOptions.hostProcess=true",
			       p->cts[i].name);
	return d->len ? "hostProcess" : NULL;
}

static const char *host_probes(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	(void)v;
	for (uint32_t i = 0; i < p->ncts; i++)
		for (uint32_t j = 0; j < p->cts[i].nprobe_hosts; j++)
			detail(d, "container \"%s\" uses probe or lifecycle host \"%s\"", p->cts[i].name,
			       p->cts[i].probe_hosts[j]);
	return d->len ? "probe or lifecycle host" : NULL;
}

static const char *restricted_volumes(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	static const char *const ok[] = { "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
					  "image", "persistentVolumeClaim", "projected", "secret" };
	(void)v;
	for (uint32_t i = 0; i < p->nvols; i++)
		if (!in(p->vols[i].type, ok, PW_ARRAY_SIZE(ok)))
			detail(d, "volume \"%s\" uses restricted volume type \"%s\"", p->vols[i].name,
			       p->vols[i].type);
	return d->len ? "restricted volume types" : NULL;
}

static const char *run_as_non_root(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	if (v >= 35 && p->userns)
		return NULL;
	if (p->sc.run_as_non_root == 0)
		detail(d, "pod must not set securityContext.runAsNonRoot=false");
	for (uint32_t i = 0; i < p->ncts; i++) {
		signed char r = p->cts[i].sc.run_as_non_root;
		if (r == 0)
			detail(d, "container \"%s\" must not set securityContext.runAsNonRoot=false",
			       p->cts[i].name);
		else if (r < 0 && p->sc.run_as_non_root != 1)
			detail(d, "pod or container \"%s\" must set securityContext.runAsNonRoot=true",
			       p->cts[i].name);
	}
	return d->len ? "runAsNonRoot != true" : NULL;
}

static const char *allow_priv_esc(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	if (v >= 25 && windows(p))
		return NULL;
	for (uint32_t i = 0; i < p->ncts; i++)
		if (p->cts[i].allow_priv_esc != 0)
			detail(d, "container \"%s\" must set securityContext.allowPrivilegeEscalation=false",
			       p->cts[i].name);
	return d->len ? "allowPrivilegeEscalation != false" : NULL;
}

static const char *capabilities_restricted(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	if (v >= 25 && windows(p))
		return NULL;
	for (uint32_t i = 0; i < p->ncts; i++) {
		const struct pw_pss_container *c = &p->cts[i];
		static const char *const all[] = { "ALL" };
		bool dropped = false;
		for (uint32_t j = 0; j < c->ndrop && !dropped; j++)
			dropped = in(c->drop[j], all, 1);
		if (!dropped)
			detail(d, "container \"%s\" must set securityContext.capabilities.drop=[\"ALL\"]",
			       c->name);
		for (uint32_t j = 0; j < c->nadd; j++)
			if (strcmp(c->add[j], "NET_BIND_SERVICE"))
				detail(d, "container \"%s\" must not include \"%s\" in securityContext.capabilities.add",
				       c->name, c->add[j]);
	}
	return d->len ? "unrestricted capabilities" : NULL;
}

static const char *run_as_user(const struct pw_pss_pod *p, int v, struct pw_buf *d)
{
	if (v >= 35 && p->userns)
		return NULL;
	if (p->sc.has_run_as_user && p->sc.run_as_user == 0)
		detail(d, "pod must not set runAsUser=0");
	for (uint32_t i = 0; i < p->ncts; i++)
		if (p->cts[i].sc.has_run_as_user && p->cts[i].sc.run_as_user == 0)
			detail(d, "container \"%s\" must not set runAsUser=0", p->cts[i].name);
	return d->len ? "runAsUser=0" : NULL;
}

/* Upstream's registry: baseline IDs sorted, then restricted IDs sorted
   (the order of findings). */
static const struct check {
	const char *id;
	enum pw_pss_level level;
	int variants[6]; /* minimum minor versions, ascending; -1 ends */
	const char *overrides;
	check_fn *fn;
	const char *fix;
} checks[] = {
	{ "appArmorProfile", PW_PSS_BASELINE, { 0, -1 }, NULL, apparmor,
	  "use appArmorProfile type RuntimeDefault or Localhost (or no profile)" },
	{ "capabilities_baseline", PW_PSS_BASELINE, { 0, -1 }, NULL, capabilities_baseline,
	  "add only default capabilities (capabilities.add)" },
	{ "hostNamespaces", PW_PSS_BASELINE, { 0, -1 }, NULL, host_namespaces,
	  "remove hostNetwork, hostPID and hostIPC" },
	{ "hostPathVolumes", PW_PSS_BASELINE, { 0, -1 }, NULL, host_path_volumes,
	  "replace hostPath volumes (emptyDir, a PVC, a ConfigMap...)" },
	{ "hostPorts", PW_PSS_BASELINE, { 0, -1 }, NULL, host_ports,
	  "remove hostPort: expose the pod through a Service" },
	{ "hostProbesAndHostLifecycle", PW_PSS_BASELINE, { 34, -1 }, NULL, host_probes,
	  "remove host from probes and lifecycle handlers (they target the pod)" },
	{ "privileged", PW_PSS_BASELINE, { 0, -1 }, NULL, privileged,
	  "remove securityContext.privileged or set it to false" },
	{ "procMount", PW_PSS_BASELINE, { 0, 35, -1 }, NULL, proc_mount,
	  "remove securityContext.procMount or set it to Default" },
	{ "seLinuxOptions", PW_PSS_BASELINE, { 0, 31, -1 }, NULL, selinux,
	  "use an allowed seLinuxOptions type (container_t...) and no user or role" },
	{ "seccompProfile_baseline", PW_PSS_BASELINE, { 0, 19, -1 }, NULL, seccomp_baseline,
	  "use seccompProfile type RuntimeDefault or Localhost" },
	{ "sysctls", PW_PSS_BASELINE, { 0, 27, 29, 32, 37, -1 }, NULL, sysctls,
	  "set only safe sysctls" },
	{ "windowsHostProcess", PW_PSS_BASELINE, { 0, -1 }, NULL, windows_host_process,
	  "remove windowsOptions.hostProcess" },
	{ "allowPrivilegeEscalation", PW_PSS_RESTRICTED, { 8, 25, -1 }, NULL, allow_priv_esc,
	  "set securityContext.allowPrivilegeEscalation: false in every container" },
	{ "capabilities_restricted", PW_PSS_RESTRICTED, { 22, 25, -1 }, "capabilities_baseline",
	  capabilities_restricted,
	  "set capabilities.drop: [\"ALL\"] and add at most NET_BIND_SERVICE" },
	{ "procMount_restricted", PW_PSS_RESTRICTED, { 35, -1 }, "procMount", proc_mount_restricted,
	  "remove securityContext.procMount or set it to Default" },
	{ "restrictedVolumes", PW_PSS_RESTRICTED, { 0, -1 }, "hostPathVolumes", restricted_volumes,
	  "use only configMap, csi, downwardAPI, emptyDir, ephemeral, image, PVC, projected or secret volumes" },
	{ "runAsNonRoot", PW_PSS_RESTRICTED, { 0, 35, -1 }, NULL, run_as_non_root,
	  "set securityContext.runAsNonRoot: true on the pod" },
	{ "runAsUser", PW_PSS_RESTRICTED, { 23, 35, -1 }, NULL, run_as_user,
	  "run as a non-zero runAsUser" },
	{ "seccompProfile_restricted", PW_PSS_RESTRICTED, { 19, 25, -1 }, "seccompProfile_baseline",
	  seccomp_restricted, "set securityContext.seccompProfile.type: RuntimeDefault on the pod" },
};

/* The variant of check k at minor v: its minimum version, or -1 when k
   does not run at v. */
static int variant(const struct check *k, int v)
{
	int best = -1;
	for (size_t i = 0; i < PW_ARRAY_SIZE(k->variants) && k->variants[i] >= 0; i++)
		if (k->variants[i] <= v)
			best = k->variants[i];
	return best;
}

/* Whether check k runs under pol; its variant in *var. */
static bool runs(const struct check *k, struct pw_pss_policy pol, int *var)
{
	*var = variant(k, pol.minor);
	if (*var < 0 || pol.level == PW_PSS_PRIVILEGED || k->level > pol.level)
		return false;
	if (k->level == PW_PSS_RESTRICTED || pol.level == PW_PSS_BASELINE)
		return true;
	for (size_t i = 0; i < PW_ARRAY_SIZE(checks); i++) {
		int ov;
		if (checks[i].overrides && !strcmp(checks[i].overrides, k->id) &&
		    runs(&checks[i], pol, &ov))
			return false;
	}
	return true;
}

void pw_pss_active(struct pw_pss_policy pol, struct pw_buf *out)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(checks); i++) {
		int var;
		if (runs(&checks[i], pol, &var))
			pw_buf_printf(out, "%s%s@v1.%d", out->len ? "," : "", checks[i].id, var);
	}
}

uint32_t pw_pss_judge(const struct pw_pss_pod *p, struct pw_pss_policy pol,
		      struct pw_arena *a, struct pw_pss_violation **out)
{
	uint32_t n = 0;
	size_t cap = 0;
	struct pw_buf d;
	*out = NULL;
	pw_buf_init(&d);
	for (size_t i = 0; i < PW_ARRAY_SIZE(checks); i++) {
		int var;
		if (!runs(&checks[i], pol, &var))
			continue;
		pw_buf_reset(&d);
		const char *reason = checks[i].fn(p, var, &d);
		if (!reason)
			continue;
		struct pw_pss_violation *v = PW_PUSH(a, *out, n, cap);
		v->check = checks[i].id;
		v->message = pw_arena_printf(a, "%s (%s)", reason, d.s);
		v->fix = checks[i].fix;
	}
	pw_buf_release(&d);
	return n;
}

int pw_pss_parse_level(const char *s)
{
	static const char *const names[] = { "privileged", "baseline", "restricted" };
	for (size_t i = 0; i < PW_ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -1;
}

const char *pw_pss_level_name(enum pw_pss_level l)
{
	return l == PW_PSS_PRIVILEGED ? "privileged" : l == PW_PSS_BASELINE ? "baseline" : "restricted";
}

int pw_pss_parse_version(const char *s, int *minor)
{
	if (!strcmp(s, "latest")) {
		*minor = PW_PSS_LATEST;
		return 0;
	}
	if (strncmp(s, "v1.", 3) || s[3] < '0' || s[3] > '9' || (s[3] == '0' && s[4]))
		return -1;
	char *end;
	long v = strtol(s + 3, &end, 10);
	if (*end)
		return -1;
	*minor = v > PW_PSS_LATEST ? PW_PSS_LATEST : (int)v;
	return 0;
}

int pw_pss_parse_policy(const char *s, struct pw_pss_policy *p, struct pw_buf *err)
{
	const char *colon = strchr(s, ':');
	char level[32], q[PW_QUOTE_SIZE];
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	int l = -1;
	if (n < sizeof(level)) {
		memcpy(level, s, n);
		level[n] = 0;
		l = pw_pss_parse_level(level);
	}
	if (l < 0) {
		pw_buf_printf(err, "unknown Pod Security level in %s (want privileged, baseline or restricted)",
			      pw_quote(q, s));
		return -1;
	}
	p->level = (enum pw_pss_level)l;
	p->minor = PW_PSS_LATEST;
	if (colon && pw_pss_parse_version(colon + 1, &p->minor) < 0) {
		pw_buf_printf(err, "invalid Pod Security version in %s (want latest or v1.N)", pw_quote(q, s));
		return -1;
	}
	return 0;
}

const char *pw_pss_mode_name(enum pw_pss_mode m)
{
	static const char *const names[] = { "enforce", "audit", "warn", "pss" };
	return names[m];
}

/* The policy of one mode of namespace ns; false when its label is absent.
   An invalid level or version is restricted:latest, as upstream reads it
   (with a warning in d, unless d is NULL). */
static bool ns_policy(const struct pw_namespace *ns, enum pw_pss_mode m, struct pw_pss_policy *p,
		      struct pw_diags *d)
{
	char key[96];
	snprintf(key, sizeof(key), NS_LABEL "%s", pw_pss_mode_name(m));
	const char *level = pw_labels_get(&ns->labels, key);
	if (!level)
		return false;
	int l = pw_pss_parse_level(level);
	bool bad = l < 0;
	p->level = bad ? PW_PSS_RESTRICTED : (enum pw_pss_level)l;
	p->minor = PW_PSS_LATEST;
	char q[PW_QUOTE_SIZE];
	if (bad && d)
		pw_warn(d, ns->pos, "namespace %s: label %s=%s is not a Pod Security level: judged as restricted",
			ns->name, key, pw_quote(q, level));
	snprintf(key, sizeof(key), NS_LABEL "%s-version", pw_pss_mode_name(m));
	const char *ver = pw_labels_get(&ns->labels, key);
	if (ver && pw_pss_parse_version(ver, &p->minor) < 0) {
		if (d)
			pw_warn(d, ns->pos, "namespace %s: label %s=%s is not a version: judged as restricted:latest",
				ns->name, key, pw_quote(q, ver));
		*p = (struct pw_pss_policy){ PW_PSS_RESTRICTED, PW_PSS_LATEST };
	}
	return true;
}

static void judge_pod(const struct pw_cluster *c, const struct pw_pod *pod,
		      const struct pw_pss_policy *forced, struct pw_arena *a,
		      struct pw_pss_finding **out, uint32_t *n, size_t *cap)
{
	if (!pod->pss)
		return;
	const struct pw_namespace *ns = &c->nss[pod->ns];
	for (int m = forced ? PW_PSS_FORCED : PW_PSS_ENFORCE; m <= PW_PSS_FORCED; m++) {
		struct pw_pss_policy pol;
		if (m == PW_PSS_FORCED) {
			if (!forced)
				break;
			pol = *forced;
		} else if (!ns_policy(ns, (enum pw_pss_mode)m, &pol, NULL)) {
			continue;
		}
		struct pw_pss_violation *vs;
		uint32_t nv = pw_pss_judge(pod->pss, pol, a, &vs);
		for (uint32_t i = 0; i < nv; i++)
			*PW_PUSH(a, *out, *n, *cap) = (struct pw_pss_finding){
				pod, ns->name, (enum pw_pss_mode)m, pol, vs[i]
			};
	}
}

uint32_t pw_pss_audit(const struct pw_cluster *c, const struct pw_pss_policy *forced,
		      struct pw_arena *a, struct pw_pss_finding **out, struct pw_diags *d)
{
	uint32_t n = 0;
	size_t cap = 0;
	*out = NULL;
	for (uint32_t i = 0; i < c->nns && !forced; i++)
		for (int m = PW_PSS_ENFORCE; m < PW_PSS_FORCED; m++) {
			struct pw_pss_policy pol;
			ns_policy(&c->nss[i], (enum pw_pss_mode)m, &pol, d);
		}
	for (uint32_t i = 0; i < c->npods; i++)
		if (!c->pods[i].template)
			judge_pod(c, &c->pods[i], forced, a, out, &n, &cap);
	for (uint32_t i = 0; i < c->nwls; i++)
		judge_pod(c, &c->wls[i].tmpl, forced, a, out, &n, &cap);
	return n;
}
