# peerwall: build, test, demo and benchmarks. Every target installs the Debian packages it
# needs when they are missing (run as root on Debian 12), then builds.

SWIFT ?= swift
BUILD_PACKAGES := pkg-config libnetfilter-queue-dev libmnl-dev libpcre2-dev libxml2-dev libpcap-dev
RUN_PACKAGES := iptables iproute2 conntrack
BENCH_PACKAGES := libndpi-bin time

.PHONY: all deps bench-deps build release test demo demo-replay bench bench-live check captures clean

all: build

# Installs whichever of the listed Debian packages are missing.
define install_missing
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		if [ "$$(id -u)" -ne 0 ]; then echo "error: installing packages needs root (run as root, or install:$$missing)" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install_missing,$(BUILD_PACKAGES) $(RUN_PACKAGES))

bench-deps: deps
	$(call install_missing,$(BENCH_PACKAGES))

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build
	$(SWIFT) build --build-tests
	$(SWIFT) test
	$(SWIFT) run peerwall check --signatures signatures

# The gateway lab, live (as root): a Kazaa client and an ordinary browser behind the real daemon,
# in network namespaces of their own; prints what is blocked and why, then a summary.
demo: build
	"$$($(SWIFT) build --show-bin-path)/peerwall" lab --signatures signatures

# Replays the bundled demo capture and prints the text summary (no root needed).
demo-replay: build
	$(SWIFT) run peerwall replay --signatures signatures --format text demo/gateway.pcap

check: build
	$(SWIFT) run peerwall check --signatures signatures

# Regenerates the golden captures and the demo capture from the simulators' scenarios.
captures: build
	Scripts/regenerate-captures.sh

bench: bench-deps release
	Scripts/bench.sh

# Verdicts per second through a real NFQUEUE in the lab's namespaces: peerwall (all plugins)
# against a minimal C accept loop, in the same run (see BENCHMARKS.md, "Live NFQUEUE").
bench-live: deps release
	@mkdir -p bench-out
	cc -O2 -Wall -Wextra -o bench-out/nfq-accept-loop Scripts/nfq-accept-loop.c $$(pkg-config --cflags --libs libnetfilter_queue libmnl)
	cc -O2 -Wall -Wextra -o bench-out/bench-sender Scripts/bench-sender.c
	.build/release/peerwall-bench live --accept-loop bench-out/nfq-accept-loop --sender bench-out/bench-sender \
		--peerwall .build/release/peerwall --signatures signatures | tee bench-out/live.md

clean:
	rm -rf .build
