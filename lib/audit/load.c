// SPDX-License-Identifier: Apache-2.0
/*
 * What the encryption findings read, kept by the manifest loader
 * (c->audit): StorageClasses (storage.k8s.io), the TLS annotations of
 * Services of type LoadBalancer and of Ingresses (their own loaders call in
 * here), and the JSON of `aws eks describe-cluster` ({"cluster": {...}}).
 */
#include <string.h>

#include "../loader.h"
#include "audit.h"

static struct pw_audit_data *data(struct ld *l)
{
	if (!l->c->audit)
		l->c->audit = pw_arena_alloc(&l->c->arena, sizeof(*l->c->audit));
	return l->c->audit;
}

/* metadata.annotations[key] as a string, or NULL */
static const char *annotation(struct ld *l, const struct meta *m, const char *key)
{
	yaml_node_t *an = ld_get(l, ld_get(l, m->obj, "metadata"), "annotations");
	if (!an || an->type != YAML_MAPPING_NODE)
		return NULL;
	return ld_opt_str(l, ld_get(l, an, key), key);
}

void pw__load_storageclass(struct ld *l, struct meta *m)
{
	struct pw_audit_sc sc = { 0 };
	sc.name = m->name;
	sc.pos = m->pos;
	sc.provisioner = ld_opt_str(l, ld_get(l, m->obj, "provisioner"), "provisioner");
	yaml_node_t *pn = ld_get(l, m->obj, "parameters");
	if (!ld_is_null(pn) && ld_want_map(l, pn, "parameters")) {
		yaml_node_t *en = ld_get(l, pn, "encrypted");
		sc.encrypted = ld_opt_str(l, en, "parameters.encrypted");
		if (en)
			sc.enc_pos = ld_pos(l, en);
		sc.kms_key = ld_opt_str(l, ld_get(l, pn, "kmsKeyId"), "parameters.kmsKeyId");
	}
	if (l->d->errors > l->errors_at_start)
		return;
	struct pw_audit_data *d = data(l);
	*PW_PUSH(&l->c->arena, d->scs, d->nscs, d->nscs_cap) = sc;
}

void pw__audit_service(struct ld *l, struct meta *m, yaml_node_t *spec)
{
	if (!spec || spec->type != YAML_MAPPING_NODE)
		return;
	yaml_node_t *tn = ld_get(l, spec, "type");
	if (!tn || tn->type != YAML_SCALAR_NODE ||
	    strcmp((const char *)tn->data.scalar.value, "LoadBalancer"))
		return;
	struct pw_audit_lb lb = { 0 };
	size_t cap = 0;
	lb.name = m->name;
	lb.ns = m->ns;
	lb.pos = m->pos;
	lb.ssl_cert = annotation(l, m, "service.beta.kubernetes.io/aws-load-balancer-ssl-cert");
	lb.ssl_ports = annotation(l, m, "service.beta.kubernetes.io/aws-load-balancer-ssl-ports");
	yaml_node_t *ps = ld_get(l, spec, "ports"), *it;
	long v;
	if (ps && ps->type == YAML_SEQUENCE_NODE)
		SEQ_EACH(l, ps, it)
		{
			if (ld_plain_int(ld_get(l, it, "port"), &v))
				*PW_PUSH(&l->c->arena, lb.ports, lb.nports, cap) = v;
		}
	struct pw_audit_data *d = data(l);
	*PW_PUSH(&l->c->arena, d->lbs, d->nlbs, d->nlbs_cap) = lb;
}

void pw__audit_ingress(struct ld *l, struct meta *m, yaml_node_t *spec)
{
	if (strcmp(m->kind, "Ingress"))
		return;
	struct pw_audit_ing ing = { 0 };
	ing.name = m->name;
	ing.ns = m->ns;
	ing.pos = m->pos;
	ing.cert = annotation(l, m, "alb.ingress.kubernetes.io/certificate-arn");
	ing.listen = annotation(l, m, "alb.ingress.kubernetes.io/listen-ports");
	ing.redirect = annotation(l, m, "alb.ingress.kubernetes.io/ssl-redirect");
	const char *cls = annotation(l, m, "kubernetes.io/ingress.class");
	yaml_node_t *cn = spec && spec->type == YAML_MAPPING_NODE
		? ld_get(l, spec, "ingressClassName") : NULL;
	if (cn && cn->type == YAML_SCALAR_NODE)
		cls = (const char *)cn->data.scalar.value;
	ing.alb = (cls && !strcmp(cls, "alb")) || ing.cert || ing.listen ||
		  annotation(l, m, "alb.ingress.kubernetes.io/scheme");
	yaml_node_t *tls = spec && spec->type == YAML_MAPPING_NODE ? ld_get(l, spec, "tls") : NULL;
	ing.tls = tls && tls->type == YAML_SEQUENCE_NODE && ld_seq_len(tls) > 0;
	struct pw_audit_data *d = data(l);
	*PW_PUSH(&l->c->arena, d->ings, d->nings, d->nings_cap) = ing;
}

bool pw__load_eks_cluster(struct ld *l, yaml_node_t *obj)
{
	yaml_node_t *cl = ld_get(l, obj, "cluster");
	if (!cl || cl->type != YAML_MAPPING_NODE || !ld_get(l, cl, "arn"))
		return false;
	struct pw_audit_eks e = { 0 };
	e.pos = ld_pos(l, cl);
	e.name = ld_opt_str(l, ld_get(l, cl, "name"), "cluster.name");
	if (!e.name)
		e.name = ld_want_str(l, ld_get(l, cl, "arn"), "cluster.arn");
	yaml_node_t *ec = ld_get(l, cl, "encryptionConfig"), *it, *r;
	if (!ld_is_null(ec) && (ec = ld_want_seq(l, ec, "cluster.encryptionConfig")))
		SEQ_EACH(l, ec, it)
		{
			yaml_node_t *rs = ld_get(l, it, "resources");
			if (!rs || rs->type != YAML_SEQUENCE_NODE)
				continue;
			SEQ_EACH(l, rs, r)
			{
				if (r->type == YAML_SCALAR_NODE &&
				    !strcmp((const char *)r->data.scalar.value, "secrets")) {
					e.secrets_encrypted = true;
					e.key_arn = ld_opt_str(l, ld_get(l, ld_get(l, it, "provider"), "keyArn"),
							       "provider.keyArn");
				}
			}
		}
	struct pw_audit_data *d = data(l);
	*PW_PUSH(&l->c->arena, d->eks, d->neks, d->neks_cap) = e;
	return true;
}
