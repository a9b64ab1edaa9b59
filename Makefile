# aoi: deep-learning optical inspection as a Unix toolchain.
#
#   make            build libaoi and the programs into build/
#   make check      build with ASan+UBSan into build/check/ and run every test
#   make demo       run the whole pipeline on testdata/
#   make install    PREFIX=/usr/local DESTDIR=
#   make deps       install the Debian packages the build needs (as root)
#   make bench      aoi against PyTorch and ONNX Runtime, one table
#
# New files in lib/, cmd/, tests/unit/ and tests/cli/ are picked up without
# editing this file.

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build

CC ?= cc
# The build targets baseline x86-64 (any x86-64 CPU runs it); the numeric
# kernels of lib/nn are compiled again for AVX2 and AVX-512 (the files
# named *_avx2.c and *_avx512.c get the -m flags below) and chosen by CPUID
# when a program starts (lib/nn/kernels/isa.h). NATIVE=1 builds everything
# for this machine's CPU instead (-march=native).
NATIVE ?= 0
OPT ?= -O3 $(if $(filter 1,$(NATIVE)),-march=native)
ifneq ($(filter x86_64-% i686-% i586-% i386-%,$(shell $(CC) -dumpmachine)),)
ISA_AVX2 := -mavx2 -mfma -mf16c
ISA_AVX512 := $(ISA_AVX2) -mavx512f -mavx512bw -mavx512dq -mavx512vl
endif
WERROR ?= -Werror
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -Wall -Wextra $(WERROR) -fopenmp -pthread \
	-Ilib -DAOI_VERSION='"$(VERSION)"'
CFLAGS ?= $(OPT) -g

# Debian ships OpenBLAS built for pthreads and for OpenMP; aoi uses OpenMP for
# its own kernels, so it links the OpenMP build when it is there to keep one
# thread pool instead of two fighting over the cores.
BLAS_OMP_DIR := /usr/lib/x86_64-linux-gnu/openblas-openmp
ifneq ($(wildcard $(BLAS_OMP_DIR)/libopenblas.so),)
BLAS_LIBS := -L$(BLAS_OMP_DIR) -Wl,-rpath,$(BLAS_OMP_DIR) -lopenblas
else
BLAS_LIBS := -lopenblas
endif

# MPI (issue 9): data-parallel aoi-train under mpirun. On when mpicc is
# there (MPI=0 turns it off, MPI=1 insists). Only lib/train/dist_mpi.c sees
# <mpi.h>; every program links libmpi (the trainer calls lib/train/dist.c, which
# stays a group of one, without MPI_Init, unless a launcher started it).
# `make deps MPI=1` installs Open MPI as well.
MPI ?= $(if $(shell command -v mpicc 2>/dev/null),1,0)
.DEFAULT_GOAL := all
ifeq ($(MPI),1)
MPI_CFLAGS := -DAOI_HAVE_MPI $(shell mpicc --showme:compile 2>/dev/null)
MPI_LIBS := $(shell mpicc --showme:link 2>/dev/null)
ifeq ($(MPI_LIBS),)
$(warning MPI=1 but mpicc does not answer: building without MPI (make deps MPI=1 installs it))
MPI_CFLAGS :=
endif
deps: deps-mpi
endif
MPI_PKGS := libopenmpi-dev openmpi-bin
$(BUILD)/lib/train/dist_mpi.o: MPI_FLAGS_HERE = $(MPI_CFLAGS)
# rebuilt when MPI changes between builds in the same directory
$(BUILD)/lib/train/dist_mpi.o: $(BUILD)/mpi-$(MPI).stamp
$(BUILD)/mpi-$(MPI).stamp:
	@mkdir -p $(dir $@) && rm -f $(BUILD)/mpi-*.stamp && touch $@
# everything is rebuilt when NATIVE changes between builds in one directory
$(BUILD)/native-$(NATIVE).stamp:
	@mkdir -p $(dir $@) && rm -f $(BUILD)/native-*.stamp && touch $@
.PHONY: deps-mpi
deps-mpi:
	@if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(MPI_PKGS) >/dev/null || \
		{ echo "aoi: apt-get install $(MPI_PKGS) failed" >&2; exit 1; }; \
	else echo "aoi: run as root: apt-get install -y $(MPI_PKGS)" >&2; exit 1; fi

# rabbitmq-c (issue 10): queue workers (aoi-classify/aoi-infer --amqp,
# aoi-datatool publish/consume). On when its header is there (AMQP=0 turns
# it off: the queue options then fail with "built without AMQP support").
AMQP ?= $(if $(wildcard /usr/include/amqp.h /usr/include/rabbitmq-c/amqp.h),1,0)
ifeq ($(AMQP),1)
AMQP_CFLAGS := -DAOI_HAVE_AMQP
AMQP_LIBS := -lrabbitmq
endif

LIBS = -lpng -ljpeg -ljansson $(BLAS_LIBS) $(MPI_LIBS) $(AMQP_LIBS) -lm
ALL_CFLAGS = $(CFLAGS_BASE) $(MPI_FLAGS_HERE) $(AMQP_CFLAGS) $(CFLAGS) $(ISA_FLAGS)
$(BUILD)/%_avx2.o: ISA_FLAGS = $(ISA_AVX2)
$(BUILD)/%_avx512.o: ISA_FLAGS = $(ISA_AVX512)

LIB_SRC := $(sort $(wildcard lib/*/*.c lib/*/*/*.c))
LIB_HDR := $(wildcard lib/*/*.h lib/*/*/*.h)
# Headers private to their folder: not installed.
PRIVATE_HDR := $(filter %_impl.h lib/image/image_codec.h lib/nn/layer.h lib/nn/fuse.h lib/nn/layers/% \
	lib/nn/kernels/%,$(LIB_HDR))
PUBLIC_HDR := $(filter-out $(PRIVATE_HDR),$(LIB_HDR))
# libaoi.a names its members by file name alone: two lib/ files of one name
# would leave one of them out.
LIB_NAMES := $(notdir $(LIB_SRC))
ifneq ($(words $(LIB_NAMES)),$(words $(sort $(LIB_NAMES))))
$(error lib/ has two .c files of the same name: $(sort $(foreach n,$(LIB_NAMES),$(if $(filter-out 1,$(words $(filter $(n),$(LIB_NAMES)))),$(n)))))
endif
CMD_SRC := $(sort $(wildcard cmd/aoi-*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
PROGS := $(patsubst cmd/%.c,%,$(CMD_SRC))

LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC))
BIN := $(addprefix $(BUILD)/bin/,$(PROGS))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all check unit cli demo install uninstall deps clean bench lint-man have-deps
# keep objects between runs: they are intermediate files of pattern rules
.SECONDARY:
all: have-deps $(BUILD)/libaoi.a $(BIN) $(BUILD)/aoi.pc

$(BUILD)/%.o: %.c $(LIB_HDR) $(BUILD)/native-$(NATIVE).stamp
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The report's page is built into the program (.incbin in lib/report/assets.c).
$(BUILD)/lib/report/assets.o: $(wildcard lib/report/assets/*)

$(BUILD)/libaoi.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/cmd/%.o $(BUILD)/libaoi.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(BUILD)/libaoi.a $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libaoi.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(BUILD)/libaoi.a $(LIBS)

$(BUILD)/aoi.pc: scripts/aoi.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

# The test build: sanitizers on, optimised enough that the tests stay quick.
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
check: have-deps
	$(MAKE) --no-print-directory BUILD=build/check CFLAGS="$(SAN_FLAGS)" unit cli

# The net's tests again at each kernel level below the CPU's best
# (lib/nn/kernels/isa.h); test_nn_kernels runs every level itself.
NN_TESTS := $(filter %/test_nn %/test_nn_grad %/test_nn_dense %/test_infer,$(UNIT_BIN))
unit: $(UNIT_BIN) $(BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)
	@for l in $$($(BUILD)/tests/test_nn_kernels lower); do \
		echo "AOI_ISA=$$l:"; AOI_ISA=$$l sh tests/run-unit.sh $(NN_TESTS) || exit 1; done

cli: $(BIN)
	@AOI_BIN=$(abspath $(BUILD)/bin) sh tests/run-cli.sh

demo: have-deps all
	@$(MAKE) --no-print-directory -C examples/demo AOI_BIN=$(abspath $(BUILD)/bin)

bench: all
	@sh scripts/bench.sh $(abspath $(BUILD)/bin)

# Build prerequisites: `make deps` installs them; other targets call
# have-deps, which runs deps only when a header is missing.
DEPS_SCRIPT := scripts/deps.sh
deps:
	@sh $(DEPS_SCRIPT) install
have-deps:
	@sh $(DEPS_SCRIPT) check || sh $(DEPS_SCRIPT) install

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include/aoi $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(BUILD)/libaoi.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(BUILD)/aoi.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	for h in $(PUBLIC_HDR); do install -D -m 644 $$h $(DESTDIR)$(PREFIX)/include/aoi/$${h#lib/}; done
	for f in man/*.1; do [ -e "$$f" ] && install -m 644 $$f $(DESTDIR)$(PREFIX)/share/man/man1/; done; true
	for f in man/*.5; do [ -e "$$f" ] && install -m 644 $$f $(DESTDIR)$(PREFIX)/share/man/man5/; done; true
	for f in man/*.7; do [ -e "$$f" ] && install -m 644 $$f $(DESTDIR)$(PREFIX)/share/man/man7/; done; true
	for f in completions/bash/*; do [ -e "$$f" ] && install -m 644 $$f $(DESTDIR)$(PREFIX)/share/bash-completion/completions/; done; true
	for f in completions/zsh/_*; do [ -e "$$f" ] && install -m 644 $$f $(DESTDIR)$(PREFIX)/share/zsh/site-functions/; done; true

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(PREFIX)/bin/$$p; done

clean:
	rm -rf build
