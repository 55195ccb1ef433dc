// SPDX-License-Identifier: Apache-2.0
/*
 * podwall audit: security findings of the input, with FILE:LINE:COL, a
 * severity and a fix: pod security, network posture, encryption, access.
 * The library judges (lib/audit/audit.h); this file parses and prints.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/audit/audit.h"
#include "version.h"
#include "cli.h"

static const char audit_usage[] =
	"usage: podwall audit -f FILE|DIR|- [-f ...] [options]\n"
	"\n"
	"Report security findings of the manifests, each with FILE:LINE:COL, a\n"
	"rule, a severity and a fix, in four categories:\n"
	"  pod-security  every Pod and workload pod template judged as upstream's\n"
	"                pod-security-admission plugin does (v1.0 to v1.37, latest =\n"
	"                v1.37) at its namespace's pod-security.kubernetes.io/enforce\n"
	"                (high), audit and warn (medium) labels and -version labels\n"
	"  network       podwall lint's findings (no-default-deny, dns-blocked,\n"
	"                open-to-world, shadowed-rule, ...)\n"
	"  encryption    EBS StorageClasses without encrypted: \"true\", LoadBalancer\n"
	"                Services and Ingresses without TLS, EKS clusters (aws eks\n"
	"                describe-cluster JSON) without secrets encryption\n"
	"  access        who may change network policies, read secrets cluster-wide,\n"
	"                exec into pods, escalate, bind or impersonate, or do\n"
	"                anything; wildcard role rules; bound default service\n"
	"                accounts (Kubernetes' own system: subjects left out)\n"
	"\n"
	"  -f, --filename PATH       manifests: file, directory (recursive) or -\n"
	"      --only LIST           only these categories (comma-separated)\n"
	"      --pss LEVEL[:VERSION] judge every pod at LEVEL (privileged, baseline,\n"
	"                            restricted), VERSION v1.N or latest (default),\n"
	"                            whatever its namespace says (severity high)\n"
	"      --pss-checks          print the checks --pss runs (CHECK@VERSION of\n"
	"                            the variant, comma-separated) and exit\n"
	"  -o, --output FORMAT       table (default), json or sarif (SARIF 2.1.0)\n"
	"      --severity LEVEL      exit 1 when a finding is at or above LEVEL:\n"
	"                            low (default), medium, high or critical\n"
	"\n"
	"Exit status: 0 no finding at or above --severity, 1 some, 2 bad usage\n"
	"or input.\n";

static const char *const categories[] = { "pod-security", "network", "encryption", "access",
					   NULL };

/* --only LIST -> a bit per category; 0 on an unknown name */
static unsigned parse_only(const char *v)
{
	unsigned m = 0;
	while (*v) {
		size_t n = strcspn(v, ",");
		int k = 0;
		for (; categories[k]; k++)
			if (strlen(categories[k]) == n && !strncmp(categories[k], v, n))
				break;
		if (!categories[k])
			return 0;
		m |= 1u << k;
		v += n + (v[n] == ',');
	}
	return m;
}

static int lint_prepare(struct pw_cluster *c, void *arg)
{
	(void)arg;
	(void)pw_lint_model_dns(c);
	return 0;
}

static void print_table(const struct pw_audit *au)
{
	for (uint32_t i = 0; i < au->n; i++) {
		const struct pw_audit_finding *f = &au->v[i];
		printf("%s:%d:%d: %s: %s: %s%s%s\n  fix: %s\n", f->pos.file ? f->pos.file : "-",
		       f->pos.line, f->pos.col, pw_audit_sev_name(f->sev), f->rule,
		       f->context ? f->context : "", f->context ? ": " : "", f->message, f->fix);
	}
	if (!au->n)
		puts("no findings");
}

int cmd_audit(int argc, char **argv)
{
	static const char *const formats[] = { "table", "json", "sarif", NULL };
	struct cli_opts o = { 0 };
	struct cli_scratch s;
	struct pw_pss_policy forced;
	bool has_forced = false, list_checks = false;
	int min_sev = 0, rc = EXIT_USAGE;
	unsigned only = 0xf;
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
			if ((min_sev = pw_audit_sev_parse(v)) < 0) {
				cli_error("audit: --severity %s: want low, medium, high or critical",
					  cli_q(v));
				goto out;
			}
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--only", &bad))) {
			if (!(only = parse_only(v))) {
				cli_error("audit: --only %s: want a comma-separated list of pod-security, network, encryption and access",
					  cli_q(v));
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
		cli_error("audit: -o %s: want table, json or sarif", cli_q(o.output));
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
	struct pw_authz az;
	if (only & 1u << 1)
		o.prepare = lint_prepare;
	if (cli_authz_load(&w, &az, &o) < 0) {
		pw_authz_release(&az);
		cli_world_release(&w);
		goto out;
	}
	struct pw_audit au;
	pw_audit_init(&au);
	if (only & 1u << 0) {
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
		pw_audit_pss(&au, fs, n);
	}
	if (only & 1u << 1) {
		struct pw_lint l;
		if (pw_lint_run(&l, &w.e, -1) < 0) {
			cli_error("audit: cannot build the staged policy engine");
			pw_lint_release(&l);
			goto done;
		}
		pw_audit_lint(&au, &l, &w.c);
		pw_lint_release(&l);
	}
	if (only & 1u << 2)
		pw_audit_encryption(&au, &w.c);
	if (only & 1u << 3)
		pw_audit_access(&au, &az);
	rc = 0;
	for (uint32_t i = 0; i < au.n; i++)
		if ((int)au.v[i].sev >= min_sev)
			rc = EXIT_FINDINGS;
	if (o.output && strcmp(o.output, "table")) {
		struct pw_doc *root = !strcmp(o.output, "sarif")
			? pw_audit_sarif(&au, PODWALL_VERSION) : pw_audit_doc(&au);
		cli_print_doc(root, "json");
		pw_doc_free(root);
	} else {
		print_table(&au);
	}
done:
	pw_audit_release(&au);
	pw_authz_release(&az);
	cli_world_release(&w);
out:
	cli_scratch_release(&s);
	cli_opts_release(&o);
	return rc;
}
