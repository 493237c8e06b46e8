#!/usr/bin/env bash
# The developer's entry point. On a fresh Debian machine every subcommand first
# installs whatever is missing, then configures and builds, then does its job.
#
#   scripts/dev.sh run                 build, create ./devnet/ if absent, run the node
#                                      (RP_DEVNET=DIR picks another folder)
#   scripts/dev.sh test                the whole suite: unit tests, the same tests under
#                                      ASan+UBSan, fuzz-corpus replays, short fuzz runs
#   scripts/dev.sh bench               every benchmark
#   scripts/dev.sh fuzz NAME SECONDS   one libFuzzer target for longer
#   scripts/dev.sh sim [ARGS...]       the record-gossip simulation (bench/sim_gossip:
#                                      1,000 real engines by default; ARGS such as
#                                      --nodes 5000 --records 200 --seed 1)
#   scripts/dev.sh sim consensus N [FIRST]
#                                      N more seeds of the consensus simulator
#                                      (tests/sim_consensus) from seed FIRST (default:
#                                      a random one past the test suite's 1..1000)
#
# Build directories: build/ (gcc, debugoptimized), build-san/ (gcc, ASan+UBSan),
# build-fuzz/ (clang, libFuzzer). Environment: RP_FUZZ_SECONDS (default 20)
# sets the length of each fuzz smoke run in `test`.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

# Debian packages the build, tests, fuzzing and benchmarks need. clang only
# recommends libclang-rt-14-dev, which holds libFuzzer, so both are named.
# libmicrohttpd-dev serves the metrics endpoint; prometheus brings promtool,
# which the metrics suite runs on what the node serves.
PACKAGES=(
    gcc libc6-dev meson ninja-build pkg-config
    libsodium-dev liblmdb-dev libuv1-dev libsecp256k1-dev check libjansson-dev libinih-dev
    libmicrohttpd-dev prometheus
    clang libclang-rt-14-dev
)
# Only `bench` needs these: bench_rpc compares score.get with redis-benchmark GET.
BENCH_PACKAGES=(redis-server redis-tools)

say() { printf '== %s\n' "$*"; }
die() { printf 'dev.sh: %s\n' "$*" >&2; exit 1; }

install_missing() { # install_missing [EXTRA_PACKAGE...]
    local missing=() p
    for p in "${PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing missing packages: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            die "these Debian packages are missing and I am not root (and sudo is unavailable):
    ${missing[*]}
install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
        fi
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
        die "apt-get update failed; install by hand: ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
        die "apt-get install failed for: ${missing[*]}"
}

# setup DIR [meson options...]: configure DIR if it is not configured yet.
setup() {
    local dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        say "configuring $dir"
        meson setup "$dir" "$@" >/dev/null || die "meson setup $dir failed"
    fi
}

build() { # build DIR [targets...]
    local dir=$1
    shift
    say "building $dir"
    meson compile -C "$dir" "$@" || die "build failed in $dir"
}

build_main() { setup build; build build; }
build_san() { setup build-san -Dsanitize=true; build build-san; }
build_fuzz() { CC=clang setup build-fuzz -Dfuzz=true; build build-fuzz; }

# Every fuzz target has a seed corpus folder; a folder without a built target
# (or a target without a corpus) is an error, never a silent skip.
fuzz_targets() {
    local d
    for d in tests/fuzz/corpus/*/; do
        basename "$d"
    done
}

# Totals across the steps of `test`, for the closing summary line.
passed=0
failed=0

# run_meson_tests DIR SUITE...: run meson tests and add their counts.
run_meson_tests() {
    local dir=$1
    shift
    local args=() s out rc
    for s in "$@"; do args+=(--suite "$s"); done
    set +e
    out=$(meson test -C "$dir" --print-errorlogs "${args[@]}" 2>&1)
    rc=$?
    set -e
    printf '%s\n' "$out" | grep -vE '^(ninja: |$)' | tail -n 40
    local ok fail
    ok=$(printf '%s\n' "$out" | awk '/^Ok:/ {print $2}' | tail -n 1)
    fail=$(printf '%s\n' "$out" | awk '/^(Fail|Unexpected Pass|Timeout):/ {s += $2} END {print s + 0}')
    [ -n "$ok" ] || die "no test ran in $dir (suites: $*)"
    [ "$ok" -gt 0 ] || die "no test ran in $dir (suites: $*)"
    passed=$((passed + ok))
    failed=$((failed + fail))
    [ "$rc" -eq 0 ] || die "tests failed in $dir; logs: $dir/meson-logs/testlog.txt"
}

# fuzz_one NAME SECONDS: run one target on a scratch copy of its corpus.
fuzz_one() {
    local name=$1 secs=$2
    local bin="build-fuzz/tests/fuzz/fuzz_$name" seeds="tests/fuzz/corpus/$name"
    [ -x "$bin" ] || die "fuzz target '$name' has a corpus but no binary ($bin)"
    [ -d "$seeds" ] || die "fuzz target '$name' has no seed corpus ($seeds)"
    local work
    work=$(mktemp -d)
    # libFuzzer writes new inputs into the first folder only, so the committed
    # seeds are never touched. Crashes land in build-fuzz/ for inspection.
    set +e
    "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="build-fuzz/crash-$name-" "$work" "$seeds" >"build-fuzz/fuzz-$name.log" 2>&1
    local rc=$?
    set -e
    rm -rf "$work"
    local execs
    execs=$(awk '/stat::number_of_executed_units/ {print $NF}' "build-fuzz/fuzz-$name.log")
    if [ "$rc" -ne 0 ]; then
        tail -n 40 "build-fuzz/fuzz-$name.log" >&2
        failed=$((failed + 1))
        die "fuzz target $name failed (log: build-fuzz/fuzz-$name.log)"
    fi
    [ -n "$execs" ] && [ "$execs" -gt 0 ] || die "fuzz target $name executed nothing"
    say "fuzz $name: $execs executions in ${secs}s, no failures"
    passed=$((passed + 1))
}

check_fuzz_targets() {
    local t bin
    for bin in build-fuzz/tests/fuzz/fuzz_*; do
        [ -f "$bin" ] && [ -x "$bin" ] || continue
        t=${bin##*/fuzz_}
        [ -d "tests/fuzz/corpus/$t" ] || die "fuzz target $t has no seed corpus folder tests/fuzz/corpus/$t"
    done
}

cmd_test() {
    install_missing
    build_main
    say "unit tests and corpus replays (build/)"
    run_meson_tests build unit fuzz-replay
    build_san
    say "unit tests and corpus replays under ASan+UBSan (build-san/)"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        run_meson_tests build-san unit fuzz-replay
    build_fuzz
    check_fuzz_targets
    local secs=${RP_FUZZ_SECONDS:-20} t
    for t in $(fuzz_targets); do
        fuzz_one "$t" "$secs"
    done
    say "all steps done"
    echo "summary: $passed passed, $failed failed"
}

cmd_bench() {
    install_missing "${BENCH_PACKAGES[@]}"
    build_main
    local b found=0
    for b in build/bench/bench_*; do
        [ -f "$b" ] && [ -x "$b" ] || continue
        found=1
        say "${b##*/}"
        "$b"
    done
    [ "$found" -eq 1 ] || die "no benchmark was built"
}

cmd_fuzz() {
    [ $# -eq 2 ] || die "usage: scripts/dev.sh fuzz NAME SECONDS (targets: $(fuzz_targets | tr '\n' ' '))"
    local name=$1 secs=$2
    case "$secs" in '' | *[!0-9]*) die "SECONDS must be a whole number" ;; esac
    [ -d "tests/fuzz/corpus/$name" ] || die "no fuzz target '$name' (targets: $(fuzz_targets | tr '\n' ' '))"
    install_missing
    build_fuzz
    fuzz_one "$name" "$secs"
}

# Not part of `bench`: a planning tool whose figures are latencies in a
# simulated network, not this machine's limits.
cmd_sim() {
    install_missing
    setup build
    if [ "${1:-}" = consensus ]; then
        shift
        [ $# -ge 1 ] && [ $# -le 2 ] || die "usage: scripts/dev.sh sim consensus N [FIRST]"
        local n=$1 first=${2:-}
        case "$n" in '' | *[!0-9]*) die "N must be a whole number" ;; esac
        if [ -z "$first" ]; then
            # Past the 1,000 seeds `meson test` runs, somewhere new each time;
            # a failing seed prints its own command line to reproduce it.
            first=$((1001 + $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % 1000000000))
        fi
        case "$first" in *[!0-9]*) die "FIRST must be a whole number" ;; esac
        build build tests/sim_consensus
        say "consensus simulator: $n seeds from $first"
        exec build/tests/sim_consensus --seeds "$n" --first "$first"
    fi
    build build sim_gossip
    exec build/bench/sim_gossip "$@"
}

cmd_run() {
    install_missing
    build_main
    local dir=${RP_DEVNET:-devnet} abs
    case "$dir" in /*) abs=$dir ;; *) abs=$top/$dir ;; esac
    if [ ! -f "$dir/reputed.conf" ]; then
        say "creating a single-validator dev chain in $abs/"
        build/node/reputed init --dev --datadir "$dir" || die "reputed init failed"
    fi
    say "starting the node on $abs/ (Ctrl-C stops it)"
    cat <<MSG
   RPC socket: $abs/rpc.sock
   In another terminal, try:
     build/node/repute-cli --datadir $dir info
     build/node/repute-cli --datadir $dir head
     scripts/demo.sh $dir          # a small story, then the score table
MSG
    exec build/node/reputed run --datadir "$dir"
}

usage() {
    sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
    run) shift; cmd_run "$@" ;;
    test) shift; cmd_test "$@" ;;
    bench) shift; cmd_bench "$@" ;;
    fuzz) shift; cmd_fuzz "$@" ;;
    sim) shift; cmd_sim "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac
