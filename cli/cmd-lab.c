// SPDX-License-Identifier: Apache-2.0
/*
 * podwall lab: a cluster's pods as network namespaces on one machine, the
 * engine's verdicts enforced by nftables in the lab's router, and real
 * connections that prove them.  See lib/lab.h for the topology.
 *
 * State, in PW_LAB_STATE_DIR/NAME/:
 *   owned    what the lab created (netns, pid), appended before creation
 *   config   replicas, engine flags, external hosts
 *   inputs   "apply GEN PATH": a manifest path and the apply (1, 2, ...)
 *            that last read it; "delete GEN KEY": an object removed by
 *            `lab delete` GEN ("group/Kind/ns/name")
 *   pods     "K ns/name ADDR": a pod's lab index and address, kept stable
 *   nft      the table last put in force, to change only what differs
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/lab.h"
#include "../lib/netprobe.h"
#include "../lib/nft.h"
#include "cli.h"

static const char lab_usage[] =
	"usage: podwall lab up -f FILE|DIR [-f ...] [--name NAME] [--replicas N]\n"
	"                      [--external ADDR ... | --no-external]\n"
	"                      [--ipblock-excludes-pods] [--hostnetwork-as-pods]\n"
	"       podwall lab apply -f FILE [...] [--name NAME] [--keep-established]\n"
	"       podwall lab delete -f FILE [...] [--name NAME] [--keep-established]\n"
	"       podwall lab probe [--port PROTO/N ...] [--services] [--name NAME]\n"
	"                         [--timeout MS] [-o table|json|tsv]\n"
	"       podwall lab exec NS/POD|ADDR [--name NAME] -- CMD [ARG...]\n"
	"       podwall lab status [--name NAME]\n"
	"       podwall lab render -f FILE|DIR [...]\n"
	"       podwall lab down [--name NAME]\n"
	"\n"
	"Run the pods of a cluster as network namespaces behind a router that\n"
	"enforces the policies with nftables, and test them with real connections.\n"
	"Every pod serves TCP and UDP (and SCTP where the kernel has it) on its\n"
	"containerPorts and on 80 and 81.  External test hosts sit behind the\n"
	"router too (default 192.0.2.10, 198.51.100.10, 203.0.113.10); nothing is\n"
	"routed out of the lab.  Rules on DNS names (Calico domains, network\n"
	"sets' allowedEgressDomains) are not enforced: up, apply and render warn\n"
	"about each.  Needs root.\n"
	"\n"
	"  up        create the lab from manifests (one pod per workload unless\n"
	"            --replicas N; addresses from status.podIP or 10.244.0.0/16)\n"
	"  apply     add or update objects from manifest files, as kubectl apply:\n"
	"            an object of the same kind, namespace and name replaces the\n"
	"            one the lab has; prints how long until the new rules were in\n"
	"            force; cuts established connections the new policies deny,\n"
	"            unless --keep-established\n"
	"  delete    remove the objects the files name, as kubectl delete -f,\n"
	"            whichever file the lab read them from; likewise\n"
	"  probe     connect from every pod and external host to every other on\n"
	"            each port (default: TCP, UDP and SCTP 80 and 81, and the\n"
	"            containerPorts) and compare with the engine; exit 1 on any\n"
	"            difference; cells the kernel cannot test, and connections\n"
	"            a DNS rule may decide, are 'untested'; --services: through\n"
	"            every service address and port instead, each reaching\n"
	"            every backend in turn\n"
	"  exec      run a command in the network namespace of a pod (by name\n"
	"            or address) or of an external test host (by address)\n"
	"  status    what the lab holds\n"
	"  render    print the nftables script a lab of these manifests would\n"
	"            put in force (no root needed)\n"
	"  down      remove everything the lab created (idempotent)\n"
	"\n"
	"  -f, --filename PATH       manifests: file, directory (recursive) or -\n"
	"  -p, --port PROTO/N        probe: a port to probe (repeatable)\n"
	"  -o, --output FORMAT       probe: table (default), json or tsv\n"
	"      --no-external         up: no external test hosts\n"
	"  -n, --namespace NS, --ipblock-excludes-pods, --hostnetwork-as-pods,\n"
	"      --staged, --stats, -v, --verbose\n"
	"                            read as by the analysis commands\n";

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

#define LAB_CIDR_BASE 0x0af40000u /* 10.244.0.0/16 for pods without an IP */
#define MAX_EXTERNALS 16

struct lab {
	char name[64];
	char router[128];
	unsigned flags;
	uint32_t replicas;
	struct pw_addr ext[MAX_EXTERNALS];
	int next;
	/* what the lab holds, as kubectl apply has it: an object read by a
	   later apply (generation), or removed by a later delete, replaces or
	   hides the one read before (see lab_admit) */
	char **inputs; /* manifest paths */
	uint32_t *gens; /* the apply that last read each */
	int ninputs;
	char **dels; /* keys of deleted objects */
	uint32_t *del_gens;
	int ndels;
	uint32_t gen; /* the latest apply or delete */
	/* pod mapping, from the state and extended on load */
	char **keys;
	struct pw_addr *addrs;
	int nkeys, capkeys;
	/* after load: per cluster pod, its lab index (or -1) */
	int *pod_k;
	uint32_t npods;
};

static void ns_name(const struct lab *lb, const char *suffix, char out[static 128])
{
	snprintf(out, 128, "pwl-%s-%s", lb->name, suffix);
}

static void pod_ns(const struct lab *lb, int k, char out[static 128])
{
	char s[24];
	snprintf(s, sizeof(s), "%d", k);
	ns_name(lb, s, out);
}

static void ext_ns(const struct lab *lb, int k, char out[static 128])
{
	char s[24];
	snprintf(s, sizeof(s), "x%d", k);
	ns_name(lb, s, out);
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 20)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

/* ---- state files -------------------------------------------------------- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct pw_buf b;
	pw_buf_init(&b);
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		pw_buf_add(&b, tmp, n);
	fclose(f);
	if (!b.s)
		pw_buf_puts(&b, "");
	return b.s;
}

static int write_file(const char *lab, const char *file, const char *text)
{
	char path[512], tmp[520];
	pw_lab_path(lab, file, path);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	fputs(text, f);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static void lab_release(struct lab *lb)
{
	for (int i = 0; i < lb->ninputs; i++)
		free(lb->inputs[i]);
	free(lb->inputs);
	free(lb->gens);
	for (int i = 0; i < lb->ndels; i++)
		free(lb->dels[i]);
	free(lb->dels);
	free(lb->del_gens);
	for (int i = 0; i < lb->nkeys; i++)
		free(lb->keys[i]);
	free(lb->keys);
	free(lb->addrs);
	free(lb->pod_k);
	memset(lb, 0, sizeof(*lb));
}

static void add_key(struct lab *lb, const char *key, const struct pw_addr *a)
{
	if (lb->nkeys == lb->capkeys) {
		lb->capkeys = lb->capkeys ? lb->capkeys * 2 : 16;
		lb->keys = pw_xrealloc(lb->keys, (size_t)lb->capkeys * sizeof(char *));
		lb->addrs = pw_xrealloc(lb->addrs, (size_t)lb->capkeys * sizeof(*lb->addrs));
	}
	lb->keys[lb->nkeys] = pw_xstrdup(key);
	lb->addrs[lb->nkeys++] = *a;
}

/* path is taken (heap) */
static void add_input(struct lab *lb, char *path, uint32_t gen)
{
	lb->inputs = pw_xrealloc(lb->inputs, (size_t)(lb->ninputs + 1) * sizeof(char *));
	lb->gens = pw_xrealloc(lb->gens, (size_t)(lb->ninputs + 1) * sizeof(uint32_t));
	lb->inputs[lb->ninputs] = path;
	lb->gens[lb->ninputs++] = gen;
	if (gen > lb->gen)
		lb->gen = gen;
}

static void add_del(struct lab *lb, const char *key, uint32_t gen)
{
	lb->dels = pw_xrealloc(lb->dels, (size_t)(lb->ndels + 1) * sizeof(char *));
	lb->del_gens = pw_xrealloc(lb->del_gens, (size_t)(lb->ndels + 1) * sizeof(uint32_t));
	lb->dels[lb->ndels] = pw_xstrdup(key);
	lb->del_gens[lb->ndels++] = gen;
	if (gen > lb->gen)
		lb->gen = gen;
}

static int lab_read(struct lab *lb, const char *name)
{
	char path[512];
	memset(lb, 0, sizeof(*lb));
	snprintf(lb->name, sizeof(lb->name), "%s", name);
	ns_name(lb, "r", lb->router);
	pw_lab_path(name, "config", path);
	char *cfg = read_file(path);
	if (!cfg)
		return -1;
	char *save, *line;
	for (line = strtok_r(cfg, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "replicas ", 9))
			lb->replicas = (uint32_t)atoi(line + 9);
		else if (!strncmp(line, "flags ", 6))
			lb->flags = (unsigned)atoi(line + 6);
		else if (!strncmp(line, "external ", 9) && lb->next < MAX_EXTERNALS &&
			 pw_addr_parse(line + 9, &lb->ext[lb->next]) == 0)
			lb->next++;
	}
	free(cfg);
	pw_lab_path(name, "inputs", path);
	char *in = read_file(path);
	for (line = in ? strtok_r(in, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned g;
		int at = 0;
		if (sscanf(line, "apply %u %n", &g, &at) == 1 && at && g)
			add_input(lb, pw_xstrdup(line + at), g);
		else if (sscanf(line, "delete %u %n", &g, &at) == 1 && at && g)
			add_del(lb, line + at, g);
		else if (line[0] == '/') /* before generations: one apply */
			add_input(lb, pw_xstrdup(line), 1);
	}
	free(in);
	pw_lab_path(name, "pods", path);
	char *pods = read_file(path);
	for (line = pods ? strtok_r(pods, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char key[300], addr[64];
		int k;
		struct pw_addr a;
		if (sscanf(line, "%d %299s %63s", &k, key, addr) == 3 &&
		    k == lb->nkeys && pw_addr_parse(addr, &a) == 0)
			add_key(lb, key, &a);
	}
	free(pods);
	return 0;
}

static int lab_write(const struct lab *lb)
{
	struct pw_buf b;
	pw_buf_init(&b);
	pw_buf_printf(&b, "replicas %u\nflags %u\n", lb->replicas, lb->flags);
	for (int i = 0; i < lb->next; i++) {
		char a[48];
		pw_addr_format(&lb->ext[i], a);
		pw_buf_printf(&b, "external %s\n", a);
	}
	int rc = write_file(lb->name, "config", b.s);
	pw_buf_reset(&b);
	for (int i = 0; i < lb->ninputs; i++)
		pw_buf_printf(&b, "apply %u %s\n", lb->gens[i], lb->inputs[i]);
	for (int i = 0; i < lb->ndels; i++)
		pw_buf_printf(&b, "delete %u %s\n", lb->del_gens[i], lb->dels[i]);
	rc |= write_file(lb->name, "inputs", b.s ? b.s : "");
	pw_buf_reset(&b);
	for (int i = 0; i < lb->nkeys; i++) {
		char a[48];
		pw_addr_format(&lb->addrs[i], a);
		pw_buf_printf(&b, "%d %s %s\n", i, lb->keys[i], a);
	}
	rc |= write_file(lb->name, "pods", b.s ? b.s : "");
	pw_buf_release(&b);
	return rc;
}

/* ---- loading: stable indices and addresses ------------------------------ */

static bool addr_taken(const struct pw_cluster *c, const struct lab *lb, uint32_t v)
{
	struct pw_addr a = pw_addr_from_v4(v);
	for (int i = 0; i < lb->nkeys; i++)
		if (!pw_addr_cmp(&lb->addrs[i], &a))
			return true;
	for (uint32_t i = 0; i < c->npods; i++)
		for (uint32_t k = 0; k < c->pods[i].naddrs; k++)
			if (!pw_addr_cmp(&c->pods[i].addrs[k], &a))
				return true;
	return false;
}

static int lab_prepare(struct pw_cluster *c, void *arg)
{
	struct lab *lb = arg;
	free(lb->pod_k);
	lb->npods = c->npods;
	lb->pod_k = pw_xmalloc((c->npods + 1) * sizeof(int));
	uint32_t next = LAB_CIDR_BASE + 1;
	for (uint32_t i = 0; i < c->npods; i++) {
		struct pw_pod *p = &c->pods[i];
		char key[300];
		snprintf(key, sizeof(key), "%s/%s", c->nss[p->ns].name, p->name);
		int k = -1;
		for (int j = 0; j < lb->nkeys && k < 0; j++)
			if (!strcmp(lb->keys[j], key))
				k = j;
		struct pw_addr a;
		bool have = false;
		for (uint32_t x = 0; x < p->naddrs && !have; x++)
			if (p->addrs[x].family == 4) {
				a = p->addrs[x];
				have = true;
			}
		if (!have && k >= 0) {
			a = lb->addrs[k];
			have = true;
		}
		while (!have) {
			if (!addr_taken(c, lb, next)) {
				a = pw_addr_from_v4(next);
				have = true;
			}
			next++;
		}
		if (k < 0) {
			add_key(lb, key, &a);
			k = lb->nkeys - 1;
		} else {
			lb->addrs[k] = a;
		}
		/* the lab's address comes first: the engine predicts with it */
		struct pw_addr *v = pw_arena_alloc(&c->arena, (p->naddrs + 1) * sizeof(*v));
		v[0] = a;
		uint32_t n = 1;
		for (uint32_t x = 0; x < p->naddrs; x++)
			if (pw_addr_cmp(&p->addrs[x], &a))
				v[n++] = p->addrs[x];
		p->addrs = v;
		p->naddrs = n;
		lb->pod_k[i] = k;
	}
	return 0;
}

/*
 * kubectl apply's rule for what the lab holds: an object (kind, namespace,
 * name) read by a later apply replaces the one read before, and one removed
 * by a later delete is gone.  The inputs are loaded latest apply first, so
 * the first copy of an object seen is the one in force; two copies read by
 * one apply are duplicates, reported as for any other command.
 */
struct admit {
	const uint32_t *gen_of; /* per loaded file: its apply */
	const int *input_of;	/* per loaded file: its index in lb->inputs */
	uint32_t *used;		/* per input: objects in force (heap) */
	struct pw_strmap seen;	/* key -> the latest apply or delete that has it */
	struct pw_arena keys;
	/* `lab delete` in progress: its generation, the keys hidden by earlier
	   deletes (-> their generation), the keys found in the lab */
	uint32_t del_gen;
	struct pw_strmap older, found;
	/* key -> its latest delete; the keys whose delete hid an object */
	struct pw_strmap deleted, hiding;
};

static bool lab_admit(void *arg, uint32_t input, const char *key)
{
	struct admit *a = arg;
	uintptr_t g = a->gen_of[input];
	uintptr_t s = (uintptr_t)pw_strmap_get(&a->seen, key);
	if (s > g) {
		if ((uintptr_t)pw_strmap_get(&a->deleted, key) == s &&
		    !pw_strmap_get(&a->hiding, key))
			pw_strmap_put(&a->hiding, pw_arena_strdup(&a->keys, key), (void *)1);
		/* hidden; by the delete in progress, and in force before it? */
		if (a->del_gen && s == a->del_gen &&
		    g > (uintptr_t)pw_strmap_get(&a->older, key) &&
		    !pw_strmap_get(&a->found, key))
			pw_strmap_put(&a->found, pw_arena_strdup(&a->keys, key), (void *)1);
		return false;
	}
	if (s < g)
		pw_strmap_put(&a->seen, pw_arena_strdup(&a->keys, key), (void *)g);
	a->used[a->input_of[input]]++;
	return true;
}

static void admit_init(struct admit *a, const struct lab *lb, uint32_t del_gen)
{
	memset(a, 0, sizeof(*a));
	pw_strmap_init(&a->seen);
	pw_strmap_init(&a->older);
	pw_strmap_init(&a->found);
	pw_strmap_init(&a->deleted);
	pw_strmap_init(&a->hiding);
	pw_arena_init(&a->keys);
	a->del_gen = del_gen;
	for (int i = 0; i < lb->ndels; i++) {
		uintptr_t g = lb->del_gens[i];
		const char *k = lb->dels[i];
		if (g > (uintptr_t)pw_strmap_get(&a->seen, k)) {
			pw_strmap_put(&a->seen, k, (void *)g);
			pw_strmap_put(&a->deleted, k, (void *)g);
		}
		if (g != del_gen && g > (uintptr_t)pw_strmap_get(&a->older, k))
			pw_strmap_put(&a->older, k, (void *)g);
	}
}

static void admit_release(struct admit *a)
{
	pw_strmap_release(&a->seen);
	pw_strmap_release(&a->older);
	pw_strmap_release(&a->found);
	pw_strmap_release(&a->deleted);
	pw_strmap_release(&a->hiding);
	pw_arena_release(&a->keys);
	free(a->used);
}

/* Load what the lab holds; a, when given, keeps what the loading saw. */
static int lab_load_admit(struct lab *lb, struct cli_world *w, struct admit *a)
{
	struct admit own;
	if (!a) {
		admit_init(&own, lb, 0);
		a = &own;
	}
	/* latest apply first; inputs of one apply in their order */
	int n = lb->ninputs;
	const char **files = pw_xcalloc((size_t)n + 1, sizeof(char *));
	uint32_t *gens = pw_xcalloc((size_t)n + 1, sizeof(uint32_t));
	int *orig = pw_xcalloc((size_t)n + 1, sizeof(int));
	for (int i = 0; i < n; i++) {
		int k = i;
		while (k > 0 && gens[k - 1] < lb->gens[i]) {
			files[k] = files[k - 1];
			gens[k] = gens[k - 1];
			orig[k] = orig[k - 1];
			k--;
		}
		files[k] = lb->inputs[i];
		gens[k] = lb->gens[i];
		orig[k] = i;
	}
	free(a->used);
	a->used = pw_xcalloc((size_t)n + 1, sizeof(uint32_t));
	a->gen_of = gens;
	a->input_of = orig;
	struct cli_opts o = { 0 };
	o.files = files;
	o.nfiles = n;
	o.engine_flags = lb->flags;
	o.replicas = lb->replicas;
	o.prepare = lab_prepare;
	o.prepare_arg = lb;
	o.admit = lab_admit;
	o.admit_arg = a;
	int rc = cli_world_load(w, &o);
	w->c.admit = NULL; /* a lives no longer than this load */
	w->c.admit_arg = NULL;
	a->gen_of = NULL;
	a->input_of = NULL;
	free(files);
	free(gens);
	free(orig);
	if (a == &own)
		admit_release(&own);
	return rc;
}

static int lab_load(struct lab *lb, struct cli_world *w)
{
	return lab_load_admit(lb, w, NULL);
}

/* What the ruleset leaves out (DNS rules), as warnings on stderr. */
static void lab_warn_unenforced(const struct cli_world *w)
{
	struct pw_diags d;
	struct pw_buf b;
	pw_diags_init(&d);
	pw_buf_init(&b);
	pw_nft_unenforced(&w->e, &d);
	for (size_t i = 0; i < d.n; i++) {
		pw_buf_reset(&b);
		pw_diag_format(&d.v[i], &b);
		fprintf(stderr, "%s\n", b.s);
	}
	pw_buf_release(&b);
	pw_diags_release(&d);
}

/* ---- namespaces, links, servers ------------------------------------------ */

static int ip_batch(const char *netns, const char *script, struct pw_buf *err)
{
	char path[] = "/tmp/podwall-ip-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, script, strlen(script));
	close(fd);
	char *argv[8];
	int a = 0;
	argv[a++] = "ip";
	if (netns) {
		argv[a++] = "-n";
		argv[a++] = (char *)netns;
	}
	argv[a++] = "-b";
	argv[a++] = path;
	argv[a] = NULL;
	int rc = n < 0 ? -1 : pw_run(argv, err);
	unlink(path);
	return rc;
}

/* Run fn(arg) in a child that entered netns; its exit status. */
static int in_netns(const char *netns, int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (pw_netns_enter(netns) < 0)
			_exit(99);
		_exit(fn(arg) ? 1 : 0);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int enable_forwarding(void *arg)
{
	(void)arg;
	int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, "1\n", 2);
	close(fd);
	return n == 2 ? 0 : -1;
}

/* One host behind the router: netns, veth, address, routes. */
static int add_host(struct lab *lb, const char *netns, const char *veth,
		    const struct pw_addr *a, struct pw_buf *err)
{
	char addr[48], script[1024];
	pw_addr_format(a, addr);
	if (pw_lab_own(lb->name, "netns %s", netns) < 0)
		return -1;
	snprintf(script, sizeof(script), "netns add %s\n", netns);
	if (ip_batch(NULL, script, err) < 0)
		return -1;
	snprintf(script, sizeof(script),
		 "link add %s type veth peer name eth0 netns %s\n"
		 "addr add 169.254.1.1/32 dev %s\n"
		 "link set %s up\n"
		 "route add %s/32 dev %s\n",
		 veth, netns, veth, veth, addr, veth);
	if (ip_batch(lb->router, script, err) < 0)
		return -1;
	snprintf(script, sizeof(script),
		 "link set lo up\n"
		 "addr add %s/32 dev eth0\n"
		 "link set eth0 up\n"
		 "route add 169.254.1.1 dev eth0 scope link\n"
		 "route add default via 169.254.1.1 dev eth0\n",
		 addr);
	return ip_batch(netns, script, err);
}

static int del_netns(const char *netns)
{
	char *argv[] = { "ip", "netns", "del", (char *)netns, NULL };
	struct pw_buf err;
	pw_buf_init(&err);
	int rc = pw_netns_exists(netns) ? pw_run(argv, &err) : 0;
	pw_buf_release(&err);
	return rc;
}

/* The pod's server: containerPorts, and 80 and 81, over TCP, UDP, SCTP. */
static int start_server(struct lab *lb, const char *netns, const struct pw_pod *p)
{
	struct pw_buf ports;
	pw_buf_init(&ports);
	pw_buf_puts(&ports, "TCP/80,TCP/81,UDP/80,UDP/81,SCTP/80,SCTP/81");
	for (uint32_t i = 0; p && i < p->nports; i++)
		pw_buf_printf(&ports, ",%s/%d", pw_proto_name(p->ports[i].proto),
			      p->ports[i].port);
	pid_t pid = fork();
	if (pid < 0) {
		pw_buf_release(&ports);
		return -1;
	}
	if (pid == 0) {
		setsid();
		/* the child records itself, so a parent killed right after the
		   fork leaves no unrecorded server behind */
		pw_lab_own(lb->name, "pid %d %s", (int)getpid(), netns);
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		char *argv[] = { "podwall", "lab", "__serve", lb->name, (char *)netns,
				 ports.s, NULL };
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	pw_buf_release(&ports);
	return 0;
}

static bool our_server(int pid, const char *lab);

/* Every process whose network namespace is one of the lab's: servers, and
   what `lab exec` started there.  The namespace goes; so do they. */
static void kill_in_netns(const char *netns)
{
	char path[300];
	struct stat st;
	snprintf(path, sizeof(path), "/run/netns/%s", netns);
	if (stat(path, &st) < 0)
		return;
	DIR *d = opendir("/proc");
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		int pid = atoi(de->d_name);
		if (pid <= 1 || pid == getpid())
			continue;
		char np[64];
		struct stat ps;
		snprintf(np, sizeof(np), "/proc/%d/ns/net", pid);
		if (stat(np, &ps) == 0 && ps.st_ino == st.st_ino && ps.st_dev == st.st_dev)
			kill(pid, SIGKILL);
	}
	closedir(d);
}

/* Every process whose command line is this lab's server: a fallback for
   records a crash may have lost. */
static void kill_servers_scan(const char *lab)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		int pid = atoi(de->d_name);
		if (pid > 1 && pid != getpid() && our_server(pid, lab))
			kill(pid, SIGKILL);
	}
	closedir(d);
}

/* Is pid one of this lab's servers (and not a recycled pid)?  Its command
   line is "podwall lab __serve NAME ..." (argv[0] may be a path). */
static bool our_server(int pid, const char *lab)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	const char *want[] = { "lab", "__serve", lab };
	const char *p = buf, *end = buf + n;
	p += strlen(p) + 1; /* argv[0] */
	for (size_t i = 0; i < PW_ARRAY_SIZE(want); i++) {
		if (p >= end || strcmp(p, want[i]))
			return false;
		p += strlen(p) + 1;
	}
	return true;
}

static volatile sig_atomic_t serve_stop;
static void on_term(int sig)
{
	(void)sig;
	serve_stop = 1;
}

static int lab_serve(int argc, char **argv)
{
	if (argc < 4)
		return EXIT_USAGE;
	if (pw_netns_enter(argv[2]) < 0)
		return 1;
	struct pw_listen v[64];
	size_t n = 0;
	char *save, *tok;
	for (tok = strtok_r(argv[3], ",", &save); tok && n < 64;
	     tok = strtok_r(NULL, ",", &save)) {
		int proto, port;
		if (pw_protoport_parse(tok, &proto, &port) == 0) {
			bool dup = false;
			for (size_t i = 0; i < n; i++)
				dup |= v[i].proto == proto && v[i].port == port;
			if (!dup)
				v[n++] = (struct pw_listen){ proto, port };
		}
	}
	struct sigaction sa = { 0 };
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	return pw_serve(v, n, &serve_stop) < 0 ? 1 : 0;
}

/* Internal test tools, run inside pods with `lab exec`:
 *   lab __echo PORT             accept TCP connections, echo what they send
 *   lab __hold ADDR PORT SECS   connect, then every 100 ms send a line and
 *                               wait up to 1 s for its echo; print "held" and
 *                               exit 0 if the connection lived SECS seconds,
 *                               print "cut after N ms" and exit 1 if not */

static int lab_echo(int argc, char **argv)
{
	if (argc < 2)
		return EXIT_USAGE;
	int port = atoi(argv[1]);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0)
		return 1;
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		if (fork() == 0) {
			/* a connection the policies cut never sees a FIN: do not
			   outlive the server */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			char buf[512];
			ssize_t n;
			while ((n = read(c, buf, sizeof(buf))) > 0)
				if (write(c, buf, (size_t)n) != n)
					break;
			_exit(0);
		}
		close(c);
	}
}

static int lab_hold(int argc, char **argv)
{
	if (argc < 4)
		return EXIT_USAGE;
	struct pw_addr dst;
	if (pw_addr_parse(argv[1], &dst) < 0 || dst.family != 4)
		return EXIT_USAGE;
	int secs = atoi(argv[3]);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)atoi(argv[2]));
	memcpy(&a.sin_addr, dst.b, 4);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("cannot connect: %s\n", strerror(errno));
		return 1;
	}
	double t0 = now_ms();
	while (now_ms() - t0 < secs * 1000.0) {
		if (write(s, "ping\n", 5) != 5) {
			printf("cut after %.0f ms (write failed)\n", now_ms() - t0);
			return 1;
		}
		struct pollfd p = { s, POLLIN, 0 };
		char buf[64];
		if (poll(&p, 1, 1000) <= 0 || read(s, buf, sizeof(buf)) <= 0) {
			printf("cut after %.0f ms\n", now_ms() - t0);
			return 1;
		}
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	printf("held\n");
	return 0;
}

/* Benchmark tools, run inside pods with `lab exec`:
 *   lab __sink tcp|udp PORT SECS       count what arrives for SECS seconds
 *   lab __blast tcp|udp ADDR PORT SECS SIZE   send SIZE-byte writes or
 *                                      datagrams for SECS seconds
 * __sink prints "bytes N packets N seconds S". */
static int lab_sink(int argc, char **argv)
{
	if (argc < 4)
		return EXIT_USAGE;
	bool udp = !strcmp(argv[1], "udp");
	double secs = atof(argv[3]);
	int s = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	int one = 1, big = 8 << 20;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)atoi(argv[2]));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (!udp && listen(s, 4) < 0))
		return 1;
	int c = s;
	if (!udp) {
		struct pollfd p = { s, POLLIN, 0 };
		if (poll(&p, 1, 10000) <= 0 || (c = accept(s, NULL, NULL)) < 0)
			return 1;
	}
	static char buf[1 << 16];
	unsigned long long bytes = 0, pkts = 0;
	double t0 = -1, t1 = 0;
	for (;;) {
		struct pollfd p = { c, POLLIN, 0 };
		if (poll(&p, 1, 500) <= 0)
			break;
		ssize_t n = recv(c, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		t1 = now_ms();
		if (t0 < 0)
			t0 = t1;
		bytes += (unsigned long long)n;
		pkts++;
		if (t1 - t0 > secs * 1000 + 500)
			break;
	}
	printf("bytes %llu packets %llu seconds %.3f\n", bytes, pkts,
	       t0 < 0 ? 0 : (t1 - t0) / 1000.0);
	return 0;
}

static int lab_blast(int argc, char **argv)
{
	if (argc < 6)
		return EXIT_USAGE;
	bool udp = !strcmp(argv[1], "udp");
	struct pw_addr dst;
	if (pw_addr_parse(argv[2], &dst) < 0 || dst.family != 4)
		return EXIT_USAGE;
	double secs = atof(argv[4]);
	size_t size = (size_t)atoi(argv[5]);
	if (size < 1 || size > 65000)
		return EXIT_USAGE;
	int s = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)atoi(argv[3]));
	memcpy(&a.sin_addr, dst.b, 4);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return 1;
	char *buf = pw_xcalloc(1, size);
	double t0 = now_ms();
	while (now_ms() - t0 < secs * 1000) {
		for (int i = 0; i < 64; i++)
			if (send(s, buf, size, 0) < 0 && errno != ENOBUFS &&
			    errno != ECONNREFUSED && errno != EAGAIN) {
				free(buf);
				return 1;
			}
	}
	free(buf);
	close(s);
	return 0;
}

/* ---- the dataplane -------------------------------------------------------- */

struct nft_job {
	const char *script;
	struct pw_buf err;
};

static int run_nft(void *arg)
{
	struct nft_job *j = arg;
	struct pw_buf err;
	pw_buf_init(&err);
	int rc = pw_nft_run(j->script, &err);
	if (rc)
		fprintf(stderr, "podwall: nftables: %s\n", err.s ? err.s : "");
	pw_buf_release(&err);
	return rc;
}

static void lab_ports(const struct lab *lb, const struct cli_world *w,
		      struct pw_dp_port **out, size_t *n, char ***names)
{
	*out = pw_xcalloc(w->c.npods + 1, sizeof(**out));
	*names = pw_xcalloc(w->c.npods + 1, sizeof(char *));
	*n = 0;
	for (uint32_t i = 0; i < w->c.npods; i++) {
		char *ifn = pw_xmalloc(24);
		snprintf(ifn, 24, "pwr%d", lb->pod_k[i]);
		(*names)[*n] = ifn;
		(*out)[(*n)++] = (struct pw_dp_port){ i, ifn };
	}
}

static void serialize_nft(const struct pw_nft *t, struct pw_buf *out)
{
	for (size_t i = 0; i < t->n; i++)
		pw_buf_printf(out, "%s\x1f%s\x1f%s\x1e", t->v[i].kind, t->v[i].name,
			      t->v[i].body);
}

static void parse_nft(const char *s, struct pw_nft *t)
{
	while (s && *s) {
		const char *a = strchr(s, '\x1f');
		const char *b = a ? strchr(a + 1, '\x1f') : NULL;
		const char *e = b ? strchr(b + 1, '\x1e') : NULL;
		if (!e)
			break;
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 32;
			t->v = pw_xrealloc(t->v, t->cap * sizeof(*t->v));
		}
		struct pw_nft_obj *o = &t->v[t->n++];
		o->kind = strndup(s, (size_t)(a - s));
		o->name = strndup(a + 1, (size_t)(b - a - 1));
		o->body = strndup(b + 1, (size_t)(e - b - 1));
		s = e + 1;
	}
}

/* Render and put in force; full replace, or only what changed. */
static int lab_enforce(struct lab *lb, const struct cli_world *w, bool delta,
		       size_t *rules)
{
	struct pw_dp_port *ports;
	char **names;
	size_t n;
	lab_ports(lb, w, &ports, &n, &names);
	struct pw_nft t, old;
	pw_nft_init(&t);
	pw_nft_init(&old);
	/* the benchmark's baseline: rules one by one, as iptables has them */
	const char *lin = getenv("PODWALL_NFT_LINEAR");
	pw_nft_build_opts(&w->e, ports, n, lin && *lin == '1', &t);
	pw_nft_add_services(&w->c, &t);
	struct pw_buf script;
	pw_buf_init(&script);
	char path[512];
	pw_lab_path(lb->name, "nft", path);
	char *prev = delta ? read_file(path) : NULL;
	if (prev) {
		parse_nft(prev, &old);
		pw_nft_script_delta(&old, &t, PW_LAB_TABLE, &script);
	} else {
		pw_nft_script_full(&t, PW_LAB_TABLE, &script);
	}
	free(prev);
	int rc = 0;
	if (script.len) {
		struct nft_job j = { script.s, { 0 } };
		rc = in_netns(lb->router, run_nft, &j);
	}
	if (!rc) {
		struct pw_buf ser;
		pw_buf_init(&ser);
		serialize_nft(&t, &ser);
		rc = write_file(lb->name, "nft", ser.s ? ser.s : "");
		pw_buf_release(&ser);
	}
	if (rules)
		*rules = t.rules;
	pw_buf_release(&script);
	pw_nft_release(&t);
	pw_nft_release(&old);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(ports);
	return rc;
}

/* ---- up ------------------------------------------------------------------ */

static int create_pod(struct lab *lb, const struct cli_world *w, uint32_t i,
		      struct pw_buf *err)
{
	char netns[128], veth[24];
	int k = lb->pod_k[i];
	pod_ns(lb, k, netns);
	snprintf(veth, sizeof(veth), "pwr%d", k);
	if (add_host(lb, netns, veth, &w->c.pods[i].addrs[0], err) < 0)
		return -1;
	return start_server(lb, netns, &w->c.pods[i]);
}

static int lab_up(struct lab *lb, struct cli_world *w)
{
	struct pw_buf err;
	pw_buf_init(&err);
	int rc = -1;
	if (pw_lab_own(lb->name, "netns %s", lb->router) < 0)
		goto out;
	char script[256];
	snprintf(script, sizeof(script), "netns add %s\n", lb->router);
	if (ip_batch(NULL, script, &err) < 0 ||
	    ip_batch(lb->router, "link set lo up\n", &err) < 0 ||
	    in_netns(lb->router, enable_forwarding, NULL) < 0)
		goto out;
	for (uint32_t i = 0; i < w->c.npods; i++)
		if (create_pod(lb, w, i, &err) < 0)
			goto out;
	for (int x = 0; x < lb->next; x++) {
		char netns[128], veth[24];
		ext_ns(lb, x, netns);
		snprintf(veth, sizeof(veth), "pwx%d", x);
		if (add_host(lb, netns, veth, &lb->ext[x], &err) < 0 ||
		    start_server(lb, netns, NULL) < 0)
			goto out;
	}
	size_t rules = 0;
	if (lab_enforce(lb, w, false, &rules) < 0) {
		pw_buf_puts(&err, "cannot put the nftables table in force");
		goto out;
	}
	printf("lab %s is up: %u pods, %d external hosts, %zu nftables rules\n",
	       lb->name, w->c.npods, lb->next, rules);
	rc = 0;
out:
	if (rc)
		cli_error("lab up: %s", err.s ? err.s : strerror(errno));
	pw_buf_release(&err);
	return rc;
}

/* ---- down ---------------------------------------------------------------- */

static int lab_down(const char *name)
{
	char path[512];
	pw_lab_path(name, "owned", path);
	char *owned = read_file(path);
	if (!owned) {
		printf("lab %s is not up\n", name);
		char dir[512];
		pw_lab_path(name, NULL, dir);
		rmdir(dir);
		return 0;
	}
	/* servers first, then namespaces (links and the table go with them) */
	int failed = 0;
	char *save, *line;
	char *copy = pw_xstrdup(owned);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int pid;
		if (sscanf(line, "pid %d", &pid) == 1 && pid > 1 && our_server(pid, name))
			kill(pid, SIGTERM);
	}
	free(copy);
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	copy = pw_xstrdup(owned);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int pid;
		if (sscanf(line, "pid %d", &pid) != 1 || pid <= 1)
			continue;
		for (int tries = 0; tries < 40 && our_server(pid, name); tries++)
			nanosleep(&ts, NULL);
		if (our_server(pid, name))
			kill(pid, SIGKILL);
		waitpid(pid, NULL, WNOHANG);
	}
	free(copy);
	kill_servers_scan(name);
	copy = pw_xstrdup(owned);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char ns[200];
		if (sscanf(line, "netns %199s", ns) == 1)
			kill_in_netns(ns);
	}
	free(copy);
	copy = pw_xstrdup(owned);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char ns[200];
		if (sscanf(line, "netns %199s", ns) == 1 && del_netns(ns) < 0)
			failed++;
	}
	free(copy);
	free(owned);
	if (failed) {
		cli_error("lab down: %d namespaces could not be removed; state kept", failed);
		return 1;
	}
	static const char *const files[] = { "owned", "config", "inputs", "pods", "nft",
					     "config.new", "inputs.new", "pods.new", "nft.new" };
	for (size_t i = 0; i < PW_ARRAY_SIZE(files); i++) {
		pw_lab_path(name, files[i], path);
		unlink(path);
	}
	pw_lab_path(name, NULL, path);
	rmdir(path);
	printf("lab %s is down\n", name);
	return 0;
}

/* ---- probe ---------------------------------------------------------------- */

struct endpoint {
	char label[300];
	const char *kind; /* "Pod", "External" */
	char netns[128];
	struct pw_ep ep;
	struct pw_addr addr;
};

struct probe_job {
	struct pw_probe *v;
	size_t n;
	int fd;
};

static int probe_timeout_ms = 500;

static int run_probes(void *arg)
{
	struct probe_job *j = arg;
	if (pw_probe_run(j->v, j->n, probe_timeout_ms) < 0)
		return -1;
	size_t len = j->n * sizeof(*j->v);
	const char *p = (const char *)j->v;
	while (len) {
		ssize_t w = write(j->fd, p, len);
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Every pod, in the lab's order (the order they joined it), then the
   external hosts: the ends of the probes.  Heap; returns the count. */
static size_t probe_endpoints(const struct lab *lb, const struct cli_world *w,
			      struct endpoint **out)
{
	const struct pw_cluster *c = &w->c;
	struct endpoint *eps = pw_xcalloc(c->npods + (size_t)lb->next + 1, sizeof(*eps));
	size_t n = 0;
	/* pods in the lab's order (the order they joined it), then the hosts */
	uint32_t *order = pw_xcalloc(c->npods + 1, sizeof(uint32_t));
	for (uint32_t i = 0; i < c->npods; i++) {
		uint32_t k = i;
		while (k > 0 && lb->pod_k[order[k - 1]] > lb->pod_k[i]) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
	}
	for (uint32_t j = 0; j < c->npods; j++) {
		uint32_t i = order[j];
		struct endpoint *e = &eps[n++];
		snprintf(e->label, sizeof(e->label), "%s/%s", c->nss[c->pods[i].ns].name,
			 c->pods[i].name);
		e->kind = "Pod";
		pod_ns(lb, lb->pod_k[i], e->netns);
		e->ep = pw_ep_pod(c, i);
		e->addr = c->pods[i].addrs[0];
	}
	for (int x = 0; x < lb->next; x++) {
		struct endpoint *e = &eps[n++];
		pw_addr_format(&lb->ext[x], e->label);
		e->kind = "External";
		ext_ns(lb, x, e->netns);
		e->ep = pw_ep_addr(&lb->ext[x]);
		e->addr = lb->ext[x];
	}
	free(order);
	*out = eps;
	return n;
}

/* Read len bytes of probe results from fd (short on a child's failure). */
static void read_results(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t r = read(fd, p, len);
		if (r <= 0)
			break;
		p += r;
		len -= (size_t)r;
	}
}

static int lab_probe(struct lab *lb, struct cli_world *w, int *protos,
		     int *portv, size_t nq, const char *fmt)
{
	struct endpoint *eps;
	size_t n = probe_endpoints(lb, w, &eps);
	/* one child per source, all at once */
	size_t per = (n - 1) * nq;
	struct pw_probe *all = pw_xcalloc(n * per + 1, sizeof(*all));
	pid_t *pids = pw_xcalloc(n + 1, sizeof(pid_t));
	int *fds = pw_xcalloc(n + 1, sizeof(int));
	for (size_t s = 0; s < n; s++) {
		struct pw_probe *v = &all[s * per];
		size_t m = 0;
		for (size_t d = 0; d < n; d++) {
			if (d == s)
				continue;
			for (size_t q = 0; q < nq; q++)
				v[m++] = (struct pw_probe){ .dst = eps[d].addr,
							    .proto = protos[q],
							    .port = portv[q] };
		}
		int pfd[2];
		if (pipe(pfd) < 0)
			return cli_error("lab probe: pipe: %s", strerror(errno)), EXIT_USAGE;
		pid_t pid = fork();
		if (pid == 0) {
			close(pfd[0]);
			struct probe_job j = { v, m, pfd[1] };
			if (pw_netns_enter(eps[s].netns) < 0)
				_exit(99);
			_exit(run_probes(&j) ? 1 : 0);
		}
		close(pfd[1]);
		pids[s] = pid;
		fds[s] = pfd[0];
	}
	for (size_t s = 0; s < n; s++) {
		read_results(fds[s], &all[s * per], per * sizeof(*all));
		close(fds[s]);
		waitpid(pids[s], NULL, 0);
	}
	/* compare with the engine */
	size_t agree = 0, differ = 0, untested = 0, by_dns = 0;
	struct pw_buf diffs;
	pw_buf_init(&diffs);
	char *obs = pw_xmalloc(n * n * nq + 1);
	for (size_t s = 0; s < n; s++) {
		size_t m = 0;
		for (size_t d = 0; d < n; d++) {
			if (d == s) {
				for (size_t q = 0; q < nq; q++)
					obs[(q * n + s) * n + d] = '-';
				continue;
			}
			for (size_t q = 0; q < nq; q++, m++) {
				const struct pw_probe *pr = &all[s * per + m];
				struct pw_query qq = pw_query_port(protos[q], portv[q]);
				struct pw_verdict v;
				pw_engine_eval(&w->e, &eps[s].ep, &eps[d].ep, &qq, &v);
				char *cell = &obs[(q * n + s) * n + d];
				if (pr->result == PW_PROBE_UNSUPPORTED || pr->result == PW_PROBE_ERROR) {
					*cell = '?';
					untested++;
					continue;
				}
				/* a DNS rule may decide it: the lab does not enforce those */
				if (pw_engine_name_dependent(&w->e, &eps[s].ep, &eps[d].ep, &qq)) {
					*cell = '?';
					untested++;
					by_dns++;
					continue;
				}
				bool open = pr->result == PW_PROBE_OPEN ||
					    pr->result == PW_PROBE_REFUSED;
				*cell = open ? '.' : 'X';
				if (open == v.allowed) {
					agree++;
				} else {
					differ++;
					pw_buf_printf(&diffs, "%s -> %s %s/%d: engine %s, lab %s\n",
						      eps[s].label, eps[d].label,
						      pw_proto_name(protos[q]), portv[q],
						      v.allowed ? "ALLOW" : "DENY",
						      open ? "open" : "blocked");
				}
			}
		}
	}
	bool json = fmt && !strcmp(fmt, "json");
	if (fmt && !strcmp(fmt, "tsv")) {
		for (size_t s = 0; s < n; s++) {
			size_t m = 0;
			for (size_t d = 0; d < n; d++) {
				if (d == s)
					continue;
				for (size_t q = 0; q < nq; q++, m++) {
					struct pw_query qq = pw_query_port(protos[q], portv[q]);
					struct pw_verdict v;
					pw_engine_eval(&w->e, &eps[s].ep, &eps[d].ep, &qq, &v);
					char cell = obs[(q * n + s) * n + d];
					printf("%s\t%s\t%s/%d\t%s\t%s\n", eps[s].label, eps[d].label,
					       pw_proto_name(protos[q]), portv[q],
					       cell == '?' ? "untested" : cell == '.' ? "allow" : "deny",
					       v.allowed ? "allow" : "deny");
				}
			}
		}
	} else if (!json) {
		/* as matrix prints it: the legend, then rows named */
		char (*names)[320] = pw_xcalloc(n + 1, sizeof(*names));
		size_t wid = 3;
		for (size_t i = 0; i < n; i++) {
			snprintf(names[i], sizeof(names[i]), "%s[%s]", eps[i].label, eps[i].kind);
			if (strlen(names[i]) > wid)
				wid = strlen(names[i]);
		}
		printf("Endpoints:\n");
		for (size_t i = 0; i < n; i++)
			printf("  %2zu  %s\n", i + 1, names[i]);
		for (size_t q = 0; q < nq; q++) {
			printf("\nObserved %s/%d ('.' reached, 'X' blocked, '?' untested; rows: from, columns: to)\n%*s",
			       pw_proto_name(protos[q]), portv[q], (int)wid + 6, "");
			for (size_t d = 0; d < n; d++)
				printf(" %2zu", d + 1);
			putchar('\n');
			for (size_t s = 0; s < n; s++) {
				printf("  %2zu  %-*s", s + 1, (int)wid, names[s]);
				for (size_t d = 0; d < n; d++)
					printf("  %c", obs[(q * n + s) * n + d]);
				putchar('\n');
			}
		}
		free(names);
		if (diffs.len)
			printf("\nDifferences from the engine:\n%s", diffs.s);
		struct pw_buf why;
		pw_buf_init(&why);
		if (by_dns)
			pw_buf_printf(&why, "%zu may be decided by DNS domains, which the lab does not enforce",
				      by_dns);
		if (untested > by_dns)
			pw_buf_printf(&why, "%s%zu %s", by_dns ? "; " : "", untested - by_dns,
				      pw_sctp_supported() ? "could not be probed"
							  : "need SCTP, which this kernel lacks");
		printf("\nprobed %zu connections: %zu agree with the engine, %zu differ, %zu untested%s%s%s\n",
		       agree + differ + untested, agree, differ, untested, why.len ? " (" : "",
		       why.len ? why.s : "", why.len ? ")" : "");
		pw_buf_release(&why);
	} else {
		printf("{\n  \"agree\": %zu,\n  \"differ\": %zu,\n  \"untested\": %zu,\n  \"untested_dns\": %zu,\n  \"differences\": [",
		       agree, differ, untested, by_dns);
		const char *p = diffs.s;
		bool first = true;
		while (p && *p) {
			const char *nl = strchr(p, '\n');
			printf("%s\n    \"%.*s\"", first ? "" : ",", (int)(nl - p), p);
			first = false;
			p = nl + 1;
		}
		printf("%s]\n}\n", first ? "" : "\n  ");
	}
	free(obs);
	pw_buf_release(&diffs);
	free(all);
	free(pids);
	free(fds);
	free(eps);
	return differ ? EXIT_FINDINGS : 0;
}

/*
 * lab probe --services: connections through every service address and
 * port, from every pod and external host.  The router picks backends in
 * turn (lib/nft-svc.c), so N connections in a row from one source reach
 * each of the N backends once: the connection counts as reached only if
 * all N do, as the engine allows it only if every backend does.  Sources
 * take turns per service port (one process each, entering each source's
 * namespace in turn); service ports are probed in parallel.  A service
 * port with a backend that is neither a lab pod nor a lab host cannot be
 * tested: untested.
 */
struct svc_target {
	const struct pw_service *svc;
	const struct pw_svc_port *sp;
	struct pw_addr vip;
	size_t nb; /* IPv4 backends */
	int chain; /* service port: the turn counter they share */
	bool absent; /* a backend is neither a lab pod nor a lab host */
};

static int lab_probe_services(struct lab *lb, struct cli_world *w, const char *fmt)
{
	const struct pw_cluster *c = &w->c;
	struct endpoint *eps;
	size_t n = probe_endpoints(lb, w, &eps);
	struct svc_target *tv = NULL;
	size_t nt = 0, tcap = 0;
	int chains = 0;
	for (uint32_t i = 0; i < c->nsvcs; i++) {
		const struct pw_service *sv = &c->svcs[i];
		if (sv->headless || sv->type == PW_SVC_EXTERNAL_NAME)
			continue;
		for (uint32_t k = 0; k < sv->nports; k++) {
			struct pw_backend *b;
			size_t nb = pw_service_backends(c, sv, &sv->ports[k], sv->ports[k].proto,
							sv->ports[k].port, &b), n4 = 0;
			bool absent = false;
			for (size_t j = 0; j < nb; j++) {
				n4 += b[j].addr.family == 4;
				bool here = b[j].pod >= 0;
				for (int x = 0; x < lb->next && !here; x++)
					here = !pw_addr_cmp(&lb->ext[x], &b[j].addr);
				absent |= !here;
			}
			free(b);
			if (!n4)
				continue; /* nothing to reach: no entry in the router */
			for (uint32_t v = 0; v < sv->nvips; v++) {
				if (sv->vips[v].family != 4)
					continue;
				if (nt == tcap) {
					tcap = tcap ? tcap * 2 : 16;
					tv = pw_xrealloc(tv, tcap * sizeof(*tv));
				}
				tv[nt++] = (struct svc_target){ sv, &sv->ports[k], sv->vips[v],
								n4, chains, absent };
			}
			chains++;
		}
	}
	/* per target and source: the n4 probes, in a row */
	size_t *off = pw_xcalloc(nt + 1, sizeof(*off));
	for (size_t t = 0; t < nt; t++)
		off[t + 1] = off[t] + tv[t].nb * n;
	struct pw_probe *all = pw_xcalloc(off[nt] + 1, sizeof(*all));
	for (size_t t = 0; t < nt; t++)
		for (size_t k = 0; k < tv[t].nb * n; k++)
			all[off[t] + k] = (struct pw_probe){ .dst = tv[t].vip,
							     .proto = tv[t].sp->proto,
							     .port = tv[t].sp->port };
	pid_t *pids = pw_xcalloc((size_t)chains + 1, sizeof(pid_t));
	int *fds = pw_xcalloc((size_t)chains + 1, sizeof(int));
	for (int ch = 0; ch < chains; ch++) {
		int pfd[2];
		if (pipe(pfd) < 0)
			return cli_error("lab probe: pipe: %s", strerror(errno)), EXIT_USAGE;
		pid_t pid = fork();
		if (pid == 0) {
			close(pfd[0]);
			for (size_t t = 0; t < nt; t++) {
				if (tv[t].chain != ch)
					continue;
				for (size_t s = 0; s < n; s++) {
					if (pw_netns_enter(eps[s].netns) < 0)
						_exit(99);
					for (size_t k = 0; k < tv[t].nb; k++) {
						struct probe_job j = { &all[off[t] + s * tv[t].nb + k], 1,
								       pfd[1] };
						if (run_probes(&j))
							_exit(1);
					}
				}
			}
			_exit(0);
		}
		close(pfd[1]);
		pids[ch] = pid;
		fds[ch] = pfd[0];
	}
	for (int ch = 0; ch < chains; ch++) {
		for (size_t t = 0; t < nt; t++) {
			if (tv[t].chain != ch)
				continue;
			read_results(fds[ch], &all[off[t]], tv[t].nb * n * sizeof(*all));
		}
		close(fds[ch]);
		waitpid(pids[ch], NULL, 0);
	}
	size_t agree = 0, differ = 0, untested = 0;
	bool tsv = fmt && !strcmp(fmt, "tsv");
	struct pw_buf diffs;
	pw_buf_init(&diffs);
	for (size_t t = 0; t < nt; t++)
		for (size_t s = 0; s < n; s++) {
			const struct pw_probe *pr = &all[off[t] + s * tv[t].nb];
			bool open = true, unk = tv[t].absent;
			for (size_t k = 0; k < tv[t].nb; k++) {
				unk |= pr[k].result == PW_PROBE_UNSUPPORTED ||
				       pr[k].result == PW_PROBE_ERROR;
				open &= pr[k].result == PW_PROBE_OPEN ||
					pr[k].result == PW_PROBE_REFUSED;
			}
			struct pw_query q = pw_query_port(tv[t].sp->proto, tv[t].sp->port);
			struct pw_svc_answer *a;
			size_t na;
			const char *why;
			bool want = pw_service_eval(&w->e, NULL, &eps[s].ep, 1, tv[t].svc,
						    &q, &a, &na, &why) == 1;
			free(a);
			char vip[48];
			pw_addr_format(&tv[t].vip, vip);
			if (tsv)
				printf("%s\t%s/%s=%s\t%s/%d\t%s\t%s\n", eps[s].label,
				       c->nss[tv[t].svc->ns].name, tv[t].svc->name, vip,
				       pw_proto_name(tv[t].sp->proto), tv[t].sp->port,
				       unk ? "untested" : open ? "allow" : "deny",
				       want ? "allow" : "deny");
			if (unk) {
				untested++;
			} else if (open == want) {
				agree++;
			} else {
				differ++;
				pw_buf_printf(&diffs, "%s -> Service %s/%s (%s) %s/%d: engine %s, lab %s\n",
					      eps[s].label, c->nss[tv[t].svc->ns].name,
					      tv[t].svc->name, vip, pw_proto_name(tv[t].sp->proto),
					      tv[t].sp->port, want ? "ALLOW" : "DENY",
					      open ? "open" : "blocked");
			}
		}
	if (!tsv) {
		if (diffs.len)
			printf("Differences from the engine:\n%s\n", diffs.s);
		printf("probed %zu connections through %zu service addresses and ports: "
		       "%zu agree with the engine, %zu differ, %zu untested\n",
		       agree + differ + untested, nt, agree, differ, untested);
	}
	pw_buf_release(&diffs);
	free(all);
	free(off);
	free(tv);
	free(pids);
	free(fds);
	free(eps);
	return differ ? EXIT_FINDINGS : 0;
}

/* ---- apply / delete ------------------------------------------------------ */

/* conntrack entries the new policies deny are removed */
static int cut_established(struct lab *lb, const struct cli_world *w)
{
	struct pw_buf out, err;
	pw_buf_init(&out);
	pw_buf_init(&err);
	char *argv[] = { "ip", "netns", "exec", lb->router, "conntrack", "-L", NULL };
	int cut = 0;
	if (pw_run_capture(argv, &out, &err) < 0) {
		pw_buf_release(&out);
		pw_buf_release(&err);
		return -1;
	}
	char *save, *line;
	for (line = out.s ? strtok_r(out.s, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char proto[16], src[64] = "", dst[64] = "";
		int sport = 0, dport = 0;
		if (sscanf(line, "%15s", proto) != 1)
			continue;
		int p = pw_proto_parse(proto);
		if (p < 0)
			continue;
		/* closing and closed TCP flows are no connections to cut */
		if (p == PW_TCP && !strstr(line, " ESTABLISHED ") &&
		    !strstr(line, " SYN_SENT ") && !strstr(line, " SYN_RECV "))
			continue;
		const char *s = strstr(line, "src="), *d = strstr(line, "dst=");
		const char *sp = strstr(line, "sport="), *dp = strstr(line, "dport=");
		if (!s || !d || !sp || !dp || sscanf(s, "src=%63s", src) != 1 ||
		    sscanf(d, "dst=%63s", dst) != 1 || sscanf(sp, "sport=%d", &sport) != 1 ||
		    sscanf(dp, "dport=%d", &dport) != 1)
			continue;
		struct pw_addr a, b;
		if (pw_addr_parse(src, &a) < 0 || pw_addr_parse(dst, &b) < 0)
			continue;
		struct pw_ep es = pw_ep_addr(&a), ed = pw_ep_addr(&b);
		for (uint32_t i = 0; i < w->c.npods; i++) {
			if (!pw_addr_cmp(&w->c.pods[i].addrs[0], &a))
				es = pw_ep_pod(&w->c, i);
			if (!pw_addr_cmp(&w->c.pods[i].addrs[0], &b))
				ed = pw_ep_pod(&w->c, i);
		}
		struct pw_query q = pw_query_port(p, dport);
		struct pw_verdict v;
		pw_engine_eval(&w->e, &es, &ed, &q, &v);
		if (v.allowed)
			continue;
		char sps[16], dps[16];
		snprintf(sps, sizeof(sps), "%d", sport);
		snprintf(dps, sizeof(dps), "%d", dport);
		char *del[] = { "ip", "netns", "exec", lb->router, "conntrack", "-D",
				"-p", proto, "-s", src, "-d", dst, "--sport", sps,
				"--dport", dps, NULL };
		pw_buf_reset(&err);
		if (pw_run(del, &err) == 0)
			cut++;
	}
	pw_buf_release(&out);
	pw_buf_release(&err);
	return cut;
}

static bool collect_key(void *arg, uint32_t input, const char *key)
{
	struct pw_buf *b = arg;
	(void)input;
	pw_buf_add(b, key, strlen(key) + 1);
	return false;
}

/* Mark the objects that file names as deleted by generation gen; their
   count, or -1 after an error in the file (printed). */
static int delete_keys(struct lab *lb, const char *file, uint32_t gen)
{
	struct pw_cluster c;
	struct pw_diags d;
	struct pw_buf keys;
	pw_cluster_init(&c);
	pw_diags_init(&d);
	pw_buf_init(&keys);
	c.admit = collect_key;
	c.admit_arg = &keys;
	pw_cluster_load_path(&c, file, &d);
	int n = 0;
	if (d.errors) {
		struct pw_buf b;
		pw_buf_init(&b);
		for (size_t i = 0; i < d.n; i++) {
			pw_buf_reset(&b);
			pw_diag_format(&d.v[i], &b);
			fprintf(stderr, "%s\n", b.s);
		}
		pw_buf_release(&b);
		n = -1;
	}
	for (size_t at = 0; n >= 0 && at < keys.len; at += strlen(keys.s + at) + 1, n++)
		add_del(lb, keys.s + at, gen);
	pw_buf_release(&keys);
	pw_diags_release(&d);
	pw_cluster_release(&c);
	return n;
}

static int lab_change(struct lab *lb, const char **files, int nfiles, bool add,
		      bool keep)
{
	double t0 = now_ms();
	const char *sub = add ? "apply" : "delete";
	uint32_t gen = lb->gen + 1;
	for (int f = 0; f < nfiles; f++) {
		char *abs = realpath(files[f], NULL);
		if (!abs)
			return cli_error("lab %s: cannot read %s: %s", sub, cli_q(files[f]),
					 strerror(errno)),
			       EXIT_USAGE;
		if (!add) {
			/* kubectl delete -f: the objects the file names */
			int n = delete_keys(lb, abs, gen);
			free(abs);
			if (n < 0)
				return EXIT_USAGE;
			if (!n)
				return cli_error("lab delete: %s names no object to delete",
						 cli_q(files[f])),
				       EXIT_USAGE;
			continue;
		}
		int at = -1;
		for (int i = 0; i < lb->ninputs; i++)
			if (!strcmp(lb->inputs[i], abs))
				at = i;
		if (at < 0) {
			add_input(lb, abs, gen);
		} else {
			lb->gens[at] = gen;
			lb->gen = gen;
			free(abs);
		}
	}
	int prev_keys = lb->nkeys;
	bool *had = pw_xcalloc((size_t)prev_keys + 1, sizeof(bool));
	/* which pods existed: those with a namespace */
	for (int k = 0; k < prev_keys; k++) {
		char ns[128];
		pod_ns(lb, k, ns);
		had[k] = pw_netns_exists(ns);
	}
	struct cli_world w;
	struct admit a;
	admit_init(&a, lb, add ? 0 : gen);
	int lrc = lab_load_admit(lb, &w, &a);
	size_t missing = 0;
	for (int i = 0; !lrc && i < lb->ndels; i++) {
		if (lb->del_gens[i] != gen || pw_strmap_get(&a.found, lb->dels[i]))
			continue;
		/* key: group/Kind/ns/name */
		const char *k = strchr(lb->dels[i], '/') + 1;
		const char *ns = strchr(k, '/') + 1;
		const char *nm = strchr(ns, '/') + 1;
		cli_error("lab delete: %.*s %.*s%s%s is not in lab %s", (int)(ns - k - 1), k,
			  (int)(nm - ns - 1), ns, nm > ns + 1 ? "/" : "", nm, lb->name);
		missing++;
	}
	if (lrc < 0 || missing) {
		admit_release(&a);
		cli_world_release(&w);
		free(had);
		return EXIT_USAGE;
	}
	/* inputs of which nothing is in force any more are forgotten */
	for (int i = lb->ninputs - 1; i >= 0; i--)
		if (!a.used[i]) {
			free(lb->inputs[i]);
			memmove(&lb->inputs[i], &lb->inputs[i + 1],
				(size_t)(lb->ninputs - i - 1) * sizeof(char *));
			memmove(&lb->gens[i], &lb->gens[i + 1],
				(size_t)(lb->ninputs - i - 1) * sizeof(uint32_t));
			lb->ninputs--;
		}
	/* ... and deletes that hide nothing (an earlier one of the same
	   object, or one that a later apply undid) */
	for (int i = lb->ndels - 1; i >= 0; i--)
		if ((uintptr_t)pw_strmap_get(&a.deleted, lb->dels[i]) != lb->del_gens[i] ||
		    !pw_strmap_get(&a.hiding, lb->dels[i])) {
			free(lb->dels[i]);
			memmove(&lb->dels[i], &lb->dels[i + 1],
				(size_t)(lb->ndels - i - 1) * sizeof(char *));
			memmove(&lb->del_gens[i], &lb->del_gens[i + 1],
				(size_t)(lb->ndels - i - 1) * sizeof(uint32_t));
			lb->ndels--;
		}
	admit_release(&a);
	lab_warn_unenforced(&w);
	struct pw_buf err;
	pw_buf_init(&err);
	bool *now = pw_xcalloc((size_t)lb->nkeys + 1, sizeof(bool));
	int rc = 0;
	for (uint32_t i = 0; i < w.c.npods; i++) {
		int k = lb->pod_k[i];
		now[k] = true;
		if (k < prev_keys && had[k])
			continue;
		if (create_pod(lb, &w, i, &err) < 0) {
			cli_error("lab: %s", err.s ? err.s : "cannot create a pod");
			rc = 1;
		}
	}
	for (int k = 0; k < prev_keys; k++)
		if (had[k] && !now[k]) {
			char ns[128];
			pod_ns(lb, k, ns);
			del_netns(ns);
		}
	size_t rules = 0;
	if (!rc && lab_enforce(lb, &w, true, &rules) < 0) {
		cli_error("lab: cannot put the new rules in force");
		rc = 1;
	}
	double t1 = now_ms();
	if (!rc) {
		lab_write(lb);
		printf("rules in force %.1f ms after the request (%zu nftables rules)\n",
		       t1 - t0, rules);
		if (!keep) {
			int cut = cut_established(lb, &w);
			if (cut > 0)
				printf("cut %d established connection%s the policies now deny\n",
				       cut, cut == 1 ? "" : "s");
		}
	}
	pw_buf_release(&err);
	free(had);
	free(now);
	cli_world_release(&w);
	return rc;
}

/* ---- status / exec ------------------------------------------------------- */

static int lab_status(struct lab *lb)
{
	struct cli_world w;
	if (lab_load(lb, &w) < 0) {
		cli_world_release(&w);
		return EXIT_USAGE;
	}
	char path[512];
	pw_lab_path(lb->name, "owned", path);
	char *owned = read_file(path);
	int alive = 0, servers = 0;
	char *save, *line;
	for (line = owned ? strtok_r(owned, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		int pid;
		if (sscanf(line, "pid %d", &pid) == 1) {
			servers++;
			alive += our_server(pid, lb->name);
		}
	}
	free(owned);
	printf("lab %s: %u pods, %d external hosts, %d/%d servers running\n", lb->name,
	       w.c.npods, lb->next, alive, servers);
	printf("router namespace %s%s\n", lb->router,
	       pw_netns_exists(lb->router) ? "" : " (missing)");
	for (uint32_t i = 0; i < w.c.npods; i++) {
		char a[48], ns[128];
		pw_addr_format(&w.c.pods[i].addrs[0], a);
		pod_ns(lb, lb->pod_k[i], ns);
		printf("  %-40s %-16s %s%s\n", lb->keys[lb->pod_k[i]], a, ns,
		       pw_netns_exists(ns) ? "" : " (missing)");
	}
	for (int x = 0; x < lb->next; x++) {
		char a[48], ns[128];
		pw_addr_format(&lb->ext[x], a);
		ext_ns(lb, x, ns);
		printf("  %-40s %-16s %s\n", "(external)", a, ns);
	}
	for (int i = 0; i < lb->ninputs; i++)
		printf("input %s\n", lb->inputs[i]);
	for (int i = 0; i < lb->ndels; i++)
		printf("deleted %s\n", lb->dels[i]);
	cli_world_release(&w);
	return 0;
}

static int lab_exec(struct lab *lb, const char *target, char **cmd)
{
	int k = -1;
	for (int i = 0; i < lb->nkeys && k < 0; i++)
		if (!strcmp(lb->keys[i], target))
			k = i;
	char ns[128];
	if (k < 0) {
		/* a workload: its first replica */
		size_t n = strlen(target);
		for (int i = 0; i < lb->nkeys && k < 0; i++)
			if (!strncmp(lb->keys[i], target, n) && lb->keys[i][n] == '-')
				k = i;
	}
	struct pw_addr a;
	bool addr = pw_addr_parse(target, &a) == 0;
	for (int i = 0; addr && i < lb->nkeys && k < 0; i++)
		if (!pw_addr_cmp(&lb->addrs[i], &a))
			k = i;
	int x = -1;
	for (int i = 0; addr && k < 0 && i < lb->next && x < 0; i++)
		if (!pw_addr_cmp(&lb->ext[i], &a))
			x = i;
	if (k < 0 && x < 0)
		return cli_error("lab exec: no pod or external host %s in lab %s", cli_q(target),
				 lb->name),
		       EXIT_USAGE;
	if (k >= 0)
		pod_ns(lb, k, ns);
	else
		ext_ns(lb, x, ns);
	if (pw_netns_enter(ns) < 0)
		return cli_error("lab exec: cannot enter %s: %s", ns, strerror(errno)), 1;
	execvp(cmd[0], cmd);
	return cli_error("lab exec: cannot run %s: %s", cli_q(cmd[0]), strerror(errno)), 127;
}

/* ---- dispatch ------------------------------------------------------------- */

int cmd_lab(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(lab_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "__serve"))
		return lab_serve(argc - 1, argv + 1);
	if (!strcmp(sub, "__echo"))
		return lab_echo(argc - 1, argv + 1);
	if (!strcmp(sub, "__hold"))
		return lab_hold(argc - 1, argv + 1);
	if (!strcmp(sub, "__sink"))
		return lab_sink(argc - 1, argv + 1);
	if (!strcmp(sub, "__blast"))
		return lab_blast(argc - 1, argv + 1);
	struct cli_opts o = { 0 };
	const char *name = "podwall";
	bool keep = false, services = false;
	int rc = EXIT_USAGE;
	char **cmd = NULL;
	const char *target = NULL;
	int protos[64], ports[64];
	size_t nq = 0;
	struct pw_addr ext[MAX_EXTERNALS];
	int next = -1;
	uint32_t replicas = 1;
	for (int i = 2; i < argc; i++) {
		int err = 0, r;
		const char *v;
		if (!strcmp(argv[i], "--")) {
			cmd = &argv[i + 1];
			break;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(lab_usage, stdout);
			rc = 0;
			goto out;
		}
		if ((r = cli_common_opt(&o, argc, argv, &i)) != 0) {
			if (r < 0)
				goto out;
			continue;
		}
		if ((v = cli_optval(argc, argv, &i, NULL, "--name", &err))) {
			name = v;
		} else if ((v = cli_optval(argc, argv, &i, NULL, "--replicas", &err))) {
			replicas = (uint32_t)atoi(v);
			if (replicas < 1 || replicas > 64) {
				cli_error("lab: --replicas must be 1-64");
				goto out;
			}
		} else if ((v = cli_optval(argc, argv, &i, NULL, "--external", &err))) {
			if (next < 0)
				next = 0;
			if (next >= MAX_EXTERNALS || pw_addr_parse(v, &ext[next]) < 0 ||
			    ext[next].family != 4) {
				cli_error("lab: --external wants an IPv4 address (at most %d)",
					  MAX_EXTERNALS);
				goto out;
			}
			next++;
		} else if ((v = cli_optval(argc, argv, &i, "-p", "--port", &err))) {
			int p, n;
			if (nq >= 64 || pw_protoport_parse(v, &p, &n) < 0) {
				cli_error("lab probe: invalid --port %s (want TCP/N, UDP/N or SCTP/N)", cli_q(v));
				goto out;
			}
			protos[nq] = p;
			ports[nq++] = n;
		} else if ((v = cli_optval(argc, argv, &i, NULL, "--timeout", &err))) {
			probe_timeout_ms = atoi(v);
			if (probe_timeout_ms < 10 || probe_timeout_ms > 60000) {
				cli_error("lab probe: --timeout must be 10-60000 ms");
				goto out;
			}
		} else if (!strcmp(argv[i], "--no-external")) {
			next = 0;
		} else if (!strcmp(argv[i], "--keep-established")) {
			keep = true;
		} else if (!strcmp(argv[i], "--services") && !strcmp(sub, "probe")) {
			services = true;
		} else if (!err && !target && argv[i][0] != '-' && !strcmp(sub, "exec")) {
			target = argv[i];
		} else {
			if (!err)
				cli_error("lab %s: unknown argument %s", sub, cli_q(argv[i]));
			goto out;
		}
		if (err)
			goto out;
	}
	if (!valid_name(name)) {
		cli_error("lab: --name must be 1-20 of a-z, 0-9, '-'");
		goto out;
	}
	struct lab lb;
	if (strcmp(sub, "render") && geteuid() != 0) {
		cli_error("lab: needs root (network namespaces and nftables)");
		goto out;
	}
	if (!strcmp(sub, "render")) {
		/* the ruleset a lab of these manifests would put in force */
		if (!o.nfiles) {
			cli_error("lab render: give manifests with -f");
			goto out;
		}
		memset(&lb, 0, sizeof(lb));
		snprintf(lb.name, sizeof(lb.name), "%s", name);
		lb.flags = o.engine_flags;
		lb.replicas = replicas;
		for (int f = 0; f < o.nfiles; f++)
			add_input(&lb, pw_xstrdup(o.files[f]), 1);
		struct cli_world w;
		if (lab_load(&lb, &w) == 0) {
			lab_warn_unenforced(&w);
			struct pw_dp_port *pp;
			char **names;
			size_t np;
			lab_ports(&lb, &w, &pp, &np, &names);
			struct pw_nft t;
			struct pw_buf b;
			pw_nft_init(&t);
			pw_buf_init(&b);
			const char *lin = getenv("PODWALL_NFT_LINEAR");
			pw_nft_build_opts(&w.e, pp, np, lin && *lin == '1', &t);
			pw_nft_add_services(&w.c, &t);
			pw_nft_script_full(&t, PW_LAB_TABLE, &b);
			fputs(b.s ? b.s : "", stdout);
			pw_buf_release(&b);
			pw_nft_release(&t);
			for (size_t i = 0; i < np; i++)
				free(names[i]);
			free(names);
			free(pp);
			rc = 0;
		}
		cli_world_release(&w);
		lab_release(&lb);
		goto out;
	}
	if (!strcmp(sub, "down")) {
		rc = lab_down(name);
		goto out;
	}
	if (!strcmp(sub, "up")) {
		char path[512];
		pw_lab_path(name, "owned", path);
		if (access(path, F_OK) == 0) {
			cli_error("lab %s is already up (podwall lab down --name %s)", name, name);
			goto out;
		}
		if (!o.nfiles) {
			cli_error("lab up: give manifests with -f");
			goto out;
		}
		memset(&lb, 0, sizeof(lb));
		snprintf(lb.name, sizeof(lb.name), "%s", name);
		ns_name(&lb, "r", lb.router);
		lb.flags = o.engine_flags;
		lb.replicas = replicas;
		static const char *const defaults[] = { "192.0.2.10", "198.51.100.10",
							"203.0.113.10" };
		if (next < 0)
			for (size_t d = 0; d < PW_ARRAY_SIZE(defaults); d++)
				if (pw_addr_parse(defaults[d], &lb.ext[lb.next]) == 0)
					lb.next++;
		for (int x = 0; x < next; x++)
			lb.ext[lb.next++] = ext[x];
		for (int f = 0; f < o.nfiles; f++) {
			char *abs = realpath(o.files[f], NULL);
			if (!abs) {
				cli_error("lab up: cannot read %s: %s", cli_q(o.files[f]), strerror(errno));
				lab_release(&lb);
				goto out;
			}
			add_input(&lb, abs, 1);
		}
		struct cli_world w;
		if (lab_load(&lb, &w) < 0) {
			cli_world_release(&w);
			lab_release(&lb);
			char dir[512];
			pw_lab_path(name, NULL, dir);
			rmdir(dir);
			goto out;
		}
		lab_warn_unenforced(&w);
		lab_write(&lb);
		rc = lab_up(&lb, &w) < 0 ? 1 : 0;
		cli_world_release(&w);
		lab_release(&lb);
		goto out;
	}
	if (lab_read(&lb, name) < 0) {
		cli_error("lab %s is not up (podwall lab up -f ...)", name);
		goto out;
	}
	if (!strcmp(sub, "apply") || !strcmp(sub, "delete")) {
		if (!o.nfiles)
			cli_error("lab %s: give manifests with -f", sub);
		else
			rc = lab_change(&lb, o.files, o.nfiles, !strcmp(sub, "apply"), keep);
	} else if (!strcmp(sub, "probe")) {
		struct cli_world w;
		if (lab_load(&lb, &w) == 0) {
			if (!nq) {
				static const int dp[] = { PW_TCP, PW_UDP, PW_SCTP };
				for (int p = 0; p < 3; p++)
					for (int port = 80; port <= 81; port++) {
						protos[nq] = dp[p];
						ports[nq++] = port;
					}
				for (uint32_t i = 0; i < w.c.npods; i++)
					for (uint32_t k = 0; k < w.c.pods[i].nports && nq < 64; k++) {
						bool dup = false;
						for (size_t z = 0; z < nq; z++)
							dup |= protos[z] == w.c.pods[i].ports[k].proto &&
							       ports[z] == w.c.pods[i].ports[k].port;
						if (!dup) {
							protos[nq] = w.c.pods[i].ports[k].proto;
							ports[nq++] = w.c.pods[i].ports[k].port;
						}
					}
			}
			rc = services ? lab_probe_services(&lb, &w, o.output)
				      : lab_probe(&lb, &w, protos, ports, nq, o.output);
		}
		cli_world_release(&w);
	} else if (!strcmp(sub, "exec")) {
		if (!target || !cmd || !*cmd)
			cli_error("lab exec: want NS/POD|ADDR -- CMD [ARG...]");
		else
			rc = lab_exec(&lb, target, cmd);
	} else if (!strcmp(sub, "status")) {
		rc = lab_status(&lb);
	} else {
		cli_error("lab: unknown subcommand %s", cli_q(sub));
		fputs(lab_usage, stderr);
	}
	lab_release(&lb);
out:
	cli_opts_release(&o);
	return rc;
}
