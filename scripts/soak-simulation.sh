#!/usr/bin/env bash
# Soak of the whole-station simulation for releases: the same test as CI
# (tests/station_simulation.rs: the real station on the in-process simulated line,
# virtual time, device faults, crashes at any point including during recovery,
# invariants judged after every recovery and at the end), with far more seeds,
# items and crashes, in release mode.
#
# Usage: scripts/soak-simulation.sh [SEEDS] [ITEMS_PER_SEED] [CRASHES_PER_SEED]
#   defaults: 5000 seeds x 2000 items, 25 crashes aimed each (10 million items,
#   about 150 000 crashes). Many seeds of moderate length: every judgement reads
#   the whole store, so a seed's judging grows with its items times its crashes. The first seed is random unless SERIALSTATION_SIM_BASE_SEED
#   is set; it is printed first, so the run can be repeated exactly.
# Environment: SERIALSTATION_SIM_RATE (items per minute, default 1200) and
#   SERIALSTATION_SIM_THREADS (seeds in parallel, default every core) pass through.
# A failing seed is printed with the command that replays it alone.
set -euo pipefail
cd "$(dirname "$0")/.."

seeds="${1:-5000}"
items="${2:-2000}"
crashes="${3:-25}"
base="${SERIALSTATION_SIM_BASE_SEED:-$(( (RANDOM << 15 | RANDOM) + 1 ))}"

echo "soak: ${seeds} seeds from ${base}, ${items} items and ${crashes} crashes each"
SERIALSTATION_SIM_BASE_SEED="${base}" \
SERIALSTATION_SIM_SEEDS="${seeds}" \
SERIALSTATION_SIM_ITEMS="${items}" \
SERIALSTATION_SIM_CRASHES="${crashes}" \
  cargo test --release --locked --test station_simulation -- --nocapture \
    the_whole_station_survives_crashes_at_any_point_and_keeps_every_invariant
