// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <sys/resource.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../lib/agent/http.h"

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

int cli_file_opt(struct cli_opts *o, int argc, char **argv, int *i, int *err)
{
	const char *v = cli_optval(argc, argv, i, "-f", "--filename", err);
	if (!v)
		return 0;
	o->files = pw_xrealloc(o->files, (size_t)(o->nfiles + 1) * sizeof(*o->files));
	o->files[o->nfiles++] = v;
	return 1;
}

int cli_common_opt(struct cli_opts *o, int argc, char **argv, int *i)
{
	int err = 0;
	const char *v;
	if (cli_file_opt(o, argc, argv, i, &err))
		return 1;
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
		if (cli_is_help(argv[i])) {
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

void cli_print_doc(const struct pw_doc *d, const char *fmt)
{
	struct pw_out out = pw_out_file(stdout);
	pw_doc_write(d, pw_format_parse(fmt), &out);
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
	int32_t ingress_pod = -1;
	memset(w, 0, sizeof(*w));
	w->stats = o->stats;
	w->t_start = cli_now_ms();
	pw_cluster_init(&w->c);
	if (!o->nfiles && !o->docs)
		return cli_error("no input: give manifests with -f FILE|DIR|-");
	const char *why = o->ns ? pw_dns_label_invalid(o->ns) : NULL;
	if (why)
		return cli_error("-n %s: %s", cli_q(o->ns), why);
	pw_diags_init(&d);
	pw_buf_init(&b);
	w->c.template_replicas = o->replicas;
	w->c.apply_ns = o->ns;
	for (int i = 0; i < o->nfiles; i++) {
		w->c.input = (uint32_t)i;
		pw_cluster_load_path(&w->c, o->files[i], &d);
	}
	for (size_t i = 0; i < o->ndocs; i++) {
		w->c.input = (uint32_t)(o->nfiles + (int)i);
		pw_cluster_load_buffer(&w->c, o->docs[i].name, o->docs[i].bytes, o->docs[i].len,
				       &d);
	}
	if (o->ingress_controller && w->c.nings)
		ingress_pod = (int32_t)pw_cluster_add_ingress_controller(&w->c);
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
	pw_view_init(&w->view, &w->c, &w->e);
	w->view.staged = w->staged;
	w->view.reach = w->reach;
	w->view.staged_reach = w->staged_reach;
	w->view.ingress_pod = ingress_pod;
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
	if (w->view.c)
		pw_view_release(&w->view);
	pw_cluster_release(&w->c);
}

int cli_authz_load(struct cli_world *w, struct pw_authz *a, const struct cli_opts *o)
{
	memset(a, 0, sizeof(*a));
	if (cli_world_load(w, o) < 0)
		return -1;
	struct pw_diags d;
	struct pw_buf b;
	pw_diags_init(&d);
	pw_buf_init(&b);
	int rc = pw_authz_build(a, &w->c, &d);
	for (size_t i = 0; i < d.n; i++) {
		pw_buf_reset(&b);
		pw_diag_format(&d.v[i], &b);
		fprintf(stderr, "%s\n", b.s);
	}
	pw_diags_release(&d);
	pw_buf_release(&b);
	return rc;
}

void cli_scratch_init(struct cli_scratch *s)
{
	pw_arena_init(&s->a);
	pw_buf_init(&s->warn);
	pw_buf_init(&s->err);
}

void cli_scratch_release(struct cli_scratch *s)
{
	pw_arena_release(&s->a);
	pw_buf_release(&s->warn);
	pw_buf_release(&s->err);
}

bool cli_is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

void cli_query_arg(struct pw_buf *b, const char *key, const char *value)
{
	if (!value)
		return;
	pw_buf_putc(b, b->s && strchr(b->s, '?') ? '&' : '?');
	pw_buf_puts(b, key);
	pw_buf_putc(b, '=');
	pw_http_escape(value, b);
}

int cli_ask_agent(const char *agent, const char *path)
{
	struct pw_buf out, err;
	long status = 0;
	int code = -1;
	pw_buf_init(&out);
	pw_buf_init(&err);
	int rc = pw_http_call_exit(agent, "GET", path, &status, &code, &out, &err);
	if (rc < 0) {
		cli_error("cannot reach the agent: %s", err.s);
		rc = EXIT_USAGE;
	} else if (status == 200) {
		fwrite(out.s ? out.s : "", 1, out.len, stdout);
		rc = code >= 0 ? code : 0;
	} else {
		/* its error, as the command would give it */
		while (out.len && out.s[out.len - 1] == '\n')
			out.s[--out.len] = 0;
		cli_error("%s", out.len ? out.s : "the agent gave no answer");
		rc = EXIT_USAGE;
	}
	pw_buf_release(&out);
	pw_buf_release(&err);
	return rc;
}
