// SPDX-License-Identifier: Apache-2.0
/*
 * podwall alerts: the alerts raised (lib/flow/alert.c raises them, the
 * agent keeps them in its flow store), oldest first.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/flow/store.h"
#include "cli.h"

static const char alerts_usage[] =
	"usage: podwall alerts --store SPEC [--store SPEC ...] [options]\n"
	"       podwall alerts --lab NAME [options]\n"
	"       podwall alerts eval -f FILE ...   (podwall alerts eval --help)\n"
	"\n"
	"Print the alerts raised (GlobalAlerts) that a flow store keeps, oldest\n"
	"first (merged by time when there are several stores).  `podwall alerts\n"
	"eval` prints the alerts GlobalAlerts would raise over flow records, without\n"
	"an agent.\n"
	"\n"
	"      --store SPEC        sqlite:FILE, jsonl:DIR, or a path (a directory or\n"
	"                          *.jsonl: JSON lines; another: SQLite); repeatable\n"
	"      --lab NAME          the stores of lab NAME's agents (each node's)\n"
	"      --since T           raised at or after T: a duration ago (30s, 5m, 2h,\n"
	"                          1d), RFC 3339 or Unix seconds\n"
	"  -o, --output FORMAT     table (default) or json (one object a line)\n"
	"\n"
	"Exit status: 0 done, 2 bad usage or input (a store that cannot be read).\n";

struct alerts {
	struct pw_alert_event *v;
	size_t n, cap;
};

static int take_alert(void *arg, const struct pw_alert_event *a)
{
	struct alerts *as = arg;
	if (as->n == as->cap) {
		as->cap = as->cap ? as->cap * 2 : 16;
		as->v = pw_xrealloc(as->v, as->cap * sizeof(*as->v));
	}
	as->v[as->n++] = *a;
	return 0;
}

/* insertion sort by time: stable, and the lists are short and sorted per store */
static void sort_alerts(struct alerts *as)
{
	for (size_t i = 1; i < as->n; i++) {
		struct pw_alert_event x = as->v[i];
		size_t j = i;
		for (; j > 0 && as->v[j - 1].time > x.time; j--)
			as->v[j] = as->v[j - 1];
		as->v[j] = x;
	}
}

static void clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

int cmd_alerts(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "eval"))
		return cmd_alerts_eval(argc - 1, argv + 1);
	const char **specs = pw_xcalloc((size_t)argc + 1, sizeof(*specs));
	size_t nspecs = 0;
	const char *output = NULL, *lab = NULL;
	int64_t since = 0, now = (int64_t)time(NULL);
	int rc = EXIT_USAGE;
	struct flows_stores st = { 0 };
	struct alerts as = { 0 };
	struct pw_buf err;
	pw_buf_init(&err);
	for (int i = 1; i < argc; i++) {
		int bad = 0;
		const char *v;
		if (cli_is_help(argv[i])) {
			fputs(alerts_usage, stdout);
			rc = 0;
			goto out;
		}
		if ((v = cli_optval(argc, argv, &i, NULL, "--store", &bad))) {
			specs[nspecs++] = v;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--lab", &bad))) {
			lab = v;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--since", &bad))) {
			if ((since = cli_time_arg(v, now)) < 0) {
				cli_error("alerts: --since %s: want a duration ago (30s, 5m, 2h, 1d), "
					  "RFC 3339 or Unix seconds",
					  cli_q(v));
				goto out;
			}
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, "-o", "--output", &bad))) {
			output = v;
			continue;
		}
		if (bad)
			goto out;
		cli_error("alerts: unknown %s %s", argv[i][0] == '-' ? "option" : "argument",
			  cli_q(argv[i]));
		fputs(alerts_usage, stderr);
		goto out;
	}
	static const char *const formats[] = { "table", "json", NULL };
	if (output && !cli_output_ok(output, formats)) {
		cli_error("alerts: -o %s: want table or json", cli_q(output));
		goto out;
	}
	if (!nspecs && !lab) {
		cli_error("alerts: give the store with --store SPEC or --lab NAME");
		fputs(alerts_usage, stderr);
		goto out;
	}
	if (flows_open_stores(specs, nspecs, &st) < 0)
		goto out;
	if (lab && flows_lab_files(lab, &st) < 0)
		goto out;
	for (size_t i = 0; i < st.n; i++) {
		pw_buf_reset(&err);
		if (pw_flowstore_alerts(st.v[i], since, take_alert, &as, &err) < 0) {
			fprintf(stderr, "%s\n", err.s);
			goto out;
		}
	}
	sort_alerts(&as);
	bool json = output && !strcmp(output, "json");
	if (!json)
		printf("%-20s  %-30s  %-8s  %-12s  %s\n", "TIME", "NAME", "SEVERITY", "VALUE",
		       "SUMMARY");
	for (size_t i = 0; i < as.n; i++) {
		struct pw_alert_event *a = &as.v[i];
		if (json) {
			pw_buf_reset(&err);
			pw_flowstore_alert_json(a, &err);
			puts(err.s);
			continue;
		}
		char t[32];
		time_t tt = (time_t)a->time;
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
		clean(a->name);
		clean(a->summary);
		printf("%-20s  %-30s  %-8d  %-12g  %s\n", t, a->name, a->severity, a->value,
		       *a->summary ? a->summary : "-");
	}
	rc = 0;
out:
	free(as.v);
	pw_buf_release(&err);
	flows_release(&st);
	free(specs);
	return rc;
}
