/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policies recommended from observed flows (podwall recommend).
 *
 * For each workload of a namespace (lib/model.h's groups: a workload, or a
 * pod without owner), from the ALLOWED records in which it decided (its
 * egress when it is the reporting source, its ingress when it is the
 * reporting destination):
 *   - one rule per peer: a workload by the labels of its pods (pod-template
 *     hashes aside) and its namespace (kubernetes.io/metadata.name, or
 *     projectcalico.org/name in Calico), never a pod address; an address
 *     outside the cluster by its /32 (/128), or in Calico by the labels of
 *     the narrowest network set with labels that contains it;
 *   - the protocols and ports seen, by name where the destination pod
 *     names that port; more than max_ports ports of one protocol become the
 *     range from the lowest to the highest;
 *   - DNS to kube-dns (kube-system, k8s-app=kube-dns, UDP and TCP 53),
 *     always;
 * then a default deny of the namespace, both directions (not with a
 * single workload).  Every rule carries what it covers: the records, the
 * peers and ports seen, and what it allows beyond them.
 *
 * The proof (pw_rec_prove) evaluates every record again on an engine of the
 * cluster with the recommendation, in the direction the record's reporter
 * decided: egress at a source, ingress at a destination.
 */
#ifndef PW_RECOMMEND_H
#define PW_RECOMMEND_H

#include "../engine.h"
#include "../flow/flow.h"

enum pw_rec_kind { PW_REC_K8S, PW_REC_CALICO };

struct pw_rec_opts {
	const char *ns;	      /* required */
	const char *workload; /* a group's name; NULL: every group of ns */
	enum pw_rec_kind kind;
	const char *tier;   /* Calico: NULL is "default" */
	bool staged;	    /* StagedKubernetesNetworkPolicy / StagedNetworkPolicy */
	unsigned max_ports; /* 0: 10 */
};

/* An end of a record in cluster c: a pod (by namespace and name, else the
   group whose pod labels are all in the record's labels, else the pod of
   that address) or an outside address.  false when it names a pod that c
   does not have, or no usable address. */
bool pw_rec_flow_ep(const struct pw_cluster *c, const struct pw_flow_end *end,
		    struct pw_ep *ep);

struct pw_rec_port {
	int proto;	    /* IP protocol number */
	int port, end_port; /* end_port 0: one port; port 0: every port */
	const char *name;   /* a named port, or NULL */
};

enum pw_rec_peer_kind { PW_REC_PODS, PW_REC_NET, PW_REC_NETSET };
struct pw_rec_peer {
	enum pw_rec_peer_kind kind;
	const char *ns;		      /* PODS: the namespace's name */
	const struct pw_label *labels; /* PODS, NETSET: what selects it */
	uint32_t nlabels;
	bool global;	    /* NETSET: a GlobalNetworkSet */
	struct pw_cidr cidr; /* NET */
};

struct pw_rec_rule {
	struct pw_rec_peer peer;
	struct pw_rec_port *ports;
	uint32_t nports;
	const char *covers; /* what it covers and allows beyond that */
	uint64_t records;   /* observed records it covers */
};

struct pw_rec_policy {
	const char *name;		 /* without the tier */
	const struct pw_label *labels; /* the subject; none: every pod */
	uint32_t nlabels;
	const char *covers;
	struct pw_rec_rule *rules[2]; /* [PW_INGRESS], [PW_EGRESS] */
	uint32_t nrules[2];
	bool deny_all; /* the default deny */
};

struct pw_rec {
	struct pw_arena arena;
	struct pw_rec_opts o;
	const char *tier;
	bool need_tier; /* Calico: the tier is not in the cluster */
	struct pw_rec_policy *pols;
	uint32_t npols;
	/* the records: read, used for rules, skipped (a pod not in the
	   manifests, a port aggregated away, a protocol without ports) */
	uint64_t nrecords, used, skipped;
};

/* The recommendation for o->ns from records v[0..n) (those not touching
   ns are ignored).  0, or -1 with the reason in err (an unknown namespace
   or workload). */
int pw_recommend(const struct pw_cluster *c, const struct pw_flow *v, size_t n,
		 const struct pw_rec_opts *o, struct pw_rec *out, struct pw_buf *err);
void pw_rec_release(struct pw_rec *r);
/* As manifests: YAML documents, each rule preceded by its comment. */
void pw_rec_yaml(const struct pw_rec *r, struct pw_buf *out);
/* As a document: an array of the same manifests, every rule with a
   "covers" member (not a field of the API: strip it before applying). */
struct pw_doc *pw_rec_doc(const struct pw_rec *r);

/* One record whose verdict the recommendation changes. */
struct pw_rec_change {
	size_t index; /* in v */
	bool was_allowed;
};
struct pw_rec_proof {
	uint64_t allowed, denied; /* records checked */
	uint64_t skipped;	  /* records whose ends c does not have */
	struct pw_rec_change *v;  /* heap */
	size_t n;
};
/* Every record of v evaluated on e (a cluster with the recommendation
   enforced) in its reporter's direction, against its action. */
void pw_rec_prove(const struct pw_engine *e, const struct pw_flow *v, size_t n,
		  struct pw_rec_proof *out);
void pw_rec_proof_release(struct pw_rec_proof *p);

#endif
