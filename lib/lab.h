/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lab: a cluster's pods as network namespaces on one machine.
 *
 * Topology (lab NAME):
 *   netns pwl-NAME-r          the router: forwards between its veths, holds
 *                             the nftables table "podwall", no uplink
 *   netns pwl-NAME-<k>        pod k: eth0 = POD_IP/32, default route via
 *                             169.254.1.1 (the router side of its veth, as
 *                             Calico does it)
 *   netns pwl-NAME-x<k>       external test host k (TEST-NET addresses)
 *   veth pwr<k> / pwx<k>      router side of each link
 * The root namespace gets no route and no address: nothing leaves the lab.
 *
 * Ownership: every object is recorded in STATE_DIR/NAME/owned *before* it
 * is created, so `lab down` removes exactly what the lab made, also after a
 * crash or kill -9, and never anything else.
 */
#ifndef PW_LAB_H
#define PW_LAB_H

#include "base.h"
#include "netaddr.h"

#define PW_LAB_STATE_DIR "/run/podwall/lab"
#define PW_LAB_TABLE "podwall"

/* Run argv (no shell); 0 on exit status 0.  stderr goes to err if given. */
int pw_run(char *const argv[], struct pw_buf *err);
/* Like pw_run, with stdout captured into out. */
int pw_run_capture(char *const argv[], struct pw_buf *out, struct pw_buf *err);

/* Enter the network namespace /run/netns/NAME in this process. */
int pw_netns_enter(const char *name);
bool pw_netns_exists(const char *name);

/* STATE_DIR/lab/file, created as needed. */
void pw_lab_path(const char *lab, const char *file, char out[static 512]);
/* Append "what" to the ownership record (fsync'd). */
int pw_lab_own(const char *lab, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
