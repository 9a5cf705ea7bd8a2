# Front door over CMake (STYLE.md): CMake owns the build, this file names the jobs.
# `make demo` and `make test` bootstrap their own Debian dependencies first.

BUILD      ?= build/release
SAN_BUILD  ?= build/sanitize
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
CTEST_ARGS ?=
NS         := $(BUILD)/sw/cli/neuroscalar
ifeq ($(CI),true)
  CMAKE_ARGS += -DNS_WERROR=ON
endif

.PHONY: all build bootstrap configure test test-unit test-sanitize demo bench verilate-test ppa \
        traces dataset format clean help

all: build

help:
	@echo "make            build everything (Release) into $(BUILD)"
	@echo "make test       bootstrap, build and run every test (CI also runs ASan+UBSan unit tests)"
	@echo "make demo       bootstrap, build, trace a real program and print its summary"
	@echo "make bench      run the benchmarks and print their figures"
	@echo "make verilate-test  RTL benches and RTL-vs-csim cross-checks (CTest labels rtl, xcheck)"
	@echo "make ppa        area/power/throughput sweep over tile counts"
	@echo "make traces     trace the workload suite into the trace cache"
	@echo "make dataset    label the traces on every CPU config and write training shards"

bootstrap:
	@scripts/bootstrap.sh

# Configure every time (a second or two): parts appear as folders gain a CMakeLists.txt.
configure:
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) > /dev/null

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: bootstrap build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)
ifeq ($(CI),true)
	$(MAKE) test-sanitize
endif

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit $(CTEST_ARGS)

# C++ unit tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-sanitize: bootstrap
	cmake -S . -B $(SAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DNS_SANITIZE=ON -DNS_UNIT_ONLY=ON $(CMAKE_ARGS)
	cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -L unit $(CTEST_ARGS)

demo: bootstrap build
	scripts/demo.sh $(NS)

bench: bootstrap build
	scripts/bench.sh $(BUILD)

verilate-test: bootstrap build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L 'rtl|xcheck' $(CTEST_ARGS)

ppa: bootstrap build
	scripts/ppa.sh $(NS)

traces: bootstrap build
	scripts/traces.sh $(NS)

dataset: bootstrap build
	scripts/dataset.sh $(NS)

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf build
