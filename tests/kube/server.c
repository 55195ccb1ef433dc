// SPDX-License-Identifier: Apache-2.0
/*
 * kube-server: a replay of recorded Kubernetes API responses over TLS, for
 * tests/kube/run.sh (no kube-apiserver can run here).
 *
 *   kube-server --cert PEM --key PEM [--token T] [--client-ca PEM]
 *               --script FILE --port-file FILE
 *
 * Listens on 127.0.0.1, on a port of the kernel's choice, written to the
 * port file.  Every request must carry the bearer token (--token) or a
 * client certificate signed by --client-ca, else 401 with a Status.
 *
 * The script, one rule a line ('#' comments):
 *   step NAME                        rules from here on belong to NAME
 *   GET PATH?ARGS STATUS FILE        the answer to that request
 * A request matches a rule when its path is the rule's and its query
 * arguments are the rule's (timeoutSeconds aside: its value is random).
 * The rules in force are those of the current step and of the steps
 * before it, the latest first.  FILE (relative to the script) is the body;
 * for a watch (watch=1) it is a stream: JSON lines sent one by one, and
 *   #hold             wait until the step changes, then end the response
 *                     (as a watch's timeout does)
 *   #partial TEXT     TEXT without its newline (half an event)
 *   #drop             drop the connection (no end of the chunked body)
 * GET /_scenario/step/NAME (no credentials) makes NAME the current step.
 * Each request is logged on stdout: "GET PATH?ARGS -> STATUS", with
 * UNMATCHED or UNAUTHORIZED when it is.
 */
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct rule {
	int step;
	char *path, *args, *file;
	unsigned status;
};

static struct rule *rules;
static size_t nrules;
static char **steps;
static size_t nsteps;
static int cur;
static const char *token;
static bool client_ca;
static char *dir;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static volatile sig_atomic_t stopping;

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0, k;
	char *s = malloc(cap);
	while (s && (k = fread(s + n, 1, cap - n - 1, f)) > 0)
		if ((n += k) + 1 == cap)
			s = realloc(s, cap *= 2);
	fclose(f);
	if (s)
		s[n] = 0;
	if (len)
		*len = n;
	return s;
}

static void read_script(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		exit(2);
	}
	char line[4096], a[2048], b[2048], c[1024];
	unsigned st;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "step %1023s", c) == 1) {
			steps = realloc(steps, (nsteps + 1) * sizeof(*steps));
			steps[nsteps++] = strdup(c);
		} else if (sscanf(line, "GET %2047s %u %1023s", a, &st, c) == 3 && nsteps) {
			char *q = strchr(a, '?');
			snprintf(b, sizeof(b), "%s", q ? q + 1 : "");
			if (q)
				*q = 0;
			rules = realloc(rules, (nrules + 1) * sizeof(*rules));
			rules[nrules++] = (struct rule){ (int)nsteps - 1, strdup(a), strdup(b),
							 strdup(c), st };
		} else {
			fprintf(stderr, "%s: cannot read: %s", path, line);
			exit(2);
		}
	}
	fclose(f);
}

struct args {
	char s[2048];
	size_t n;
};

static enum MHD_Result arg_of(void *cls, enum MHD_ValueKind kind, const char *key,
			      const char *value)
{
	struct args *a = cls;
	if (!strcmp(key, "timeoutSeconds"))
		return MHD_YES;
	a->n += (size_t)snprintf(a->s + a->n, sizeof(a->s) - a->n, "%s%s=%s", a->n ? "&" : "",
				 key, value ? value : "");
	if (a->n >= sizeof(a->s))
		a->n = sizeof(a->s) - 1;
	return MHD_YES;
}

/* The same arguments, in any order? */
static bool same_args(const char *x, const char *y)
{
	size_t nx = 0, ny = 0;
	char xs[2048], ys[2048], *sx[64], *sy[64], *save;
	snprintf(xs, sizeof(xs), "%s", x);
	snprintf(ys, sizeof(ys), "%s", y);
	for (char *t = strtok_r(xs, "&", &save); t && nx < 64; t = strtok_r(NULL, "&", &save))
		sx[nx++] = t;
	for (char *t = strtok_r(ys, "&", &save); t && ny < 64; t = strtok_r(NULL, "&", &save))
		sy[ny++] = t;
	if (nx != ny)
		return false;
	for (size_t i = 0; i < nx; i++) {
		bool found = false;
		for (size_t k = 0; k < ny && !found; k++)
			found = !strcmp(sx[i], sy[k]);
		if (!found)
			return false;
	}
	return true;
}

static const struct rule *match(const char *path, const char *args)
{
	const struct rule *best = NULL;
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nrules; i++)
		if (rules[i].step <= cur && !strcmp(rules[i].path, path) &&
		    same_args(rules[i].args, args) && (!best || rules[i].step >= best->step))
			best = &rules[i];
	pthread_mutex_unlock(&mu);
	return best;
}

/* A watch stream being sent. */
struct stream {
	char *text;
	size_t off;
	int step; /* the step it began in */
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	for (;;) {
		char *line = s->text + s->off;
		if (!*line)
			return MHD_CONTENT_READER_END_OF_STREAM;
		size_t len = strcspn(line, "\n");
		size_t next = s->off + len + (line[len] == '\n');
		if (!strncmp(line, "#hold", 5)) {
			pthread_mutex_lock(&mu);
			while (cur == s->step && !stopping) {
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 100000000;
				if (ts.tv_nsec >= 1000000000) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000;
				}
				pthread_cond_timedwait(&changed, &mu, &ts);
			}
			pthread_mutex_unlock(&mu);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		if (!strncmp(line, "#drop", 5))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (line[0] == '#' && strncmp(line, "#partial ", 9)) {
			s->off = next;
			continue;
		}
		bool partial = line[0] == '#';
		const char *from = partial ? line + 9 : line;
		size_t n = len - (size_t)(from - line) + !partial;
		if (n > max)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		memcpy(buf, from, n - !partial);
		if (!partial)
			buf[n - 1] = '\n';
		s->off = next;
		return (ssize_t)n;
	}
}

static void stream_free(void *cls)
{
	struct stream *s = cls;
	free(s->text);
	free(s);
}

static const char status_fmt[] =
	"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
	"\"message\":\"%s\",\"reason\":\"%s\",\"code\":%u}\n";

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static bool authorized(struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (token && h && !strncmp(h, "Bearer ", 7) && !strcmp(h + 7, token))
		return true;
	if (client_ca) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		unsigned st = 1;
		if (ci && ci->tls_session &&
		    gnutls_certificate_verify_peers2(ci->tls_session, &st) == 0 && st == 0 &&
		    gnutls_certificate_type_get(ci->tls_session) == GNUTLS_CRT_X509)
			return true;
	}
	return false;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version,
			      const char *upload, size_t *upload_len, void **con_cls)
{
	char body[1024];
	if (!strncmp(url, "/_scenario/step/", 16)) {
		pthread_mutex_lock(&mu);
		int to = -1;
		for (size_t i = 0; i < nsteps; i++)
			if (!strcmp(steps[i], url + 16))
				to = (int)i;
		if (to >= 0)
			cur = to;
		pthread_cond_broadcast(&changed);
		pthread_mutex_unlock(&mu);
		printf("STEP %s\n", url + 16);
		fflush(stdout);
		return answer(c, to >= 0 ? 200 : 404, to >= 0 ? "ok\n" : "no such step\n");
	}
	struct args a = { .n = 0 };
	a.s[0] = 0;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, arg_of, &a);
	if (!authorized(c)) {
		printf("UNAUTHORIZED %s %s?%s -> 401\n", method, url, a.s);
		fflush(stdout);
		snprintf(body, sizeof(body), status_fmt, "Unauthorized", "Unauthorized", 401);
		return answer(c, 401, body);
	}
	const struct rule *r = strcmp(method, "GET") ? NULL : match(url, a.s);
	if (!r) {
		printf("UNMATCHED %s %s?%s -> 500\n", method, url, a.s);
		fflush(stdout);
		snprintf(body, sizeof(body), status_fmt, "no recorded response", "InternalError",
			 500);
		return answer(c, 500, body);
	}
	printf("%s %s?%s -> %u\n", method, url, a.s, r->status);
	fflush(stdout);
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, r->file);
	size_t len;
	char *text = slurp(path, &len);
	if (!text) {
		fprintf(stderr, "%s: cannot read\n", path);
		return MHD_NO;
	}
	if (r->status == 200 && strstr(r->args, "watch=1")) {
		struct stream *s = calloc(1, sizeof(*s));
		s->text = text;
		pthread_mutex_lock(&mu);
		s->step = cur;
		pthread_mutex_unlock(&mu);
		struct MHD_Response *resp = MHD_create_response_from_callback(
			MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
		MHD_add_response_header(resp, "Content-Type", "application/json");
		enum MHD_Result rc = MHD_queue_response(c, 200, resp);
		MHD_destroy_response(resp);
		return rc;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, text,
								    MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", r->status == 404 ? "text/plain"
									: "application/json");
	enum MHD_Result rc = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static void on_signal(int sig)
{
	stopping = 1;
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *ca = NULL, *script = NULL, *port_file = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--cert"))
			cert = argv[i + 1];
		else if (!strcmp(argv[i], "--key"))
			key = argv[i + 1];
		else if (!strcmp(argv[i], "--token"))
			token = argv[i + 1];
		else if (!strcmp(argv[i], "--client-ca"))
			ca = argv[i + 1];
		else if (!strcmp(argv[i], "--script"))
			script = argv[i + 1];
		else if (!strcmp(argv[i], "--port-file"))
			port_file = argv[i + 1];
	}
	if (!cert || !key || !script || !port_file || (!token && !ca)) {
		fprintf(stderr, "usage: kube-server --cert PEM --key PEM [--token T] "
				"[--client-ca PEM] --script FILE --port-file FILE\n");
		return 2;
	}
	read_script(script);
	dir = strdup(script);
	*(strrchr(dir, '/') ? strrchr(dir, '/') : dir) = 0;
	if (!*dir) {
		free(dir);
		dir = strdup(".");
	}
	char *cert_pem = slurp(cert, NULL), *key_pem = slurp(key, NULL);
	char *ca_pem = ca ? slurp(ca, NULL) : NULL;
	client_ca = ca_pem != NULL;
	if (!cert_pem || !key_pem || (ca && !ca_pem)) {
		fprintf(stderr, "kube-server: cannot read the certificates\n");
		return 2;
	}
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_TLS | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			MHD_USE_ERROR_LOG,
		0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sin,
		MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
		ca_pem ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, ca_pem, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "kube-server: cannot start\n");
		return 2;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	FILE *pf = fopen(port_file, "w");
	if (!pf || !di) {
		fprintf(stderr, "kube-server: cannot write the port\n");
		return 2;
	}
	fprintf(pf, "%u\n", di->port);
	fclose(pf);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stopping)
		pause();
	pthread_mutex_lock(&mu);
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&mu);
	MHD_stop_daemon(d);
	for (size_t i = 0; i < nrules; i++) {
		free(rules[i].path);
		free(rules[i].args);
		free(rules[i].file);
	}
	for (size_t i = 0; i < nsteps; i++)
		free(steps[i]);
	free(rules);
	free(steps);
	free(dir);
	free(cert_pem);
	free(key_pem);
	free(ca_pem);
	return 0;
}
