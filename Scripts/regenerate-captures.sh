#!/usr/bin/env bash
# Regenerates every generated capture from the simulators' scenarios: the golden captures with
# their expected outputs (a recording run, which reports failure by design), and the demo capture.
# Review the diff before committing it.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
RECORD_GOLDEN=1 swift test --skip-build --filter GoldenTests >/dev/null 2>&1 || true
swift test --skip-build --filter GoldenTests
swift run peerwall-sim capture mixed --packets 3000 --out demo/gateway.pcap
git status --short Tests/GoldenTests demo
