// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the manifest loader, then the engine on whatever it
 * accepted (every pod pair's connection set and one verdict each).
 */
#include <stddef.h>
#include <stdint.h>

#include "../../lib/engine.h"
#include "../../lib/nft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_cluster c;
	struct pw_diags d;
	pw_cluster_init(&c);
	pw_diags_init(&d);
	pw_cluster_load_buffer(&c, "fuzz.yaml", data, size, &d);
	pw_cluster_finish(&c, &d);
	pw_cluster_check_ipblock_ports(&c, &d);
	struct pw_buf b;
	pw_buf_init(&b);
	for (size_t i = 0; i < d.n; i++)
		pw_diag_format(&d.v[i], &b);
	if (!d.errors && c.npods <= 64) {
		for (unsigned flags = 0; flags < 8; flags++) {
			struct pw_engine e;
			if (pw_engine_build(&e, &c, flags) < 0)
				continue;
			struct pw_conns cs;
			pw_conns_init(&cs);
			for (uint32_t i = 0; i < c.npods; i++)
				for (uint32_t k = 0; k < c.npods; k++) {
					struct pw_ep s = pw_ep_pod(&c, i);
					struct pw_ep t = pw_ep_pod(&c, k);
					struct pw_verdict v;
					pw_engine_conns(&e, &s, &t, &cs);
					struct pw_query q = pw_query_port(PW_TCP, 80);
					pw_engine_eval(&e, &s, &t, &q, &v);
					/* the two views must agree */
					if (v.allowed != pw_conns_has(&cs, PW_TCP, 80))
						__builtin_trap();
					pw_buf_reset(&b);
					pw_conns_format(&cs, &b);
				}
			pw_conns_release(&cs);
			/* the dataplane renders whatever the engine accepted */
			struct pw_dp_port ports[64];
			for (uint32_t i = 0; i < c.npods; i++)
				ports[i] = (struct pw_dp_port){ i, "pwr0" };
			struct pw_nft t;
			pw_nft_init(&t);
			pw_nft_build_opts(&e, ports, c.npods, flags & 1, &t);
			pw_buf_reset(&b);
			pw_nft_script_full(&t, "podwall", &b);
			pw_nft_release(&t);
			pw_engine_release(&e);
		}
	}
	pw_buf_release(&b);
	pw_diags_release(&d);
	pw_cluster_release(&c);
	return 0;
}
