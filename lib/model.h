/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster model: what the manifests say, validated, before any policy
 * is compiled.  Everything lives in the cluster's arena.
 *
 * Pods are the unit the engine reasons about.  A workload (Deployment,
 * StatefulSet, ... CronJob) whose pods are not in the input contributes one
 * synthetic pod built from its template, with no address.  Pods that name
 * an owner (ownerReferences, controller first) are grouped under it: a
 * "group" is what matrix and connlist print as one endpoint
 * (ns/name[Kind]), as netpol-analyzer does.
 *
 * How to add a kind: write a load_<kind>() in manifest.c, add it to the
 * kinds[] table there, and give it storage here.
 */
#ifndef PW_MODEL_H
#define PW_MODEL_H

#include "base.h"
#include "conns.h"
#include "labels.h"
#include "netaddr.h"

struct pw_namespace {
	const char *name;
	struct pw_labels labels; /* includes kubernetes.io/metadata.name */
	struct pw_pos pos;	 /* pos.file NULL when implicit */
	bool declared;
};

struct pw_pss_pod; /* lib/pss/pss.h */

struct pw_cport {
	const char *name; /* NULL when unnamed */
	int proto;
	int port;
};

struct pw_pod {
	const char *name;
	uint32_t ns; /* index into cluster namespaces */
	const char *kind; /* "Pod", or the workload kind of a template pod */
	struct pw_labels labels;
	const char *sa; /* service account; "default" when unset */
	struct pw_cport *ports;
	uint32_t nports;
	struct pw_addr *addrs;
	uint32_t naddrs;
	bool host_network;
	const char *node; /* spec.nodeName; NULL when unset */
	/* annotation podwall.io/interface: its interface on the node */
	const char *interface;
	bool template; /* synthesised from a workload's pod template */
	/* the fields Pod Security Standards read (lib/pss/pss.h); NULL when
	   the spec could not be read */
	const struct pw_pss_pod *pss;
	const char *owner_kind, *owner_name; /* NULL when none */
	uint32_t group;	   /* index into cluster groups */
	struct pw_pos pos;
};

struct pw_workload {
	const char *name, *kind;
	uint32_t ns;
	struct pw_pod tmpl; /* labels, sa, ports, hostNetwork of the template */
	bool has_pods;	    /* some input pod names it as owner */
	uint32_t replicas;  /* spec.replicas (absent: 1; 1 for DaemonSet, Job
			       and CronJob, whose count the input does not say) */
	struct pw_pos pos;
};

/* An endpoint of matrix/connlist output: a workload or an ownerless pod. */
struct pw_group {
	const char *name, *kind;
	uint32_t ns;
	uint32_t *pods;
	uint32_t npods;
	size_t cap;
};

enum pw_dir { PW_INGRESS = 0, PW_EGRESS = 1 };
#define PW_TYPE_INGRESS 1u
#define PW_TYPE_EGRESS 2u

struct pw_peer {
	/* pod peer: selectors given (an absent selector is NULL) */
	struct pw_lsel *pod_sel, *ns_sel;
	/* ipBlock peer */
	bool ipblock;
	struct pw_cidr cidr;
	struct pw_cidr *except;
	uint32_t nexcept;
	struct pw_pos pos;
};

struct pw_np_port {
	int proto;
	int port;     /* 0 = all ports of proto (unless name) */
	int end_port; /* 0 = single port */
	const char *name; /* named port, resolved against the destination */
	struct pw_pos pos;
};

struct pw_rule {
	struct pw_peer *peers; /* npeers == 0: every peer */
	uint32_t npeers;
	struct pw_np_port *ports; /* nports == 0: every port */
	uint32_t nports;
	struct pw_pos pos;
};

enum pw_staged { PW_ENFORCED = 0, PW_STAGED_SET, PW_STAGED_DELETE };

/* A Kubernetes NetworkPolicy (or a StagedKubernetesNetworkPolicy). */
struct pw_policy {
	const char *name;
	uint32_t ns;
	enum pw_staged staged;
	bool deleted; /* removed since loading (incremental updates) */
	struct pw_lsel sel;
	unsigned types; /* PW_TYPE_* */
	struct pw_rule *rules[2]; /* [PW_INGRESS], [PW_EGRESS] */
	uint32_t nrules[2];
	struct pw_pos pos;
};

/* ---- Calico projectcalico.org/v3 ------------------------------------- */

struct pw_csel; /* calsel.h */

enum pw_action { PW_ACT_ALLOW, PW_ACT_DENY, PW_ACT_PASS, PW_ACT_LOG };

/* A tier; the built-in ones are added by pw_cluster_finish(). */
struct pw_tier {
	const char *name;
	double order;
	bool has_order;
	enum pw_action default_action; /* Deny or Pass */
	bool builtin;
	struct pw_pos pos;
};

/* Source or destination of a Calico rule (an EntityRule). */
struct pw_cside {
	struct pw_cidr *nets, *not_nets;
	uint32_t nnets, nnot_nets;
	struct pw_csel *sel, *not_sel, *ns_sel; /* NULL when absent */
	/* ports carry the rule's protocol (-1: any of TCP/UDP/SCTP) */
	struct pw_np_port *ports, *not_ports;
	uint32_t nports, nnot_ports;
	bool has_sa;
	const char **sa_names;
	uint32_t nsa_names;
	struct pw_csel *sa_sel;
	const char **domains;
	uint32_t ndomains;
};


struct pw_crule {
	enum pw_action action;
	int proto, not_proto; /* IP protocol numbers; PW_ANY when unset */
	int icmp_type, icmp_code; /* PW_ANY when unset */
	int not_icmp_type, not_icmp_code;
	int ip_version; /* 0, 4 or 6 */
	struct pw_cside src, dst;
	struct pw_pos pos;
};

/* NetworkPolicy, GlobalNetworkPolicy and their staged forms. */
struct pw_cpolicy {
	const char *name; /* without the "tier." prefix */
	const char *kind;
	int ns;		  /* -1: global */
	const char *tier; /* "default" when unset */
	bool has_order;
	double order;
	struct pw_csel *sel;	/* NULL: all() */
	struct pw_csel *ns_sel; /* global policies: namespaceSelector */
	struct pw_csel *sa_sel; /* serviceAccountSelector */
	unsigned types;
	struct pw_crule *rules[2];
	uint32_t nrules[2];
	enum pw_staged staged;
	bool deleted; /* removed since loading (incremental updates) */
	struct pw_pos pos;
};

/* NetworkSet (ns >= 0) and GlobalNetworkSet (ns = -1). */
struct pw_netset {
	const char *name;
	int ns;
	struct pw_labels labels;
	struct pw_cidr *nets;
	uint32_t nnets;
	const char **domains; /* allowedEgressDomains */
	uint32_t ndomains;
	struct pw_pos pos;
};

struct pw_rbac_data;
struct pw_audit_data;
struct pw_alert; /* lib/flow/alert.h */

struct pw_sa {
	const char *name;
	uint32_t ns;
	struct pw_labels labels;
};

/* ---- policy.networking.k8s.io ------------------------------------------ */

enum pw_apeer_kind { PW_AP_NAMESPACES, PW_AP_PODS, PW_AP_NETWORKS, PW_AP_NODES };

struct pw_apeer {
	enum pw_apeer_kind kind;
	struct pw_lsel *ns_sel, *pod_sel; /* namespaces: ns_sel only */
	struct pw_cidr *nets;
	uint32_t nnets;
	struct pw_pos pos;
};

struct pw_arule {
	const char *name;
	enum pw_action action; /* Allow/Accept, Deny, Pass */
	struct pw_apeer *peers;
	uint32_t npeers;
	struct pw_np_port *ports; /* nports == 0: every port */
	uint32_t nports;
	struct pw_pos pos;
};

/* AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy. */
struct pw_apolicy {
	const char *name, *kind;
	bool baseline;
	int priority;
	struct pw_lsel *subj_ns, *subj_pod; /* subj_pod NULL: whole namespaces */
	bool deleted; /* removed since loading (incremental updates) */
	struct pw_arule *rules[2];
	uint32_t nrules[2];
	struct pw_pos pos;
};

/* A Service port: port (and protocol) to targetPort, by number or by the
   name of a container port of each backend pod. */
struct pw_svc_port {
	const char *name; /* NULL when unnamed */
	int proto;	  /* PW_TCP, PW_UDP, PW_SCTP */
	int port;
	int target;	     /* 0: by name (target_name) */
	const char *target_name;
	int node_port;	     /* 0: none */
	struct pw_pos pos;
};

enum pw_svc_type { PW_SVC_CLUSTER_IP, PW_SVC_NODE_PORT, PW_SVC_LOAD_BALANCER,
		   PW_SVC_EXTERNAL_NAME };

struct pw_service {
	const char *name;
	uint32_t ns;
	struct pw_lsel sel;
	bool has_sel; /* a selector with at least one label */
	enum pw_svc_type type;
	bool headless; /* clusterIP: None */
	struct pw_addr *vips; /* clusterIP(s), externalIPs, load balancer IPs */
	uint32_t nvips;
	const char *external_name; /* ExternalName */
	struct pw_svc_port *ports;
	uint32_t nports;
	uint32_t *pods; /* the pods the selector picks (pw_cluster_finish) */
	uint32_t npods;
	struct pw_pos pos;
};

/* One address of an Endpoints subset or an EndpointSlice. */
struct pw_ep_addr {
	struct pw_addr addr;
	const char *pod; /* targetRef of kind Pod: its name; else NULL */
};
struct pw_ep_port {
	const char *name; /* matches the Service port of the same name */
	int proto, port;
};
/* Endpoints (one per subset) or an EndpointSlice of service in ns. */
struct pw_endpoints {
	const char *service;
	uint32_t ns;
	bool slice;
	struct pw_ep_addr *addrs; /* ready addresses only */
	uint32_t naddrs;
	struct pw_ep_port *ports;
	uint32_t nports;
	struct pw_pos pos;
};

/* A backend of an Ingress or a Route: a Service of its namespace and which
   of its ports (none given: every port). */
struct pw_ing_backend {
	const char *service;
	int port;	       /* Ingress port.number, Route numeric targetPort */
	const char *port_name; /* Ingress port.name, Route string targetPort */
	struct pw_pos pos;
};
/* An Ingress (networking.k8s.io) or an OpenShift Route: traffic from the
   ingress controller to the backends of the Services it names. */
struct pw_ingress {
	const char *name, *kind;
	uint32_t ns;
	bool route;
	struct pw_ing_backend *backends;
	uint32_t nbackends;
	struct pw_pos pos;
};

struct pw_cluster {
	struct pw_arena arena;
	struct pw_namespace *nss;
	uint32_t nns;
	size_t nns_cap;
	struct pw_pod *pods;
	uint32_t npods;
	size_t npods_cap;
	struct pw_workload *wls;
	uint32_t nwls;
	size_t nwls_cap;
	struct pw_group *groups;
	uint32_t ngroups;
	size_t ngroups_cap;
	struct pw_policy *pols;
	uint32_t npols;
	size_t npols_cap;
	struct pw_service *svcs;
	uint32_t nsvcs;
	size_t nsvcs_cap;
	struct pw_endpoints *eps;
	uint32_t neps;
	size_t neps_cap;
	struct pw_ingress *ings;
	uint32_t nings;
	size_t nings_cap;
	struct pw_tier *tiers;
	uint32_t ntiers;
	size_t ntiers_cap;
	struct pw_cpolicy *cpols;
	uint32_t ncpols;
	size_t ncpols_cap;
	struct pw_netset *netsets;
	uint32_t nnetsets;
	size_t nnetsets_cap;
	struct pw_sa *sas;
	uint32_t nsas;
	size_t nsas_cap;
	struct pw_apolicy *apols;
	uint32_t napols;
	size_t napols_cap;
	/* Roles, bindings, aws-auth and EKS access entries (lib/rbac/rbac.h);
	   NULL when the input holds none */
	struct pw_rbac_data *rbac;
	/* what the encryption findings read (lib/audit/audit.h); NULL when
	   the input holds none of it */
	struct pw_audit_data *audit;
	/* GlobalAlerts (lib/flow/alert.h), parsed and checked */
	struct pw_alert *alerts;
	uint32_t nalerts;
	size_t nalerts_cap;
	uint32_t template_replicas; /* pods per workload without pods (0 = 1) */
	/* As `kubectl apply -n NS`: the namespace of namespaced objects that
	   give none, and one that gives another is an error.  NULL: objects
	   without one are in "default". */
	const char *apply_ns;
	const char **skipped; /* "FILE:LINE: Kind name" of ignored objects */
	const char **skipped_kind; /* the Kind of each */
	uint32_t nskipped;
	size_t nskipped_cap, nskipped_kind_cap;
	struct pw_strmap ns_index; /* name -> index+1 */
	struct pw_strmap objects;  /* "Kind/ns/name" -> struct pw_pos * */
	bool finished;
	/* Optional, for loading: asked for every object before it is added,
	   with the index of the input being loaded (the caller sets input)
	   and the object's "group/Kind/ns/name"; false skips the object
	   silently.  The lab uses it so that a later `lab apply` replaces an
	   object of the same kind, namespace and name, as kubectl does. */
	bool (*admit)(void *arg, uint32_t input, const char *key);
	void *admit_arg;
	uint32_t input;
};

void pw_cluster_init(struct pw_cluster *c);
void pw_cluster_release(struct pw_cluster *c);

/*
 * Load a file, a directory (recursively: .yaml .yml .json) or "-" (stdin).
 * Problems go to diags; loading goes on after an error so that every error
 * of the input is reported.  Returns the number of errors added.
 */
size_t pw_cluster_load_path(struct pw_cluster *c, const char *path,
			    struct pw_diags *d);
/*
 * Read a file, a directory (recursively: .yaml .yml .json, in name order,
 * each file once) or "-" (stdin), handing each file's bytes to fn, which
 * returns the number of errors it found.  File names in diagnostics live
 * in names.  Returns the number of errors.
 */
typedef size_t (*pw_file_fn)(void *arg, const char *name,
			     const unsigned char *bytes, size_t len,
			     struct pw_diags *d);
size_t pw_walk_path(const char *path, struct pw_arena *names, pw_file_fn fn,
		    void *arg, struct pw_diags *d);
/* A name a directory walk reads (.yaml, .yml, .json; not hidden). */
bool pw_is_manifest_name(const char *name);
/* The byte ranges of the documents of a YAML stream (heap, *out); stops at
   the first syntax error. */
struct pw_span {
	size_t start, end;
};
size_t pw_split_documents(const unsigned char *buf, size_t len,
			  struct pw_span **out);
/* Load from memory (used by the fuzzer and tests). */
size_t pw_cluster_load_buffer(struct pw_cluster *c, const char *name,
			      const unsigned char *buf, size_t len,
			      struct pw_diags *d);
/* Resolve ownership, implicit namespaces, groups.  Call once, after loading. */
void pw_cluster_finish(struct pw_cluster *c, struct pw_diags *d);

/*
 * When ipBlocks describe only addresses outside the cluster, an egress rule
 * whose peers are all ipBlocks can never match a named port (those resolve
 * only against pods): report each such port as an error.
 */
void pw_cluster_check_ipblock_ports(const struct pw_cluster *c,
				    struct pw_diags *d);

uint32_t pw_cluster_ns(struct pw_cluster *c, const char *name);
/* -1 when no such namespace */
int pw_cluster_find_ns(const struct pw_cluster *c, const char *name);
const char *pw_group_kind_name(const struct pw_cluster *c,
			       const struct pw_group *g, struct pw_buf *out);

#endif
