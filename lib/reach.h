/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reachability at cluster scale: the whole matrix of the engine's verdicts,
 * computed once with bitset operations, answered in O(log n) per question,
 * and kept up to date when one policy or one pod's labels change.
 *
 * Atoms.  Endpoints that every rule treats alike: a pod atom is an engine
 * identity (namespace, labels, service account, named ports, hostNetwork)
 * together with the address class of the pod's address; an outside atom is
 * an address class.  Address classes are the pieces the rules' CIDRs (nets,
 * ipBlocks, network sets) cut the address space into.  Atom i < nid0 is the
 * first atom of identity i; the outside atoms follow in address order, then
 * every other pod atom.
 *
 * Classes.  For one direction, endpoints whose decisions are the same
 * function of (peer, port): the same applicable policies (each at the same
 * compilation), the same address family, the same named-port values and
 * the same answers to the rules' conditions on the endpoint itself.  Each
 * class cuts the ports into the local classes its rules distinguish; for
 * each local port class it keeps a row: the set of peer atoms allowed (for
 * egress, the destinations; for ingress, the sources).  Rows are stored as
 * a sorted list, a sorted complement or a bitset, whichever is smallest.
 *
 *   allowed(s, d, port) = s and d are the same pod
 *                         or (egress row of s's class at port has d
 *                             and ingress row of d's class at port has s)
 *
 * An endpoint no policy can govern (outside the cluster, hostNetwork) has
 * no class: its side allows everything.
 *
 * Updates.  A policy change moves only the atoms of its old and new
 * subjects to their new classes; a class is computed when it first
 * appears.  A relabelled pod that lands on a new atom gets its own classes
 * and, for every row computed before it existed, one bit in a patch column
 * (its answer as a peer).  A change the partition cannot absorb (a CIDR on
 * a new boundary, a staged view, no room left) asks for a rebuild.
 *
 * Scope: TCP, UDP and SCTP ports, addresses without DNS names.  ICMP and
 * other protocols, and outside endpoints known by a DNS name, are answered
 * by the engine's per-connection evaluation (pw_reach_allowed returns -1
 * and the callers ask the engine), which is also the reference this is
 * tested against.
 */
#ifndef PW_REACH_H
#define PW_REACH_H

#include "engine.h"

struct pw_row {
	uint32_t *v;	/* LIST, COLIST: sorted atoms */
	uint64_t *bits; /* BITS */
	uint32_t n;
	uint32_t natoms; /* atoms that existed when it was computed */
	uint32_t id;	 /* number among every row ever computed */
	uint8_t mode;
	bool nomatch; /* no rule can match at these ports: peers do not matter */
	bool fall;    /* its class's verdict for a peer no rule matches */
};

/* Rules that may match at a row's ports (gr and the n - 1 after it, which
   differ only in their peers: one step), or (gr NULL) the end of a tier */
struct pw_rstep {
	const struct pw_grule *gr;
	uint32_t n;
	bool deny; /* end of a tier whose default action is Deny */
};

struct pw_rclass {
	uint8_t dir;
	bool live;
	uint32_t members;
	uint32_t self;	    /* the atom it was computed for */
	bool simple;	    /* one Deny tier of Allow rules: rows are unions */
	bool fall;	    /* the verdict for a peer that no rule matches */
	uint32_t *pols;	    /* applicable engine policies, in order */
	uint32_t npols;
	uint32_t *cuts[PW_NPROTO]; /* first port of each local port class */
	uint32_t ncuts[PW_NPROTO];
	struct pw_row *rows; /* TCP's local classes, then UDP's, then SCTP's */
	uint32_t nrows;
	struct pw_rstep *steps; /* per row, from step_off[j] to step_off[j + 1] */
	uint32_t *step_off, nsteps;
	char *key;
};

#define PW_NO_CLASS UINT32_MAX

struct pw_atom {
	uint32_t identity;   /* UINT32_MAX: outside the cluster */
	uint32_t aclass;     /* address class; UINT32_MAX: no address */
	struct pw_addr addr; /* a representative address */
	uint32_t cls[2];     /* class per direction, or PW_NO_CLASS */
	uint64_t *patch;     /* rows older than the atom: a bit per row id */
	uint32_t npatch;
};

struct pw_ivec {
	uint32_t *v;
	uint32_t n;
	size_t cap;
};

struct pw_acpods; /* reach.c */
struct pw_rev;
struct pw_blob;
struct pw_amap;

struct pw_reach {
	const struct pw_engine *e;
	struct pw_atom *atoms;
	uint32_t natoms, atoms_cap, nid0, next, ext_base;
	size_t nwords; /* words of an atom bitset */
	uint32_t *pod_atom;
	struct pw_addr *bounds; /* address classes: starts, ascending */
	uint32_t nbounds;
	struct pw_acpods *acpods; /* pod atoms per address class */
	uint32_t nacpods;
	struct pw_amap *extra;	  /* (identity, class) -> atom */
	uint64_t *pods, *fam[2]; /* pod atoms; atoms of family 0 or 4 / 6 */
	struct pw_strmap named;	  /* "name\x1fproto\x1fport" -> atoms */
	struct pw_strmap named_ports; /* "name\x1fproto" -> port values */
	struct pw_ivec *nvecs;
	uint32_t nnvecs;
	size_t nvecs_cap;
	struct pw_rclass *cls;
	uint32_t ncls;
	size_t cls_cap;
	struct pw_strmap cls_index; /* key -> class + 1 */
	uint32_t nrowids;
	uint32_t uid_seen; /* rules compiled after this are new to it */
	struct pw_pcache *peers; /* per rule uid */
	uint32_t npeers;
	struct pw_pcache *upeers; /* per first rule uid of a unit of n > 1 */
	uint32_t nupeers;
	struct pw_rev *rev; /* per rule uid: the classes that hold it */
	uint32_t nrev;
	/* rules whose peers are just an identity set: set -> uids; others */
	struct pw_amap *by_set;
	struct pw_ivec *set_uids;
	uint32_t nset_uids;
	struct pw_ivec other_uids;
	uint64_t *scratch; /* 8 atom bitsets */
	uint32_t *listbuf; /* room for every atom */
	uint32_t *self_stamp, nself, epoch; /* per rule uid: self_ok_once() */
	bool *self_val;
	struct pw_blob **blobs; /* row contents, shared */
	size_t nblobs, blob_cap, blob_bytes;
	struct pw_buf kb;
	struct pw_arena arena;
};

/* 0, or -1 when it cannot (memory aside, never at build). */
int pw_reach_build(struct pw_reach *r, const struct pw_engine *e);
void pw_reach_release(struct pw_reach *r);

/* 1 allowed, 0 denied, -1 not answered here (ask the engine). */
int pw_reach_allowed(const struct pw_reach *r, const struct pw_ep *src,
		     const struct pw_ep *dst, const struct pw_query *q);
/* Everything (TCP, UDP, SCTP) that may flow; false if not answered here. */
bool pw_reach_conns(const struct pw_reach *r, const struct pw_ep *src,
		    const struct pw_ep *dst, struct pw_conns *out);

/*
 * After pw_engine_update_policy(e, ..., affected) succeeded: move the atoms
 * of the affected identities.  Returns 0, or -1 when the reach must be
 * rebuilt (the policy cuts the address space on a new boundary).
 */
int pw_reach_update_policy(struct pw_reach *r, const uint64_t *affected)
	PW_WARN_UNUSED;
/* After pw_engine_update_pod(e, pod) succeeded.  0, or -1: rebuild. */
int pw_reach_update_pod(struct pw_reach *r, uint32_t pod) PW_WARN_UNUSED;

/* Figures for --stats and the benchmark. */
struct pw_reach_stats {
	uint32_t atoms, classes, rows;
	size_t bytes;
};
void pw_reach_stats(const struct pw_reach *r, struct pw_reach_stats *s);

#endif
