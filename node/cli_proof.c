/* repute-cli verify-proof: a score proof checked offline.
 *
 * Nothing is asked of any node: the genesis file gives the chain id and the
 * validator set, and rp_score_proof_verify (ledger/proof.h) checks the
 * commit, the header, the score root and the Merkle path against them.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "crypto/error.h"
#include "crypto/sig.h"
#include "ledger/genesis.h"
#include "ledger/proof.h"
#include "node/cli.h"

const char rp_cli_usage_verify_proof[] =
    "usage: repute-cli verify-proof --genesis FILE --identity IDENTITY PROOF\n"
    "\n"
    "Check a score proof (PROOF: its hex, or a file holding it, as 'score\n"
    "--proof' writes) offline, trusting nothing but the genesis file: the\n"
    "commit's signatures carry more than 2/3 of the genesis validators' power\n"
    "for the header, the header carries the epoch and its score root, and the\n"
    "identity's row (or, for an identity without one, its two neighbours in\n"
    "the sorted table) sits under that root. No node is contacted.\n"
    "\n"
    "Prints the verified figures, or INVALID and exits 1.\n"
    "\n"
    "Options:\n"
    "  --genesis FILE        the chain's genesis.json (e.g. DATADIR/genesis.json)\n"
    "  --identity IDENTITY   whose score the proof is about (64 hex)\n"
    "  -h, --help            show this help\n";

/* ---- verify-proof --------------------------------------------------------------------------- */

int rp_cli_cmd_verify_proof(int argc, char **argv)
{
    const char *genesis = NULL, *identity = NULL, *pos[1];
    size_t npos;
    const rp_cmdline_opt opts[] = {{.name = "genesis", .value = &genesis},
                                   {.name = "identity", .value = &identity}};
    int rc = rp_cli_parse_command(argc, argv, opts, 2, rp_cli_usage_verify_proof, pos, 1, 1, &npos,
                                  "the PROOF (hex or a file)");
    if (rc >= 0)
        return rc;
    if (!genesis)
        return rp_cli_usage_error(rp_cli_usage_verify_proof, "missing --genesis FILE");
    rp_pubkey who;
    if (!identity || rp_cli_parse_hex32(identity, who.bytes) != 0)
        return rp_cli_usage_error(rp_cli_usage_verify_proof,
                                  "--identity needs an identity (64 hex)");

    rp_genesis *g = malloc(sizeof *g);
    rp_score_proof *p = malloc(sizeof *p);
    unsigned char *buf = malloc(RP_PROOF_MAX_SIZE);
    if (!g || !p || !buf) {
        rc = rp_cli_fail("out of memory");
        goto out;
    }
    char errbuf[256];
    int k = rp_genesis_load(g, genesis, errbuf, sizeof errbuf);
    if (k) {
        rc = rp_cli_fail("%s: %s", genesis, errbuf[0] ? errbuf : rp_strerror(k));
        goto out;
    }
    rp_hash chain;
    if ((k = rp_genesis_chain_id(&chain, g)) != 0) {
        rc = rp_cli_fail("%s: %s", genesis, rp_strerror(k));
        goto out;
    }
    size_t len;
    if ((rc = rp_cli_read_hex_arg(pos[0], "score proof", buf, RP_PROOF_MAX_SIZE, &len)) != 0) {
        puts("INVALID");
        goto out;
    }
    if ((k = rp_score_proof_decode(p, buf, len)) != 0) {
        puts("INVALID");
        rc = rp_cli_fail("not a score proof: %s", rp_strerror(k));
        goto out;
    }
    /* The snapshot height is not in the signed header; it follows from the
     * epoch number and the genesis, so a proof that says otherwise is lying. */
    int ok = rp_score_proof_verify(p, g, &chain, &who) &&
             p->epoch.snapshot_height == p->epoch.epoch * g->params.epoch_blocks;
    char chainh[65], root[65];
    rp_cli_hex32(chainh, chain.bytes);
    rp_cli_hex32(root, p->epoch.root.bytes);
    if (rp_cli.json) {
        json_t *j = json_pack("{s:b,s:s,s:s,s:s,s:b}", "valid", ok, "identity", identity,
                              "chain_id", chainh, "score_root", root, "present", p->present);
        char num[24];
        snprintf(num, sizeof num, "%" PRIu64, p->epoch.epoch);
        json_object_set_new(j, "epoch", json_string(num));
        snprintf(num, sizeof num, "%" PRIu64, p->epoch.commit_height);
        json_object_set_new(j, "commit_height", json_string(num));
        if (ok && p->present) {
            snprintf(num, sizeof num, "%" PRIu64, p->row.trust);
            json_object_set_new(j, "score", json_integer(p->row.score));
            json_object_set_new(j, "confidence", json_integer(p->row.confidence));
            json_object_set_new(j, "trust", json_string(num));
            json_object_set_new(j, "rating", json_integer(p->row.rating));
            json_object_set_new(j, "reviews", json_integer(p->row.reviews));
        }
        (void)rp_cli_print_json(j); /* the verdict decides the status */
        rc = ok ? 0 : RP_CLI_EXIT_FAIL;
        goto out;
    }
    if (!ok) {
        puts("INVALID");
        rp_cli_note("the proof does not hold for identity %s on chain %s (genesis %s): its commit, "
                    "header, root or Merkle path does not check out",
                    identity, chainh, genesis);
        rc = RP_CLI_EXIT_FAIL;
        goto out;
    }
    char stars[32];
    rp_cli_format_stars(stars, sizeof stars, p->row.rating);
    if (p->present)
        printf("VALID: identity %s\n"
               "  epoch       %" PRIu64 " (snapshot at height %" PRIu64
               ", committed by the header at height %" PRIu64 ")\n"
               "  score       %u\n"
               "  confidence  %u\n"
               "  rating      %s\n"
               "  reviews     %u\n"
               "  trust       %" PRIu64 " (%.3g of all trust)\n",
               identity, p->epoch.epoch, p->epoch.snapshot_height, p->epoch.commit_height,
               (unsigned)p->row.score, (unsigned)p->row.confidence, stars, (unsigned)p->row.reviews,
               p->row.trust, (double)p->row.trust / 1152921504606846976.0);
    else
        printf("VALID: identity %s has no score in epoch %" PRIu64 " (committed at height %" PRIu64
               ", %u identities)\n",
               identity, p->epoch.epoch, p->epoch.commit_height, (unsigned)p->epoch.identities);
    printf("  checked against chain %s: the header's commit carries more than 2/3 of the "
           "genesis validators' power, and score root %s\n",
           chainh, root);
    rc = 0;
out:
    free(g);
    free(p);
    free(buf);
    return rc;
}
