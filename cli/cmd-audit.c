// SPDX-License-Identifier: Apache-2.0
/*
 * podwall audit: security findings of the input, with FILE:LINE:COL, a
 * severity and a fix.  For now the Pod Security Standards only; the library
 * judges (lib/pss/pss.h).
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/pss/pss.h"
#include "cli.h"

static const char audit_usage[] =
	"usage: podwall audit -f FILE|DIR|- [-f ...] [options]\n"
	"\n"
	"Report security findings of the manifests.  For now: Pod Security\n"
	"Standards only (RBAC access, encryption and network posture come later).\n"
	"Every Pod and workload pod template (Deployment, DaemonSet, StatefulSet,\n"
	"ReplicaSet, Job, CronJob) is judged as upstream's pod-security-admission\n"
	"plugin does (versions v1.0 to v1.37, latest = v1.37), at the levels its\n"
	"namespace's pod-security.kubernetes.io/enforce, audit and warn labels\n"
	"(and -version labels) ask: enforce findings would be rejected at\n"
	"admission (severity high), audit and warn ones audited or warned\n"
	"(medium).\n"
	"\n"
	"  -f, --filename PATH       manifests: file, directory (recursive) or -\n"
	"      --pss LEVEL[:VERSION] judge every pod at LEVEL (privileged, baseline,\n"
	"                            restricted), VERSION v1.N or latest (default),\n"
	"                            whatever its namespace says (severity high)\n"
	"      --pss-checks          print the checks --pss runs (CHECK@VERSION of\n"
	"                            the variant, comma-separated) and exit\n"
	"  -o, --output FORMAT       table (default) or json\n"
	"      --severity LEVEL      exit 1 when a finding is at or above LEVEL:\n"
	"                            low (default), medium or high\n"
	"\n"
	"Exit status: 0 no finding at or above --severity, 1 some, 2 bad usage\n"
	"or input.\n";

static const char *const severities[] = { "low", "medium", "high" };

static int severity_of(enum pw_pss_mode m)
{
	return m == PW_PSS_AUDIT || m == PW_PSS_WARN ? 1 : 2;
}

static const char *mode_says(enum pw_pss_mode m)
{
	static const char *const says[] = { "would be rejected at admission",
					    "would be audited at admission",
					    "would be warned about at admission",
					    "fails the level asked (--pss)" };
	return says[m];
}

static void finding_pos(const struct pw_pss_finding *f, struct pw_buf *b)
{
	const struct pw_pos *p = &f->pod->pos;
	pw_buf_printf(b, "%s:%d:%d", p->file ? p->file : "-", p->line, p->col);
}

static struct pw_doc *finding_doc(const struct pw_pss_finding *f, struct pw_buf *b)
{
	struct pw_doc *o = pw_doc_obj();
	pw_buf_reset(b);
	finding_pos(f, b);
	pw_doc_add(o, "pos", pw_doc_str(b->s));
	pw_doc_add(o, "category", pw_doc_str("pod-security"));
	pw_doc_add(o, "check", pw_doc_str(f->v.check));
	pw_doc_add(o, "severity", pw_doc_str(severities[severity_of(f->mode)]));
	pw_doc_add(o, "kind", pw_doc_str(f->pod->kind));
	pw_doc_add(o, "namespace", pw_doc_str(f->ns));
	pw_doc_add(o, "name", pw_doc_str(f->pod->name));
	pw_doc_add(o, "level", pw_doc_str(pw_pss_level_name(f->pol.level)));
	pw_buf_reset(b);
	pw_buf_printf(b, "v1.%d", f->pol.minor);
	pw_doc_add(o, "version", pw_doc_str(b->s));
	pw_doc_add(o, "mode", pw_doc_str(pw_pss_mode_name(f->mode)));
	pw_doc_add(o, "message", pw_doc_str(f->v.message));
	pw_doc_add(o, "fix", pw_doc_str(f->v.fix));
	return o;
}

static void print_table(const struct pw_pss_finding *fs, uint32_t n, struct pw_buf *b)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct pw_pss_finding *f = &fs[i];
		pw_buf_reset(b);
		finding_pos(f, b);
		printf("%s: %s: pod-security/%s: %s %s/%s at %s:v1.%d %s (%s): %s\n  fix: %s\n", b->s,
		       severities[severity_of(f->mode)], f->v.check, f->pod->kind, f->ns,
		       f->pod->name, pw_pss_level_name(f->pol.level), f->pol.minor,
		       mode_says(f->mode), pw_pss_mode_name(f->mode), f->v.message, f->v.fix);
	}
	if (!n)
		puts("no findings");
}

int cmd_audit(int argc, char **argv)
{
	static const char *const formats[] = { "table", "json", NULL };
	struct cli_opts o = { 0 };
	struct cli_scratch s;
	struct pw_pss_policy forced;
	bool has_forced = false, list_checks = false;
	int min_sev = 0, rc = EXIT_USAGE;
	cli_scratch_init(&s);
	for (int i = 1; i < argc; i++) {
		int bad = 0;
		const char *v;
		if (cli_is_help(argv[i])) {
			fputs(audit_usage, stdout);
			rc = 0;
			goto out;
		}
		if (cli_file_opt(&o, argc, argv, &i, &bad))
			continue;
		if (!bad && (v = cli_optval(argc, argv, &i, "-o", "--output", &bad))) {
			o.output = v;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--pss", &bad))) {
			if (pw_pss_parse_policy(v, &forced, &s.err) < 0) {
				cli_error("audit: --pss: %s", s.err.s);
				goto out;
			}
			has_forced = true;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--severity", &bad))) {
			for (min_sev = 0; min_sev < 3 && strcmp(v, severities[min_sev]); min_sev++)
				;
			if (min_sev == 3) {
				cli_error("audit: --severity %s: want low, medium or high", cli_q(v));
				goto out;
			}
			continue;
		}
		if (bad)
			goto out;
		if (!strcmp(argv[i], "--pss-checks")) {
			list_checks = true;
			continue;
		}
		cli_error("audit: unknown %s %s", argv[i][0] == '-' ? "option" : "argument",
			  cli_q(argv[i]));
		fputs(audit_usage, stderr);
		goto out;
	}
	if (o.output && !cli_output_ok(o.output, formats)) {
		cli_error("audit: -o %s: want table or json", cli_q(o.output));
		goto out;
	}
	if (list_checks) {
		if (!has_forced) {
			cli_error("audit: --pss-checks lists the checks of --pss LEVEL[:VERSION]: give it");
			goto out;
		}
		pw_buf_reset(&s.warn);
		pw_pss_active(forced, &s.warn);
		puts(s.warn.s);
		rc = 0;
		goto out;
	}
	if (!o.nfiles) {
		cli_error("audit: give the manifests with -f FILE|DIR");
		fputs(audit_usage, stderr);
		goto out;
	}
	struct cli_world w;
	if (cli_world_load(&w, &o) < 0) {
		cli_world_release(&w);
		goto out;
	}
	struct pw_diags d;
	struct pw_pss_finding *fs;
	pw_diags_init(&d);
	uint32_t n = pw_pss_audit(&w.c, has_forced ? &forced : NULL, &s.a, &fs, &d);
	for (size_t i = 0; i < d.n; i++) {
		pw_buf_reset(&s.warn);
		pw_diag_format(&d.v[i], &s.warn);
		fprintf(stderr, "%s\n", s.warn.s);
	}
	pw_diags_release(&d);
	rc = 0;
	for (uint32_t i = 0; i < n; i++)
		if (severity_of(fs[i].mode) >= min_sev)
			rc = EXIT_FINDINGS;
	pw_buf_reset(&s.warn);
	if (o.output && !strcmp(o.output, "json")) {
		struct pw_doc *root = pw_doc_obj(), *arr = pw_doc_add(root, "findings", pw_doc_arr());
		for (uint32_t i = 0; i < n; i++)
			pw_doc_add(arr, NULL, finding_doc(&fs[i], &s.warn));
		cli_print_doc(root, "json");
		pw_doc_free(root);
	} else {
		print_table(fs, n, &s.warn);
	}
	cli_world_release(&w);
out:
	cli_scratch_release(&s);
	cli_opts_release(&o);
	return rc;
}
