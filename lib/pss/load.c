// SPDX-License-Identifier: Apache-2.0
/*
 * The fields of a pod (or a pod template) that the Pod Security Standards
 * checks read, through the manifest loader's YAML reading (lib/loader.h).
 */
#include <string.h>

#include "../loader.h"
#include "pss.h"

/* A boolean field: -1 absent or null, else 0 or 1. */
static signed char tri(struct ld *l, yaml_node_t *n, const char *what)
{
	return ld_is_null(n) ? -1 : (signed char)ld_want_bool(l, n, what);
}

static void str_list(struct ld *l, yaml_node_t *n, const char *what, const char ***out,
		     uint32_t *nout)
{
	yaml_node_t *seq = ld_want_seq(l, n, what), *e;
	size_t cap = 0;
	if (seq)
		SEQ_EACH(l, seq, e)
		{
			const char *s = ld_want_str(l, e, what);
			if (s)
				*PW_PUSH(&l->c->arena, *out, *nout, cap) = s;
		}
}

/* A profile's type (seccompProfile, appArmorProfile): "" when not given. */
static bool profile(struct ld *l, yaml_node_t *sc, const char *key, const char **type)
{
	yaml_node_t *n = ld_want_map(l, ld_get(l, sc, key), key);
	if (!n)
		return false;
	*type = ld_opt_str(l, ld_get(l, n, "type"), "type");
	if (!*type)
		*type = "";
	return true;
}

static void load_sc(struct ld *l, yaml_node_t *sc, struct pw_pss_sc *o)
{
	o->run_as_non_root = -1;
	o->host_process = -1;
	if (!sc)
		return;
	o->run_as_non_root = tri(l, ld_get(l, sc, "runAsNonRoot"), "runAsNonRoot");
	yaml_node_t *u = ld_get(l, sc, "runAsUser");
	if (!ld_is_null(u) && ld_want_int(l, u, "runAsUser", &o->run_as_user))
		o->has_run_as_user = true;
	o->has_seccomp = profile(l, sc, "seccompProfile", &o->seccomp);
	o->has_apparmor = profile(l, sc, "appArmorProfile", &o->apparmor);
	yaml_node_t *se = ld_want_map(l, ld_get(l, sc, "seLinuxOptions"), "seLinuxOptions");
	if (se) {
		o->se_type = ld_opt_str(l, ld_get(l, se, "type"), "seLinuxOptions.type");
		o->se_user = ld_opt_str(l, ld_get(l, se, "user"), "seLinuxOptions.user");
		o->se_role = ld_opt_str(l, ld_get(l, se, "role"), "seLinuxOptions.role");
	}
	yaml_node_t *w = ld_want_map(l, ld_get(l, sc, "windowsOptions"), "windowsOptions");
	if (w)
		o->host_process = tri(l, ld_get(l, w, "hostProcess"), "hostProcess");
}

/* The host of an httpGet or tcpSocket handler, if set and not empty. */
static void handler_hosts(struct ld *l, yaml_node_t *h, struct pw_pss_container *ct, size_t *cap)
{
	static const char *const kinds[] = { "httpGet", "tcpSocket" };
	if (!ld_want_map(l, h, "a probe or lifecycle handler"))
		return;
	for (size_t i = 0; i < PW_ARRAY_SIZE(kinds); i++) {
		yaml_node_t *k = ld_want_map(l, ld_get(l, h, kinds[i]), kinds[i]);
		const char *host = k ? ld_opt_str(l, ld_get(l, k, "host"), "host") : NULL;
		if (host && *host)
			*PW_PUSH(&l->c->arena, ct->probe_hosts, ct->nprobe_hosts, *cap) = host;
	}
}

static void load_container(struct ld *l, yaml_node_t *n, struct pw_pss_container *ct)
{
	struct pw_arena *a = &l->c->arena;
	ct->privileged = -1;
	ct->allow_priv_esc = -1;
	ct->name = ld_opt_str(l, ld_get(l, n, "name"), "name");
	if (!ct->name)
		ct->name = "";
	yaml_node_t *sc = ld_want_map(l, ld_get(l, n, "securityContext"), "securityContext");
	load_sc(l, sc, &ct->sc);
	if (sc) {
		ct->privileged = tri(l, ld_get(l, sc, "privileged"), "privileged");
		ct->allow_priv_esc = tri(l, ld_get(l, sc, "allowPrivilegeEscalation"),
					 "allowPrivilegeEscalation");
		ct->proc_mount = ld_opt_str(l, ld_get(l, sc, "procMount"), "procMount");
		yaml_node_t *caps = ld_want_map(l, ld_get(l, sc, "capabilities"), "capabilities");
		if (caps) {
			ct->has_caps = true;
			str_list(l, ld_get(l, caps, "add"), "capabilities.add", &ct->add, &ct->nadd);
			str_list(l, ld_get(l, caps, "drop"), "capabilities.drop", &ct->drop, &ct->ndrop);
		}
	}
	yaml_node_t *ps = ld_want_seq(l, ld_get(l, n, "ports"), "ports"), *pn;
	size_t cap = 0;
	if (ps)
		SEQ_EACH(l, ps, pn)
		{
			yaml_node_t *hp = ld_want_map(l, pn, "a container port") ?
						  ld_get(l, pn, "hostPort") : NULL;
			long v;
			if (!ld_is_null(hp) && ld_want_int(l, hp, "hostPort", &v) && v)
				*PW_PUSH(a, ct->host_ports, ct->nhost_ports, cap) = v;
		}
	static const char *const probes[] = { "livenessProbe", "readinessProbe", "startupProbe" };
	cap = 0;
	for (size_t i = 0; i < PW_ARRAY_SIZE(probes); i++) {
		yaml_node_t *p = ld_get(l, n, probes[i]);
		if (!ld_is_null(p))
			handler_hosts(l, p, ct, &cap);
	}
	yaml_node_t *lc = ld_want_map(l, ld_get(l, n, "lifecycle"), "lifecycle");
	static const char *const hooks[] = { "postStart", "preStop" };
	for (size_t i = 0; lc && i < PW_ARRAY_SIZE(hooks); i++) {
		yaml_node_t *h = ld_get(l, lc, hooks[i]);
		if (!ld_is_null(h))
			handler_hosts(l, h, ct, &cap);
	}
}

static void load_volumes(struct ld *l, yaml_node_t *spec, struct pw_pss_pod *p)
{
	yaml_node_t *vs = ld_want_seq(l, ld_get(l, spec, "volumes"), "volumes"), *v;
	size_t cap = 0;
	if (!vs)
		return;
	SEQ_EACH(l, vs, v)
	{
		if (!ld_want_map(l, v, "a volume"))
			continue;
		const char *name = ld_opt_str(l, ld_get(l, v, "name"), "name");
		uint32_t before = p->nvols;
		for (yaml_node_pair_t *kv = v->data.mapping.pairs.start;
		     kv < v->data.mapping.pairs.top; kv++) {
			yaml_node_t *k = ld_node(l, kv->key);
			if (k->type != YAML_SCALAR_NODE || ld_is_null(ld_node(l, kv->value)) ||
			    !strcmp((const char *)k->data.scalar.value, "name"))
				continue;
			*PW_PUSH(&l->c->arena, p->vols, p->nvols, cap) =
				(struct pw_pss_volume){ name ? name : "",
							pw_arena_strdup(&l->c->arena,
									(const char *)k->data.scalar.value) };
		}
		if (p->nvols == before) /* defaulted by the API server */
			*PW_PUSH(&l->c->arena, p->vols, p->nvols, cap) =
				(struct pw_pss_volume){ name ? name : "", "emptyDir" };
	}
}

struct pw_pss_pod *pw__load_pss(struct ld *l, yaml_node_t *meta, yaml_node_t *spec,
				bool host_network)
{
	struct pw_arena *a = &l->c->arena;
	if (!spec || spec->type != YAML_MAPPING_NODE)
		return NULL; /* reported by the pod's loader */
	struct pw_pss_pod *p = pw_arena_alloc(a, sizeof(*p));
	memset(p, 0, sizeof(*p));
	p->host_network = host_network;
	p->host_pid = tri(l, ld_get(l, spec, "hostPID"), "hostPID") == 1;
	p->host_ipc = tri(l, ld_get(l, spec, "hostIPC"), "hostIPC") == 1;
	p->userns = tri(l, ld_get(l, spec, "hostUsers"), "hostUsers") == 0;
	yaml_node_t *os = ld_want_map(l, ld_get(l, spec, "os"), "os");
	if (os)
		p->os = ld_opt_str(l, ld_get(l, os, "name"), "os.name");
	yaml_node_t *sc = ld_want_map(l, ld_get(l, spec, "securityContext"), "securityContext");
	load_sc(l, sc, &p->sc);
	yaml_node_t *ss = sc ? ld_want_seq(l, ld_get(l, sc, "sysctls"), "sysctls") : NULL, *s;
	size_t cap = 0;
	if (ss)
		SEQ_EACH(l, ss, s)
		{
			const char *name = ld_want_map(l, s, "a sysctl") ?
						   ld_want_str(l, ld_get(l, s, "name"), "sysctl name") : NULL;
			if (name)
				*PW_PUSH(a, p->sysctls, p->nsysctls, cap) = name;
		}
	load_volumes(l, spec, p);
	static const char *const lists[] = { "initContainers", "containers", "ephemeralContainers" };
	cap = 0;
	for (size_t li = 0; li < PW_ARRAY_SIZE(lists); li++) {
		yaml_node_t *cs = ld_want_seq(l, ld_get(l, spec, lists[li]), lists[li]), *ct;
		if (cs)
			SEQ_EACH(l, cs, ct)
			{
				if (!ld_want_map(l, ct, "a container"))
					continue;
				struct pw_pss_container *c = PW_PUSH(a, p->cts, p->ncts, cap);
				memset(c, 0, sizeof(*c));
				load_container(l, ct, c);
			}
	}
	/* annotations are read as the pod's loader reads them: only string
	   values count, others are not an error here */
	yaml_node_t *an = meta ? ld_get(l, meta, "annotations") : NULL;
	size_t kcap = 0, vcap = 0;
	uint32_t nvals = 0;
	if (an && an->type == YAML_MAPPING_NODE)
		for (yaml_node_pair_t *kv = an->data.mapping.pairs.start;
		     kv < an->data.mapping.pairs.top; kv++) {
			yaml_node_t *k = ld_node(l, kv->key), *v = ld_node(l, kv->value);
			if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE)
				continue;
			*PW_PUSH(a, p->ann_keys, p->nann, kcap) =
				pw_arena_strdup(a, (const char *)k->data.scalar.value);
			*PW_PUSH(a, p->ann_vals, nvals, vcap) =
				pw_arena_strdup(a, (const char *)v->data.scalar.value);
		}
	return p;
}
