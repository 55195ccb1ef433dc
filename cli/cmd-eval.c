// SPDX-License-Identifier: Apache-2.0
/*
 * podwall eval: one verdict with its reasons, or many (--batch) fast.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "doc.h"

static const char eval_usage[] =
	"usage: podwall eval -f FILE|DIR|- [-f ...] --src A --dst B --port PROTO/N\n"
	"       podwall eval -f FILE|DIR|- --batch FILE|-\n"
	"\n"
	"Decide whether A may open a connection to B, and say which tier, policy\n"
	"and rule decided it.  The port is TCP/N, UDP/N, SCTP/N, UDPLite/N,\n"
	"ICMP/TYPE[/CODE], ICMPv6/TYPE[/CODE], N (TCP), or the name of one of B's\n"
	"containerPorts (http, or TCP/http).  A and B are ns/name (a\n"
	"pod, or a workload by its name), name (in the namespace given by -n,\n"
	"default 'default'), an IPv4/IPv6 address, or for a destination a DNS\n"
	"name, optionally with its address: api.example.com=203.0.113.20.\n"
	"\n"
	"  -f, --filename PATH       manifests: file, directory (recursive) or -\n"
	"  -n, --namespace NS        namespace of names given without one\n"
	"      --src A, --dst B      the two ends\n"
	"  -p, --port PROTO/N|NAME   the destination port; a NAME (or PROTO/NAME)\n"
	"                            is one of the destination pod's containerPorts\n"
	"      --batch FILE|-        lines 'SRC DST PROTO/PORT' (then up to two\n"
	"                            expected verdicts, ignored); prints each line\n"
	"                            with ALLOW or DENY appended, in input order\n"
	"      --staged              also give the verdict if the staged policies\n"
	"                            were enforced (batch: a fifth column)\n"
	"      --ipblock-excludes-pods  ipBlocks match only addresses outside\n"
	"                            the cluster (netpol-analyzer, Cilium reading)\n"
	"      --hostnetwork-as-pods treat hostNetwork pods like other pods\n"
	"  -o, --output FORMAT       table (default), json or yaml\n"
	"      --stats               timings and peak memory on stderr\n"
	"  -v, --verbose             also list the objects that were skipped\n"
	"\n"
	"Exit status: 0 ALLOW, 1 DENY, 2 bad usage or input (batch: 0 unless an\n"
	"input line is malformed).\n";

static const char *ep_name(const struct cli_world *w, const struct pw_ep *ep,
			   struct pw_buf *b)
{
	pw_buf_reset(b);
	if (ep->pod >= 0)
		return cli_pod_name(w, (uint32_t)ep->pod, b);
	char a[48];
	pw_addr_format(&ep->addr, a);
	if (ep->name)
		pw_buf_printf(b, "%s%s%s", ep->name, ep->addr.family ? "=" : "",
			      ep->addr.family ? a : "");
	else
		pw_buf_puts(b, a);
	return b->s;
}

static const char *const dir_names[2] = { "ingress", "egress" };

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

static void text_dir(const struct cli_world *w, const struct pw_engine *e,
		     enum pw_dir d, const struct pw_ep *self,
		     const struct pw_why_dir *wd)
{
	struct pw_buf b;
	pw_buf_init(&b);
	printf("%-7s at %s %s: ", dir_names[d],
	       d == PW_EGRESS ? "source" : "destination", ep_name(w, self, &b));
	if (!wd->governed) {
		printf("%s: allowed\n", self->pod < 0
			       ? "outside the cluster, no policy applies"
			       : "hostNetwork pod, no policy applies");
		pw_buf_release(&b);
		return;
	}
	if (wd->nsteps == 1 && wd->steps[0].kind == PW_STEP_PROFILE) {
		printf("no policy applies: allowed by the namespace profile\n");
		pw_buf_release(&b);
		return;
	}
	printf("%s\n", wd->allowed ? "allowed" : "denied");
	for (uint32_t i = 0; i < wd->nsteps; i++) {
		const struct pw_step *st = &wd->steps[i];
		if (st->kind == PW_STEP_PROFILE) {
			printf("  then the namespace profile: Allow\n");
			continue;
		}
		printf("  tier %s: ", e->tiers[st->tier].name);
		if (st->kind == PW_STEP_RULE) {
			const struct pw_gpolicy *g = &e->pols[st->policy];
			const struct pw_grule *r = &g->rules[d][st->rule];
			printf("%s %s[%u] %s (%s:%d)\n", g->display, dir_names[d],
			       r->index, pw_action_name(st->action), r->pos.file,
			       r->pos.line);
		} else {
			pw_buf_reset(&b);
			applied_in_tier(e, self, d, st->tier, &b);
			printf("%s; no rule matched: end of tier, %s\n", b.s,
			       pw_action_name(st->action));
		}
	}
	if (wd->truncated)
		printf("  (more Log steps not shown)\n");
	pw_buf_release(&b);
}

static struct doc *doc_dir(const struct cli_world *w, const struct pw_engine *e,
			   enum pw_dir d, const struct pw_ep *self,
			   const struct pw_why_dir *wd)
{
	struct pw_buf b;
	pw_buf_init(&b);
	struct doc *o = doc_obj();
	doc_add(o, "endpoint", doc_str(ep_name(w, self, &b)));
	doc_add(o, "governed", doc_bool(wd->governed));
	doc_add(o, "verdict", doc_str(wd->allowed ? "ALLOW" : "DENY"));
	struct doc *path = doc_add(o, "path", doc_arr());
	for (uint32_t i = 0; i < wd->nsteps; i++) {
		const struct pw_step *st = &wd->steps[i];
		struct doc *x = doc_add(path, NULL, doc_obj());
		if (st->kind == PW_STEP_PROFILE) {
			doc_add(x, "step", doc_str("profile"));
			doc_add(x, "action", doc_str("Allow"));
			continue;
		}
		doc_add(x, "step", doc_str(st->kind == PW_STEP_RULE ? "rule" : "end-of-tier"));
		doc_add(x, "tier", doc_str(e->tiers[st->tier].name));
		if (st->kind == PW_STEP_RULE) {
			const struct pw_gpolicy *g = &e->pols[st->policy];
			const struct pw_grule *r = &g->rules[d][st->rule];
			doc_add(x, "policy", doc_str(g->display));
			doc_add(x, "rule", doc_int(r->index));
			doc_add(x, "file", doc_str(r->pos.file));
			doc_add(x, "line", doc_int(r->pos.line));
		} else {
			struct doc *ap = doc_add(x, "applied", doc_arr());
			uint32_t n;
			const uint32_t *v = pw_engine_applicable(e, (uint32_t)self->pod, d, &n);
			for (uint32_t k = 0; k < n; k++) {
				const struct pw_gpolicy *g = &e->pols[v[k]];
				if (g->tier != st->tier)
					continue;
				struct doc *y = doc_add(ap, NULL, doc_obj());
				doc_add(y, "policy", doc_str(g->display));
				doc_add(y, "file", doc_str(g->pos.file));
				doc_add(y, "line", doc_int(g->pos.line));
			}
		}
		doc_add(x, "action", doc_str(pw_action_name(st->action)));
	}
	pw_buf_release(&b);
	return o;
}

/* A workload is allowed only if every replica pair is; the shown pair is
   the first denied one, or the first. */
struct outcome {
	bool allowed;
	struct pw_verdict v;
	int si, di;
};

/* The verdict of each pair comes from the matrix where it answers; the
   explanation from the per-connection walk, which must agree.  Returns -1
   (after saying so) if they do not: a bug. */
static int decide(const struct pw_engine *e, const struct pw_reach *r,
		  const struct pw_ep *s, int ns, const struct pw_ep *d, int nd,
		  const struct pw_query *q, struct outcome *o)
{
	struct pw_verdict v;
	o->allowed = true;
	o->si = o->di = 0;
	for (int i = 0; i < ns; i++)
		for (int k = 0; k < nd; k++) {
			pw_engine_eval(e, &s[i], &d[k], q, &v);
			int fast = r ? pw_reach_allowed(r, &s[i], &d[k], q) : -1;
			if (fast >= 0 && fast != (int)v.allowed) {
				cli_error("internal error: the matrix says %s, the rule walk %s (please report)",
					  fast ? "ALLOW" : "DENY", v.allowed ? "ALLOW" : "DENY");
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

static void text_outcome(const struct cli_world *w, const struct pw_engine *e,
			 const struct outcome *o, const struct pw_ep *s,
			 const struct pw_ep *d)
{
	if (o->v.self) {
		printf("a pod can always reach itself: no policy applies\n");
		return;
	}
	text_dir(w, e, PW_EGRESS, &s[o->si], &o->v.dir[PW_EGRESS]);
	text_dir(w, e, PW_INGRESS, &d[o->di], &o->v.dir[PW_INGRESS]);
}

static struct doc *doc_outcome(struct doc *r, const struct cli_world *w,
			       const struct pw_engine *e, const struct outcome *o,
			       const struct pw_ep *s, const struct pw_ep *d)
{
	doc_add(r, "verdict", doc_str(o->allowed ? "ALLOW" : "DENY"));
	doc_add(r, "self", doc_bool(o->v.self));
	doc_add(r, "egress", doc_dir(w, e, PW_EGRESS, &s[o->si], &o->v.dir[PW_EGRESS]));
	doc_add(r, "ingress", doc_dir(w, e, PW_INGRESS, &d[o->di], &o->v.dir[PW_INGRESS]));
	return r;
}

/*
 * A named port, NAME or PROTO/NAME, resolved as the policies resolve one:
 * against the destination pod's containerPorts (name, and protocol when
 * given, must agree).  NULL, or why not.
 */
static const char *named_port(const struct cli_world *w, const char *spec,
			      const struct pw_ep *d, int nd, struct pw_query *q)
{
	const char *slash = strchr(spec, '/');
	const char *name = slash ? slash + 1 : spec;
	int proto = -1;
	if (slash) {
		char p[16];
		size_t n = (size_t)(slash - spec);
		if (n >= sizeof(p))
			return "want PROTO/N (e.g. TCP/80, UDP/53, ICMP/8) or a port name";
		memcpy(p, spec, n);
		p[n] = 0;
		if ((proto = pw_proto_parse(p)) < 0)
			return "want PROTO/N (e.g. TCP/80, UDP/53, ICMP/8) or a port name";
	}
	if (pw_port_name_invalid(name))
		return "want PROTO/N (e.g. TCP/80, UDP/53, ICMP/8) or a port name";
	for (int i = 0; i < nd; i++) {
		if (d[i].pod < 0)
			return "a named port needs a pod as the destination";
		const struct pw_pod *p = &w->c.pods[d[i].pod];
		const struct pw_cport *cp = NULL;
		for (uint32_t k = 0; k < p->nports && !cp; k++)
			if (p->ports[k].name && !strcmp(p->ports[k].name, name) &&
			    (proto < 0 || p->ports[k].proto == proto))
				cp = &p->ports[k];
		if (!cp)
			return "the destination has no container port of that name";
		struct pw_query x = pw_query_port(cp->proto, cp->port);
		if (i && (x.ipproto != q->ipproto || x.port != q->port))
			return "the destination's pods give that name different ports";
		*q = x;
	}
	return NULL;
}

/* "dev/nginx-svc (ClusterIP 10.96.0.20)" */
static const char *svc_name(const struct cli_world *w,
			    const struct pw_service *svc, struct pw_buf *b)
{
	pw_buf_reset(b);
	pw_buf_printf(b, "%s/%s (%s%s", w->c.nss[svc->ns].name, svc->name,
		      svc->headless ? "headless " : "", pw_service_type_name(svc->type));
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

/*
 * A connection to a Service: decided on every backend after kube-proxy's
 * translation (lib/service.h); the explanation is that of the first
 * backend denied.
 */
static int eval_service(struct cli_world *w, const struct cli_opts *o,
			const char *src, const char *dst,
			const struct pw_service *svc, const struct pw_query *q)
{
	struct pw_ep *s = NULL;
	const char *why_s;
	int ns = cli_resolve(w, src, o->ns, false, &s, &why_s);
	if (ns <= 0 || cli_service(w, src, o->ns)) {
		if (ns < 0)
			cli_error("--src %s: %s", cli_q(src), why_s);
		else
			cli_error(!ns ? "unknown endpoint %s (want ns/name of a pod or workload, an IP address or a DNS name)"
				      : "a Service cannot be a source: %s (give a pod or workload)",
				  cli_q(src));
		free(s);
		return EXIT_USAGE;
	}
	struct pw_svc_answer *a, *sa = NULL;
	size_t n, sn = 0;
	const char *why, *swhy = NULL;
	int ok = pw_service_eval(&w->e, w->reach, s, ns, svc, q, &a, &n, &why);
	int sok = w->staged ? pw_service_eval(w->staged, w->staged_reach, s, ns,
					      svc, q, &sa, &sn, &swhy) : ok;
	if (ok < 0) {
		cli_error("a Service carries TCP, UDP or SCTP: %s has no port", cli_q(dst));
		free(s);
		return EXIT_USAGE;
	}
	char qs[32];
	pw_query_format(q, qs);
	struct pw_buf b, nb;
	pw_buf_init(&b);
	pw_buf_init(&nb);
	/* the first backend denied, explained */
	struct outcome en;
	struct pw_ep bep = { -1, { 0 }, NULL };
	const struct pw_svc_answer *den = NULL;
	for (size_t i = 0; i < n && !den; i++)
		if (!a[i].allowed)
			den = &a[i];
	int rc = 0;
	if (den) {
		struct pw_query bq = *q;
		bq.port = den->b.port;
		bep = pw_backend_ep(&w->c, &den->b);
		if (decide(&w->e, w->reach, s, ns, &bep, 1, &bq, &en) < 0)
			rc = EXIT_USAGE;
	}
	const char *out = o->output ? o->output : "table";
	if (rc) {
		/* an internal error, already said */
	} else if (!strcmp(out, "table")) {
		printf("%s\n", ok ? "ALLOW" : "DENY");
		printf("%s from %s to Service %s\n", qs, src, svc_name(w, svc, &b));
		if (why)
			printf("%s\n", why);
		else
			printf("after kube-proxy's translation, to each of %zu backend%s (allowed only if every one is):\n",
			       n, n == 1 ? "" : "s");
		for (size_t i = 0; i < n; i++) {
			struct pw_ep d = pw_backend_ep(&w->c, &a[i].b);
			char ad[48] = "";
			if (a[i].b.addr.family)
				pw_addr_format(&a[i].b.addr, ad);
			printf("  %s%s%s%s %s/%d: %s\n", ep_name(w, &d, &nb),
			       d.pod >= 0 && ad[0] ? " (" : "", d.pod >= 0 ? ad : "",
			       d.pod >= 0 && ad[0] ? ")" : "",
			       pw_proto_name(a[i].b.proto), a[i].b.port,
			       a[i].allowed ? "ALLOW" : "DENY");
		}
		if (den) {
			printf("denied at backend %s:\n", ep_name(w, &bep, &nb));
			text_outcome(w, &w->e, &en, s, &bep);
		}
		if (w->staged)
			printf("\nstaged: %s (if the staged policies were enforced)%s%s\n",
			       sok ? "ALLOW" : "DENY", swhy ? ": " : "", swhy ? swhy : "");
	} else {
		struct doc *r = doc_obj();
		doc_add(r, "src", doc_str(src));
		doc_add(r, "dst", doc_str(dst));
		doc_add(r, "query", doc_str(qs));
		doc_add(r, "verdict", doc_str(ok ? "ALLOW" : "DENY"));
		struct doc *sd = doc_add(r, "service", doc_obj());
		doc_add(sd, "namespace", doc_str(w->c.nss[svc->ns].name));
		doc_add(sd, "name", doc_str(svc->name));
		doc_add(sd, "type", doc_str(pw_service_type_name(svc->type)));
		doc_add(sd, "headless", doc_bool(svc->headless));
		if (why)
			doc_add(r, "reason", doc_str(why));
		struct doc *bd = doc_add(r, "backends", doc_arr());
		for (size_t i = 0; i < n; i++) {
			struct pw_ep d = pw_backend_ep(&w->c, &a[i].b);
			struct doc *x = doc_add(bd, NULL, doc_obj());
			doc_add(x, "endpoint", doc_str(ep_name(w, &d, &nb)));
			char pq[32];
			snprintf(pq, sizeof(pq), "%s/%d", pw_proto_name(a[i].b.proto), a[i].b.port);
			doc_add(x, "port", doc_str(pq));
			doc_add(x, "verdict", doc_str(a[i].allowed ? "ALLOW" : "DENY"));
		}
		if (den)
			doc_outcome(doc_add(r, "denied", doc_obj()), w, &w->e, &en, s, &bep);
		if (w->staged)
			doc_add(r, "staged", doc_str(sok ? "ALLOW" : "DENY"));
		doc_print(r, out, stdout);
		doc_free(r);
	}
	pw_buf_release(&b);
	pw_buf_release(&nb);
	free(a);
	free(sa);
	free(s);
	return rc ? rc : ok ? 0 : EXIT_FINDINGS;
}

static int eval_one(struct cli_world *w, const struct cli_opts *o,
		    const char *src, const char *dst, const char *portspec)
{
	struct pw_query q;
	if (cli_service(w, src, o->ns)) {
		cli_error("a Service cannot be a source: %s (give a pod or workload)",
			  cli_q(src));
		return EXIT_USAGE;
	}
	const struct pw_service *svc = cli_service(w, dst, o->ns);
	if (svc) {
		if (pw_query_parse(portspec, &q) < 0) {
			cli_error("invalid --port %s (want PROTO/N, e.g. TCP/80, UDP/53, ICMP/8)",
				  cli_q(portspec));
			return EXIT_USAGE;
		}
		return eval_service(w, o, src, dst, svc, &q);
	}
	struct pw_ep *s = NULL, *d = NULL;
	const char *why_s, *why_d, *why_p = NULL;
	int ns = cli_resolve(w, src, o->ns, false, &s, &why_s);
	int nd = cli_resolve(w, dst, o->ns, true, &d, &why_d);
	bool named = false;
	if (ns <= 0 || nd <= 0) {
		if (ns < 0 || nd < 0)
			cli_error("%s %s: %s", ns < 0 ? "--src" : "--dst",
				  cli_q(ns < 0 ? src : dst), ns < 0 ? why_s : why_d);
		else
			cli_error("unknown endpoint %s (want ns/name of a pod or workload, an IP address or a DNS name)",
				  cli_q(!ns ? src : dst));
	} else if (pw_query_parse(portspec, &q) < 0 &&
		   (why_p = named_port(w, portspec, d, nd, &q))) {
		cli_error("--port %s: %s", cli_q(portspec), why_p);
	} else {
		named = pw_query_parse(portspec, &q) < 0 &&
			!named_port(w, portspec, d, nd, &q);
	}
	if (ns <= 0 || nd <= 0 || why_p) {
		free(s);
		free(d);
		return EXIT_USAGE;
	}
	struct outcome en, st;
	if (decide(&w->e, w->reach, s, ns, d, nd, &q, &en) < 0 ||
	    (w->staged && decide(w->staged, w->staged_reach, s, ns, d, nd, &q, &st) < 0)) {
		free(s);
		free(d);
		return EXIT_USAGE;
	}
	char qf[32], qs[80];
	pw_query_format(&q, qf);
	if (named) /* TCP/8080 (http) */
		snprintf(qs, sizeof(qs), "%s (%s)", qf, strchr(portspec, '/')
				? strchr(portspec, '/') + 1 : portspec);
	else
		snprintf(qs, sizeof(qs), "%s", qf);
	const char *out = o->output ? o->output : "table";
	if (!strcmp(out, "table")) {
		printf("%s\n", en.allowed ? "ALLOW" : "DENY");
		printf("%s from %s to %s\n", qs, src, dst);
		if (ns > 1 || nd > 1)
			printf("(%d x %d replica pairs; showing %s)\n", ns, nd,
			       en.allowed ? "the first pair" : "the first denied pair");
		text_outcome(w, &w->e, &en, s, d);
		if (w->staged) {
			printf("\nstaged: %s (if the staged policies were enforced)\n",
			       st.allowed ? "ALLOW" : "DENY");
			text_outcome(w, w->staged, &st, s, d);
		}
	} else {
		struct doc *r = doc_obj();
		doc_add(r, "src", doc_str(src));
		doc_add(r, "dst", doc_str(dst));
		doc_add(r, "query", doc_str(qs));
		doc_outcome(r, w, &w->e, &en, s, d);
		if (w->staged)
			doc_outcome(doc_add(r, "staged", doc_obj()), w, w->staged,
				    &st, s, d);
		doc_print(r, out, stdout);
		doc_free(r);
	}
	free(s);
	free(d);
	return en.allowed ? 0 : EXIT_FINDINGS;
}

struct resolved {
	struct pw_ep *eps;
	int n; /* as cli_resolve() returns it; 1 for a Service */
	const char *why;
	const struct pw_service *svc; /* a Service (then n is 1, eps NULL) */
};

static struct resolved *batch_resolve(struct cli_world *w,
				      const struct cli_opts *o,
				      struct pw_strmap *cache,
				      struct pw_arena *a, const char *spec,
				      bool as_dst)
{
	struct resolved *r = pw_strmap_get(cache, spec);
	if (r)
		return r;
	r = pw_arena_alloc(a, sizeof(*r));
	memset(r, 0, sizeof(*r));
	if ((r->svc = cli_service(w, spec, o->ns))) {
		r->n = 1;
		pw_strmap_put(cache, pw_arena_strdup(a, spec), r);
		return r;
	}
	struct pw_ep *eps;
	r->n = cli_resolve(w, spec, o->ns, as_dst, &eps, &r->why);
	if (r->n > 0) {
		r->eps = pw_arena_alloc(a, (size_t)r->n * sizeof(*eps));
		memcpy(r->eps, eps, (size_t)r->n * sizeof(*eps));
	}
	free(eps);
	pw_strmap_put(cache, pw_arena_strdup(a, spec), r);
	return r;
}

static bool is_verdict(const char *s)
{
	return !strcasecmp(s, "allow") || !strcasecmp(s, "deny");
}

/* The fast engine where it answers (TCP/UDP/SCTP between pods and
   addresses), else the per-connection evaluation. */
static bool batch_allowed(const struct pw_engine *e, const struct pw_reach *r,
			  const struct resolved *s, const struct resolved *d,
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

static int eval_batch(struct cli_world *w, const struct cli_opts *o,
		      const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		cli_error("cannot open %s: %s", cli_q(path), strerror(errno));
		return EXIT_USAGE;
	}
	const char *name = strcmp(path, "-") ? path : "<stdin>";
	struct pw_strmap cache[2]; /* sources, destinations */
	struct pw_arena a;
	pw_strmap_init(&cache[0]);
	pw_strmap_init(&cache[1]);
	pw_arena_init(&a);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = 0;
	static char obuf[1 << 16];
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		char *save, *fv[6];
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		int nf = 0;
		for (char *t = strtok_r(p, " \t", &save); t && nf < 6;
		     t = strtok_r(NULL, " \t", &save))
			fv[nf++] = t;
		char *f1 = fv[0], *f2 = fv[1], *f3 = fv[2];
		struct pw_query q;
		if (nf < 3 || nf > 5) {
			fprintf(stderr, "%s:%ld: error: want 'SRC DST PROTO/PORT' (and at most two expected verdicts), not %s%d field%s\n",
				name, lineno, nf > 5 ? "more than " : "", nf > 5 ? 5 : nf,
				nf == 1 ? "" : "s");
			rc = EXIT_USAGE;
			continue;
		}
		if ((nf > 3 && !is_verdict(fv[3])) || (nf > 4 && !is_verdict(fv[4]))) {
			fprintf(stderr, "%s:%ld: error: field %d is %s: after 'SRC DST PROTO/PORT' only expected verdicts (ALLOW or DENY, ignored) may follow\n",
				name, lineno, !is_verdict(fv[3]) ? 4 : 5,
				cli_q(!is_verdict(fv[3]) ? fv[3] : fv[4]));
			rc = EXIT_USAGE;
			continue;
		}
		bool numeric = pw_query_parse(f3, &q) == 0;
		if (!numeric && pw_port_name_invalid(strchr(f3, '/') ? strchr(f3, '/') + 1 : f3)) {
			fprintf(stderr, "%s:%ld: error: invalid port %s (want PROTO/N, e.g. TCP/80, or a port name)\n",
				name, lineno, cli_q(f3));
			rc = EXIT_USAGE;
			continue;
		}
		struct resolved *s = batch_resolve(w, o, &cache[0], &a, f1, false);
		struct resolved *d = batch_resolve(w, o, &cache[1], &a, f2, true);
		if (s->svc) {
			fprintf(stderr, "%s:%ld: error: a Service cannot be a source: %s\n",
				name, lineno, cli_q(f1));
			printf("%s %s %s ERROR\n", f1, f2, f3);
			rc = EXIT_USAGE;
			continue;
		}
		if (s->n <= 0 || d->n <= 0) {
			if (s->n < 0 || d->n < 0)
				fprintf(stderr, "%s:%ld: error: %s %s: %s\n", name, lineno,
					s->n < 0 ? "source" : "destination",
					cli_q(s->n < 0 ? f1 : f2), s->n < 0 ? s->why : d->why);
			else
				fprintf(stderr, "%s:%ld: error: unknown endpoint %s\n",
					name, lineno, cli_q(s->n ? f2 : f1));
			printf("%s %s %s ERROR\n", f1, f2, f3);
			rc = EXIT_USAGE;
			continue;
		}
		const char *why_p;
		if (!numeric && (why_p = d->svc ? "a named port needs a pod as the destination"
					     : named_port(w, f3, d->eps, d->n, &q))) {
			fprintf(stderr, "%s:%ld: error: port %s: %s\n", name, lineno,
				cli_q(f3), why_p);
			printf("%s %s %s ERROR\n", f1, f2, f3);
			rc = EXIT_USAGE;
			continue;
		}
		bool ok = batch_allowed(&w->e, w->reach, s, d, &q);
		if (w->staged)
			printf("%s %s %s %s %s\n", f1, f2, f3, ok ? "ALLOW" : "DENY",
			       batch_allowed(w->staged, w->staged_reach, s, d, &q)
				       ? "ALLOW" : "DENY");
		else
			printf("%s %s %s %s\n", f1, f2, f3, ok ? "ALLOW" : "DENY");
	}
	fflush(stdout);
	setvbuf(stdout, NULL, _IOLBF, 0);
	free(line);
	if (f != stdin)
		fclose(f);
	pw_strmap_release(&cache[0]);
	pw_strmap_release(&cache[1]);
	pw_arena_release(&a);
	return rc;
}

struct eval_args {
	const char *src, *dst, *port, *batch;
};

static int eval_opt(void *ctx, int argc, char **argv, int *i)
{
	struct eval_args *ea = ctx;
	int err = 0;
	const char *v;
	if ((v = cli_optval(argc, argv, i, NULL, "--src", &err)))
		ea->src = v;
	else if (!err && (v = cli_optval(argc, argv, i, NULL, "--dst", &err)))
		ea->dst = v;
	else if (!err && (v = cli_optval(argc, argv, i, "-p", "--port", &err)))
		ea->port = v;
	else if (!err && (v = cli_optval(argc, argv, i, NULL, "--batch", &err)))
		ea->batch = v;
	return err ? -1 : v ? 1 : 0;
}

int cmd_eval(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	const char *src = NULL, *dst = NULL, *port = NULL, *batch = NULL;
	int rc = EXIT_USAGE;
	struct eval_args ea = { NULL, NULL, NULL, NULL };
	int parsed = cli_parse("eval", eval_usage, argc, argv, &o, eval_opt, &ea);
	if (parsed) {
		rc = parsed > 0 ? 0 : EXIT_USAGE;
		goto out;
	}
	src = ea.src;
	dst = ea.dst;
	port = ea.port;
	batch = ea.batch;
	static const char *const outs[] = { "table", "json", "yaml", NULL };
	if (o.output && !cli_output_ok(o.output, outs)) {
		cli_error("eval: -o must be table, json or yaml");
		goto out;
	}
	if (!batch && (!src || !dst || !port)) {
		cli_error("eval: need --src, --dst and --port (or --batch)");
		fputs(eval_usage, stderr);
		goto out;
	}
	for (int i = 0; batch && !strcmp(batch, "-") && i < o.nfiles; i++)
		if (!strcmp(o.files[i], "-")) {
			cli_error("eval: -f - and --batch - cannot both read standard input");
			goto out;
		}
	/* verdicts from the matrix; one question is also explained by the
	   per-connection walk */
	o.reach = true;
	struct cli_world w;
	if (cli_world_load(&w, &o) < 0) {
		cli_world_release(&w);
		goto out;
	}
	rc = batch ? eval_batch(&w, &o, batch) : eval_one(&w, &o, src, dst, port);
	cli_world_release(&w);
out:
	cli_opts_release(&o);
	return rc;
}
