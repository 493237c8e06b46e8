#!/usr/bin/env bash
# A local network of real nodes on this machine, for development and demos,
# on loopback: one validator (a dev chain of its own) and N-1 full nodes; or,
# with --validators V, a chain of V validators reaching consensus (Tendermint,
# docs/consensus.md) and N-V full nodes.
#
#   scripts/localnet.sh start [N] [--validators V]
#                                   build, create ./localnet/ (N nodes, default 4)
#                                   if absent, start every node
#   scripts/localnet.sh status      each node's role, height, sync state, peers
#                                   and consensus step
#   scripts/localnet.sh stop        stop every node (SIGTERM)
#   scripts/localnet.sh clean       stop and remove ./localnet/
#
# Needs a build (scripts/dev.sh test or run makes one). Node i listens on
# 127.0.0.1:27701+i. Single validator: node 0 validates and node i keeps node
# i-1 as a persistent peer, so records and blocks cross every node. With
# --validators V: nodes 0..V-1 are validators (keys DIR/keys/vI.key, and a
# pre-trusted identity's key DIR/keys/anchor.key, all encrypted with the
# empty passphrase) and node i keeps every node before it as a persistent
# peer. RP_LOCALNET=DIR picks another folder, RP_LOCALNET_PORT another first
# port. Each node's RPC socket is DIR/nI/rpc.sock, its log DIR/nI.log:
# repute-cli --datadir localnet/n2 info.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
net=${RP_LOCALNET:-$top/localnet}
port0=${RP_LOCALNET_PORT:-27701}
reputed=$top/build/node/reputed
cli=$top/build/node/repute-cli

die() { printf 'localnet.sh: %s\n' "$*" >&2; exit 1; }

nodes() {
    local d
    for d in "$net"/n[0-9]*; do
        [ -d "$d" ] && echo "$d"
    done | sort -V
}

node_id() { "$cli" --datadir "$1" --json info | sed -n 's/.*"node_id": *"\([0-9a-f]*\)".*/\1/p'; }

# Set [p2p] listen and persistent_peer (a comma-separated list) in a conf.
set_p2p() { # set_p2p DIR LISTEN [PEER[,PEER...]]
    local conf=$1/reputed.conf tmp
    tmp=$(mktemp)
    awk -v listen="$2" -v peer="${3:-}" '
        /^listen = / || /^listen =$/ {
            print "listen = " listen
            n = split(peer, ps, ",")
            for (k = 1; k <= n; k++) print "persistent_peer = " ps[k]
            next
        }
        /^persistent_peer = / { next }
        { print }' "$conf" >"$tmp"
    cat "$tmp" >"$conf"
    rm -f "$tmp"
}

wait_up() { # wait_up DIR
    local i
    for i in $(seq 1 100); do
        "$cli" --datadir "$1" info >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "the node in $1 did not start; see $1.log"
}

start_node() { # start_node DIR
    if "$cli" --datadir "$1" info >/dev/null 2>&1; then
        return 0
    fi
    REPUTE_PASSPHRASE='' nohup "$reputed" run --datadir "$1" >>"$1.log" 2>&1 &
    wait_up "$1"
}

# A genesis of V validators whose keys keygen writes (empty passphrase).
make_bft_genesis() { # make_bft_genesis V
    local v=$1 i pk vals="" anchor
    mkdir -p "$net/keys"
    for i in $(seq 0 $((v - 1))); do
        pk=$(REPUTE_PASSPHRASE='' "$cli" keygen --out "$net/keys/v$i.key" --kdf interactive | awk '/^identity/ {print $2}') ||
            die "repute-cli keygen failed"
        vals+="${vals:+,}
    {\"pubkey\": \"$pk\", \"power\": 1, \"name\": \"val-$i\"}"
    done
    anchor=$(REPUTE_PASSPHRASE='' "$cli" keygen --out "$net/keys/anchor.key" --kdf interactive | awk '/^identity/ {print $2}') ||
        die "repute-cli keygen failed"
    cat >"$net/genesis.json" <<EOF
{
  "chain_name": "localnet-bft",
  "genesis_time": $(date +%s),
  "validators": [$vals
  ],
  "pretrusted": ["$anchor"],
  "params": {
    "block_interval_ms": 1000, "epoch_blocks": 10, "score_delay_blocks": 2,
    "max_block_records": 10000, "max_block_bytes": 4194304, "pow_difficulty": 8,
    "review_half_life_days": 180, "trust_damping_ppm": 150000,
    "trust_max_iterations": 100, "trust_tolerance_ppb": 10,
    "time_tolerance_s": 600, "max_engagement_ttl_s": 2592000
  }
}
EOF
}

create() { # create N V
    local n=$1 v=$2 i
    mkdir -p "$net"
    if [ "$v" -ge 2 ]; then
        make_bft_genesis "$v"
        for i in $(seq 0 $((n - 1))); do
            if [ "$i" -lt "$v" ]; then
                REPUTE_PASSPHRASE='' "$reputed" init --datadir "$net/n$i" \
                    --genesis "$net/genesis.json" --validator-key "$net/keys/v$i.key" \
                    >/dev/null || die "reputed init failed for n$i"
            else
                "$reputed" init --datadir "$net/n$i" --genesis "$net/genesis.json" >/dev/null ||
                    die "reputed init failed for n$i"
            fi
        done
        touch "$net/.bft"
    else
        "$reputed" init --datadir "$net/n0" --dev >/dev/null 2>&1 ||
            die "reputed init --dev failed"
        for i in $(seq 1 $((n - 1))); do
            "$reputed" init --datadir "$net/n$i" --genesis "$net/n0/genesis.json" >/dev/null
        done
    fi
}

cmd_start() {
    local n=4 v=1
    while [ $# -gt 0 ]; do
        case $1 in
            --validators) [ $# -ge 2 ] || die "--validators needs a number"; v=$2; shift 2 ;;
            *) n=$1; shift ;;
        esac
    done
    [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 16 ] || die "N must be 1..16"
    [[ $v =~ ^[0-9]+$ ]] && [ "$v" -ge 1 ] && [ "$v" -le "$n" ] || die "V must be 1..N"
    if [ -f build/build.ninja ]; then
        ninja -C build >/dev/null || die "the build failed: ninja -C build"
    fi
    [ -x "$reputed" ] || die "no build yet: run scripts/dev.sh test (or scripts/dev.sh run) once"
    [ -d "$net" ] || create "$n" "$v"
    local prev="" d i=0 j peers
    for d in $(nodes); do
        if [ -f "$net/.bft" ]; then
            peers=""
            for j in $(seq 0 $((i - 1))); do
                peers+="${peers:+,}$(node_id "$net/n$j")@127.0.0.1:$((port0 + j))"
            done
            set_p2p "$d" "127.0.0.1:$((port0 + i))" "$peers"
        elif [ -n "$prev" ]; then
            set_p2p "$d" "127.0.0.1:$((port0 + i))" "$(node_id "$prev")@127.0.0.1:$((port0 + i - 1))"
        else
            set_p2p "$d" "127.0.0.1:$port0"
        fi
        start_node "$d"
        prev=$d
        i=$((i + 1))
    done
    cmd_status
}

cmd_status() {
    [ -d "$net" ] || die "no local network in $net: scripts/localnet.sh start"
    local d
    printf '%-8s %-10s %-8s %-9s %-6s %s\n' node role height sync peers consensus
    for d in $(nodes); do
        local j
        if ! j=$("$cli" --datadir "$d" --json info 2>/dev/null); then
            printf '%-8s (not running)\n' "$(basename "$d")"
            continue
        fi
        local role height state peers step
        # the first occurrence of each field: the JSON is one line
        field() { grep -o "\"$1\": *\"\{0,1\}[a-z0-9]*" <<<"$j" | head -1 | sed 's/.*[": ]//'; }
        role=$(field role)
        height=$(field height)
        state=$(field state)
        peers=$(field peers)
        step=$(field step)
        printf '%-8s %-10s %-8s %-9s %-6s %s\n' "$(basename "$d")" "$role" "$height" "$state" \
            "$peers" "${step:--}"
    done
}

cmd_stop() {
    local d pid
    for d in $(nodes); do
        pid=$("$cli" --datadir "$d" --json info 2>/dev/null | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' | head -1) || true
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    status) cmd_status ;;
    stop) cmd_stop ;;
    clean) cmd_stop; sleep 1; rm -rf "$net" ;;
    *) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
