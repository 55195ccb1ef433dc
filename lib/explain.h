/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One question, decided and explained: may src open a connection to dst at
 * a port, and which tier, policy and rule decided it at each end; through
 * a Service, on every backend.  What `podwall eval` prints, and the agent's
 * /v1/eval: the same bytes for the same view and request.
 *
 * A workload is allowed only if every pair of its replicas is; the pair
 * explained is the first denied one, or the first.  A verdict comes from
 * the view's matrix where it answers, the explanation from the engine's
 * per-connection walk; they must agree (else an internal error).
 */
#ifndef PW_EXPLAIN_H
#define PW_EXPLAIN_H

#include "doc.h"
#include "resolve.h"

/* What pw_eval_write returns: podwall eval's exit status. */
enum { PW_EVAL_ALLOW = 0, PW_EVAL_DENY = 1, PW_EVAL_ERROR = 2 };

struct pw_eval_req {
	const char *src, *dst, *port; /* as lib/resolve.h reads them */
	const char *ns;		      /* for names without one; NULL: default */
	enum pw_format fmt;	      /* table, json or yaml */
};

/*
 * Decides and explains q on v (with v->staged: also if the staged policies
 * were enforced), written to o.  Returns PW_EVAL_ALLOW or PW_EVAL_DENY, or
 * PW_EVAL_ERROR with nothing written to o and the reason appended to err
 * (one line, no newline: an unknown or malformed end or port, ...).
 */
int pw_eval_write(const struct pw_view *v, const struct pw_eval_req *q,
		  const struct pw_out *o, struct pw_buf *err);
/*
 * The verdict alone, fast (many questions): from r where it answers, else
 * from e; every replica pair of s and d must be allowed, and through a
 * Service every backend.  s is not a Service; both have n > 0.
 */
bool pw_eval_allowed(const struct pw_engine *e, const struct pw_reach *r,
		     const struct pw_end *s, const struct pw_end *d,
		     const struct pw_query *q);
/*
 * Why e decides a connection as it does, in one line (podwall diff's
 * before and after): per direction that decides (both when allowed), the
 * last step: the rule, with its tier, policy, index and position; the end
 * of a tier, with the first policy applied in it; or the namespace
 * profile.  Appended to out.
 */
void pw_explain_brief(const struct pw_engine *e, const struct pw_ep *src,
		      const struct pw_ep *dst, const struct pw_query *q,
		      struct pw_buf *out);

#endif
