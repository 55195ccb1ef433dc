/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reachability matrix of a view, rendered: what `podwall matrix`
 * prints, and the agent's /v1/matrix (the same bytes for the same view and
 * request).
 *
 * Endpoints: every workload and ownerless pod (of one namespace, when
 * asked), every class of addresses outside the cluster (lib/pairs.h), and
 * with services every Service as a destination.  Without ports, the ports
 * are split into the classes the policies (and, with services, the
 * Services' ports) distinguish; classes with the same matrix are printed
 * together, labelled with the ports they cover.  csv, json and yaml
 * without ports give each pair's allowed connections, computed and
 * written one pair at a time: memory does not grow with the pairs.
 */
#ifndef PW_MATRIX_OUT_H
#define PW_MATRIX_OUT_H

#include "doc.h"
#include "view.h"

struct pw_matrix_port {
	int proto; /* PW_TCP... */
	unsigned port;
};

struct pw_matrix_req {
	enum pw_format fmt; /* table, csv, json, yaml or md */
	const char *ns;	    /* only its endpoints (and the outside); NULL all */
	bool services;	    /* Services as destinations too */
	const struct pw_matrix_port *ports; /* one matrix each; none: classes */
	size_t nports;
};

/* Writes the matrix of v (with v->staged: what the staged policies would
   change) to o.  0, or -1 with the reason appended to err. */
int pw_matrix_write(const struct pw_view *v, const struct pw_matrix_req *q,
		    const struct pw_out *o, struct pw_buf *err);

#endif
