# SPDX-License-Identifier: Apache-2.0
# podwall: one hand-written Makefile.
#   make            build ./podwall
#   make test       every test (unit, cases, CLI, conformance), ASan+UBSan
#   make deps       install missing Debian packages
#   make demo       deps + build + the seed 000 scenario
#   make fuzz       build and run the libFuzzer targets (FUZZ_SECONDS each)
#   make bench      benchmarks (the lab's need root)
#   V=1             show full commands

CC       ?= cc
CSTD     := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
OPT      ?= -O2 -g
CFLAGS   += $(CSTD) $(WARN) $(OPT) -MMD -MP
LDLIBS   += -lyaml -lnftables -lmicrohttpd -lcurl -lgnutls -lsqlite3 -lnetfilter_log -lnetfilter_conntrack -lnfnetlink -lmnl -pthread
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SECONDS ?= 60
SHARED   ?= ../shared

LIB_SRC := $(wildcard lib/*.c lib/*/*.c)
CLI_SRC := $(wildcard cli/*.c)
SRC     := $(LIB_SRC) $(CLI_SRC)
OBJ     := $(SRC:%.c=build/rel/%.o)
ASAN_OBJ:= $(SRC:%.c=build/asan/%.o)
LIB_ASAN_OBJ := $(LIB_SRC:%.c=build/asan/%.o)
LIB_OBJ := $(LIB_SRC:%.c=build/rel/%.o)
UNIT_SRC:= $(wildcard tests/unit/*.c)
UNIT_BIN:= $(UNIT_SRC:tests/unit/%.c=build/asan/unit/%)

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all test test-run deps demo demo-run fuzz clean bench
.DELETE_ON_ERROR:

all: podwall

podwall: $(OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC/SAN  $<"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -O1 -c -o $@ $<

build/asan/podwall: $(ASAN_OBJ)
	@echo "  LD/SAN  $@"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

build/asan/unit/%: tests/unit/%.c $(LIB_ASAN_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC/SAN  $<"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -O1 -o $@ $^ $(LDLIBS)

deps:
	@sh scripts/deps.sh

# deps first, in its own make, so that a fresh machine gets libyaml before
# anything is compiled
demo: deps
	@$(MAKE) --no-print-directory demo-run

demo-run: podwall
	@sh scripts/demo.sh

test: deps
	@$(MAKE) --no-print-directory test-run

# every suite runs on the ASan+UBSan build; the release build runs under
# valgrind
test-run: podwall build/asan/podwall $(UNIT_BIN) build/asan/nca-calico build/asan/reach-diff build/asan/outputs-diff build/asan/world-diff build/asan/kube-server
	@PODWALL=build/asan/podwall SHARED=$(SHARED) UNIT_BINS="$(UNIT_BIN)" \
		NCA_RUN=build/asan/nca-calico REACH_DIFF=build/asan/reach-diff \
		WORLD_DIFF=build/asan/world-diff KUBE_SERVER=build/asan/kube-server \
		OUTPUTS_DIFF=build/asan/outputs-diff VALGRIND_PODWALL=./podwall sh tests/run.sh

build/asan/outputs-diff: tests/differential/outputs-diff.c $(LIB_ASAN_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC/SAN  $<"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -O1 -o $@ $^ $(LDLIBS)

build/asan/world-diff: tests/differential/world-diff.c $(LIB_ASAN_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC/SAN  $<"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -O1 -o $@ $^ $(LDLIBS)

# the Kubernetes API's recorded responses, replayed (tests/kube/run.sh)
build/asan/kube-server: tests/kube/server.c
	@mkdir -p $(dir $@)
	@echo "  CC/SAN  $<"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -O1 -o $@ $^ -lmicrohttpd -lgnutls -lpthread

build/asan/reach-diff: tests/differential/reach-diff.c $(LIB_ASAN_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC/SAN  $<"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -O1 -o $@ $^ $(LDLIBS)

build/asan/nca-calico: tests/conformance/nca-calico.c $(LIB_ASAN_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC/SAN  $<"
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -O1 -o $@ $^ $(LDLIBS)

# benchmarks print figures and ratios; the lab ones need root
bench: podwall build/rel/engine-bench build/rel/flip build/rel/churn build/rel/flows-bench
	@PODWALL=$(CURDIR)/podwall ENGINE_BENCH=$(CURDIR)/build/rel/engine-bench sh bench/engine.sh
	@PODWALL=$(CURDIR)/podwall sh bench/cube.sh
	@PODWALL=$(CURDIR)/podwall CHURN_BIN=$(CURDIR)/build/rel/churn sh bench/agent-memory.sh
	@PODWALL=$(CURDIR)/podwall FLOWS_BENCH=$(CURDIR)/build/rel/flows-bench sh bench/flows.sh
	@if [ "$$(id -u)" = 0 ]; then PODWALL=$(CURDIR)/podwall sh bench/lab.sh; \
		PODWALL=$(CURDIR)/podwall FLIP=$(CURDIR)/build/rel/flip sh bench/agent.sh; \
		PODWALL=$(CURDIR)/podwall FLIP=$(CURDIR)/build/rel/flip sh bench/nodes.sh; \
	else echo "lab benchmarks: not run (need root)"; fi

build/rel/flows-bench: bench/flows-bench.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/rel/churn: bench/churn.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/rel/flip: bench/flip.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/rel/engine-bench: bench/engine-bench.c $(LIB_OBJ)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

FUZZ_TARGETS := manifest calsel
fuzz: $(FUZZ_TARGETS:%=build/fuzz/%)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p tests/fuzz/corpus-run/$$t; \
		build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
			tests/fuzz/corpus-run/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

build/fuzz/%: tests/fuzz/fuzz-%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)clang $(CSTD) -g -O1 -fsanitize=fuzzer,address,undefined -o $@ $< $(LIB_SRC) $(LDLIBS)

clean:
	rm -rf build podwall

-include $(OBJ:.o=.d) $(ASAN_OBJ:.o=.d)
