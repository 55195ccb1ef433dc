/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lint: what is wrong with a policy set, for every policy kind (Kubernetes
 * NetworkPolicy, Calico NetworkPolicy and GlobalNetworkPolicy, the
 * AdminNetworkPolicy family, and the staged kinds).  Every verdict comes
 * from the engine (engine.h): lint asks it which pods a policy or a peer
 * selects, walks its compiled rules in its tier order, and asks it for the
 * verdict of a connection; it never re-reads the manifests' rules.
 *
 * Checks (ids as reported):
 *   no-default-deny       a namespace with pods that is not default-denied
 *                         for a direction (rule below)
 *   selects-nothing       a policy that applies to no pod
 *   peer-matches-nothing  a rule's selector (Kubernetes or admin peer,
 *                         Calico source or destination) that matches no
 *                         pod and no network set
 *   dns-blocked           an egress-isolated workload to which the engine
 *                         denies UDP/53 or TCP/53 to a DNS server
 *   staged-dns-blocked    the same, only once the staged policies are
 *                         enforced (the engine built with PW_ENGINE_STAGED)
 *   open-to-world         an ingress Allow rule that matches every address
 *                         outside the cluster (no peer, or a /0 net or
 *                         network set)
 *   shadowed-rule         a rule that an earlier rule of the same policy
 *                         and direction matches entirely
 *
 * Default deny.  For one pod and one direction, take a peer that no rule
 * singles out: a pod, an outside IPv4 address, an outside IPv6 address.
 * Walk the pod's applicable policies as the engine does (tier by tier, in
 * order) keeping only the rules that match every such peer of that family
 * on every protocol and port, with any condition on the pod itself met (a
 * rule without peers and ports; a /0 net; a namespace selector {}; ...):
 * the first Allow or Deny decides, Pass goes to the next tier, a tier that
 * applied ends in its default action, and after the last tier the
 * namespace profile allows.  The pod is default-denied when the walk ends
 * in Deny for all three families.  A namespace has a default deny when
 * every pod of it that policies govern is default-denied.  So a
 * Kubernetes default-deny, a Calico `selector: all()` policy with types and
 * no rules in a Deny tier, and an AdminNetworkPolicy Deny rule to every
 * namespace and network are default denies; a tier that Passes everything
 * on to a profile is not; staged policies are not enforced, so never.
 * AdminNetworkPolicy ingress rules cannot name outside addresses, so alone
 * they never default-deny ingress from outside the cluster.
 *
 * DNS.  Where a pod's DNS queries go: the backends of the Service
 * kube-system/kube-dns for UDP and TCP port 53, at their target ports, as
 * kube-proxy translates them (service.h); without that Service, the pods
 * of kube-system labelled k8s-app=kube-dns, on port 53.  When kube-system
 * has no such pod, pw_lint_model_dns() adds CoreDNS as EKS runs it (a
 * Deployment coredns in kube-system, labels k8s-app=kube-dns and
 * eks.amazonaws.com/component=coredns, service account coredns, ports
 * dns 53/UDP, dns-tcp 53/TCP, metrics 9153/TCP, no address: no ipBlock
 * matches it); lint's other checks ignore the pods it adds.  DNS on a
 * protocol is blocked for a workload when the engine denies it from some
 * pod of the workload to some server (kube-proxy may pick any), which is
 * what `podwall eval --src W --dst kube-system/coredns` answers.
 *
 * Pods are counted as the workloads say: a workload without pods in the
 * input counts spec.replicas.
 *
 * Findings own their messages; pw_lint_release() frees them.
 */
#ifndef PW_LINT_H
#define PW_LINT_H

#include "engine.h"

struct pw_finding {
	const char *check; /* static: "no-default-deny", ... */
	struct pw_pos pos;
	int ns;		   /* namespace the finding is about; -1: global */
	char *msg;	   /* heap */
};

struct pw_lint {
	struct pw_finding *v;
	size_t n, cap;
};

/* The position file of the pods pw_lint_model_dns() adds. */
extern const char pw_lint_dns_model[];

/*
 * After pw_cluster_finish() and before the engine is built: when no pod of
 * kube-system carries k8s-app=kube-dns, add CoreDNS as EKS runs it (see
 * above).  Returns the number of pods added (0 or 1).
 */
uint32_t pw_lint_model_dns(struct pw_cluster *c);

/*
 * Run every check against the engine e (built on the cluster, staged
 * policies not enforced).  When the cluster has staged policies, a second
 * engine with PW_ENGINE_STAGED is built for staged-dns-blocked.  Only
 * findings about namespace ns are kept (ns < 0: all).  Findings are sorted
 * by file, line, column, check and message.  Returns 0, or -1 when an
 * engine could not be built.
 */
int pw_lint_run(struct pw_lint *l, const struct pw_engine *e, int ns)
	PW_WARN_UNUSED;
void pw_lint_release(struct pw_lint *l);

#endif
