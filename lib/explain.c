// SPDX-License-Identifier: Apache-2.0
#include "explain.h"
#include "flow/ids.h"

#include <stdlib.h>
#include <string.h>

static const char *const dir_names[2] = { "ingress", "egress" };

static const char *verdict_name(bool allowed)
{
	return allowed ? "ALLOW" : "DENY";
}

/* "ns/name" of a pod; an address, or a DNS name "=ADDR" when known */
static const char *ep_name(const struct pw_view *v, const struct pw_ep *ep,
			   struct pw_buf *b)
{
	pw_buf_reset(b);
	if (ep->pod >= 0)
		return pw_view_pod_name(v, (uint32_t)ep->pod, b);
	char a[48];
	pw_addr_format(&ep->addr, a);
	if (ep->name)
		pw_buf_printf(b, "%s%s%s", ep->name, ep->addr.family ? "=" : "",
			      ep->addr.family ? a : "");
	else
		pw_buf_puts(b, a);
	return b->s;
}

/* "NetworkPolicy ns/x (f.yaml:3)" for every policy of tier t applied */
static void applied_in_tier(const struct pw_engine *e, const struct pw_ep *self,
			    enum pw_dir d, uint32_t tier, struct pw_buf *b)
{
	uint32_t n;
	const uint32_t *v = pw_engine_applicable(e, (uint32_t)self->pod, d, &n);
	int k = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct pw_gpolicy *g = &e->pols[v[i]];
		if (g->tier != tier)
			continue;
		pw_buf_printf(b, "%s%s (%s:%d)", k++ ? ", " : "", g->display,
			      g->pos.file, g->pos.line);
	}
}

static void text_dir(const struct pw_view *v, const struct pw_out *o,
		     const struct pw_engine *e, enum pw_dir d,
		     const struct pw_ep *self, const struct pw_why_dir *wd)
{
	struct pw_buf b;
	pw_buf_init(&b);
	pw_out_printf(o, "%-7s at %s %s: ", dir_names[d],
		      d == PW_EGRESS ? "source" : "destination",
		      ep_name(v, self, &b));
	if (!wd->governed) {
		pw_out_printf(o, "%s: allowed\n", self->pod < 0
				  ? "outside the cluster, no policy applies"
				  : "hostNetwork pod, no policy applies");
		goto out;
	}
	if (wd->nsteps == 1 && wd->steps[0].kind == PW_STEP_PROFILE) {
		pw_out_puts(o, "no policy applies: allowed by the namespace profile\n");
		goto out;
	}
	pw_out_printf(o, "%s\n", wd->allowed ? "allowed" : "denied");
	for (uint32_t i = 0; i < wd->nsteps; i++) {
		const struct pw_step *st = &wd->steps[i];
		if (st->kind == PW_STEP_PROFILE) {
			pw_out_puts(o, "  then the namespace profile: Allow\n");
			continue;
		}
		pw_out_printf(o, "  tier %s: ", e->tiers[st->tier].name);
		if (st->kind == PW_STEP_RULE) {
			const struct pw_gpolicy *g = &e->pols[st->policy];
			const struct pw_grule *r = &g->rules[d][st->rule];
			pw_out_printf(o, "%s %s[%u] %s (%s:%d)\n", g->display,
				      dir_names[d], r->index,
				      pw_action_name(st->action), r->pos.file,
				      r->pos.line);
		} else {
			pw_buf_reset(&b);
			applied_in_tier(e, self, d, st->tier, &b);
			pw_out_printf(o, "%s; no rule matched: end of tier, %s\n",
				      b.s, pw_action_name(st->action));
		}
	}
	if (wd->truncated)
		pw_out_puts(o, "  (more Log steps not shown)\n");
out:
	pw_buf_release(&b);
}

static struct pw_doc *doc_dir(const struct pw_view *v,
			      const struct pw_engine *e, enum pw_dir d,
			      const struct pw_ep *self,
			      const struct pw_why_dir *wd)
{
	struct pw_buf b;
	pw_buf_init(&b);
	struct pw_doc *o = pw_doc_obj();
	pw_doc_add(o, "endpoint", pw_doc_str(ep_name(v, self, &b)));
	pw_doc_add(o, "governed", pw_doc_bool(wd->governed));
	pw_doc_add(o, "verdict", pw_doc_str(verdict_name(wd->allowed)));
	struct pw_doc *path = pw_doc_add(o, "path", pw_doc_arr());
	for (uint32_t i = 0; i < wd->nsteps; i++) {
		const struct pw_step *st = &wd->steps[i];
		struct pw_doc *x = pw_doc_add(path, NULL, pw_doc_obj());
		if (st->kind == PW_STEP_PROFILE) {
			pw_doc_add(x, "step", pw_doc_str("profile"));
			pw_doc_add(x, "action", pw_doc_str("Allow"));
			continue;
		}
		pw_doc_add(x, "step", pw_doc_str(st->kind == PW_STEP_RULE
							 ? "rule" : "end-of-tier"));
		pw_doc_add(x, "tier", pw_doc_str(e->tiers[st->tier].name));
		if (st->kind == PW_STEP_RULE) {
			const struct pw_gpolicy *g = &e->pols[st->policy];
			const struct pw_grule *r = &g->rules[d][st->rule];
			pw_doc_add(x, "policy", pw_doc_str(g->display));
			pw_doc_add(x, "rule", pw_doc_int(r->index));
			pw_doc_add(x, "file", pw_doc_str(r->pos.file));
			pw_doc_add(x, "line", pw_doc_int(r->pos.line));
		} else {
			struct pw_doc *ap = pw_doc_add(x, "applied", pw_doc_arr());
			uint32_t n;
			const uint32_t *pv = pw_engine_applicable(e, (uint32_t)self->pod,
								  d, &n);
			for (uint32_t k = 0; k < n; k++) {
				const struct pw_gpolicy *g = &e->pols[pv[k]];
				if (g->tier != st->tier)
					continue;
				struct pw_doc *y = pw_doc_add(ap, NULL, pw_doc_obj());
				pw_doc_add(y, "policy", pw_doc_str(g->display));
				pw_doc_add(y, "file", pw_doc_str(g->pos.file));
				pw_doc_add(y, "line", pw_doc_int(g->pos.line));
			}
		}
		pw_doc_add(x, "action", pw_doc_str(pw_action_name(st->action)));
	}
	/* the deciding step as flow records name it (lib/flow/ids.h) */
	if (wd->governed && self->pod >= 0) {
		pw_buf_reset(&b);
		pw_flow_step_entry(e, (uint32_t)self->pod, d,
				   wd->nsteps ? &wd->steps[wd->nsteps - 1] : NULL, &b);
		pw_doc_add(o, "decided_by", pw_doc_str(b.s));
	}
	pw_buf_release(&b);
	return o;
}

/* The verdict of every replica pair, and the pair shown: the first denied
   one, or the first. */
struct outcome {
	bool allowed;
	struct pw_verdict v;
	int si, di;
};

/* The verdict of each pair comes from the matrix where it answers; the
   explanation from the per-connection walk, which must agree.  Returns -1
   (said in err) if they do not: a bug. */
static int decide(const struct pw_engine *e, const struct pw_reach *r,
		  const struct pw_ep *s, int ns, const struct pw_ep *d, int nd,
		  const struct pw_query *q, struct outcome *o,
		  struct pw_buf *err)
{
	struct pw_verdict v;
	o->allowed = true;
	o->si = o->di = 0;
	for (int i = 0; i < ns; i++)
		for (int k = 0; k < nd; k++) {
			pw_engine_eval(e, &s[i], &d[k], q, &v);
			int fast = r ? pw_reach_allowed(r, &s[i], &d[k], q) : -1;
			if (fast >= 0 && fast != (int)v.allowed) {
				pw_buf_printf(err, "internal error: the matrix says %s, the rule walk %s (please report)",
					      verdict_name(fast), verdict_name(v.allowed));
				return -1;
			}
			if (i == 0 && k == 0)
				o->v = v;
			if (!v.allowed && o->allowed) {
				o->allowed = false;
				o->v = v;
				o->si = i;
				o->di = k;
			}
		}
	return 0;
}

static void text_outcome(const struct pw_view *v, const struct pw_out *o,
			 const struct pw_engine *e, const struct outcome *oc,
			 const struct pw_ep *s, const struct pw_ep *d)
{
	if (oc->v.self) {
		pw_out_puts(o, "a pod can always reach itself: no policy applies\n");
		return;
	}
	text_dir(v, o, e, PW_EGRESS, &s[oc->si], &oc->v.dir[PW_EGRESS]);
	text_dir(v, o, e, PW_INGRESS, &d[oc->di], &oc->v.dir[PW_INGRESS]);
}

static struct pw_doc *doc_outcome(struct pw_doc *r, const struct pw_view *v,
				  const struct pw_engine *e,
				  const struct outcome *oc,
				  const struct pw_ep *s, const struct pw_ep *d)
{
	pw_doc_add(r, "verdict", pw_doc_str(verdict_name(oc->allowed)));
	pw_doc_add(r, "self", pw_doc_bool(oc->v.self));
	pw_doc_add(r, "egress", doc_dir(v, e, PW_EGRESS, &s[oc->si],
					&oc->v.dir[PW_EGRESS]));
	pw_doc_add(r, "ingress", doc_dir(v, e, PW_INGRESS, &d[oc->di],
					 &oc->v.dir[PW_INGRESS]));
	return r;
}

/* "dev/nginx-svc (ClusterIP 10.96.0.20)" */
static const char *svc_name(const struct pw_view *v,
			    const struct pw_service *svc, struct pw_buf *b)
{
	pw_buf_reset(b);
	pw_buf_printf(b, "%s/%s (%s%s", v->c->nss[svc->ns].name, svc->name,
		      svc->headless ? "headless " : "",
		      pw_service_type_name(svc->type));
	if (svc->type == PW_SVC_EXTERNAL_NAME)
		pw_buf_printf(b, " %s", svc->external_name);
	for (uint32_t i = 0; i < svc->nvips; i++) {
		char a[48];
		pw_addr_format(&svc->vips[i], a);
		pw_buf_printf(b, " %s", a);
	}
	pw_buf_putc(b, ')');
	return b->s;
}

/* The head of a JSON or YAML answer. */
static struct pw_doc *doc_head(const struct pw_eval_req *q, const char *qs)
{
	struct pw_doc *r = pw_doc_obj();
	pw_doc_add(r, "src", pw_doc_str(q->src));
	pw_doc_add(r, "dst", pw_doc_str(q->dst));
	pw_doc_add(r, "query", pw_doc_str(qs));
	return r;
}

static const char unknown_ep[] =
	"unknown endpoint %s (want ns/name of a pod or workload, an IP address or a DNS name)";

/*
 * A connection to a Service: decided on every backend after kube-proxy's
 * translation (lib/service.h); the explanation is that of the first
 * backend denied.
 */
static int eval_service(const struct pw_view *v, const struct pw_eval_req *rq,
			const struct pw_end *src, const struct pw_service *svc,
			const struct pw_query *q, const struct pw_out *o,
			struct pw_buf *err)
{
	char qb[PW_QUOTE_SIZE];
	if (src->n <= 0) {
		if (src->n < 0)
			pw_buf_printf(err, "--src %s: %s", pw_quote(qb, rq->src),
				      src->why);
		else
			pw_buf_printf(err, unknown_ep, pw_quote(qb, rq->src));
		return PW_EVAL_ERROR;
	}
	const struct pw_ep *s = src->eps;
	int ns = src->n;
	struct pw_svc_answer *a = NULL, *sa = NULL;
	size_t n, sn = 0;
	const char *why, *swhy = NULL;
	int ok = pw_service_eval(v->e, v->reach, s, ns, svc, q, &a, &n, &why);
	int sok = v->staged ? pw_service_eval(v->staged, v->staged_reach, s, ns,
					      svc, q, &sa, &sn, &swhy) : ok;
	int rc = PW_EVAL_ERROR;
	struct pw_buf b, nb;
	pw_buf_init(&b);
	pw_buf_init(&nb);
	if (ok < 0) {
		pw_buf_printf(err, "a Service carries TCP, UDP or SCTP: %s has no port",
			      pw_quote(qb, rq->dst));
		goto out;
	}
	char qs[32];
	pw_query_format(q, qs);
	/* the first backend denied, explained */
	struct outcome en;
	struct pw_ep bep = { -1, { 0 }, NULL };
	const struct pw_svc_answer *den = NULL;
	for (size_t i = 0; i < n && !den; i++)
		if (!a[i].allowed)
			den = &a[i];
	if (den) {
		struct pw_query bq = *q;
		bq.port = den->b.port;
		bep = pw_backend_ep(v->c, &den->b);
		if (decide(v->e, v->reach, s, ns, &bep, 1, &bq, &en, err) < 0)
			goto out;
	}
	if (rq->fmt == PW_FORMAT_TABLE) {
		pw_out_printf(o, "%s\n", verdict_name(ok));
		pw_out_printf(o, "%s from %s to Service %s\n", qs, rq->src,
			      svc_name(v, svc, &b));
		if (why)
			pw_out_printf(o, "%s\n", why);
		else
			pw_out_printf(o, "after kube-proxy's translation, to each of %zu backend%s (allowed only if every one is):\n",
				      n, n == 1 ? "" : "s");
		for (size_t i = 0; i < n; i++) {
			struct pw_ep d = pw_backend_ep(v->c, &a[i].b);
			char ad[48] = "";
			if (a[i].b.addr.family)
				pw_addr_format(&a[i].b.addr, ad);
			pw_out_printf(o, "  %s%s%s%s %s/%d: %s\n",
				      ep_name(v, &d, &nb),
				      d.pod >= 0 && ad[0] ? " (" : "",
				      d.pod >= 0 ? ad : "",
				      d.pod >= 0 && ad[0] ? ")" : "",
				      pw_proto_name(a[i].b.proto), a[i].b.port,
				      verdict_name(a[i].allowed));
		}
		if (den) {
			pw_out_printf(o, "denied at backend %s:\n",
				      ep_name(v, &bep, &nb));
			text_outcome(v, o, v->e, &en, s, &bep);
		}
		if (v->staged)
			pw_out_printf(o, "\nstaged: %s (if the staged policies were enforced)%s%s\n",
				      verdict_name(sok), swhy ? ": " : "",
				      swhy ? swhy : "");
	} else {
		struct pw_doc *r = doc_head(rq, qs);
		pw_doc_add(r, "verdict", pw_doc_str(verdict_name(ok)));
		struct pw_doc *sd = pw_doc_add(r, "service", pw_doc_obj());
		pw_doc_add(sd, "namespace", pw_doc_str(v->c->nss[svc->ns].name));
		pw_doc_add(sd, "name", pw_doc_str(svc->name));
		pw_doc_add(sd, "type", pw_doc_str(pw_service_type_name(svc->type)));
		pw_doc_add(sd, "headless", pw_doc_bool(svc->headless));
		if (why)
			pw_doc_add(r, "reason", pw_doc_str(why));
		struct pw_doc *bd = pw_doc_add(r, "backends", pw_doc_arr());
		for (size_t i = 0; i < n; i++) {
			struct pw_ep d = pw_backend_ep(v->c, &a[i].b);
			struct pw_doc *x = pw_doc_add(bd, NULL, pw_doc_obj());
			pw_doc_add(x, "endpoint", pw_doc_str(ep_name(v, &d, &nb)));
			char pq[32];
			snprintf(pq, sizeof(pq), "%s/%d", pw_proto_name(a[i].b.proto),
				 a[i].b.port);
			pw_doc_add(x, "port", pw_doc_str(pq));
			pw_doc_add(x, "verdict", pw_doc_str(verdict_name(a[i].allowed)));
		}
		if (den)
			doc_outcome(pw_doc_add(r, "denied", pw_doc_obj()), v, v->e,
				    &en, s, &bep);
		if (v->staged)
			pw_doc_add(r, "staged", pw_doc_str(verdict_name(sok)));
		pw_doc_write(r, rq->fmt, o);
		pw_doc_free(r);
	}
	rc = ok ? PW_EVAL_ALLOW : PW_EVAL_DENY;
out:
	pw_buf_release(&b);
	pw_buf_release(&nb);
	free(a);
	free(sa);
	return rc;
}

static int eval_pods(const struct pw_view *v, const struct pw_eval_req *rq,
		     const struct pw_end *src, const struct pw_end *dst,
		     const struct pw_out *o, struct pw_buf *err)
{
	char qb[PW_QUOTE_SIZE];
	int ns = src->n, nd = dst->n;
	if (ns <= 0 || nd <= 0) {
		if (ns < 0 || nd < 0)
			pw_buf_printf(err, "%s %s: %s", ns < 0 ? "--src" : "--dst",
				      pw_quote(qb, ns < 0 ? rq->src : rq->dst),
				      ns < 0 ? src->why : dst->why);
		else
			pw_buf_printf(err, unknown_ep,
				      pw_quote(qb, !ns ? rq->src : rq->dst));
		return PW_EVAL_ERROR;
	}
	struct pw_query q;
	bool named;
	const char *why_p = pw_resolve_port(v, rq->port, dst, &q, &named);
	if (why_p) {
		pw_buf_printf(err, "--port %s: %s", pw_quote(qb, rq->port), why_p);
		return PW_EVAL_ERROR;
	}
	const struct pw_ep *s = src->eps, *d = dst->eps;
	struct outcome en, st;
	if (decide(v->e, v->reach, s, ns, d, nd, &q, &en, err) < 0 ||
	    (v->staged && decide(v->staged, v->staged_reach, s, ns, d, nd, &q,
				 &st, err) < 0))
		return PW_EVAL_ERROR;
	char qf[32], qs[80];
	pw_query_format(&q, qf);
	if (named) { /* TCP/8080 (http) */
		const char *slash = strchr(rq->port, '/');
		snprintf(qs, sizeof(qs), "%s (%s)", qf, slash ? slash + 1 : rq->port);
	} else {
		snprintf(qs, sizeof(qs), "%s", qf);
	}
	if (rq->fmt == PW_FORMAT_TABLE) {
		pw_out_printf(o, "%s\n", verdict_name(en.allowed));
		pw_out_printf(o, "%s from %s to %s\n", qs, rq->src, rq->dst);
		if (ns > 1 || nd > 1)
			pw_out_printf(o, "(%d x %d replica pairs; showing %s)\n", ns, nd,
				      en.allowed ? "the first pair"
						 : "the first denied pair");
		text_outcome(v, o, v->e, &en, s, d);
		if (v->staged) {
			pw_out_printf(o, "\nstaged: %s (if the staged policies were enforced)\n",
				      verdict_name(st.allowed));
			text_outcome(v, o, v->staged, &st, s, d);
		}
	} else {
		struct pw_doc *r = doc_head(rq, qs);
		doc_outcome(r, v, v->e, &en, s, d);
		if (v->staged)
			doc_outcome(pw_doc_add(r, "staged", pw_doc_obj()), v,
				    v->staged, &st, s, d);
		pw_doc_write(r, rq->fmt, o);
		pw_doc_free(r);
	}
	return en.allowed ? PW_EVAL_ALLOW : PW_EVAL_DENY;
}

int pw_eval_write(const struct pw_view *v, const struct pw_eval_req *rq,
		  const struct pw_out *o, struct pw_buf *err)
{
	char qb[PW_QUOTE_SIZE];
	struct pw_arena a; /* the ends' endpoints and DNS names */
	struct pw_end src, dst;
	struct pw_query q;
	int rc = PW_EVAL_ERROR;
	pw_arena_init(&a);
	if (rq->fmt != PW_FORMAT_TABLE && rq->fmt != PW_FORMAT_JSON &&
	    rq->fmt != PW_FORMAT_YAML) {
		pw_buf_puts(err, "eval: -o must be table, json or yaml");
		goto out;
	}
	pw_resolve_end(v, &a, rq->src, rq->ns, false, &src);
	if (src.svc) {
		pw_buf_printf(err, "a Service cannot be a source: %s (give a pod or workload)",
			      pw_quote(qb, rq->src));
		goto out;
	}
	pw_resolve_end(v, &a, rq->dst, rq->ns, true, &dst);
	if (!dst.svc) {
		rc = eval_pods(v, rq, &src, &dst, o, err);
	} else if (pw_query_parse(rq->port, &q) < 0) {
		pw_buf_printf(err, "invalid --port %s (want PROTO/N, e.g. TCP/80, UDP/53, ICMP/8)",
			      pw_quote(qb, rq->port));
	} else {
		rc = eval_service(v, rq, &src, dst.svc, &q, o, err);
	}
out:
	pw_arena_release(&a);
	return rc;
}

bool pw_eval_allowed(const struct pw_engine *e, const struct pw_reach *r,
		     const struct pw_end *s, const struct pw_end *d,
		     const struct pw_query *q)
{
	struct pw_verdict v;
	if (d->svc) {
		struct pw_svc_answer *a;
		size_t n;
		const char *why;
		int ok = pw_service_eval(e, r, s->eps, s->n, d->svc, q, &a, &n, &why);
		free(a);
		return ok == 1;
	}
	for (int i = 0; i < s->n; i++)
		for (int k = 0; k < d->n; k++) {
			int ok = r ? pw_reach_allowed(r, &s->eps[i], &d->eps[k], q) : -1;
			if (ok < 0) {
				pw_engine_eval(e, &s->eps[i], &d->eps[k], q, &v);
				ok = v.allowed;
			}
			if (!ok)
				return false;
		}
	return true;
}

void pw_explain_brief(const struct pw_engine *e, const struct pw_ep *src,
		      const struct pw_ep *dst, const struct pw_query *q,
		      struct pw_buf *out)
{
	struct pw_verdict v;
	pw_engine_eval(e, src, dst, q, &v);
	if (v.self) {
		pw_buf_puts(out, "a pod can always reach itself");
		return;
	}
	bool any = false;
	for (int d = 1; d >= 0; d--) {
		const struct pw_why_dir *wd = &v.dir[d];
		if (!wd->governed || (!v.allowed && wd->allowed))
			continue;
		if (any)
			pw_buf_puts(out, "; ");
		any = true;
		pw_buf_printf(out, "%s: ", dir_names[d]);
		const struct pw_step *st = wd->nsteps ? &wd->steps[wd->nsteps - 1] : NULL;
		if (!st || st->kind == PW_STEP_PROFILE) {
			pw_buf_puts(out, "namespace profile Allow");
		} else if (st->kind == PW_STEP_END_OF_TIER) {
			const struct pw_ep *self = d == PW_EGRESS ? src : dst;
			uint32_t na, first = UINT32_MAX, count = 0;
			const uint32_t *ap = pw_engine_applicable(e, (uint32_t)self->pod,
								  (enum pw_dir)d, &na);
			for (uint32_t z = 0; z < na; z++)
				if (e->pols[ap[z]].tier == st->tier && !count++)
					first = ap[z];
			pw_buf_printf(out, "tier %s: no rule of %s", e->tiers[st->tier].name,
				      first != UINT32_MAX ? e->pols[first].display : "?");
			if (first != UINT32_MAX)
				pw_buf_printf(out, " (%s:%d)", e->pols[first].pos.file,
					      e->pols[first].pos.line);
			if (count > 1)
				pw_buf_printf(out, " or %u more", count - 1);
			pw_buf_printf(out, " matched: end of tier %s",
				      pw_action_name(st->action));
		} else {
			const struct pw_gpolicy *g = &e->pols[st->policy];
			const struct pw_grule *r = &g->rules[d][st->rule];
			pw_buf_printf(out, "tier %s %s %s[%u] %s (%s:%d)",
				      e->tiers[st->tier].name, g->display, dir_names[d],
				      r->index, pw_action_name(st->action),
				      r->pos.file, r->pos.line);
		}
	}
	if (!any)
		pw_buf_puts(out, "no policy applies");
}
