// SPDX-License-Identifier: Apache-2.0
/* Reports to records (lib/flow/aggr.h). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggr.h"

struct step_count {
	char *key; /* "reporter\x1fentry" */
	uint64_t packets, bytes, flows;
};

struct pw_flow_aggr {
	enum pw_flow_level level;
	int interval;
	int64_t started_at; /* of the interval; 0: nothing held */
	/* records of the interval, by their key */
	struct pw_flow *recs;
	char **keys;
	size_t n, cap;
	struct pw_strmap index; /* key -> index + 1 */
	/* (record, connection) pairs met in the interval (num_flows): an
	   open-addressing set of hashes, 0 free */
	uint64_t *seen;
	size_t nseen, seen_cap; /* cap: a power of two */
	/* the cluster the lookups were made for */
	uint64_t serial;
	struct addr_pod { uint32_t a, pod; } *byaddr;
	size_t nbyaddr;
	int32_t *group_of; /* per pod: its group, or -1 */
	/* per step */
	struct step_count *steps;
	size_t nsteps, steps_cap;
	struct pw_strmap step_index;
	struct pw_flow_aggr_stats st;
};

int pw_flow_level_parse(const char *s)
{
	if (!strcmp(s, "pod"))
		return PW_FLOW_PER_POD;
	if (!strcmp(s, "workload"))
		return PW_FLOW_PER_WORKLOAD;
	if (!strcmp(s, "namespace"))
		return PW_FLOW_PER_NS;
	return -1;
}

struct pw_flow_aggr *pw_flow_aggr_new(enum pw_flow_level level, int interval_s)
{
	struct pw_flow_aggr *a = pw_xcalloc(1, sizeof(*a));
	a->level = level;
	a->interval = interval_s > 0 ? interval_s : 15;
	pw_strmap_init(&a->index);
	pw_strmap_init(&a->step_index);
	return a;
}

static void clear_interval(struct pw_flow_aggr *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->keys[i]);
	a->n = 0;
	if (a->nseen)
		memset(a->seen, 0, a->seen_cap * sizeof(*a->seen));
	a->nseen = 0;
	pw_strmap_release(&a->index);
	pw_strmap_init(&a->index);
	a->started_at = 0;
}

void pw_flow_aggr_free(struct pw_flow_aggr *a)
{
	if (!a)
		return;
	clear_interval(a);
	pw_strmap_release(&a->index);
	free(a->recs);
	free(a->keys);
	free(a->seen);
	free(a->byaddr);
	free(a->group_of);
	for (size_t i = 0; i < a->nsteps; i++)
		free(a->steps[i].key);
	free(a->steps);
	pw_strmap_release(&a->step_index);
	free(a);
}

/* ---- naming the ends -------------------------------------------------- */

static int addr_cmp(const void *x, const void *y)
{
	const struct addr_pod *p = x, *q = y;
	return p->a < q->a ? -1 : p->a > q->a;
}

static uint32_t v4(const struct pw_addr *x)
{
	return (uint32_t)x->b[0] << 24 | (uint32_t)x->b[1] << 16 |
	       (uint32_t)x->b[2] << 8 | x->b[3];
}

static void index_cluster(struct pw_flow_aggr *a, const struct pw_engine *e)
{
	if (a->serial == e->serial && a->byaddr)
		return;
	const struct pw_cluster *c = e->c;
	a->serial = e->serial;
	free(a->byaddr);
	free(a->group_of);
	a->byaddr = pw_xmalloc((c->npods + 1) * sizeof(*a->byaddr));
	a->nbyaddr = 0;
	for (uint32_t p = 0; p < c->npods; p++)
		if (c->pods[p].naddrs && c->pods[p].addrs[0].family == 4 &&
		    !c->pods[p].host_network)
			a->byaddr[a->nbyaddr++] = (struct addr_pod){ v4(&c->pods[p].addrs[0]), p };
	qsort(a->byaddr, a->nbyaddr, sizeof(*a->byaddr), addr_cmp);
	a->group_of = pw_xmalloc((c->npods + 1) * sizeof(*a->group_of));
	for (uint32_t p = 0; p < c->npods; p++)
		a->group_of[p] = -1;
	for (uint32_t g = 0; g < c->ngroups; g++)
		for (uint32_t i = 0; i < c->groups[g].npods; i++)
			a->group_of[c->groups[g].pods[i]] = (int32_t)g;
}

static int pod_at(const struct pw_flow_aggr *a, const struct pw_addr *x)
{
	if (x->family != 4)
		return -1;
	struct addr_pod k = { v4(x), 0 };
	const struct addr_pod *f = bsearch(&k, a->byaddr, a->nbyaddr, sizeof(k), addr_cmp);
	return f ? (int)f->pod : -1;
}

static void copy(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s ? s : "");
}

static bool private_v4(uint32_t x)
{
	return (x >> 24) == 10 || (x >> 20) == (172u << 4 | 1) || (x >> 16) == (192u << 8 | 168);
}

/* An end as the level keeps it. */
static void name_end(struct pw_flow_aggr *a, const struct pw_engine *e,
		     const struct pw_addr *ip, int port, struct pw_flow_end *out)
{
	const struct pw_cluster *c = e->c;
	memset(out, 0, sizeof(*out));
	out->port = port;
	int pod = pod_at(a, ip);
	if (pod >= 0) {
		const struct pw_pod *p = &c->pods[pod];
		copy(out->type, sizeof(out->type), "wep");
		copy(out->ns, sizeof(out->ns), c->nss[p->ns].name);
		copy(out->name, sizeof(out->name), p->name);
		int32_t g = a->group_of[pod];
		if (g >= 0 && strcmp(c->groups[g].kind, "Pod"))
			snprintf(out->name_aggr, sizeof(out->name_aggr), "%s-*", c->groups[g].name);
		else
			copy(out->name_aggr, sizeof(out->name_aggr), p->name);
		size_t at = 0;
		for (uint32_t i = 0; i < p->labels.n && at < sizeof(out->labels); i++) {
			int w = snprintf(out->labels + at, sizeof(out->labels) - at, "%s%s=%s",
					 i ? "," : "", p->labels.v[i].key, p->labels.v[i].value);
			if (w < 0 || (size_t)w >= sizeof(out->labels) - at) {
				out->labels[at] = 0; /* what fits, whole labels only */
				break;
			}
			at += (size_t)w;
		}
		pw_addr_format(ip, out->ip);
	} else {
		/* the network set that holds it most narrowly */
		int best = -1, len = -1;
		for (uint32_t s = 0; s < c->nnetsets; s++)
			for (uint32_t i = 0; i < c->netsets[s].nnets; i++)
				if (pw_cidr_contains(&c->netsets[s].nets[i], ip) &&
				    c->netsets[s].nets[i].len > len) {
					best = (int)s;
					len = c->netsets[s].nets[i].len;
				}
		pw_addr_format(ip, out->ip);
		if (best >= 0) {
			const struct pw_netset *ns = &c->netsets[best];
			copy(out->type, sizeof(out->type), "ns");
			copy(out->ns, sizeof(out->ns), ns->ns >= 0 ? c->nss[ns->ns].name : "-");
			copy(out->name, sizeof(out->name), ns->name);
			copy(out->name_aggr, sizeof(out->name_aggr), ns->name);
		} else {
			copy(out->type, sizeof(out->type), "net");
			copy(out->ns, sizeof(out->ns), "-");
			copy(out->name, sizeof(out->name), "-");
			copy(out->name_aggr, sizeof(out->name_aggr),
			     ip->family == 4 && private_v4(v4(ip)) ? "pvt" : "pub");
		}
	}
	if (a->level >= PW_FLOW_PER_WORKLOAD && !strcmp(out->type, "wep")) {
		copy(out->name, sizeof(out->name), "-");
		out->ip[0] = 0;
	}
	if (a->level >= PW_FLOW_PER_WORKLOAD && strcmp(out->type, "wep"))
		out->ip[0] = 0; /* by network set, or pub/pvt */
	if (a->level == PW_FLOW_PER_NS && !strcmp(out->type, "wep")) {
		copy(out->name_aggr, sizeof(out->name_aggr), "-");
		out->labels[0] = 0;
	}
}

/* The Service a translated destination was reached through. */
static void name_service(const struct pw_engine *e, const struct pw_flow_ev *ev,
			 struct pw_flow *r)
{
	const struct pw_cluster *c = e->c;
	if (!memcmp(&ev->dst, &ev->to, sizeof(ev->dst)))
		return;
	for (uint32_t s = 0; s < c->nsvcs; s++)
		for (uint32_t v = 0; v < c->svcs[s].nvips; v++) {
			if (memcmp(&c->svcs[s].vips[v], &ev->dst, sizeof(ev->dst)))
				continue;
			copy(r->svc_ns, sizeof(r->svc_ns), c->nss[c->svcs[s].ns].name);
			copy(r->svc_name, sizeof(r->svc_name), c->svcs[s].name);
			r->svc_port_num = ev->dport;
			for (uint32_t p = 0; p < c->svcs[s].nports; p++)
				if (c->svcs[s].ports[p].port == ev->dport && c->svcs[s].ports[p].name)
					copy(r->svc_port_name, sizeof(r->svc_port_name),
					     c->svcs[s].ports[p].name);
			return;
		}
}

/* ---- the deciding steps --------------------------------------------------- */

static void entry_of(struct pw_flow_aggr *a, const struct pw_flow_ids *ids,
		     enum pw_dir dir, uint16_t id, enum pw_flow_action act,
		     char out[static PW_FLOW_POLICY])
{
	const char *en = ids ? pw_flow_ids_entry(ids, dir, id) : NULL;
	if (en) {
		copy(out, PW_FLOW_POLICY, en);
	} else {
		a->st.unattributed++;
		snprintf(out, PW_FLOW_POLICY, "unattributed|-|-|%s", act == PW_FLOW_DENY ? "deny" : "allow");
	}
}

/* What the staged policies would decide for the reporter's direction. */
static void pending_of(const struct pw_engine *staged, const struct pw_flow_ev *ev,
		       enum pw_dir dir, char out[static PW_FLOW_POLICY],
		       struct pw_flow_aggr *a)
{
	int sp = pod_at(a, &ev->src), dp = pod_at(a, &ev->to);
	struct pw_ep s = sp >= 0 ? pw_ep_pod(staged->c, (uint32_t)sp) : pw_ep_addr(&ev->src);
	struct pw_ep d = dp >= 0 ? pw_ep_pod(staged->c, (uint32_t)dp) : pw_ep_addr(&ev->to);
	struct pw_query q = { .ipproto = ev->proto, .port = ev->to_port > 0 ? ev->to_port : 0,
			      .icmp_type = PW_ANY, .icmp_code = PW_ANY };
	if (ev->proto == 1) {
		q.port = 0;
		q.icmp_type = ev->to_port;
	}
	struct pw_verdict v;
	pw_engine_eval(staged, &s, &d, &q, &v);
	const struct pw_why_dir *w = &v.dir[dir];
	int self = dir == PW_EGRESS ? sp : dp;
	if (!w->governed || self < 0)
		return;
	struct pw_buf b;
	pw_buf_init(&b);
	pw_flow_step_entry(staged, (uint32_t)self, dir,
			   w->nsteps ? &w->steps[w->nsteps - 1] : NULL, &b);
	copy(out, PW_FLOW_POLICY, b.s);
	pw_buf_release(&b);
}

static struct step_count *step(struct pw_flow_aggr *a, enum pw_flow_reporter rep,
			       const char *entry)
{
	char key[PW_FLOW_POLICY + 8];
	snprintf(key, sizeof(key), "%s\x1f%s", rep == PW_FLOW_SRC ? "src" : "dst", entry);
	void *v = pw_strmap_get(&a->step_index, key);
	if (v)
		return &a->steps[(uintptr_t)v - 1];
	if (a->nsteps == a->steps_cap) {
		/* keys move with the array: index again */
		a->steps_cap = a->steps_cap ? a->steps_cap * 2 : 64;
		a->steps = pw_xrealloc(a->steps, a->steps_cap * sizeof(*a->steps));
	}
	struct step_count *s = &a->steps[a->nsteps++];
	memset(s, 0, sizeof(*s));
	s->key = pw_xstrdup(key);
	pw_strmap_put(&a->step_index, s->key, (void *)(uintptr_t)a->nsteps);
	return s;
}

/* ---- records -------------------------------------------------------------- */

/* The network set that holds ip most narrowly, or -1. */
static int netset_of(const struct pw_cluster *c, const struct pw_addr *ip)
{
	int best = -1, len = -1;
	for (uint32_t s = 0; s < c->nnetsets; s++)
		for (uint32_t i = 0; i < c->netsets[s].nnets; i++)
			if (c->netsets[s].nets[i].len > len &&
			    pw_cidr_contains(&c->netsets[s].nets[i], ip)) {
				best = (int)s;
				len = c->netsets[s].nets[i].len;
			}
	return best;
}

/* What the level keeps of an end, compactly (the record's key). */
static void end_key(const struct pw_flow_aggr *a, const struct pw_cluster *c,
		    const struct pw_addr *ip, struct pw_buf *k)
{
	int pod = pod_at(a, ip);
	char as[48];
	if (pod >= 0) {
		int32_t g = a->group_of[pod];
		if (a->level == PW_FLOW_PER_NS)
			pw_buf_printf(k, "n%u|", c->pods[pod].ns);
		else if (a->level == PW_FLOW_PER_WORKLOAD && g >= 0 &&
			 strcmp(c->groups[g].kind, "Pod"))
			pw_buf_printf(k, "g%d|", g);
		else
			pw_buf_printf(k, "p%d|", pod);
		return;
	}
	if (a->level >= PW_FLOW_PER_WORKLOAD) {
		int ns = netset_of(c, ip);
		if (ns >= 0)
			pw_buf_printf(k, "s%d|", ns);
		else
			pw_buf_printf(k, "x%d|", ip->family == 4 && private_v4(v4(ip)));
		return;
	}
	pw_addr_format(ip, as);
	pw_buf_printf(k, "a%s|", as);
}

/*
 * The record r belongs to, by the compact key of what the level keeps (the
 * ends, the port, the protocol, the deciding step, the Service); made
 * with make() when the interval has none yet.
 */
static struct pw_flow *record(struct pw_flow_aggr *a, const struct pw_engine *e,
			      const struct pw_flow_ev *ev, enum pw_dir dir, uint16_t id,
			      const char *pending, size_t *idx, bool *made)
{
	struct pw_buf k;
	pw_buf_init(&k);
	pw_buf_printf(&k, "%d|%d|%d|%d|%u|", ev->kind == PW_FEV_DENY, dir, ev->proto,
		      ev->to_port, id);
	end_key(a, e->c, &ev->src, &k);
	end_key(a, e->c, &ev->to, &k);
	if (memcmp(&ev->dst, &ev->to, sizeof(ev->dst))) {
		char as[48];
		pw_addr_format(&ev->dst, as);
		pw_buf_printf(&k, "v%s:%d|", as, ev->dport);
	}
	pw_buf_puts(&k, pending ? pending : "");
	void *v = pw_strmap_get(&a->index, k.s);
	*made = false;
	if (v) {
		pw_buf_release(&k);
		*idx = (uintptr_t)v - 1;
		return &a->recs[*idx];
	}
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->recs = pw_xrealloc(a->recs, a->cap * sizeof(*a->recs));
		a->keys = pw_xrealloc(a->keys, a->cap * sizeof(*a->keys));
	}
	*idx = a->n;
	*made = true;
	a->keys[a->n] = k.s; /* owned */
	pw_strmap_put(&a->index, a->keys[a->n], (void *)(uintptr_t)(a->n + 1));
	return &a->recs[a->n++];
}

/* Counts flow f once per record. */
static bool first_time(struct pw_flow_aggr *a, size_t idx, const char *f)
{
	uint64_t h = pw_hash_bytes(f, strlen(f), idx) | 1; /* 0: a free slot */
	if (2 * (a->nseen + 1) > a->seen_cap) {
		size_t cap = a->seen_cap ? a->seen_cap * 2 : 1024;
		uint64_t *v = pw_xcalloc(cap, sizeof(*v));
		for (size_t i = 0; i < a->seen_cap; i++)
			if (a->seen[i]) {
				size_t j = a->seen[i] & (cap - 1);
				while (v[j])
					j = (j + 1) & (cap - 1);
				v[j] = a->seen[i];
			}
		free(a->seen);
		a->seen = v;
		a->seen_cap = cap;
	}
	size_t j = h & (a->seen_cap - 1);
	while (a->seen[j]) {
		if (a->seen[j] == h)
			return false;
		j = (j + 1) & (a->seen_cap - 1);
	}
	a->seen[j] = h;
	a->nseen++;
	return true;
}

static void add_side(struct pw_flow_aggr *a, const struct pw_engine *e,
		     const struct pw_engine *staged, const struct pw_flow_ids *ids,
		     const struct pw_flow_ev *ev, enum pw_dir dir, uint16_t id)
{
	enum pw_flow_action action = ev->kind == PW_FEV_DENY ? PW_FLOW_DENY : PW_FLOW_ALLOW;
	enum pw_flow_reporter reporter = dir == PW_EGRESS ? PW_FLOW_SRC : PW_FLOW_DST;
	/* what the staged policies would decide: asked per report, and only
	   when there are staged policies */
	char pending[PW_FLOW_POLICY];
	pending[0] = 0;
	if (staged)
		pending_of(staged, ev, dir, pending, a);
	size_t idx;
	bool made;
	struct pw_flow *x = record(a, e, ev, dir, id, staged ? pending : NULL, &idx, &made);
	if (made) {
		struct pw_flow *r = x;
		memset(r, 0, offsetof(struct pw_flow, policies));
		r->start_time = r->end_time = ev->time;
		r->action = action;
		r->reporter = reporter;
		r->proto = ev->proto;
		name_end(a, e, &ev->src, -1, &r->src);
		name_end(a, e, &ev->to, ev->to_port, &r->dst);
		name_service(e, ev, r);
		entry_of(a, ids, dir, id, action, r->policies);
		copy(r->pending, sizeof(r->pending), staged ? pending : r->policies);
		r->num_flows = r->num_flows_started = r->num_flows_completed = 0;
		r->packets_in = r->packets_out = r->bytes_in = r->bytes_out = 0;
	}
	if (ev->time < x->start_time)
		x->start_time = ev->time;
	if (ev->time > x->end_time)
		x->end_time = ev->time;
	char f[160], sa[48], da[48];
	pw_addr_format(&ev->src, sa);
	pw_addr_format(&ev->dst, da);
	if (ev->kind == PW_FEV_DENY)
		snprintf(f, sizeof(f), "%d %s %d %s %d", ev->proto, sa, ev->sport, da, ev->dport);
	else
		snprintf(f, sizeof(f), "ct %u %s %d", ev->ct_id, sa, ev->sport);
	bool fresh = first_time(a, idx, f);
	if (fresh)
		x->num_flows++;
	/* "in" and "out" from the reporter's endpoint */
	int out = reporter == PW_FLOW_SRC ? 0 : 1, in = 1 - out;
	struct step_count *s = step(a, reporter, x->policies);
	switch (ev->kind) {
	case PW_FEV_DENY:
		if (reporter == PW_FLOW_SRC) {
			x->packets_out += ev->packets[0];
			x->bytes_out += ev->bytes[0];
		} else {
			x->packets_in += ev->packets[0];
			x->bytes_in += ev->bytes[0];
		}
		s->packets += ev->packets[0];
		s->bytes += ev->bytes[0];
		if (fresh)
			s->flows++;
		break;
	case PW_FEV_NEW:
		x->num_flows_started++;
		s->flows++;
		break;
	case PW_FEV_END:
		x->num_flows_completed++;
		x->packets_out += ev->packets[out];
		x->bytes_out += ev->bytes[out];
		x->packets_in += ev->packets[in];
		x->bytes_in += ev->bytes[in];
		s->packets += ev->packets[0] + ev->packets[1];
		s->bytes += ev->bytes[0] + ev->bytes[1];
		break;
	}
}

void pw_flow_aggr_add(struct pw_flow_aggr *a, const struct pw_engine *e,
		      const struct pw_engine *staged, const struct pw_flow_ids *ids,
		      const struct pw_flow_ev *ev)
{
	index_cluster(a, e);
	a->st.events++;
	if (!a->started_at)
		a->started_at = ev->time;
	switch (ev->kind) {
	case PW_FEV_DENY:
		a->st.denied++;
		add_side(a, e, staged, ids, ev, ev->dir, ev->id);
		return;
	case PW_FEV_NEW:
		a->st.started++;
		break;
	case PW_FEV_END:
		a->st.completed++;
		break;
	}
	if (ev->eg_id)
		add_side(a, e, staged, ids, ev, PW_EGRESS, ev->eg_id);
	if (ev->in_id)
		add_side(a, e, staged, ids, ev, PW_INGRESS, ev->in_id);
}

int pw_flow_aggr_due_in(const struct pw_flow_aggr *a, int64_t now)
{
	if (a->n >= PW_FLOW_AGGR_MAX)
		return 0; /* memory is bounded: flush early */
	if (!a->started_at)
		return a->interval;
	int64_t left = a->started_at + a->interval - now;
	return left > 0 ? (int)left : 0;
}

size_t pw_flow_aggr_flush(struct pw_flow_aggr *a, int64_t now, bool force,
			  const struct pw_flow **out)
{
	*out = NULL;
	if (!a->n || (!force && pw_flow_aggr_due_in(a, now) > 0)) {
		if (!a->n)
			a->started_at = 0;
		return 0;
	}
	size_t n = a->n;
	*out = a->recs; /* kept, with its room, for the next interval */
	a->st.records += n;
	clear_interval(a);
	return n;
}

void pw_flow_aggr_stats(const struct pw_flow_aggr *a, struct pw_flow_aggr_stats *s)
{
	*s = a->st;
}

/* A label value as the text format wants it. */
static void label_value(struct pw_buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++) {
		if (s[i] == '\\' || s[i] == '"')
			pw_buf_putc(out, '\\');
		pw_buf_putc(out, s[i]);
	}
}

void pw_flow_aggr_metrics(const struct pw_flow_aggr *a, struct pw_buf *out)
{
	static const char *const what[] = { "packets", "bytes", "flows" };
	for (int w = 0; w < 3; w++) {
		pw_buf_printf(out, "# HELP podwall_policy_%s_total %s decided by each step "
			      "(tier, policy, rule, action) at each reporter%s\n", what[w],
			      w == 2 ? "Connections (allowed) and distinct denied 5-tuples"
				     : w ? "Bytes" : "Packets",
			      w < 2 ? "; allowed connections count when they end" : "");
		pw_buf_printf(out, "# TYPE podwall_policy_%s_total counter\n", what[w]);
		for (size_t i = 0; i < a->nsteps; i++) {
			const struct step_count *s = &a->steps[i];
			const char *sep = strchr(s->key, '\x1f');
			const char *f[4] = { 0 };
			size_t fl[4] = { 0 };
			const char *p = sep + 1;
			for (int j = 0; j < 4 && p; j++) {
				const char *bar = j < 3 ? strchr(p, '|') : NULL;
				f[j] = p;
				fl[j] = bar ? (size_t)(bar - p) : strlen(p);
				p = bar ? bar + 1 : NULL;
			}
			pw_buf_printf(out, "podwall_policy_%s_total{reporter=\"%.*s\",tier=\"",
				      what[w], (int)(sep - s->key), s->key);
			label_value(out, f[0] ? f[0] : "", fl[0]);
			pw_buf_puts(out, "\",policy=\"");
			label_value(out, f[1] ? f[1] : "", fl[1]);
			pw_buf_puts(out, "\",rule=\"");
			label_value(out, f[2] ? f[2] : "", fl[2]);
			pw_buf_puts(out, "\",action=\"");
			label_value(out, f[3] ? f[3] : "", fl[3]);
			pw_buf_printf(out, "\"} %llu\n",
				      (unsigned long long)(w == 0 ? s->packets
							   : w == 1 ? s->bytes : s->flows));
		}
	}
	const struct pw_flow_aggr_stats *st = &a->st;
	pw_buf_printf(out,
		      "# HELP podwall_flow_events_total Reports read from the kernel, by kind\n"
		      "# TYPE podwall_flow_events_total counter\n"
		      "podwall_flow_events_total{kind=\"denied\"} %llu\n"
		      "podwall_flow_events_total{kind=\"started\"} %llu\n"
		      "podwall_flow_events_total{kind=\"completed\"} %llu\n"
		      "# HELP podwall_flows_started_total Allowed connections started\n"
		      "# TYPE podwall_flows_started_total counter\n"
		      "podwall_flows_started_total %llu\n"
		      "# HELP podwall_flows_completed_total Allowed connections completed\n"
		      "# TYPE podwall_flows_completed_total counter\n"
		      "podwall_flows_completed_total %llu\n"
		      "# HELP podwall_flow_unattributed_total Reports whose rule id named no step\n"
		      "# TYPE podwall_flow_unattributed_total counter\n"
		      "podwall_flow_unattributed_total %llu\n",
		      (unsigned long long)st->denied, (unsigned long long)st->started,
		      (unsigned long long)st->completed, (unsigned long long)st->started,
		      (unsigned long long)st->completed, (unsigned long long)st->unattributed);
}
