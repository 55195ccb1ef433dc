// SPDX-License-Identifier: Apache-2.0
/*
 * podwall alerts eval: the GlobalAlerts of the input (lib/flow/alert.h)
 * over flow records in JSON lines, as of a given time: the events they
 * would raise, without an agent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "../lib/flow/alert.h"
#include "../lib/flow/store.h"

static const char alerts_eval_usage[] =
	"usage: podwall alerts eval -f FILE|DIR|- [-f ...] --records FILE [options]\n"
	"\n"
	"Evaluate the GlobalAlerts (projectcalico.org/v3, dataSet: flows) of the\n"
	"manifests over flow records, as the agent would at one moment, and print\n"
	"the events they raise: each alert reads the records whose end_time is in\n"
	"(AT - lookback, AT] and matches its query.\n"
	"\n"
	"  -f, --filename PATH       manifests holding GlobalAlerts: file,\n"
	"                            directory (recursive) or -\n"
	"      --records FILE        flow records, one JSON object a line (as\n"
	"                            `podwall flows -o json` prints them), or -\n"
	"      --at UNIX_SECONDS     the moment of the evaluation (default: now)\n"
	"  -o, --output FORMAT       table (default) or json (one event a line, as\n"
	"                            `podwall alerts -o json` prints them)\n"
	"\n"
	"Exit status: 0 no alert raised, 1 alerts raised, 2 bad usage or input.\n";

/* The records of path ("-": stdin) into *v; every malformed line is
   reported as FILE:LINE:COL.  0, or -1. */
static int read_records(const char *path, struct pw_flow **v, size_t *n)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f)
		return cli_error("alerts eval: cannot read %s: %s", cli_q(path), strerror(errno));
	char *line = NULL;
	size_t cap = 0, vcap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = 0;
	struct pw_buf err;
	pw_buf_init(&err);
	*v = NULL;
	*n = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		size_t k = strspn(line, " \t\r\n");
		if (k == (size_t)len)
			continue;
		if (*n == vcap) {
			vcap = vcap ? vcap * 2 : 64;
			*v = pw_xrealloc(*v, vcap * sizeof(**v));
		}
		pw_buf_reset(&err);
		int col = 0;
		if (pw_flow_parse_json_at(line, (size_t)len, &(*v)[*n], &col, &err) < 0) {
			fprintf(stderr, "%s:%ld:%d: error: %s\n", path, lineno, col,
				err.s ? err.s : "not a flow record");
			rc = -1;
			continue;
		}
		(*n)++;
	}
	if (ferror(f))
		rc = cli_error("alerts eval: cannot read %s: %s", cli_q(path), strerror(errno));
	free(line);
	pw_buf_release(&err);
	if (f != stdin)
		fclose(f);
	return rc;
}

static void print_table(const struct pw_alert_event *e, size_t n)
{
	int wn = 4, ws = 8, wv = 5;
	char num[64];
	for (size_t i = 0; i < n; i++) {
		int l = (int)strlen(e[i].name);
		wn = l > wn ? l : wn;
		l = snprintf(num, sizeof(num), "%.15g", e[i].value);
		wv = l > wv ? l : wv;
	}
	if (n)
		printf("%-*s  %-*s  %-*s  %s\n", wn, "NAME", ws, "SEVERITY", wv, "VALUE",
		       "SUMMARY");
	for (size_t i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%.15g", e[i].value);
		printf("%-*s  %-*d  %-*s  %s\n", wn, e[i].name, ws, e[i].severity, wv, num,
		       e[i].summary);
	}
	printf("%zu alert%s raised\n", n, n == 1 ? "" : "s");
}

int cmd_alerts_eval(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	const char *records = NULL, *at_s = NULL;
	int rc = EXIT_USAGE, err = 0;
	for (int i = 1; i < argc; i++) {
		const char *v;
		if (cli_is_help(argv[i])) {
			fputs(alerts_eval_usage, stdout);
			rc = 0;
			goto out;
		}
		if (cli_file_opt(&o, argc, argv, &i, &err))
			continue;
		if (!err && (v = cli_optval(argc, argv, &i, NULL, "--records", &err))) {
			records = v;
			continue;
		}
		if (!err && (v = cli_optval(argc, argv, &i, NULL, "--at", &err))) {
			at_s = v;
			continue;
		}
		if (!err && (v = cli_optval(argc, argv, &i, "-o", "--output", &err))) {
			o.output = v;
			continue;
		}
		if (err)
			goto out;
		cli_error("alerts eval: unknown option %s", cli_q(argv[i]));
		fputs(alerts_eval_usage, stderr);
		goto out;
	}
	const char *fmt = o.output ? o.output : "table";
	if (strcmp(fmt, "table") && strcmp(fmt, "json")) {
		cli_error("alerts eval: -o must be table or json");
		goto out;
	}
	if (!records) {
		cli_error("alerts eval: give the flow records with --records FILE");
		goto out;
	}
	int64_t at = (int64_t)time(NULL);
	if (at_s) {
		char *e;
		errno = 0;
		long long x = strtoll(at_s, &e, 10);
		if (!*at_s || *e || errno || x < 0) {
			cli_error("alerts eval: --at %s is not a time in Unix seconds", cli_q(at_s));
			goto out;
		}
		at = x;
	}
	struct cli_world w;
	if (cli_world_load(&w, &o) < 0) {
		cli_world_release(&w);
		goto out;
	}
	if (!w.c.nalerts) {
		cli_error("alerts eval: no GlobalAlert in the input");
		cli_world_release(&w);
		goto out;
	}
	struct pw_flow *v = NULL;
	size_t n = 0;
	if (read_records(records, &v, &n) < 0) {
		free(v);
		cli_world_release(&w);
		goto out;
	}
	struct pw_alert_event *all = NULL;
	size_t nall = 0;
	for (uint32_t i = 0; i < w.c.nalerts; i++) {
		struct pw_alert_event *e;
		size_t k = pw_alert_eval(&w.c.alerts[i], v, n, at, &e);
		if (k) {
			all = pw_xrealloc(all, (nall + k) * sizeof(*all));
			memcpy(all + nall, e, k * sizeof(*e));
			nall += k;
		}
		free(e);
	}
	if (!strcmp(fmt, "json")) {
		struct pw_buf b;
		pw_buf_init(&b);
		for (size_t i = 0; i < nall; i++) {
			pw_buf_reset(&b);
			pw_flowstore_alert_json(&all[i], &b);
			printf("%s\n", b.s);
		}
		pw_buf_release(&b);
	} else {
		print_table(all, nall);
	}
	rc = nall ? EXIT_FINDINGS : 0;
	free(all);
	free(v);
	cli_world_release(&w);
out:
	cli_opts_release(&o);
	return rc;
}
