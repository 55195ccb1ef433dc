// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <sys/resource.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("podwall: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

const char *cli_q(const char *s)
{
	static char ring[4][PW_QUOTE_SIZE];
	static unsigned next;
	return pw_quote(ring[next++ % 4], s);
}

const char *cli_optval(int argc, char **argv, int *i, const char *s,
		       const char *l, int *err)
{
	const char *a = argv[*i];
	size_t ln = l ? strlen(l) : 0;
	if (l && !strncmp(a, l, ln) && a[ln] == '=')
		return a + ln + 1;
	if ((s && !strcmp(a, s)) || (l && !strcmp(a, l))) {
		if (*i + 1 >= argc) {
			cli_error("option %s needs a value", cli_q(a));
			*err = 1;
			return NULL;
		}
		return argv[++*i];
	}
	/* -fFILE */
	if (s && s[1] && !s[2] && !strncmp(a, s, 2) && a[2])
		return a + 2;
	return NULL;
}

int cli_common_opt(struct cli_opts *o, int argc, char **argv, int *i)
{
	int err = 0;
	const char *v;
	if ((v = cli_optval(argc, argv, i, "-f", "--filename", &err))) {
		o->files = pw_xrealloc(o->files, (size_t)(o->nfiles + 1) *
							 sizeof(*o->files));
		o->files[o->nfiles++] = v;
		return 1;
	}
	if (err)
		return -1;
	if ((v = cli_optval(argc, argv, i, "-n", "--namespace", &err))) {
		o->ns = v;
		return 1;
	}
	if (err)
		return -1;
	if ((v = cli_optval(argc, argv, i, "-o", "--output", &err))) {
		o->output = v;
		return 1;
	}
	if (err)
		return -1;
	if (!strcmp(argv[*i], "--ipblock-excludes-pods")) {
		o->engine_flags |= PW_ENGINE_IPBLOCK_EXCLUDES_PODS;
		return 1;
	}
	if (!strcmp(argv[*i], "--staged")) {
		o->staged = true;
		return 1;
	}
	if (!strcmp(argv[*i], "--hostnetwork-as-pods")) {
		o->engine_flags |= PW_ENGINE_HOSTNET_AS_PODS;
		return 1;
	}
	if (!strcmp(argv[*i], "--stats")) {
		o->stats = true;
		return 1;
	}
	if (!strcmp(argv[*i], "-v") || !strcmp(argv[*i], "--verbose")) {
		o->verbose++;
		return 1;
	}
	return 0;
}

int cli_parse(const char *cmd, const char *usage, int argc, char **argv,
	      struct cli_opts *o,
	      int (*extra)(void *ctx, int argc, char **argv, int *i), void *ctx)
{
	for (int i = 1; i < argc; i++) {
		int r;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 1;
		}
		if ((r = cli_common_opt(o, argc, argv, &i)) != 0) {
			if (r < 0)
				return -1;
			continue;
		}
		if (extra && (r = extra(ctx, argc, argv, &i)) != 0) {
			if (r < 0)
				return -1;
			continue;
		}
		cli_error("%s: unknown option %s", cmd, cli_q(argv[i]));
		fputs(usage, stderr);
		return -1;
	}
	return 0;
}

void cli_opts_release(struct cli_opts *o)
{
	free(o->files);
	o->files = NULL;
}

bool cli_output_ok(const char *o, const char *const *allowed)
{
	for (; *allowed; allowed++)
		if (!strcmp(o, *allowed))
			return true;
	return false;
}

static int diag_cmp(const struct pw_diag *a, const struct pw_diag *b)
{
	int c = strcmp(a->pos.file ? a->pos.file : "", b->pos.file ? b->pos.file : "");
	if (c)
		return c;
	if (a->pos.line != b->pos.line)
		return a->pos.line < b->pos.line ? -1 : 1;
	return a->pos.col < b->pos.col ? -1 : a->pos.col > b->pos.col;
}

/* One line for the objects of kinds not analysed: the count per kind, in
   the order the kinds were first met. */
static void print_skipped(const struct pw_cluster *c, int verbose)
{
	if (!c->nskipped)
		return;
	struct pw_strmap count;
	const char **order = pw_xmalloc(c->nskipped * sizeof(*order));
	uint32_t nkinds = 0;
	pw_strmap_init(&count);
	for (uint32_t i = 0; i < c->nskipped; i++) {
		uintptr_t v = (uintptr_t)pw_strmap_get(&count, c->skipped_kind[i]);
		if (!v)
			order[nkinds++] = c->skipped_kind[i];
		pw_strmap_put(&count, c->skipped_kind[i], (void *)(v + 1));
	}
	fprintf(stderr, "skipped %u object%s not analysed:", c->nskipped,
		c->nskipped == 1 ? "" : "s");
	for (uint32_t i = 0; i < nkinds; i++)
		fprintf(stderr, "%s %s %u", i ? "," : "", order[i],
			(unsigned)(uintptr_t)pw_strmap_get(&count, order[i]));
	fputs(verbose ? "\n" : " (-v lists them)\n", stderr);
	pw_strmap_release(&count);
	free(order);
}

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int cli_world_load(struct cli_world *w, const struct cli_opts *o)
{
	struct pw_diags d;
	struct pw_buf b;
	memset(w, 0, sizeof(*w));
	w->stats = o->stats;
	w->t_start = mono_ms();
	pw_cluster_init(&w->c);
	pw_strmap_init(&w->pods);
	pw_strmap_init(&w->groups);
	if (!o->nfiles)
		return cli_error("no input: give manifests with -f FILE|DIR|-");
	const char *why = o->ns ? pw_dns_label_invalid(o->ns) : NULL;
	if (why)
		return cli_error("-n %s: %s", cli_q(o->ns), why);
	pw_diags_init(&d);
	pw_buf_init(&b);
	w->c.template_replicas = o->replicas;
	w->c.apply_ns = o->ns;
	for (int i = 0; i < o->nfiles; i++)
		pw_cluster_load_path(&w->c, o->files[i], &d);
	pw_cluster_finish(&w->c, &d);
	if (o->engine_flags & PW_ENGINE_IPBLOCK_EXCLUDES_PODS)
		pw_cluster_check_ipblock_ports(&w->c, &d);
	/* by file and position, whichever check found them */
	for (size_t i = 1; i < d.n; i++) {
		struct pw_diag x = d.v[i];
		size_t k = i;
		while (k > 0 && diag_cmp(&d.v[k - 1], &x) > 0) {
			d.v[k] = d.v[k - 1];
			k--;
		}
		d.v[k] = x;
	}
	for (size_t i = 0; i < d.n; i++) {
		pw_buf_reset(&b);
		pw_diag_format(&d.v[i], &b);
		fprintf(stderr, "%s\n", b.s);
	}
	if (o->verbose)
		for (uint32_t i = 0; i < w->c.nskipped; i++)
			fprintf(stderr, "skipped: %s\n", w->c.skipped[i]);
	print_skipped(&w->c, o->verbose);
	int rc = 0;
	if (d.errors) {
		fprintf(stderr, "podwall: %zu error%s in the input\n", d.errors,
			d.errors == 1 ? "" : "s");
		rc = -1;
	}
	pw_diags_release(&d);
	pw_buf_release(&b);
	if (rc)
		return rc;
	if (o->prepare && o->prepare(&w->c, o->prepare_arg) < 0)
		return -1;
	w->t_loaded = mono_ms();
	if (pw_engine_build(&w->e, &w->c, o->engine_flags) < 0)
		return cli_error("cannot build the policy engine");
	w->t_built = mono_ms();
	if (o->staged) {
		w->staged = pw_xcalloc(1, sizeof(*w->staged));
		if (pw_engine_build(w->staged, &w->c,
				    o->engine_flags | PW_ENGINE_STAGED) < 0)
			return cli_error("cannot build the staged policy engine");
	}
	if (o->reach) {
		w->reach = pw_xcalloc(1, sizeof(*w->reach));
		if (pw_reach_build(w->reach, &w->e) < 0)
			return cli_error("cannot build the reachability matrix");
		if (w->staged) {
			w->staged_reach = pw_xcalloc(1, sizeof(*w->staged_reach));
			if (pw_reach_build(w->staged_reach, w->staged) < 0)
				return cli_error("cannot build the staged reachability matrix");
		}
	}
	w->t_matrix = mono_ms();
	struct pw_cluster *c = &w->c;
	for (uint32_t i = 0; i < c->npods; i++) {
		const struct pw_pod *p = &c->pods[i];
		const char *key = pw_arena_printf(&c->arena, "%s/%s",
						  c->nss[p->ns].name, p->name);
		if (!p->template && !pw_strmap_get(&w->pods, key))
			pw_strmap_put(&w->pods, key, (void *)(uintptr_t)(i + 1));
	}
	for (uint32_t i = 0; i < c->ngroups; i++) {
		const struct pw_group *g = &c->groups[i];
		const char *key = pw_arena_printf(&c->arena, "%s/%s",
						  c->nss[g->ns].name, g->name);
		if (!pw_strmap_get(&w->groups, key))
			pw_strmap_put(&w->groups, key,
				      (void *)(uintptr_t)(i + 1));
	}
	return 0;
}

void cli_world_release(struct cli_world *w)
{
	if (w->stats && w->t_built > 0) {
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		fprintf(stderr,
			"stats: %u pods, %u identities, %u policies; load %.1f ms, engine %.1f ms, "
			"matrix %.1f ms, answer %.1f ms, total %.1f ms; peak RSS %.1f MiB\n",
			w->c.npods, w->e.nids, w->e.npols, w->t_loaded - w->t_start,
			w->t_built - w->t_loaded, w->t_matrix - w->t_built,
			mono_ms() - w->t_matrix, mono_ms() - w->t_start,
			ru.ru_maxrss / 1024.0);
	}
	if (w->reach) {
		pw_reach_release(w->reach);
		free(w->reach);
	}
	if (w->staged_reach) {
		pw_reach_release(w->staged_reach);
		free(w->staged_reach);
	}
	pw_engine_release(&w->e);
	if (w->staged) {
		pw_engine_release(w->staged);
		free(w->staged);
	}
	pw_strmap_release(&w->pods);
	pw_strmap_release(&w->groups);
	if (w->names)
		pw_arena_release(&w->names_arena);
	pw_cluster_release(&w->c);
}

/* Only digits and dots, with a dot: meant as an IPv4 address. */
static bool looks_ipv4(const char *s, size_t n)
{
	bool dot = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.')
			dot = true;
		else if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return dot;
}

/* A DNS name (RFC 1123 labels; the last not all digits), or why not. */
static const char *dns_name_invalid(const char *s, size_t n)
{
	if (!n || n > 253)
		return "a DNS name has 1 to 253 characters";
	size_t start = 0;
	if (s[n - 1] == '.')
		n--; /* a fully qualified name */
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		size_t len = i - start;
		if (!len || len > 63)
			return "a DNS label has 1 to 63 characters";
		if (s[start] == '-' || s[i - 1] == '-')
			return "a DNS label cannot start or end with '-'";
		bool digits = true;
		for (size_t k = start; k < i; k++) {
			char c = s[k];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-'))
				return "a DNS name has only letters, digits, '-' and '.'";
			digits &= c >= '0' && c <= '9';
		}
		if (i == n && digits)
			return "the last label of a DNS name is not all digits";
		start = i + 1;
	}
	return NULL;
}

int cli_resolve(struct cli_world *w, const char *spec, const char *defns,
		bool as_dst, struct pw_ep **eps, const char **why)
{
	const struct pw_cluster *c = &w->c;
	struct pw_addr a;
	*eps = NULL;
	*why = NULL;
	const char *eq = strchr(spec, '=');
	size_t hl = eq ? (size_t)(eq - spec) : strlen(spec);
	bool slash = memchr(spec, '/', hl) != NULL;
	if (!eq && pw_addr_parse(spec, &a) == 0) {
		/* an address of a pod is that pod */
		for (uint32_t i = 0; i < c->npods; i++)
			for (uint32_t k = 0; k < c->pods[i].naddrs; k++)
				if (!pw_addr_cmp(&c->pods[i].addrs[k], &a)) {
					*eps = pw_xmalloc(sizeof(**eps));
					(*eps)[0] = pw_ep_pod(c, i);
					(*eps)[0].addr = a;
					return 1;
				}
		*eps = pw_xmalloc(sizeof(**eps));
		(*eps)[0] = pw_ep_addr(&a);
		return 1;
	}
	if (!slash && memchr(spec, ':', hl)) {
		*why = "invalid IPv6 address";
		return -1;
	}
	if (!slash && looks_ipv4(spec, hl)) {
		*why = "invalid IPv4 address";
		return -1;
	}
	if (eq || (!slash && memchr(spec, '.', hl))) {
		/* a DNS name, optionally with the address it resolved to */
		if (!as_dst) {
			*why = "a source is an endpoint or an address (a DNS name can only be a destination)";
			return -1;
		}
		if ((*why = dns_name_invalid(spec, hl)))
			return -1;
		memset(&a, 0, sizeof(a));
		if (eq && pw_addr_parse(eq + 1, &a) < 0) {
			*why = "invalid address after '='";
			return -1;
		}
		if (!w->names)
			pw_arena_init(&w->names_arena);
		w->names = true;
		char *name = pw_arena_strndup(&w->names_arena, spec, hl);
		for (char *p = name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		*eps = pw_xmalloc(sizeof(**eps));
		(*eps)[0] = pw_ep_addr(&a);
		(*eps)[0].name = name;
		return 1;
	}
	char key[512];
	if (strchr(spec, '/'))
		snprintf(key, sizeof(key), "%s", spec);
	else
		snprintf(key, sizeof(key), "%s/%s", defns ? defns : "default",
			 spec);
	uintptr_t v = (uintptr_t)pw_strmap_get(&w->pods, key);
	if (v) {
		*eps = pw_xmalloc(sizeof(**eps));
		(*eps)[0] = pw_ep_pod(c, (uint32_t)(v - 1));
		return 1;
	}
	v = (uintptr_t)pw_strmap_get(&w->groups, key);
	if (!v)
		return 0;
	const struct pw_group *g = &c->groups[v - 1];
	*eps = pw_xmalloc(g->npods * sizeof(**eps));
	for (uint32_t i = 0; i < g->npods; i++)
		(*eps)[i] = pw_ep_pod(c, g->pods[i]);
	return (int)g->npods;
}

const char *cli_pod_name(const struct cli_world *w, uint32_t pod,
			 struct pw_buf *b)
{
	const struct pw_pod *p = &w->c.pods[pod];
	pw_buf_printf(b, "%s/%s", w->c.nss[p->ns].name, p->name);
	return b->s;
}

/* ---- external address classes ----------------------------------------- */

struct bound {
	struct pw_addr a; /* first address of a piece */
};

static int addr_cmp_q(const void *x, const void *y)
{
	return pw_addr_cmp(x, y);
}

/* a + 1 within the family; returns false on overflow */
static bool addr_inc(struct pw_addr *a)
{
	int n = a->family == 4 ? 4 : 16;
	for (int i = n - 1; i >= 0; i--)
		if (++a->b[i])
			return true;
	return false;
}

static bool addr_dec(struct pw_addr *a)
{
	int n = a->family == 4 ? 4 : 16;
	for (int i = n - 1; i >= 0; i--)
		if (a->b[i]--)
			return true;
	return false;
}

static void cidr_last(const struct pw_cidr *c, struct pw_addr *out)
{
	*out = c->addr;
	int n = c->addr.family == 4 ? 32 : 128;
	for (int bitn = c->len; bitn < n; bitn++)
		out->b[bitn / 8] |= (uint8_t)(0x80 >> (bitn % 8));
}

static void add_cut(struct pw_addr **v, size_t *n, size_t *cap,
		    const struct pw_addr *a)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = pw_xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = *a;
}

static void add_cidr_cuts(struct pw_addr **v, size_t *n, size_t *cap,
			  const struct pw_cidr *c)
{
	struct pw_addr last;
	add_cut(v, n, cap, &c->addr);
	cidr_last(c, &last);
	if (addr_inc(&last))
		add_cut(v, n, cap, &last);
}

static int cidr_lo_cmp(const void *x, const void *y)
{
	const struct pw_cidr *a = x, *b = y;
	return pw_addr_cmp(&a->addr, &b->addr);
}

/*
 * Cut at the bounds of the intervals of cidr minus its excepts (excepts
 * that touch merge into one hole), as netpol-analyzer splits an ipBlock.
 */
static void add_block_cuts(struct pw_addr **v, size_t *n, size_t *cap,
			   const struct pw_peer *p)
{
	struct pw_cidr *ex = pw_xmalloc((p->nexcept + 1) * sizeof(*ex));
	if (p->nexcept)
		memcpy(ex, p->except, p->nexcept * sizeof(*ex));
	qsort(ex, p->nexcept, sizeof(*ex), cidr_lo_cmp);
	struct pw_addr cur = p->cidr.addr, end, hi;
	bool more = true; /* cur is still within the cidr */
	cidr_last(&p->cidr, &end);
	for (uint32_t i = 0; i < p->nexcept && more; i++) {
		if (pw_addr_cmp(&ex[i].addr, &cur) > 0) {
			add_cut(v, n, cap, &cur);
			add_cut(v, n, cap, &ex[i].addr);
		}
		cidr_last(&ex[i], &hi);
		if (pw_addr_cmp(&hi, &cur) >= 0) {
			cur = hi;
			more = addr_inc(&cur) && pw_addr_cmp(&cur, &end) <= 0;
		}
	}
	if (more) {
		add_cut(v, n, cap, &cur);
		if (addr_inc(&end))
			add_cut(v, n, cap, &end);
	}
	free(ex);
}

/* Is [lo,hi] exactly one CIDR?  Then write it. */
static bool range_as_cidr(const struct pw_addr *lo, const struct pw_addr *hi,
			  char *out, size_t outsz)
{
	int bits = lo->family == 4 ? 32 : 128;
	for (int len = 0; len <= bits; len++) {
		struct pw_cidr c = { *lo, (uint8_t)len };
		struct pw_cidr m;
		char s[52];
		pw_cidr_format(&c, s);
		if (pw_cidr_parse(s, &m) < 0 || pw_addr_cmp(&m.addr, lo))
			continue;
		struct pw_addr last;
		cidr_last(&m, &last);
		if (!pw_addr_cmp(&last, hi)) {
			snprintf(out, outsz, "%s", s);
			return true;
		}
	}
	return false;
}

size_t cli_ext_classes(const struct pw_cluster *c, bool npa_style,
		       unsigned dirs, struct cli_extclass **out)
{
	struct pw_addr *cuts[2] = { NULL, NULL }; /* v4, v6 */
	size_t n[2] = { 0, 0 }, cap[2] = { 0, 0 };
	bool seen6 = false;
	struct pw_cidr all4, all6;
	if (pw_cidr_parse("0.0.0.0/0", &all4) || pw_cidr_parse("::/0", &all6))
		return 0;
	add_cidr_cuts(&cuts[0], &n[0], &cap[0], &all4);
	/* one block: nets minus excepts */
#define CUT_BLOCK(cidrp, exc, nexc)                                            \
	do {                                                                   \
		struct pw_peer pb_ = { 0 };                                    \
		pb_.ipblock = true;                                            \
		pb_.cidr = *(cidrp);                                           \
		pb_.except = (struct pw_cidr *)(exc);                          \
		pb_.nexcept = (nexc);                                          \
		int f_ = pb_.cidr.addr.family == 6;                            \
		if (f_ && npa_style)                                           \
			break;                                                 \
		if (f_ && !seen6) {                                            \
			seen6 = true;                                          \
			add_cidr_cuts(&cuts[1], &n[1], &cap[1], &all6);        \
		}                                                              \
		add_block_cuts(&cuts[f_], &n[f_], &cap[f_], &pb_);             \
	} while (0)
	for (uint32_t k = 0; k < c->npols; k++)
		for (int d = 0; d < 2; d++)
			for (uint32_t r = 0; r < c->pols[k].nrules[d]; r++) {
				const struct pw_rule *rule = &c->pols[k].rules[d][r];
				if (!(dirs & (1u << d)))
					continue;
				for (uint32_t q = 0; q < rule->npeers; q++) {
					const struct pw_peer *p = &rule->peers[q];
					if (p->ipblock)
						CUT_BLOCK(&p->cidr, p->except, p->nexcept);
				}
			}
	/* AdminNetworkPolicy networks (egress only) */
	for (uint32_t k = 0; k < c->napols && (dirs & (1u << PW_EGRESS)); k++)
		for (uint32_t r = 0; r < c->apols[k].nrules[PW_EGRESS]; r++) {
			const struct pw_arule *ar = &c->apols[k].rules[PW_EGRESS][r];
			for (uint32_t q = 0; q < ar->npeers; q++)
				for (uint32_t x = 0; x < ar->peers[q].nnets; x++)
					CUT_BLOCK(&ar->peers[q].nets[x], NULL, 0);
		}
	/* Calico nets and network sets (not known to netpol-analyzer) */
	for (uint32_t k = 0; k < c->ncpols && !npa_style; k++)
		for (int d = 0; d < 2; d++)
			for (uint32_t r = 0; r < c->cpols[k].nrules[d]; r++) {
				const struct pw_crule *cr = &c->cpols[k].rules[d][r];
				const struct pw_cside *sides[2] = { &cr->src, &cr->dst };
				for (int x = 0; x < 2; x++) {
					for (uint32_t i = 0; i < sides[x]->nnets; i++)
						CUT_BLOCK(&sides[x]->nets[i], NULL, 0);
					for (uint32_t i = 0; i < sides[x]->nnot_nets; i++)
						CUT_BLOCK(&sides[x]->not_nets[i], NULL, 0);
				}
			}
	for (uint32_t k = 0; k < c->nnetsets && !npa_style; k++)
		for (uint32_t i = 0; i < c->netsets[k].nnets; i++)
			CUT_BLOCK(&c->netsets[k].nets[i], NULL, 0);
#undef CUT_BLOCK
	size_t total = 0;
	*out = NULL;
	for (int f = 0; f < 2; f++) {
		if (!n[f])
			continue;
		qsort(cuts[f], n[f], sizeof(struct pw_addr), addr_cmp_q);
		size_t u = 0;
		for (size_t i = 0; i < n[f]; i++)
			if (!u || pw_addr_cmp(&cuts[f][u - 1], &cuts[f][i]))
				cuts[f][u++] = cuts[f][i];
		*out = pw_xrealloc(*out, (total + u) * sizeof(**out));
		for (size_t i = 0; i < u; i++) {
			struct cli_extclass *e = &(*out)[total++];
			e->lo = cuts[f][i];
			if (i + 1 < u) {
				e->hi = cuts[f][i + 1];
				addr_dec(&e->hi);
			} else {
				memset(e->hi.b, 0xff, sizeof(e->hi.b));
				if (f == 0)
					memset(e->hi.b + 4, 0, 12);
				e->hi.family = e->lo.family;
			}
			char a[48], b[48];
			pw_addr_format(&e->lo, a);
			pw_addr_format(&e->hi, b);
			if (npa_style || !range_as_cidr(&e->lo, &e->hi, e->name,
							sizeof(e->name)))
				snprintf(e->name, sizeof(e->name), "%s-%s", a, b);
		}
		free(cuts[f]);
	}
	return total;
}

void cli_conns(const struct pw_engine *e, const struct pw_reach *r,
	       const struct pw_ep *s, const struct pw_ep *d, struct pw_conns *out)
{
	if (!r || !pw_reach_conns(r, s, d, out))
		pw_engine_conns(e, s, d, out);
}

/* A group's pods, one per atom of the fast engine (two when the atom has
   two pods: the pair of them is a pair of distinct pods). */
struct rep {
	int pod, pod2;
	uint32_t atom;
};

static uint32_t group_reps(const struct pw_cluster *c, const struct pw_reach *r,
			   int g, struct rep *out)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < c->groups[g].npods; i++) {
		uint32_t pod = c->groups[g].pods[i];
		uint32_t atom = r ? r->pod_atom[pod] : pod;
		uint32_t k = 0;
		while (k < n && out[k].atom != atom)
			k++;
		if (k == n)
			out[n++] = (struct rep){ (int)pod, -1, atom };
		else if (out[k].pod2 < 0)
			out[k].pod2 = (int)pod;
	}
	return n;
}

void cli_pair_conns(const struct pw_cluster *c, const struct pw_engine *e,
		    const struct pw_reach *r, int ga, const struct pw_addr *aa,
		    int gb, const struct pw_addr *ab, struct pw_conns *out)
{
	uint32_t na = ga < 0 ? 1 : c->groups[ga].npods;
	uint32_t nb = gb < 0 ? 1 : c->groups[gb].npods;
	struct rep bufa[16], bufb[16];
	struct rep *ra = na < 16 ? bufa : pw_xmalloc((na + 1) * sizeof(*ra));
	struct rep *rb = nb < 16 ? bufb : pw_xmalloc((nb + 1) * sizeof(*rb));
	uint32_t ua = ga < 0 ? 1 : group_reps(c, r, ga, ra);
	uint32_t ub = gb < 0 ? 1 : group_reps(c, r, gb, rb);
	struct pw_conns one;
	bool first = true;
	pw_conns_init(&one);
	pw_conns_clear(out);
	/* a workload pair is allowed only where every replica pair is; pods
	   of one atom behave alike, so one pair per pair of atoms */
	for (uint32_t i = 0; i < ua; i++)
		for (uint32_t k = 0; k < ub; k++) {
			struct pw_ep s = ga < 0 ? pw_ep_addr(aa) : pw_ep_pod(c, (uint32_t)ra[i].pod);
			struct pw_ep d = gb < 0 ? pw_ep_addr(ab) : pw_ep_pod(c, (uint32_t)rb[k].pod);
			if (s.pod >= 0 && s.pod == d.pod && (na > 1 || nb > 1)) {
				if (ra[i].pod2 < 0)
					continue; /* a pod and itself */
				d = pw_ep_pod(c, (uint32_t)ra[i].pod2);
			}
			cli_conns(e, r, &s, &d, &one);
			if (first)
				pw_conns_copy(out, &one);
			else
				pw_conns_intersect(out, &one);
			first = false;
		}
	if (first) /* a single pod to itself */
		pw_conns_add_all(out);
	pw_conns_release(&one);
	if (ra != bufa)
		free(ra);
	if (rb != bufb)
		free(rb);
}

static int extclass_cmp(const void *x, const void *y)
{
	const struct cli_extclass *a = x, *b = y;
	return pw_addr_cmp(&a->lo, &b->lo);
}

size_t cli_ext_merge(const struct cli_extclass *a, size_t na,
		     const struct cli_extclass *b, size_t nb,
		     struct cli_extclass **out)
{
	struct cli_extclass *v = pw_xmalloc((na + nb + 1) * sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < na; i++)
		v[n++] = a[i];
	for (size_t i = 0; i < nb; i++)
		v[n++] = b[i];
	if (n)
		qsort(v, n, sizeof(*v), extclass_cmp);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || pw_addr_cmp(&v[u - 1].lo, &v[i].lo))
			v[u++] = v[i];
	/* each class now ends just before the next one of its family */
	for (size_t i = 0; i < u; i++) {
		if (i + 1 < u && v[i + 1].lo.family == v[i].lo.family) {
			v[i].hi = v[i + 1].lo;
			addr_dec(&v[i].hi);
		}
		char x[48], y[48];
		pw_addr_format(&v[i].lo, x);
		pw_addr_format(&v[i].hi, y);
		if (!range_as_cidr(&v[i].lo, &v[i].hi, v[i].name, sizeof(v[i].name)))
			snprintf(v[i].name, sizeof(v[i].name), "%s-%s", x, y);
	}
	*out = v;
	return u;
}
