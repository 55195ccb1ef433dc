// SPDX-License-Identifier: Apache-2.0
/*
 * The findings model of `podwall audit`, the encryption and access checks,
 * and the findings as SARIF 2.1.0 and as JSON (lib/audit/audit.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

static const char *const sev_names[] = { "low", "medium", "high", "critical" };

const char *pw_audit_sev_name(enum pw_audit_sev s)
{
	return sev_names[s];
}

int pw_audit_sev_parse(const char *s)
{
	for (int i = 0; i < (int)PW_ARRAY_SIZE(sev_names); i++)
		if (!strcmp(s, sev_names[i]))
			return i;
	return -1;
}

#define PSS(id, what)                                                        \
	{ "pod-security/" id, PW_SEV_HIGH, "Pod Security Standards: " what,  \
	  "meet the level the namespace enforces: the result's fix names the field" }

const struct pw_audit_rule pw_audit_rules[] = {
	PSS("allowPrivilegeEscalation", "allowPrivilegeEscalation not false"),
	PSS("appArmorProfile", "AppArmor profile overridden"),
	PSS("capabilities_baseline", "capabilities beyond the default set"),
	PSS("capabilities_restricted", "capabilities not dropped to ALL"),
	PSS("hostNamespaces", "host network, PID or IPC namespace"),
	PSS("hostPathVolumes", "hostPath volumes"),
	PSS("hostPorts", "host ports"),
	PSS("hostProbesAndHostLifecycle", "probes or lifecycle handlers on the host"),
	PSS("privileged", "privileged containers"),
	PSS("procMount", "non-default /proc mount"),
	PSS("procMount_restricted", "non-default /proc mount (restricted, user namespaces)"),
	PSS("restrictedVolumes", "volume types beyond the restricted set"),
	PSS("runAsNonRoot", "runAsNonRoot not true"),
	PSS("runAsUser", "runAsUser 0"),
	PSS("seLinuxOptions", "SELinux options set"),
	PSS("seccompProfile_baseline", "seccomp profile Unconfined"),
	PSS("seccompProfile_restricted", "seccomp profile not RuntimeDefault or Localhost"),
	PSS("sysctls", "unsafe sysctls"),
	PSS("windowsHostProcess", "Windows HostProcess containers"),
	{ "network/no-default-deny", PW_SEV_MEDIUM,
	  "a namespace with pods is not default-denied for a direction",
	  "add a NetworkPolicy with podSelector: {} and the policyTypes missing, then allow what is needed" },
	{ "network/selects-nothing", PW_SEV_LOW, "a policy applies to no pod",
	  "fix the policy's selector or delete the policy" },
	{ "network/peer-matches-nothing", PW_SEV_LOW, "a rule's peer matches no pod and no network set",
	  "fix the peer's selector (labels, namespace) or delete the rule" },
	{ "network/dns-blocked", PW_SEV_HIGH, "an egress-isolated workload cannot reach the cluster DNS",
	  "allow egress to kube-system pods labelled k8s-app=kube-dns on UDP and TCP 53" },
	{ "network/staged-dns-blocked", PW_SEV_MEDIUM,
	  "the staged policies, once enforced, would block DNS for a workload",
	  "allow egress to kube-system pods labelled k8s-app=kube-dns on UDP and TCP 53 in the staged policies" },
	{ "network/open-to-world", PW_SEV_MEDIUM, "an ingress Allow rule matches every outside address",
	  "name the peers (selectors or ipBlocks narrower than /0)" },
	{ "network/shadowed-rule", PW_SEV_LOW, "a rule that an earlier rule matches entirely",
	  "delete the rule or reorder the rules" },
	{ "encryption/storageclass-unencrypted", PW_SEV_HIGH,
	  "an EBS StorageClass without parameters.encrypted: \"true\"",
	  "set parameters.encrypted: \"true\" (and kmsKeyId for a customer managed key)" },
	{ "encryption/storageclass-default-key", PW_SEV_LOW,
	  "an encrypted EBS StorageClass without kmsKeyId uses the AWS managed key",
	  "set parameters.kmsKeyId to a customer managed KMS key where one is required" },
	{ "encryption/loadbalancer-no-tls", PW_SEV_MEDIUM,
	  "a Service of type LoadBalancer without a TLS certificate",
	  "set service.beta.kubernetes.io/aws-load-balancer-ssl-cert (an ACM ARN) and aws-load-balancer-ssl-ports" },
	{ "encryption/loadbalancer-plain-port", PW_SEV_MEDIUM,
	  "a LoadBalancer port not listed in aws-load-balancer-ssl-ports is served without TLS",
	  "list the port in service.beta.kubernetes.io/aws-load-balancer-ssl-ports" },
	{ "encryption/ingress-no-tls", PW_SEV_MEDIUM, "an Ingress without a certificate",
	  "set alb.ingress.kubernetes.io/certificate-arn (ALB) or spec.tls" },
	{ "encryption/ingress-no-https", PW_SEV_MEDIUM,
	  "an ALB Ingress with a certificate but no HTTPS listen port",
	  "set alb.ingress.kubernetes.io/listen-ports: '[{\"HTTPS\":443}]'" },
	{ "encryption/ingress-no-ssl-redirect", PW_SEV_LOW,
	  "an ALB Ingress that listens on HTTP and HTTPS without redirecting HTTP",
	  "set alb.ingress.kubernetes.io/ssl-redirect: '443'" },
	{ "encryption/eks-secrets-unencrypted", PW_SEV_HIGH,
	  "an EKS cluster without envelope encryption of secrets (encryptionConfig)",
	  "aws eks associate-encryption-config --encryption-config resources=secrets,provider={keyArn=KMS_KEY_ARN}" },
	{ "access/cluster-admin", PW_SEV_CRITICAL,
	  "a subject may do anything (cluster-admin's rule, or the group system:masters)",
	  "bind a narrower role; keep system:masters and cluster-admin for break-glass identities" },
	{ "access/netpol-write", PW_SEV_MEDIUM,
	  "a subject may create, change or delete network policies, Calico tiers or network sets",
	  "grant policy writes only to the platform team's identities" },
	{ "access/secrets-read", PW_SEV_HIGH, "a subject may read secrets in every namespace",
	  "bind secret reads with RoleBindings in the namespaces that need them" },
	{ "access/pod-exec", PW_SEV_HIGH, "a subject may exec or attach into pods",
	  "remove create on pods/exec and pods/attach from the role" },
	{ "access/escalate", PW_SEV_HIGH, "a subject may escalate, bind roles or impersonate",
	  "remove the escalate, bind and impersonate verbs" },
	{ "access/wildcard-rule", PW_SEV_MEDIUM, "a role rule with '*' verbs or resources",
	  "list the verbs and resources the role needs" },
	{ "access/default-sa-bound", PW_SEV_MEDIUM, "a namespace's default service account is bound to a role",
	  "give the workload its own service account and bind that" },
};
const size_t pw_audit_nrules = PW_ARRAY_SIZE(pw_audit_rules);

const struct pw_audit_rule *pw_audit_rule(const char *id)
{
	for (size_t i = 0; i < pw_audit_nrules; i++)
		if (!strcmp(pw_audit_rules[i].id, id))
			return &pw_audit_rules[i];
	return NULL;
}

void pw_audit_init(struct pw_audit *au)
{
	memset(au, 0, sizeof(*au));
	pw_arena_init(&au->a);
}

void pw_audit_release(struct pw_audit *au)
{
	pw_arena_release(&au->a);
	memset(au, 0, sizeof(*au));
}

struct pw_audit_finding *pw_audit_add(struct pw_audit *au, const char *rule,
				      enum pw_audit_sev sev, struct pw_pos pos,
				      const char *fmt, ...)
{
	struct pw_audit_finding *f = PW_PUSH(&au->a, au->v, au->n, au->cap);
	const struct pw_audit_rule *r = pw_audit_rule(rule);
	va_list ap;
	memset(f, 0, sizeof(*f));
	f->rule = rule;
	f->sev = sev;
	f->pos = pos;
	va_start(ap, fmt);
	char *m = pw_xvasprintf(fmt, ap);
	va_end(ap);
	f->message = pw_arena_strdup(&au->a, m);
	free(m);
	f->fix = r ? r->fix : "";
	return f;
}

/* The object a finding is about (f may be NULL: nothing). */
static void about(struct pw_audit_finding *f, const char *kind, const char *ns, const char *name)
{
	if (!f)
		return;
	f->kind = kind;
	f->ns = ns;
	f->name = name;
}

/* ---- pod security -------------------------------------------------------- */

void pw_audit_pss(struct pw_audit *au, const struct pw_pss_finding *fs, uint32_t n)
{
	static const char *const says[] = { "would be rejected at admission",
					    "would be audited at admission",
					    "would be warned about at admission",
					    "fails the level asked (--pss)" };
	for (uint32_t i = 0; i < n; i++) {
		const struct pw_pss_finding *p = &fs[i];
		enum pw_audit_sev sev = p->mode == PW_PSS_AUDIT || p->mode == PW_PSS_WARN
			? PW_SEV_MEDIUM : PW_SEV_HIGH;
		const char *rule = pw_arena_printf(&au->a, "pod-security/%s", p->v.check);
		struct pw_audit_finding *f =
			pw_audit_add(au, rule, sev, p->pod->pos, "%s", p->v.message);
		f->context = pw_arena_printf(&au->a, "%s %s/%s at %s:v1.%d %s (%s)", p->pod->kind,
					     p->ns, p->pod->name, pw_pss_level_name(p->pol.level),
					     p->pol.minor, says[p->mode], pw_pss_mode_name(p->mode));
		f->fix = p->v.fix;
		about(f, p->pod->kind, p->ns, p->pod->name);
		f->level = pw_pss_level_name(p->pol.level);
		f->version = pw_arena_printf(&au->a, "v1.%d", p->pol.minor);
		f->mode = pw_pss_mode_name(p->mode);
	}
}

/* ---- network posture: lint's findings ------------------------------------ */

void pw_audit_lint(struct pw_audit *au, const struct pw_lint *l, const struct pw_cluster *c)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct pw_finding *x = &l->v[i];
		const char *rule = pw_arena_printf(&au->a, "network/%s", x->check);
		const struct pw_audit_rule *r = pw_audit_rule(rule);
		struct pw_audit_finding *f =
			pw_audit_add(au, rule, r ? r->sev : PW_SEV_LOW, x->pos, "%s", x->msg);
		if (x->ns >= 0)
			f->ns = c->nss[x->ns].name;
	}
}

/* ---- encryption ------------------------------------------------------------ */

static bool ebs(const char *prov)
{
	return prov && (!strcmp(prov, "ebs.csi.aws.com") || !strcmp(prov, "kubernetes.io/aws-ebs"));
}

/* Is port p in the comma-separated list (numbers or names; "*": all)? */
static bool port_listed(const char *list, long p)
{
	char num[24];
	snprintf(num, sizeof(num), "%ld", p);
	for (const char *s = list; *s;) {
		while (*s == ' ' || *s == ',')
			s++;
		size_t n = strcspn(s, ", ");
		if ((n == 1 && *s == '*') || (n == strlen(num) && !strncmp(s, num, n)) ||
		    (n == 5 && !strncmp(s, "https", 5) && p == 443))
			return true;
		s += n;
	}
	return false;
}

void pw_audit_encryption(struct pw_audit *au, const struct pw_cluster *c)
{
	const struct pw_audit_data *d = c->audit;
	if (!d)
		return;
	for (uint32_t i = 0; i < d->nscs; i++) {
		const struct pw_audit_sc *s = &d->scs[i];
		struct pw_audit_finding *f;
		if (!ebs(s->provisioner))
			continue;
		if (!s->encrypted || strcmp(s->encrypted, "true")) {
			f = pw_audit_add(au, "encryption/storageclass-unencrypted", PW_SEV_HIGH,
					 s->encrypted ? s->enc_pos : s->pos,
					 "StorageClass %s (%s) creates unencrypted EBS volumes (parameters.encrypted %s)",
					 s->name, s->provisioner,
					 s->encrypted ? pw_arena_quote(&au->a, s->encrypted) : "not set");
		} else if (!s->kms_key) {
			f = pw_audit_add(au, "encryption/storageclass-default-key", PW_SEV_LOW, s->pos,
					 "StorageClass %s encrypts with the AWS managed key (no kmsKeyId)",
					 s->name);
		} else {
			continue;
		}
		f->kind = "StorageClass";
		f->name = s->name;
	}
	for (uint32_t i = 0; i < d->nlbs; i++) {
		const struct pw_audit_lb *b = &d->lbs[i];
		struct pw_audit_finding *f = NULL;
		if (!b->ssl_cert) {
			f = pw_audit_add(au, "encryption/loadbalancer-no-tls", PW_SEV_MEDIUM, b->pos,
					 "Service %s/%s of type LoadBalancer has no TLS certificate (no aws-load-balancer-ssl-cert)",
					 b->ns, b->name);
		} else if (b->ssl_ports) {
			for (uint32_t j = 0; j < b->nports; j++) {
				if (port_listed(b->ssl_ports, b->ports[j]))
					continue;
				f = pw_audit_add(au, "encryption/loadbalancer-plain-port", PW_SEV_MEDIUM,
						 b->pos,
						 "Service %s/%s serves port %ld without TLS (aws-load-balancer-ssl-ports %s)",
						 b->ns, b->name, b->ports[j],
						 pw_arena_quote(&au->a, b->ssl_ports));
				about(f, "Service", b->ns, b->name);
			}
			f = NULL;
		}
		about(f, "Service", b->ns, b->name);
	}
	for (uint32_t i = 0; i < d->nings; i++) {
		const struct pw_audit_ing *g = &d->ings[i];
		struct pw_audit_finding *f = NULL;
		bool https = g->listen && strstr(g->listen, "HTTPS");
		bool http = g->listen && strstr(g->listen, "\"HTTP\"");
		if (!g->cert && !g->tls)
			f = pw_audit_add(au, "encryption/ingress-no-tls", PW_SEV_MEDIUM, g->pos,
					 "Ingress %s/%s has no certificate (%s)", g->ns, g->name,
					 g->alb ? "no alb.ingress.kubernetes.io/certificate-arn" : "no spec.tls");
		else if (g->alb && g->cert && g->listen && !https)
			f = pw_audit_add(au, "encryption/ingress-no-https", PW_SEV_MEDIUM, g->pos,
					 "Ingress %s/%s has a certificate but listens on %s only", g->ns,
					 g->name, g->listen);
		else if (g->alb && https && http && !g->redirect)
			f = pw_audit_add(au, "encryption/ingress-no-ssl-redirect", PW_SEV_LOW, g->pos,
					 "Ingress %s/%s serves HTTP beside HTTPS without ssl-redirect",
					 g->ns, g->name);
		about(f, "Ingress", g->ns, g->name);
	}
	for (uint32_t i = 0; i < d->neks; i++) {
		const struct pw_audit_eks *e = &d->eks[i];
		if (e->secrets_encrypted)
			continue;
		struct pw_audit_finding *f =
			pw_audit_add(au, "encryption/eks-secrets-unencrypted", PW_SEV_HIGH, e->pos,
				     "EKS cluster %s does not encrypt secrets with a KMS key (no encryptionConfig for secrets)",
				     e->name);
		f->kind = "Cluster";
		f->name = e->name;
	}
}

/* ---- access: the subject locator asked fixed questions ------------------ */

struct question {
	const char *rule;
	const char *const *verbs;
	const char *const *res; /* "group\tresource[/sub]" */
	bool cluster_only; /* ask at cluster scope only */
};

static const char *const write_verbs[] = { "create", "update", "patch", "delete", NULL };
static const char *const netpol_res[] = {
	"networking.k8s.io\tnetworkpolicies",
	"projectcalico.org\tnetworkpolicies",
	"projectcalico.org\tglobalnetworkpolicies",
	"projectcalico.org\tstagednetworkpolicies",
	"projectcalico.org\tstagedglobalnetworkpolicies",
	"projectcalico.org\ttiers",
	"projectcalico.org\tnetworksets",
	"projectcalico.org\tglobalnetworksets",
	"crd.projectcalico.org\tnetworkpolicies",
	"crd.projectcalico.org\tglobalnetworkpolicies",
	"crd.projectcalico.org\ttiers",
	"crd.projectcalico.org\tnetworksets",
	"crd.projectcalico.org\tglobalnetworksets",
	NULL,
};
static const char *const read_verbs[] = { "get", "list", "watch", NULL };
static const char *const secrets_res[] = { "\tsecrets", NULL };
static const char *const create_verb[] = { "create", NULL };
static const char *const exec_res[] = { "\tpods/exec", "\tpods/attach", NULL };
static const char *const escalate_verb[] = { "escalate", "bind", NULL };
static const char *const roles_res[] = { "rbac.authorization.k8s.io\troles",
					 "rbac.authorization.k8s.io\tclusterroles", NULL };
static const char *const impersonate_verb[] = { "impersonate", NULL };
static const char *const identity_res[] = { "\tusers", "\tgroups", "\tserviceaccounts",
					    "authentication.k8s.io\tuserextras/*", NULL };
static const char *const star[] = { "*", NULL };
static const char *const star_res[] = { "*\t*", NULL };

static const struct question questions[] = {
	{ "access/cluster-admin", star, star_res, true },
	{ "access/netpol-write", write_verbs, netpol_res, false },
	{ "access/secrets-read", read_verbs, secrets_res, true },
	{ "access/pod-exec", create_verb, exec_res, false },
	{ "access/escalate", escalate_verb, roles_res, false },
	{ "access/escalate", impersonate_verb, identity_res, true },
};

/* What one subject may do through one binding, per namespace and resource:
   the verbs. */
struct grant_item {
	const char *ns, *res; /* arena */
	char verbs[64];
};
/* One finding being built: a subject, a binding, what it may do. */
struct grant_acc {
	const char *rule;
	struct pw_rbac_who who;
	struct grant_item *items;
	size_t n, cap;
};

static void grant_note(struct grant_acc *a, const char *ns, const char *res, const char *verb)
{
	struct grant_item *it = NULL;
	for (size_t i = 0; i < a->n && !it; i++)
		if (!strcmp(a->items[i].ns, ns) && !strcmp(a->items[i].res, res))
			it = &a->items[i];
	if (!it) {
		if (a->n == a->cap) {
			a->cap = a->cap ? a->cap * 2 : 8;
			a->items = pw_xrealloc(a->items, a->cap * sizeof(*a->items));
		}
		it = &a->items[a->n++];
		it->ns = ns;
		it->res = res;
		it->verbs[0] = 0;
	}
	size_t len = strlen(it->verbs);
	snprintf(it->verbs + len, sizeof(it->verbs) - len, "%s%s", len ? ", " : "", verb);
}

/* "create, delete networkpolicies.networking.k8s.io, tiers.projectcalico.org
   in namespace x; get secrets": items with the same verbs and namespace
   together */
static void grant_what(const struct grant_acc *a, struct pw_buf *out)
{
	bool *done = pw_xcalloc(a->n ? a->n : 1, sizeof(bool));
	for (size_t i = 0; i < a->n; i++) {
		if (done[i])
			continue;
		const struct grant_item *x = &a->items[i];
		if (out->len)
			pw_buf_puts(out, "; ");
		if (!strcmp(x->verbs, "*"))
			pw_buf_puts(out, "do anything");
		else
			pw_buf_printf(out, "%s %s", x->verbs, x->res);
		for (size_t j = i + 1; j < a->n; j++) {
			const struct grant_item *y = &a->items[j];
			if (done[j] || strcmp(x->ns, y->ns) || strcmp(x->verbs, y->verbs))
				continue;
			done[j] = true;
			pw_buf_printf(out, ", %s", y->res);
		}
		pw_buf_puts(out, *x->ns ? " in namespace " : " cluster-wide");
		pw_buf_puts(out, x->ns);
	}
	free(done);
}

static bool kubernetes_own(const struct pw_rbac_who *w)
{
	const struct pw_rbac_binding *b = w->grant.binding;
	return w->grant.privileged || !w->name || !strncmp(w->name, "system:", 7) ||
	       (b && b->name && !strncmp(b->name, "system:", 7));
}

/* " (aws-auth maps ARN, ...)" for a user or group that aws-auth maps into */
static void aws_mapped(const struct pw_rbac_data *d, const struct pw_rbac_who *w,
		       struct pw_buf *out)
{
	size_t start = out->len;
	for (uint32_t i = 0; i < d->nmaps; i++) {
		const struct pw_aws_map *m = &d->maps[i];
		bool hit = w->kind == PW_SUBJ_USER && m->username && !strcmp(m->username, w->name);
		for (uint32_t g = 0; !hit && w->kind == PW_SUBJ_GROUP && g < m->ngroups; g++)
			hit = !strcmp(m->groups[g], w->name);
		if (hit)
			pw_buf_printf(out, "%s%s", out->len == start ? "; aws-auth maps " : ", ",
				      m->arn);
	}
}

static void ask(const struct pw_authz *az, const struct question *q, const char *ns,
		struct pw_strmap *seen, struct grant_acc **acc, size_t *nacc, size_t *cap,
		struct pw_arena *ar)
{
	struct pw_buf key;
	pw_buf_init(&key);
	for (const char *const *v = q->verbs; *v; v++)
		for (const char *const *rs = q->res; *rs; rs++) {
			const char *tab = strchr(*rs, '\t');
			const char *res = tab + 1, *slash = strchr(res, '/');
			struct pw_rbac_req r = { 0 };
			r.verb = *v;
			r.path = "";
			r.group = pw_arena_strndup(ar, *rs, (size_t)(tab - *rs));
			r.resource = slash ? pw_arena_strndup(ar, res, (size_t)(slash - res)) : res;
			r.subresource = slash ? slash + 1 : "";
			r.ns = ns;
			r.name = "";
			struct pw_rbac_who *w;
			size_t n = pw_authz_who_can(az, &r, NULL, &w);
			for (size_t i = 0; i < n; i++) {
				const struct pw_rbac_binding *b = w[i].grant.binding;
				if (kubernetes_own(&w[i]))
					continue;
				/* asked in a namespace: what grants it there only (the
				   cluster-wide grants were found at cluster scope) */
				if (*ns && b && (b->kind == PW_BIND_CLUSTER ||
						 (b->kind == PW_BIND_EKS && !b->nscope)))
					continue;
				pw_buf_reset(&key);
				pw_buf_printf(&key, "%s|%p|", q->rule, (const void *)w[i].grant.binding);
				pw_rbac_who_key(&w[i], &key);
				struct grant_acc *a = pw_strmap_get(seen, key.s);
				if (!a) {
					if (*nacc == *cap) {
						*cap = *cap ? *cap * 2 : 16;
						*acc = pw_xrealloc(*acc, *cap * sizeof(**acc));
					}
					a = &(*acc)[(*nacc)++];
					memset(a, 0, sizeof(*a));
					a->rule = q->rule;
					a->who = w[i];
					/* the map's values are indexes + 1 */
					pw_strmap_put(seen, pw_arena_strdup(ar, key.s),
						      (void *)(uintptr_t)*nacc);
				} else {
					a = &(*acc)[(uintptr_t)a - 1];
				}
				grant_note(a, ns,
					   *r.group ? pw_arena_printf(ar, "%s.%s", res, r.group) : res,
					   *v);
			}
			free(w);
		}
	pw_buf_release(&key);
}

void pw_audit_access(struct pw_audit *au, const struct pw_authz *az)
{
	const struct pw_rbac_data *d = az->d;
	struct pw_strmap seen, nss;
	struct grant_acc *acc = NULL;
	size_t nacc = 0, cap = 0;
	const char **ns_list = NULL;
	size_t nns = 0, nns_cap = 0;
	pw_strmap_init(&seen);
	pw_strmap_init(&nss);
	for (uint32_t i = 0; i < d->nbindings; i++) {
		const struct pw_rbac_binding *b = &d->bindings[i];
		if (b->kind == PW_BIND_NS && b->ns && !pw_strmap_get(&nss, b->ns)) {
			pw_strmap_put(&nss, b->ns, (void *)1);
			*PW_PUSH(&au->a, ns_list, nns, nns_cap) = b->ns;
		}
	}
	for (uint32_t i = 0; i < az->neks; i++)
		for (uint32_t k = 0; k < az->eks[i].nscope; k++) {
			const char *sns = az->eks[i].scope[k];
			if (!strchr(sns, '*') && !pw_strmap_get(&nss, sns)) {
				pw_strmap_put(&nss, sns, (void *)1);
				*PW_PUSH(&au->a, ns_list, nns, nns_cap) = sns;
			}
		}
	for (size_t q = 0; q < PW_ARRAY_SIZE(questions); q++) {
		ask(az, &questions[q], "", &seen, &acc, &nacc, &cap, &au->a);
		for (size_t i = 0; !questions[q].cluster_only && i < nns; i++)
			ask(az, &questions[q], ns_list[i], &seen, &acc, &nacc, &cap, &au->a);
	}
	struct pw_buf b, what;
	pw_buf_init(&b);
	pw_buf_init(&what);
	for (size_t i = 0; i < nacc; i++) {
		struct grant_acc *a = &acc[i];
		/* one who may do anything: that finding says it all */
		bool admin = false;
		for (size_t j = 0; strcmp(a->rule, "access/cluster-admin") && j < nacc && !admin; j++)
			admin = !strcmp(acc[j].rule, "access/cluster-admin") &&
				acc[j].who.grant.binding == a->who.grant.binding &&
				acc[j].who.grant.subject == a->who.grant.subject &&
				!strcmp(acc[j].who.name, a->who.name);
		pw_buf_reset(&what);
		grant_what(a, &what);
		free(a->items);
		if (admin)
			continue;
		const struct pw_rbac_grant *g = &a->who.grant;
		const struct pw_rbac_binding *bd = g->binding;
		const struct pw_audit_rule *r = pw_audit_rule(a->rule);
		pw_buf_reset(&b);
		aws_mapped(d, &a->who, &b);
		struct pw_pos pos = g->subject && g->subject->pos.file ? g->subject->pos : bd->pos;
		const char *bkind = bd->kind == PW_BIND_CLUSTER ? "ClusterRoleBinding"
				    : bd->kind == PW_BIND_NS ? "RoleBinding" : "EKS access policy";
		struct pw_audit_finding *f = pw_audit_add(
			au, a->rule, r->sev, pos, "%s %s%s%s may %s (%s %s%s%s -> %s %s%s)",
			a->who.kind_name, a->who.ns ? a->who.ns : "", a->who.ns ? "/" : "",
			a->who.name, what.s, bkind, bd->ns ? bd->ns : "", bd->ns ? "/" : "",
			bd->kind == PW_BIND_EKS ? bd->policy : bd->name,
			g->role && g->role->ns ? "Role" : "ClusterRole",
			g->role ? g->role->name : "?", b.s ? b.s : "");
		about(f, a->who.kind_name, a->who.ns, a->who.name);
	}
	pw_buf_release(&b);
	pw_buf_release(&what);
	free(acc);
	pw_strmap_release(&seen);
	pw_strmap_release(&nss);
	/* aws-auth straight into system:masters */
	for (uint32_t i = 0; i < d->nmaps; i++)
		for (uint32_t g = 0; g < d->maps[i].ngroups; g++) {
			const struct pw_aws_map *m = &d->maps[i];
			if (strcmp(m->groups[g], "system:masters"))
				continue;
			struct pw_audit_finding *f = pw_audit_add(
				au, "access/cluster-admin", PW_SEV_CRITICAL, m->pos,
				"aws-auth maps %s%s%s into group system:masters (allowed anything, before RBAC)",
				m->arn, m->username ? " as " : "", m->username ? m->username : "");
			about(f, "ConfigMap", "kube-system", "aws-auth");
		}
	/* wildcard rules, as written */
	for (uint32_t i = 0; i < d->nroles; i++) {
		const struct pw_rbac_role *ro = &d->roles[i];
		if (!strncmp(ro->name, "system:", 7) || !strcmp(ro->name, "cluster-admin"))
			continue;
		for (uint32_t k = 0; k < ro->nrules; k++) {
			const struct pw_rbac_rule *ru = &ro->rules[k];
			bool wv = false, wr = false;
			for (uint32_t j = 0; j < ru->nverbs; j++)
				wv |= !strcmp(ru->verbs[j], "*");
			for (uint32_t j = 0; j < ru->nresources; j++)
				wr |= !strcmp(ru->resources[j], "*");
			if (!wv && !wr)
				continue;
			struct pw_audit_finding *f = pw_audit_add(
				au, "access/wildcard-rule", PW_SEV_MEDIUM, ru->pos,
				"%s %s%s%s rule[%u] grants %s", ro->ns ? "Role" : "ClusterRole",
				ro->ns ? ro->ns : "", ro->ns ? "/" : "", ro->name, k,
				wv && wr ? "every verb on every resource"
				: wv ? "every verb" : "every resource");
			about(f, ro->ns ? "Role" : "ClusterRole", ro->ns, ro->name);
		}
	}
	/* default service accounts with bindings */
	for (uint32_t i = 0; i < d->nbindings; i++) {
		const struct pw_rbac_binding *bd = &d->bindings[i];
		if (bd->kind == PW_BIND_EKS || (bd->name && !strncmp(bd->name, "system:", 7)))
			continue;
		for (uint32_t k = 0; k < bd->nsubjects; k++) {
			const struct pw_rbac_subject *s = &bd->subjects[k];
			if (s->kind != PW_SUBJ_SA || strcmp(s->name, "default"))
				continue;
			const char *sns = s->ns ? s->ns : bd->ns ? bd->ns : "";
			struct pw_audit_finding *f = pw_audit_add(
				au, "access/default-sa-bound", PW_SEV_MEDIUM,
				s->pos.file ? s->pos : bd->pos,
				"ServiceAccount %s/default is bound to %s %s by %s %s%s%s", sns,
				bd->role_kind, bd->role_name,
				bd->kind == PW_BIND_CLUSTER ? "ClusterRoleBinding" : "RoleBinding",
				bd->ns ? bd->ns : "", bd->ns ? "/" : "", bd->name);
			about(f, "ServiceAccount", sns, "default");
		}
	}
}

/* ---- outputs ------------------------------------------------------------------ */

static const char *pos_str(struct pw_arena *a, const struct pw_pos *p)
{
	return pw_arena_printf(a, "%s:%d:%d", p->file ? p->file : "-", p->line, p->col);
}

struct pw_doc *pw_audit_doc(const struct pw_audit *au)
{
	struct pw_arena *ar = (struct pw_arena *)&au->a;
	struct pw_doc *root = pw_doc_obj(), *arr = pw_doc_add(root, "findings", pw_doc_arr());
	for (uint32_t i = 0; i < au->n; i++) {
		const struct pw_audit_finding *f = &au->v[i];
		struct pw_doc *o = pw_doc_add(arr, NULL, pw_doc_obj());
		const char *slash = strchr(f->rule, '/');
		pw_doc_add(o, "pos", pw_doc_str(pos_str(ar, &f->pos)));
		pw_doc_add(o, "category",
			   pw_doc_str(pw_arena_strndup(ar, f->rule, (size_t)(slash - f->rule))));
		pw_doc_add(o, "check", pw_doc_str(slash + 1));
		pw_doc_add(o, "severity", pw_doc_str(pw_audit_sev_name(f->sev)));
		if (f->kind)
			pw_doc_add(o, "kind", pw_doc_str(f->kind));
		if (f->ns)
			pw_doc_add(o, "namespace", pw_doc_str(f->ns));
		if (f->name)
			pw_doc_add(o, "name", pw_doc_str(f->name));
		if (f->level) {
			pw_doc_add(o, "level", pw_doc_str(f->level));
			pw_doc_add(o, "version", pw_doc_str(f->version));
			pw_doc_add(o, "mode", pw_doc_str(f->mode));
		}
		pw_doc_add(o, "message", pw_doc_str(f->message));
		pw_doc_add(o, "fix", pw_doc_str(f->fix));
	}
	return root;
}

static const char *sarif_level(enum pw_audit_sev s)
{
	return s >= PW_SEV_HIGH ? "error" : s == PW_SEV_MEDIUM ? "warning" : "note";
}

static struct pw_doc *text(const char *s)
{
	struct pw_doc *o = pw_doc_obj();
	pw_doc_add(o, "text", pw_doc_str(s));
	return o;
}

/* A file name as a URI reference: RFC 3986's unreserved characters and '/'
   kept, every other byte percent-encoded. */
static const char *uri_ref(struct pw_arena *a, const char *file)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(file);
	char *out = pw_arena_alloc(a, n * 3 + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)file; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = 0;
	return out;
}

struct pw_doc *pw_audit_sarif(const struct pw_audit *au, const char *version)
{
	struct pw_doc *root = pw_doc_obj();
	pw_doc_add(root, "$schema", pw_doc_str("https://json.schemastore.org/sarif-2.1.0.json"));
	pw_doc_add(root, "version", pw_doc_str("2.1.0"));
	struct pw_doc *run = pw_doc_add(pw_doc_add(root, "runs", pw_doc_arr()), NULL, pw_doc_obj());
	struct pw_doc *drv = pw_doc_add(pw_doc_add(run, "tool", pw_doc_obj()), "driver", pw_doc_obj());
	pw_doc_add(drv, "name", pw_doc_str("podwall"));
	pw_doc_add(drv, "version", pw_doc_str(version));
	struct pw_doc *rules = pw_doc_add(drv, "rules", pw_doc_arr());
	for (size_t i = 0; i < pw_audit_nrules; i++) {
		const struct pw_audit_rule *r = &pw_audit_rules[i];
		struct pw_doc *o = pw_doc_add(rules, NULL, pw_doc_obj());
		pw_doc_add(o, "id", pw_doc_str(r->id));
		pw_doc_add(o, "shortDescription", text(r->desc));
		pw_doc_add(o, "help", text(r->fix));
		struct pw_doc *dc = pw_doc_add(o, "defaultConfiguration", pw_doc_obj());
		pw_doc_add(dc, "level", pw_doc_str(sarif_level(r->sev)));
		/* GitHub code scanning reads security-severity (CVSS-like) */
		static const char *const score[] = { "3.0", "5.5", "8.0", "9.5" };
		struct pw_doc *pr = pw_doc_add(o, "properties", pw_doc_obj());
		pw_doc_add(pr, "severity", pw_doc_str(pw_audit_sev_name(r->sev)));
		pw_doc_add(pr, "security-severity", pw_doc_str(score[r->sev]));
		pw_doc_add(pw_doc_add(pr, "tags", pw_doc_arr()), NULL, pw_doc_str("security"));
	}
	struct pw_doc *res = pw_doc_add(run, "results", pw_doc_arr());
	for (uint32_t i = 0; i < au->n; i++) {
		const struct pw_audit_finding *f = &au->v[i];
		struct pw_doc *o = pw_doc_add(res, NULL, pw_doc_obj());
		pw_doc_add(o, "ruleId", pw_doc_str(f->rule));
		for (size_t k = 0; k < pw_audit_nrules; k++)
			if (!strcmp(pw_audit_rules[k].id, f->rule))
				pw_doc_add(o, "ruleIndex", pw_doc_int((long long)k));
		pw_doc_add(o, "level", pw_doc_str(sarif_level(f->sev)));
		pw_doc_add(o, "message",
			   text(f->context ? pw_arena_printf((struct pw_arena *)&au->a, "%s: %s",
							     f->context, f->message)
					   : f->message));
		if (f->pos.file) {
			struct pw_doc *loc = pw_doc_add(pw_doc_add(o, "locations", pw_doc_arr()), NULL,
							pw_doc_obj());
			struct pw_doc *pl = pw_doc_add(loc, "physicalLocation", pw_doc_obj());
			struct pw_doc *al = pw_doc_add(pl, "artifactLocation", pw_doc_obj());
			pw_doc_add(al, "uri", pw_doc_str(uri_ref((struct pw_arena *)&au->a, f->pos.file)));
			struct pw_doc *rg = pw_doc_add(pl, "region", pw_doc_obj());
			pw_doc_add(rg, "startLine", pw_doc_int(f->pos.line > 0 ? f->pos.line : 1));
			pw_doc_add(rg, "startColumn", pw_doc_int(f->pos.col > 0 ? f->pos.col : 1));
		}
		struct pw_doc *pr = pw_doc_add(o, "properties", pw_doc_obj());
		pw_doc_add(pr, "severity", pw_doc_str(pw_audit_sev_name(f->sev)));
		pw_doc_add(pr, "fix", pw_doc_str(f->fix));
	}
	return root;
}
