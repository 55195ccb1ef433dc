// SPDX-License-Identifier: Apache-2.0
/*
 * churn: random policy changes sent to a running agent, one after another,
 * each waited for (POST /v1/apply returns when the change is in force).
 *
 *   churn SOCKET FILE N SEED
 *
 * FILE holds the cluster's documents; each change gives a random policy
 * the spec of another policy of the same kind (or back its own), as one
 * apply.  Prints "N changes in S s (p50 X ms, p99 Y ms per change)".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/agent/http.h"
#include "../lib/model.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: churn SOCKET FILE N SEED\n");
		return 2;
	}
	const char *sock = argv[1];
	long n = atol(argv[3]);
	rng ^= (uint64_t)atoll(argv[4]) * 0x2545f4914f6cdd1dull;
	FILE *f = fopen(argv[2], "rb");
	if (!f)
		return 2;
	struct pw_buf all;
	pw_buf_init(&all);
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		pw_buf_add(&all, chunk, got);
	fclose(f);
	struct pw_span *sp;
	size_t nd = pw_split_documents((const unsigned char *)all.s, all.len, &sp);
	/* the policies: their head (up to "spec:") and spec */
	char **head = calloc(nd, sizeof(char *)), **spec = calloc(nd, sizeof(char *));
	char **kind = calloc(nd, sizeof(char *));
	size_t np = 0;
	for (size_t i = 0; i < nd; i++) {
		char *t = strndup(all.s + sp[i].start, sp[i].end - sp[i].start);
		char *k = strstr(t, "kind:"), *s = strstr(t, "\nspec:");
		if (!k || !s || !strstr(k, "Policy")) {
			free(t);
			continue;
		}
		char kb[64];
		sscanf(k + 5, " %63s", kb);
		kind[np] = strdup(kb);
		spec[np] = strdup(s);
		*s = 0;
		head[np] = t;
		np++;
	}
	if (np < 2) {
		fprintf(stderr, "churn: fewer than 2 policies\n");
		return 2;
	}
	double *lat = calloc((size_t)n + 1, sizeof(double));
	double t0 = now_ms();
	long done = 0;
	for (long c = 0; c < n; c++) {
		size_t a = rnd((uint32_t)np), b = rnd((uint32_t)np);
		if (strcmp(kind[a], kind[b]))
			b = a;
		struct pw_buf body, out, err;
		pw_buf_init(&body);
		pw_buf_init(&out);
		pw_buf_init(&err);
		size_t len = strlen(head[a]) + strlen(spec[b]) + 1;
		pw_buf_printf(&body, "FILE 5 %zu\nchurn%s%s\n", len, head[a], spec[b]);
		long status = 0;
		double t = now_ms();
		int rc = pw_http_call(sock, "POST", "/v1/apply", body.s, body.len, 30000,
				      &status, &out, &err);
		lat[done++] = now_ms() - t;
		if (rc < 0 || (status != 200 && status != 422)) {
			fprintf(stderr, "churn: change %ld: %s%s (status %ld)\n", c,
				err.s ? err.s : "", out.s ? out.s : "", status);
			return 1;
		}
		pw_buf_release(&body);
		pw_buf_release(&out);
		pw_buf_release(&err);
	}
	double total = now_ms() - t0;
	qsort(lat, (size_t)done, sizeof(double), dcmp);
	printf("%ld changes in %.1f s (p50 %.2f ms, p99 %.2f ms per change)\n", done,
	       total / 1e3, lat[done / 2], lat[(size_t)(done * 0.99)]);
	return 0;
}
