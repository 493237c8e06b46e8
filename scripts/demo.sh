#!/usr/bin/env bash
# Fill a running dev node with a small, believable story, using nothing but
# repute-cli, then show the score table.
#
#   scripts/dev.sh run          # in one terminal: a dev node on ./devnet/
#   scripts/demo.sh [DATADIR]   # in another (default ./devnet)
#
# The story: the dev chain's pre-trusted anchor (DATADIR/dev-anchor.key, empty
# passphrase) vouches for two agencies; the agencies represent five talents,
# two brands hire talents and license from an agency, and everyone reviews
# the other side honestly: mostly 4 and 5 stars, one 2 (a brand that paid
# late). Then five fresh identities that nobody trusted form a fake-review
# ring: they only engage each other and give each other 5 stars. Once a
# score epoch covering all of it is committed, the table shows the ring at
# the bottom despite its perfect reviews.
#
# Then audiences: Northstar (a trusted agency) and Lumen (a brand that worked
# with trusted people) attest what they measured of Maya's and Ines's
# Instagram audiences, and the ring's "analytics" identities attest each
# other's audiences at 100% authentic. At the next epoch `repute-cli audience`
# and `repute-cli top --platform instagram` show the trust-weighted figures:
# the ring's claims carry no trust and set no figure. `repute-cli top --rising`
# shows who rose since the first epoch.
#
# Keys go to a temporary folder (removed at the end) with empty passphrases
# and the interactive KDF, so the whole run takes well under a minute. Run it
# on a fresh dev chain: every run registers new identities.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:-devnet}
CLI=${REPUTE_CLI:-$top/build/node/repute-cli}

die() { printf 'demo: %s\n' "$*" >&2; exit 1; }
say() { printf '== %s\n' "$*"; }

[ -x "$CLI" ] || die "no $CLI: build first (meson compile -C build, or scripts/dev.sh run)"
[ -f "$DIR/dev-anchor.key" ] || die "$DIR/dev-anchor.key not found: is $DIR a dev chain? (reputed init --dev --datadir $DIR)"
[ -S "$DIR/rpc.sock" ] || die "no socket $DIR/rpc.sock: start the node first (scripts/dev.sh run)"

keys=$(mktemp -d)
trap 'rm -rf "$keys"' EXIT
export REPUTE_PASSPHRASE=""

cli() { "$CLI" --datadir "$DIR" "$@"; }
# field NAME: the value of a "NAME  value" line of repute-cli's output.
field() { awk -v k="$1" '$1 == k { print $2; exit }'; }

cli info >/dev/null || die "the node at $DIR does not answer"
cp "$DIR/dev-anchor.key" "$keys/anchor.key"
chmod 600 "$keys/anchor.key"

declare -A ID NAME
started=$SECONDS

# person KEY ROLE NAME: a new key and its registration.
person() {
    local k=$1 role=$2 name=$3
    ID[$k]=$(cli keygen --out "$keys/$k.key" --kdf interactive | field identity)
    NAME[$k]=$name
    cli identity --key "$keys/$k.key" --role "$role" --name "$name" --no-wait >/dev/null
}

# wait_pool: until every submitted record is in a block.
wait_pool() {
    local i
    for i in $(seq 1 120); do
        [ "$(cli mempool | field count)" = 0 ] && return 0
        sleep 0.25
    done
    die "records are still pending after 30 s"
}

# engage A B KIND: A proposes, B checks and co-signs; prints the engagement id.
engage() {
    cli engage --key "$keys/$1.key" --with "${ID[$2]}" --kind "$3" --out "$keys/engagement.hex" >/dev/null
    cli cosign --key "$keys/$2.key" "$keys/engagement.hex" --submit --no-wait | field id
}

# review WHO ENGAGEMENT STARS [DIMENSIONS...]
review() {
    local who=$1 eng=$2 stars=$3
    shift 3
    cli review --key "$keys/$who.key" --engagement "$eng" --rating "$stars" "$@" --no-wait >/dev/null
}

vouch() { cli vouch --key "$keys/$1.key" --for "${ID[$2]}" --relation "$3" --no-wait >/dev/null; }

say "registering two agencies, two brands and five talents"
person northstar agent "Northstar Talent"
person bluebird agent "Bluebird Artists"
person lumen brand "Lumen Cosmetics"
person harbor brand "Harbor Coffee Co."
person maya talent "Maya Okafor (singer)"
person leo talent "Leo Marchetti (dancer)"
person sofia talent "Sofia Reyes (actor)"
person kenji talent "Kenji Watanabe (model)"
person ines talent "Ines Duarte (creator)"
wait_pool

say "the dev anchor vouches for the agencies; the agencies for their talents"
vouch anchor northstar worked-with
vouch anchor bluebird worked-with
vouch northstar maya represents
vouch northstar leo represents
vouch bluebird sofia represents
vouch bluebird kenji represents
vouch bluebird ines represents

say "engagements, co-signed by both sides, and honest reviews"
e=$(engage northstar maya representation)
review northstar "$e" 5 --reliability 5
review maya "$e" 5 --communication 5
e=$(engage northstar leo representation)
review northstar "$e" 5
review leo "$e" 4 --payment 4
e=$(engage bluebird sofia representation)
review bluebird "$e" 5 --quality 5
review sofia "$e" 4
e=$(engage bluebird kenji representation)
review bluebird "$e" 4
review kenji "$e" 5
e=$(engage bluebird ines representation)
review bluebird "$e" 5
review ines "$e" 5
e=$(engage lumen maya sponsorship)
review lumen "$e" 5 --quality 5 --reliability 5
review maya "$e" 4 --payment 5
e=$(engage lumen sofia gig)
review lumen "$e" 4 --quality 4
review sofia "$e" 5 --payment 5
e=$(engage harbor kenji gig)
review harbor "$e" 5 --quality 5
review kenji "$e" 2 --payment 1 --communication 2 # paid three months late
e=$(engage harbor ines sponsorship)
review harbor "$e" 4
review ines "$e" 4 --payment 4
e=$(engage lumen northstar licensing)
review lumen "$e" 4
review northstar "$e" 5 --payment 5
e=$(engage harbor bluebird licensing)
review harbor "$e" 4
review bluebird "$e" 4 --payment 4

say "a fake-review ring: five fresh identities that only rate each other"
ring=(vera tomas bella hana rio)
person vera talent "Vera Viral"
person tomas talent "Tomas Trend"
person bella talent "Bella Buzz"
person hana talent "Hana Hype"
person rio talent "Rio Reach"
wait_pool
for i in 0 1 2 3 4; do
    for step in 1 2; do
        a=${ring[$i]} b=${ring[$(((i + step) % 5))]}
        e=$(engage "$a" "$b" gig)
        review "$a" "$e" 5 --quality 5 --reliability 5 --communication 5 --payment 5
        review "$b" "$e" 5 --quality 5 --reliability 5 --communication 5 --payment 5
    done
done
wait_pool

# The latest record is at or below this height; the epoch whose snapshot
# covers it is committed score_delay_blocks later.
height=$(cli head | field height)
epoch_blocks=$(cli info | field epoch_blocks)
want=$(((height + epoch_blocks - 1) / epoch_blocks))
say "$(cli mempool | field admitted) records in $((SECONDS - started)) s; waiting for score epoch $want (snapshot at height $((want * epoch_blocks)))"
for i in $(seq 1 240); do
    [ "$(cli head | field epoch)" -ge "$want" ] && break
    [ "$i" -lt 240 ] || die "epoch $want was not committed within 60 s"
    sleep 0.25
done

say "audiences: a trusted agency and a brand measure two talents; the ring attests itself"
today=$(date -u +%s)
attest() { # attest WHO SUBJECT AUTHENTIC_PCT FOLLOWERS
    cli attest --key "$keys/$1.key" --subject "${ID[$2]}" --platform instagram \
        --handle "$2_official" --followers "$4" --authentic-pct "$3" --engagement-pct 3.5 \
        --period-start $((today - 40 * 86400)) --period-end $((today - 86400)) --expires 90d \
        --no-wait >/dev/null
}
attest northstar maya 94 182000
attest lumen maya 91 182000
attest bluebird ines 88 56000
attest lumen ines 86 56000
for i in 0 1 2 3 4; do
    attest "${ring[$i]}" "${ring[$(((i + 1) % 5))]}" 100 950000
done
wait_pool
height=$(cli head | field height)
want2=$(((height + epoch_blocks - 1) / epoch_blocks))
[ "$want2" -gt "$want" ] || want2=$((want + 1))
for i in $(seq 1 480); do
    [ "$(cli head | field epoch)" -ge "$want2" ] && break
    [ "$i" -lt 480 ] || die "epoch $want2 was not committed within 120 s"
    sleep 0.25
done

echo
cli top --limit 30
echo
ranks=""
for k in "${ring[@]}"; do
    r=$(cli top --limit 100 | awk -v n="${NAME[$k]}" 'index($0, "  " n "  ") { print $1; exit }')
    ranks="$ranks${r:-?}\n"
done
ranks=$(printf "%b" "$ranks" | sort -n | paste -sd ' ' -)
total=$(cli top --limit 1 | awk 'NR == 1 { print $3 }')
echo "The ring (${NAME[vera]}, ${NAME[tomas]}, ${NAME[bella]}, ${NAME[hana]}, ${NAME[rio]})"
echo "gave each other 20 five-star reviews, four each and every one perfect, yet holds ranks"
echo "${ranks} of ${total}: no trusted identity ever worked with them, so their reviews carry"
echo "no trust and their ratings stay at the 3-star prior (docs/trust.md, \"Ratings\")."
echo "See for yourself: $CLI --datadir $DIR reviews --subject ${ID[vera]}"
echo
echo "Audiences (trust-weighted medians of the attestations, docs/trust.md):"
cli audience "${ID[maya]}" --platform instagram
echo
cli top --platform instagram --min-authentic-pct 50
echo
echo "The ring attested each other's audiences at 100% authentic, yet none of them is"
echo "listed above: attesters without trust set no figure. Who rose since the first epoch:"
cli top --role talent --rising --limit 5 || true
