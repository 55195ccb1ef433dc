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

double cli_now_ms(void)
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
	w->ingress_pod = -1;
	w->stats = o->stats;
	w->t_start = cli_now_ms();
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
	w->c.admit = o->admit;
	w->c.admit_arg = o->admit_arg;
	w->c.apply_ns = o->ns;
	for (int i = 0; i < o->nfiles; i++) {
		w->c.input = (uint32_t)i;
		if (o->load)
			o->load(o->load_arg, &w->c, (uint32_t)i, &d);
		else
			pw_cluster_load_path(&w->c, o->files[i], &d);
	}
	w->ingress_pod = -1;
	if (o->ingress_controller && w->c.nings)
		w->ingress_pod = (int32_t)pw_cluster_add_ingress_controller(&w->c);
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
	w->t_loaded = cli_now_ms();
	if (pw_engine_build(&w->e, &w->c, o->engine_flags) < 0)
		return cli_error("cannot build the policy engine");
	w->t_built = cli_now_ms();
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
	w->t_matrix = cli_now_ms();
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
			cli_now_ms() - w->t_matrix, cli_now_ms() - w->t_start,
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

const struct pw_service *cli_service(const struct cli_world *w,
				     const char *spec, const char *defns)
{
	const struct pw_cluster *c = &w->c;
	struct pw_addr a;
	if (pw_addr_parse(spec, &a) == 0)
		return pw_service_by_addr(c, &a);
	static const char *const prefixes[] = { "svc/", "service/", "services/" };
	for (size_t i = 0; i < PW_ARRAY_SIZE(prefixes); i++) {
		size_t n = strlen(prefixes[i]);
		if (!strncmp(spec, prefixes[i], n) && !strchr(spec + n, '/'))
			return pw_service_find(c, defns ? defns : "default", spec + n);
	}
	/* its DNS name: NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local */
	const char *dot = strchr(spec, '.');
	if (dot && !strchr(spec, '/')) {
		char name[256], ns[256];
		size_t n = (size_t)(dot - spec);
		const char *nse = strchr(dot + 1, '.');
		size_t m = nse ? (size_t)(nse - dot - 1) : strlen(dot + 1);
		if (n >= sizeof(name) || m >= sizeof(ns) ||
		    (nse && strcmp(nse, ".svc") && strcmp(nse, ".svc.cluster.local")))
			return NULL;
		memcpy(name, spec, n);
		name[n] = 0;
		memcpy(ns, dot + 1, m);
		ns[m] = 0;
		return pw_service_find(c, ns, name);
	}
	char key[512];
	const char *slash = strchr(spec, '/');
	if (slash)
		snprintf(key, sizeof(key), "%s", spec);
	else
		snprintf(key, sizeof(key), "%s/%s", defns ? defns : "default", spec);
	if (pw_strmap_get(&w->pods, key) || pw_strmap_get(&w->groups, key))
		return NULL; /* a pod or workload of that name comes first */
	slash = strchr(key, '/');
	char ns[256];
	size_t nl = (size_t)(slash - key);
	if (nl >= sizeof(ns))
		return NULL;
	memcpy(ns, key, nl);
	ns[nl] = 0;
	return pw_service_find(c, ns, slash + 1);
}

const char *cli_pod_name(const struct cli_world *w, uint32_t pod,
			 struct pw_buf *b)
{
	const struct pw_pod *p = &w->c.pods[pod];
	pw_buf_printf(b, "%s/%s", w->c.nss[p->ns].name, p->name);
	return b->s;
}

/* ---- external address classes ----------------------------------------- */

static int addr_qcmp(const void *x, const void *y)
{
	return pw_addr_cmp(x, y);
}

size_t cli_ext_classes(const struct pw_engine *const *es, size_t ne,
		       bool cidr_names, struct cli_extclass **out)
{
	struct pw_addr *starts = NULL;
	size_t n = 0;
	for (size_t i = 0; i < ne; i++) {
		struct pw_addr *v;
		size_t m = pw_engine_addr_bounds(es[i], &v);
		starts = pw_xrealloc(starts, (n + m) * sizeof(*starts));
		memcpy(starts + n, v, m * sizeof(*v));
		n += m;
		free(v);
	}
	qsort(starts, n, sizeof(*starts), addr_qcmp);
	size_t u = 0, n6 = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || pw_addr_cmp(&starts[u - 1], &starts[i])) {
			starts[u++] = starts[i];
			n6 += starts[i].family == 6;
		}
	/* IPv6 outside the cluster only where the policies or pods use it */
	bool v6 = n6 > 1;
	for (size_t e = 0; e < ne && !v6; e++) {
		const struct pw_cluster *c = es[e]->c;
		for (uint32_t i = 0; i < c->npods && !v6; i++)
			for (uint32_t k = 0; k < c->pods[i].naddrs; k++)
				v6 |= c->pods[i].addrs[k].family == 6;
	}
	if (!v6)
		u -= n6;
	struct pw_addr_class *ac;
	size_t nc = pw_addr_classes(starts, u, &ac);
	free(starts);
	*out = pw_xcalloc(nc + 1, sizeof(**out));
	for (size_t i = 0; i < nc; i++) {
		(*out)[i].lo = ac[i].lo;
		(*out)[i].hi = ac[i].hi;
		pw_addr_range_name(&ac[i].lo, &ac[i].hi, cidr_names,
				   (*out)[i].name);
	}
	free(ac);
	return nc;
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
