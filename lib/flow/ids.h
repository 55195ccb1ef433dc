/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rule ids: the numbers the dataplane's rules carry, so that a packet or a
 * connection the kernel reports names the step of the engine that decided
 * it, with nothing guessed after the fact.  The files that change
 * together: this one, lib/nft.c (which writes them into rules) and
 * lib/flow/capture.c (which reads them back).
 *
 * A step is what pw_engine_eval's explanation ends in, for one direction:
 *
 *   "TIER|POLICY|RULE|ACTION"    a rule: RULE is its index in the policy's
 *                                direction (as `eval` prints egress[RULE]);
 *                                POLICY is "NS/NAME" for a namespaced
 *                                policy, "NAME" for a global one (NAME as
 *                                the engine names it: knp.default.x,
 *                                tier.x, an AdminNetworkPolicy's name)
 *   "TIER|POLICY|-|ACTION"       the end of a tier: its default action,
 *                                POLICY the first one applied in it
 *   "__PROFILE__|kns.NS|-|allow" no tier decided: the namespace's profile
 *
 * How the kernel carries them:
 *   conntrack mark   bits 31..16 the egress id, 15..0 the ingress id, set
 *                    when a new connection is allowed (0: that direction
 *                    was not decided on this node)
 *   NFLOG prefix     "pw D e ID " / "pw D i ID " on a denied packet, group
 *                    PW_FLOW_NFLOG_GROUP
 * Ids are 1..0xfffe per direction, given in the order steps are first
 * rendered and never reused while the registry lives; a registry with a
 * file keeps them across restarts (an agent killed and started again
 * names the connections the kernel still tracks as before).  When a
 * direction's ids run out, new steps get PW_FLOW_ID_NONE, which records
 * report as unattributed.
 */
#ifndef PW_FLOW_IDS_H
#define PW_FLOW_IDS_H

#include <stdint.h>

#include "../engine.h"

#define PW_FLOW_NFLOG_GROUP 17407
#define PW_FLOW_ID_NONE 0xffffu
#define PW_FLOW_ID_MAX 0xfffeu

struct pw_flow_ids;

/* path: the file that keeps them (read if it exists, appended to); NULL:
   memory only.  NULL with the reason in err. */
struct pw_flow_ids *pw_flow_ids_new(const char *path, struct pw_buf *err);
void pw_flow_ids_free(struct pw_flow_ids *r);
/* The id of a step (an entry as above) in a direction; a new one when it
   has none yet (PW_FLOW_ID_NONE when they ran out). */
uint16_t pw_flow_ids_get(struct pw_flow_ids *r, enum pw_dir dir, const char *entry);
/* The entry of an id, NULL when unknown. */
const char *pw_flow_ids_entry(const struct pw_flow_ids *r, enum pw_dir dir,
			      uint16_t id);
uint32_t pw_flow_ids_count(const struct pw_flow_ids *r, enum pw_dir dir);

/* The entry of step st of endpoint pod's direction dir, appended to out. */
void pw_flow_step_entry(const struct pw_engine *e, uint32_t pod, enum pw_dir dir,
			const struct pw_step *st, struct pw_buf *out);
/* A policy's name as entries give it ("NS/NAME" or "NAME"). */
void pw_flow_policy_ref(const struct pw_engine *e, uint32_t slot, struct pw_buf *out);

#endif
