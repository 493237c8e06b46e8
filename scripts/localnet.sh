#!/usr/bin/env bash
# A local network of real nodes on this machine, for development and demos:
# one validator (a dev chain of its own) and N-1 full nodes, on loopback.
#
#   scripts/localnet.sh start [N]   build, create ./localnet/ (N nodes, default 4)
#                                   if absent, start every node
#   scripts/localnet.sh status      each node's role, height, sync state and peers
#   scripts/localnet.sh stop        stop every node (SIGTERM)
#   scripts/localnet.sh clean       stop and remove ./localnet/
#
# Needs a build (scripts/dev.sh test or run makes one). Node 0 is the validator, listening on 127.0.0.1:27701; node i listens on
# 27701+i and keeps node i-1 as a persistent peer, so records and blocks
# cross every node. RP_LOCALNET=DIR picks another folder, RP_LOCALNET_PORT
# another first port. Each node's RPC socket is DIR/nI/rpc.sock, its log
# DIR/nI.log: repute-cli --datadir localnet/n2 info.
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

# Set [p2p] listen and persistent_peer in a datadir's conf.
set_p2p() { # set_p2p DIR LISTEN [PEER]
    local conf=$1/reputed.conf tmp
    tmp=$(mktemp)
    awk -v listen="$2" -v peer="${3:-}" '
        /^listen = / || /^listen =$/ { print "listen = " listen; if (peer != "") print "persistent_peer = " peer; next }
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
    nohup "$reputed" run --datadir "$1" >>"$1.log" 2>&1 &
    wait_up "$1"
}

cmd_start() {
    local n=${1:-4}
    [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 16 ] || die "N must be 1..16"
    if [ -f build/build.ninja ]; then
        ninja -C build >/dev/null || die "the build failed: ninja -C build"
    fi
    [ -x "$reputed" ] || die "no build yet: run scripts/dev.sh test (or scripts/dev.sh run) once"
    if [ ! -d "$net" ]; then
        mkdir -p "$net"
        "$reputed" init --datadir "$net/n0" --dev >/dev/null 2>&1 ||
            die "reputed init --dev failed"
        set_p2p "$net/n0" "127.0.0.1:$port0"
        local i
        for i in $(seq 1 $((n - 1))); do
            "$reputed" init --datadir "$net/n$i" --genesis "$net/n0/genesis.json" >/dev/null
        done
    fi
    local prev="" d i=0
    for d in $(nodes); do
        if [ -n "$prev" ]; then
            set_p2p "$d" "127.0.0.1:$((port0 + i))" "$(node_id "$prev")@127.0.0.1:$((port0 + i - 1))"
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
    printf '%-8s %-10s %-8s %-9s %s\n' node role height sync peers
    for d in $(nodes); do
        local j
        if ! j=$("$cli" --datadir "$d" --json info 2>/dev/null); then
            printf '%-8s (not running)\n' "$(basename "$d")"
            continue
        fi
        local role height state peers
        role=$(sed -n 's/.*"role": *"\([a-z]*\)".*/\1/p' <<<"$j" | head -1)
        height=$(sed -n 's/.*"height": *"\{0,1\}\([0-9]*\)"\{0,1\}.*/\1/p' <<<"$j" | head -1)
        state=$(sed -n 's/.*"state": *"\([a-z]*\)".*/\1/p' <<<"$j" | head -1)
        peers=$(sed -n 's/.*"peers": *\([0-9]*\).*/\1/p' <<<"$j" | head -1)
        printf '%-8s %-10s %-8s %-9s %s\n' "$(basename "$d")" "$role" "$height" "$state" "$peers"
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
    *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
