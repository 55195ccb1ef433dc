// SPDX-License-Identifier: Apache-2.0
#include "matrix-out.h"

#include <stdlib.h>
#include <string.h>

#include "pairs.h"
#include "service.h"

struct mx_ep {
	char *name;
	int group; /* -1: external or a Service */
	struct pw_addr addr;
	const struct pw_service *svc; /* services: a destination only */
};

/* Pairs the matrix says nothing of: two outside ends, a Service as the
   source */
static bool mx_na(const struct mx_ep *a, const struct mx_ep *b)
{
	return a->svc || (a->group < 0 && !a->svc && b->group < 0 && !b->svc);
}

struct mx_port {
	int proto;
	unsigned lo, hi; /* class [lo,hi]; lo is the representative */
};

static void mx_conns(const struct pw_view *v, const struct pw_engine *e,
		     const struct pw_reach *r, const struct mx_ep *a,
		     const struct mx_ep *b, struct pw_conns *out)
{
	const struct pw_cluster *c = v->c;
	if (!b->svc) {
		pw_pair_conns(c, e, r, a->group, &a->addr, b->group, &b->addr, out);
		return;
	}
	/* to a Service: through its backends, every replica of a */
	uint32_t n = a->group < 0 ? 1 : c->groups[a->group].npods;
	struct pw_ep *src = pw_xmalloc(n * sizeof(*src));
	for (uint32_t i = 0; i < n; i++)
		src[i] = a->group < 0 ? pw_ep_addr(&a->addr)
				      : pw_ep_pod(c, c->groups[a->group].pods[i]);
	pw_service_conns(e, r, src, (int)n, b->svc, out);
	free(src);
}

/* The endpoints, in order: groups, outside classes, Services. */
static size_t mx_endpoints(const struct pw_view *v,
			   const struct pw_matrix_req *q, struct mx_ep **out)
{
	const struct pw_cluster *c = v->c;
	int nsf = q->ns ? pw_cluster_find_ns(c, q->ns) : -2;
	struct pw_extclass *ext;
	const struct pw_engine *es[2] = { v->e, v->staged };
	size_t next = pw_ext_classes(es, v->staged ? 2 : 1, true, &ext);
	struct mx_ep *eps = pw_xcalloc(c->ngroups + next + c->nsvcs + 1,
				       sizeof(*eps));
	size_t n = 0;
	struct pw_buf b;
	pw_buf_init(&b);
	for (uint32_t i = 0; i < c->ngroups; i++) {
		if (nsf != -2 && (int)c->groups[i].ns != nsf)
			continue;
		pw_buf_reset(&b);
		eps[n].name = pw_xstrdup(pw_group_kind_name(c, &c->groups[i], &b));
		eps[n++].group = (int)i;
	}
	for (size_t i = 0; i < next; i++) {
		pw_buf_reset(&b);
		pw_buf_printf(&b, "%s[External]", ext[i].name);
		eps[n].name = pw_xstrdup(b.s);
		eps[n].group = -1;
		eps[n++].addr = ext[i].lo;
	}
	free(ext);
	for (uint32_t i = 0; q->services && i < c->nsvcs; i++) {
		const struct pw_service *sv = &c->svcs[i];
		if (nsf != -2 && (int)sv->ns != nsf)
			continue;
		pw_buf_reset(&b);
		pw_buf_printf(&b, "%s/%s[Service]", c->nss[sv->ns].name, sv->name);
		eps[n].name = pw_xstrdup(b.s);
		eps[n].group = -1;
		eps[n++].svc = sv;
	}
	pw_buf_release(&b);
	*out = eps;
	return n;
}

/* Port class boundaries: every start and end+1 of every rule port. */
static size_t port_classes(const struct pw_view *v, bool services,
			   struct mx_port **out)
{
	const struct pw_cluster *c = v->c;
	unsigned char *cut[PW_NPROTO];
	for (int p = 0; p < PW_NPROTO; p++) {
		cut[p] = pw_xcalloc(PW_PORT_MAX + 2, 1);
		cut[p][1] = 1;
	}
	pw_engine_port_cuts(v->e, cut);
	if (v->staged)
		pw_engine_port_cuts(v->staged, cut);
	for (uint32_t i = 0; services && i < c->nsvcs; i++)
		for (uint32_t k = 0; k < c->svcs[i].nports; k++) {
			const struct pw_svc_port *sp = &c->svcs[i].ports[k];
			cut[sp->proto][sp->port] = cut[sp->proto][sp->port + 1] = 1;
		}
	size_t n = 0, cap = 0;
	*out = NULL;
	for (int p = 0; p < PW_NPROTO; p++) {
		unsigned lo = 1;
		for (unsigned x = 2; x <= PW_PORT_MAX + 1; x++)
			if (x == PW_PORT_MAX + 1 || cut[p][x]) {
				if (n == cap) {
					cap = cap ? cap * 2 : 8;
					*out = pw_xrealloc(*out, cap * sizeof(**out));
				}
				(*out)[n++] = (struct mx_port){ p, lo, x - 1 };
				lo = x;
			}
		free(cut[p]);
	}
	return n;
}

/* csv, json and yaml of every pair's connections, one pair at a time */
static void write_stream(const struct pw_view *v, const struct pw_out *o,
			 enum pw_format fmt, const struct mx_ep *eps, size_t n)
{
	static const char *const keys[] = { "src", "dst", "allowed", "staged" };
	struct pw_conns a, z;
	struct pw_doc_stream ds;
	struct pw_buf b, *enc = NULL, v1, v2; /* names as scalars */
	bool csv = fmt == PW_FORMAT_CSV;
	pw_buf_init(&b);
	pw_buf_init(&v1);
	pw_buf_init(&v2);
	pw_conns_init(&a);
	pw_conns_init(&z);
	if (csv) {
		pw_out_puts(o, v->staged ? "src,dst,allowed,staged\n"
					 : "src,dst,allowed\n");
	} else {
		struct pw_doc *head = pw_doc_obj();
		struct pw_doc *ea = pw_doc_add(head, "endpoints", pw_doc_arr());
		for (size_t i = 0; i < n; i++)
			pw_doc_add(ea, NULL, pw_doc_str(eps[i].name));
		pw_doc_stream_begin(&ds, fmt, o, head, "cells");
		pw_doc_free(head);
		enc = pw_xcalloc(n + 1, sizeof(*enc));
		for (size_t i = 0; i < n; i++) {
			pw_buf_init(&enc[i]);
			pw_doc_stream_scalar(&ds, eps[i].name, &enc[i]);
		}
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < n; k++) {
			if (mx_na(&eps[i], &eps[k]))
				continue;
			mx_conns(v, v->e, v->reach, &eps[i], &eps[k], &a);
			if (v->staged)
				mx_conns(v, v->staged, v->staged_reach, &eps[i],
					 &eps[k], &z);
			pw_buf_reset(&b);
			pw_conns_format(&a, &b);
			if (csv) {
				pw_out_printf(o, "%s,%s,\"%s\"", eps[i].name,
					      eps[k].name, b.s);
				if (v->staged) {
					pw_buf_reset(&b);
					pw_conns_format(&z, &b);
					pw_out_printf(o, ",\"%s\"", b.s);
				}
				pw_out_putc(o, '\n');
				continue;
			}
			const char *vals[4] = { enc[i].s, enc[k].s, NULL, NULL };
			pw_doc_stream_scalar(&ds, b.s, &v1);
			vals[2] = v1.s;
			if (v->staged) {
				pw_buf_reset(&b);
				pw_conns_format(&z, &b);
				pw_doc_stream_scalar(&ds, b.s, &v2);
				vals[3] = v2.s;
			}
			pw_doc_stream_flat(&ds, keys, vals, v->staged ? 4 : 3);
		}
	if (!csv) {
		pw_doc_stream_end(&ds);
		for (size_t i = 0; i < n; i++)
			pw_buf_release(&enc[i]);
		free(enc);
	}
	pw_buf_release(&b);
	pw_buf_release(&v1);
	pw_buf_release(&v2);
	pw_conns_release(&a);
	pw_conns_release(&z);
}

/* One matrix of cells (a char per pair) as a table with a title. */
static void write_table(const struct pw_out *o, const struct mx_ep *eps,
			size_t n, const char *title, const unsigned char *cells)
{
	size_t wid = 3;
	for (size_t i = 0; i < n; i++)
		if (strlen(eps[i].name) > wid)
			wid = strlen(eps[i].name);
	pw_out_printf(o, "%s\n%*s", title, (int)wid + 6, "");
	for (size_t k = 0; k < n; k++)
		pw_out_printf(o, " %2zu", k + 1);
	pw_out_putc(o, '\n');
	for (size_t i = 0; i < n; i++) {
		if (eps[i].svc)
			continue; /* a Service is never a source */
		pw_out_printf(o, "  %2zu  %-*s", i + 1, (int)wid, eps[i].name);
		for (size_t k = 0; k < n; k++)
			pw_out_printf(o, "  %c", cells[i * n + k]);
		pw_out_putc(o, '\n');
	}
}

/* The matrices by port (class): a cell grid per port, '.' allowed, 'X'
   denied, with a staged view '-' allowed now but not staged, '+' the
   reverse, ' ' not applicable. */
struct grids {
	const struct mx_ep *eps;
	size_t n;
	const struct mx_port *ports;
	size_t nports;
	bool by_port, staged;
	struct pw_conns *cs; /* per pair */
	unsigned char *grid; /* nports * n * n */
	size_t *same;	     /* per port: the first port of equal grid */
};

static void write_tables(const struct grids *g, const struct pw_out *o)
{
	size_t n = g->n, nn = n * n;
	struct pw_conns label;
	struct pw_buf b;
	pw_conns_init(&label);
	pw_buf_init(&b);
	pw_out_puts(o, "Endpoints:\n");
	for (size_t i = 0; i < n; i++)
		pw_out_printf(o, "  %2zu  %s\n", i + 1, g->eps[i].name);
	for (size_t p = 0; p < g->nports; p++) {
		if (g->same[p] != p)
			continue;
		pw_conns_clear(&label);
		for (size_t q = p; q < g->nports; q++)
			if (g->same[q] == p)
				pw_conns_add(&label, g->ports[q].proto,
					     g->ports[q].lo, g->ports[q].hi);
		pw_buf_reset(&b);
		pw_buf_puts(&b, "\nPorts: ");
		if (g->by_port)
			pw_buf_printf(&b, "%s/%u", pw_proto_name(g->ports[p].proto),
				      g->ports[p].lo);
		else
			pw_conns_format(&label, &b);
		pw_buf_puts(&b, g->staged ? "   ('.' allowed, 'X' denied, '-' allowed now but denied if staged policies were enforced, '+' the reverse; rows: from, columns: to)"
					  : "   ('.' allowed, 'X' denied; rows: from, columns: to)");
		write_table(o, g->eps, n, b.s, &g->grid[p * nn]);
	}
	pw_conns_release(&label);
	pw_buf_release(&b);
}

static const char *now_name(char g)
{
	return g == '.' || g == '-' ? "allow" : "deny";
}

static const char *staged_name(char g)
{
	return g == '.' || g == '+' ? "allow" : "deny";
}

static void write_csv(const struct grids *g, const struct pw_out *o)
{
	size_t n = g->n, nn = n * n;
	pw_out_puts(o, g->staged ? "src,dst,port,verdict,staged\n"
				 : "src,dst,port,verdict\n");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < n; k++) {
			if (mx_na(&g->eps[i], &g->eps[k]))
				continue;
			for (size_t p = 0; p < g->nports; p++) {
				char c = (char)g->grid[p * nn + i * n + k];
				pw_out_printf(o, "%s,%s,%s/%u,%s", g->eps[i].name,
					      g->eps[k].name,
					      pw_proto_name(g->ports[p].proto),
					      g->ports[p].lo, now_name(c));
				if (g->staged)
					pw_out_printf(o, ",%s", staged_name(c));
				pw_out_putc(o, '\n');
			}
		}
}

static void write_md(const struct grids *g, const struct pw_out *o)
{
	size_t n = g->n, nn = n * n;
	struct pw_buf b;
	pw_buf_init(&b);
	pw_out_puts(o, "| from \\ to |");
	for (size_t k = 0; k < n; k++)
		pw_out_printf(o, " %s |", g->eps[k].name);
	pw_out_puts(o, "\n|---|");
	for (size_t k = 0; k < n; k++)
		pw_out_puts(o, "---|");
	pw_out_putc(o, '\n');
	for (size_t i = 0; i < n; i++) {
		pw_out_printf(o, "| %s |", g->eps[i].name);
		for (size_t k = 0; k < n; k++) {
			pw_buf_reset(&b);
			if (mx_na(&g->eps[i], &g->eps[k]))
				pw_buf_puts(&b, "");
			else if (g->by_port)
				for (size_t p = 0; p < g->nports; p++)
					pw_buf_printf(&b, "%s%s/%u %s", p ? ", " : "",
						      pw_proto_name(g->ports[p].proto),
						      g->ports[p].lo,
						      g->grid[p * nn + i * n + k] == '.'
							      ? "allow" : "deny");
			else
				pw_conns_format(&g->cs[i * n + k], &b);
			pw_out_printf(o, " %s |", b.len ? b.s : "");
		}
		pw_out_putc(o, '\n');
	}
	pw_buf_release(&b);
}

static void write_doc(const struct grids *g, enum pw_format fmt,
		      const struct pw_out *o)
{
	size_t n = g->n, nn = n * n;
	struct pw_doc *r = pw_doc_obj();
	struct pw_doc *ea = pw_doc_add(r, "endpoints", pw_doc_arr());
	for (size_t i = 0; i < n; i++)
		pw_doc_add(ea, NULL, pw_doc_str(g->eps[i].name));
	struct pw_doc *cells = pw_doc_add(r, "cells", pw_doc_arr());
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < n; k++) {
			if (mx_na(&g->eps[i], &g->eps[k]))
				continue;
			struct pw_doc *x = pw_doc_add(cells, NULL, pw_doc_obj());
			pw_doc_add(x, "src", pw_doc_str(g->eps[i].name));
			pw_doc_add(x, "dst", pw_doc_str(g->eps[k].name));
			struct pw_doc *vd = pw_doc_add(x, "verdicts", pw_doc_obj());
			for (size_t p = 0; p < g->nports; p++) {
				char key[16];
				snprintf(key, sizeof(key), "%s/%u",
					 pw_proto_name(g->ports[p].proto),
					 g->ports[p].lo);
				char c = (char)g->grid[p * nn + i * n + k];
				pw_doc_add(vd, key, pw_doc_str(now_name(c)));
				if (g->staged) {
					char key2[24];
					snprintf(key2, sizeof(key2), "%s staged", key);
					pw_doc_add(vd, key2, pw_doc_str(staged_name(c)));
				}
			}
		}
	pw_doc_write(r, fmt, o);
	pw_doc_free(r);
}

/* Every pair's connections, held; then a grid per port (class), classes
   with equal grids merged. */
static void write_grids(const struct pw_view *v, const struct pw_matrix_req *q,
			const struct pw_out *o, const struct mx_ep *eps,
			size_t n)
{
	struct mx_port *ports = NULL;
	size_t nports = q->nports, nn = n * n;
	struct pw_conns *ss = NULL;
	struct grids g = { eps, n, NULL, 0, q->nports > 0, v->staged != NULL,
			   NULL, NULL, NULL };
	g.cs = pw_xcalloc(nn + 1, sizeof(*g.cs));
	if (v->staged)
		ss = pw_xcalloc(nn + 1, sizeof(*ss));
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < n; k++)
			if (!mx_na(&eps[i], &eps[k])) {
				mx_conns(v, v->e, v->reach, &eps[i], &eps[k],
					 &g.cs[i * n + k]);
				if (ss)
					mx_conns(v, v->staged, v->staged_reach,
						 &eps[i], &eps[k], &ss[i * n + k]);
			}
	if (g.by_port) {
		ports = pw_xmalloc(nports * sizeof(*ports));
		for (size_t p = 0; p < nports; p++)
			ports[p] = (struct mx_port){ q->ports[p].proto,
						     q->ports[p].port,
						     q->ports[p].port };
	} else {
		nports = port_classes(v, q->services, &ports);
	}
	g.ports = ports;
	g.nports = nports;
	g.grid = pw_xmalloc(nports * nn + 1);
	for (size_t p = 0; p < nports; p++)
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < n; k++) {
				unsigned char *c = &g.grid[p * nn + i * n + k];
				if (mx_na(&eps[i], &eps[k])) {
					*c = ' ';
					continue;
				}
				bool now = pw_conns_has(&g.cs[i * n + k], ports[p].proto,
							ports[p].lo);
				bool then = ss ? pw_conns_has(&ss[i * n + k], ports[p].proto,
							      ports[p].lo) : now;
				*c = now == then ? (now ? '.' : 'X') : (now ? '-' : '+');
			}
	g.same = pw_xmalloc((nports + 1) * sizeof(*g.same));
	for (size_t p = 0; p < nports; p++) {
		g.same[p] = p;
		for (size_t r = 0; r < p && !g.by_port; r++)
			if (g.same[r] == r &&
			    !memcmp(&g.grid[p * nn], &g.grid[r * nn], nn)) {
				g.same[p] = r;
				break;
			}
	}
	if (q->fmt == PW_FORMAT_TABLE)
		write_tables(&g, o);
	else if (q->fmt == PW_FORMAT_CSV) /* by port; without, see write_stream */
		write_csv(&g, o);
	else if (q->fmt == PW_FORMAT_MD)
		write_md(&g, o);
	else
		write_doc(&g, q->fmt, o);
	for (size_t i = 0; i < nn; i++) {
		pw_conns_release(&g.cs[i]);
		if (ss)
			pw_conns_release(&ss[i]);
	}
	free(g.cs);
	free(ss);
	free(g.grid);
	free(g.same);
	free(ports);
}

int pw_matrix_write(const struct pw_view *v, const struct pw_matrix_req *q,
		    const struct pw_out *o, struct pw_buf *err)
{
	if ((unsigned)q->fmt > PW_FORMAT_MD) {
		pw_buf_puts(err, "matrix: -o must be table, csv, json, yaml or md");
		return -1;
	}
	struct mx_ep *eps;
	size_t n = mx_endpoints(v, q, &eps);
	if (!q->nports && (q->fmt == PW_FORMAT_CSV || q->fmt == PW_FORMAT_JSON ||
			   q->fmt == PW_FORMAT_YAML))
		write_stream(v, o, q->fmt, eps, n);
	else
		write_grids(v, q, o, eps, n);
	for (size_t i = 0; i < n; i++)
		free(eps[i].name);
	free(eps);
	return 0;
}
