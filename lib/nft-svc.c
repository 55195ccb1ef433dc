// SPDX-License-Identifier: Apache-2.0
/*
 * Services in the nftables dataplane, the way kube-proxy's nftables mode
 * does it: in the router, before any policy, a packet to a service address
 * and port is translated to one backend and its target port.
 *
 *   chain svc_pre        hook prerouting, priority dstnat:
 *                          ip daddr . meta l4proto . th dport vmap
 *                            { VIP . tcp . 80 : goto svc_S_P, ... }
 *   chain svc_S_P        one backend: its endpoint rules inline; several:
 *                          numgen inc mod N vmap { 0 : goto svc_S_P_0, ... }
 *                        (round robin rather than kube-proxy's random
 *                        choice, so that N connections in a row reach
 *                        every backend once)
 *   chain svc_S_P_K      ip saddr A meta mark set meta mark | HAIRPIN
 *                        meta l4proto tcp dnat ip to A:PORT
 *   chain svc_post       hook postrouting, priority srcnat:
 *                          meta mark & HAIRPIN == HAIRPIN masquerade
 *
 * A pod that reaches itself through a Service (hairpin) is masqueraded so
 * that the reply comes back through the router, and the forward chain
 * accepts it: a pod can always reach itself.  A service address or port
 * without backends has no entry: the router has no route for it and drops
 * it (kube-proxy rejects it; either way nothing connects).  Headless and
 * ExternalName Services have no service address.  IPv4 only, as the lab.
 */
#include <stdlib.h>
#include <string.h>

#include "nft.h"
#include "service.h"

static const char *const l4[] = { "tcp", "udp", "sctp" };

static void endpoint_rules(struct pw_buf *b, const struct pw_backend *be)
{
	char a[48];
	pw_addr_format(&be->addr, a);
	pw_buf_printf(b, "\t\tip saddr %s meta mark set meta mark | 0x%x\n", a,
		      PW_NFT_MARK_HAIRPIN);
	pw_buf_printf(b, "\t\tmeta l4proto %s dnat ip to %s:%d\n", l4[be->proto],
		      a, be->port);
}

size_t pw_nft_add_services(const struct pw_cluster *c, struct pw_nft *out)
{
	struct pw_buf map, b, name;
	size_t nmap = 0;
	pw_buf_init(&map);
	pw_buf_init(&b);
	pw_buf_init(&name);
	for (uint32_t i = 0; i < c->nsvcs; i++) {
		const struct pw_service *s = &c->svcs[i];
		if (s->headless || s->type == PW_SVC_EXTERNAL_NAME)
			continue;
		for (uint32_t k = 0; k < s->nports; k++) {
			const struct pw_svc_port *sp = &s->ports[k];
			struct pw_backend *be;
			size_t nb = pw_service_backends(c, s, sp, sp->proto,
							sp->port, &be);
			size_t n4 = 0;
			for (size_t j = 0; j < nb; j++)
				if (be[j].addr.family == 4)
					be[n4++] = be[j];
			if (!n4) {
				free(be);
				continue;
			}
			pw_buf_reset(&b);
			if (n4 == 1) {
				endpoint_rules(&b, &be[0]);
			} else {
				pw_buf_printf(&b, "\t\tnumgen inc mod %zu vmap { ", n4);
				for (size_t j = 0; j < n4; j++)
					pw_buf_printf(&b, "%s%zu : goto svc_%u_%u_%zu",
						      j ? ", " : "", j, i, k, j);
				pw_buf_puts(&b, " }\n");
				for (size_t j = 0; j < n4; j++) {
					struct pw_buf e;
					pw_buf_init(&e);
					endpoint_rules(&e, &be[j]);
					pw_buf_reset(&name);
					pw_buf_printf(&name, "svc_%u_%u_%zu", i, k, j);
					pw_nft_add_obj(out, "chain", name.s, e.s);
					pw_buf_release(&e);
				}
			}
			pw_buf_reset(&name);
			pw_buf_printf(&name, "svc_%u_%u", i, k);
			pw_nft_add_obj(out, "chain", name.s, b.s);
			for (uint32_t v = 0; v < s->nvips; v++) {
				char a[48];
				if (s->vips[v].family != 4)
					continue;
				pw_addr_format(&s->vips[v], a);
				pw_buf_printf(&map, "%s%s . %s . %d : goto svc_%u_%u",
					      nmap++ ? ", " : "", a, l4[sp->proto],
					      sp->port, i, k);
			}
			free(be);
		}
	}
	if (nmap) {
		pw_buf_reset(&b);
		pw_buf_printf(&b, "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
				  "\t\tip daddr . meta l4proto . th dport vmap { %s }\n",
			      map.s);
		pw_nft_add_obj(out, "chain", "svc_pre", b.s);
		pw_buf_reset(&b);
		pw_buf_printf(&b, "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
				  "\t\tmeta mark & 0x%x == 0x%x masquerade\n",
			      PW_NFT_MARK_HAIRPIN, PW_NFT_MARK_HAIRPIN);
		pw_nft_add_obj(out, "chain", "svc_post", b.s);
	}
	pw_buf_release(&map);
	pw_buf_release(&b);
	pw_buf_release(&name);
	return nmap;
}
