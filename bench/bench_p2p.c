/* Network benchmark: real `reputed` processes on loopback, talking over
 * real sockets (docs/p2p.md), each driven through its RPC socket, with every
 * figure printed next to a reference measured in the same run.
 *
 *   1. Propagation. Eight nodes: a dev validator (rp_node_init --dev, 500 ms
 *      blocks) and seven full nodes of its chain, each listening on
 *      127.0.0.1:0 and dialing 1-2 earlier nodes as persistent peers (node i
 *      dials i-1 and (i-1)/2, so 13 links, at most 3 hops between any two
 *      nodes; max_outbound 0 keeps the mesh as drawn). --records IDENTITY
 *      registrations (default 200), signed before the clock starts, are
 *      submitted one at a time, round-robin over the nodes, with wait=false;
 *      then record.get is polled on every node (every 2 ms, each node until
 *      it answers) until all eight hold the record, in the mempool or on
 *      chain. Printed: p50 and p99 of submit -> visible on all 8 nodes,
 *      next to the reference, submit -> visible on the submitting node
 *      (the record.submit round trip: the record is pending when it
 *      returns), and the ratio.
 *   3. Bytes on the wire, from the node.metrics "p2p" counters of all eight
 *      nodes before and after part 1: bytes sent / (records x links), with
 *      the part that carried the blocks of part 1 (computed from those
 *      blocks' sizes and the number each node synced) shown apart; and
 *      record bodies sent (RECORDS entries) / (records x 7), which is 1.0
 *      when every node got each body exactly once by gossip (a node that got
 *      a record in a block first lowers it; a duplicate body raises it
 *      above 1.0); each next to the record's own encoded size.
 *   2. Sync. repute-gen writes a chain (--identities 20000 --reviews 100000
 *      --records-per-block 1000 by default: ~180k records, ~234k
 *      signatures in ~210 blocks); its validator serves it on 127.0.0.1:0;
 *      a fresh full node (rp_node_init with the chain's genesis, the
 *      validator as its one persistent peer) is started and timed until its
 *      height equals the validator's (the generated chain is settled, so
 *      the validator's height stays put). The node is stopped and `reputed
 *      verify` run on its datadir; verify's summary gives the signatures
 *      the synced chain holds (records' and commits', what sync checked) and
 *      verify's own time. Printed: sync sig/s (those signatures / sync
 *      time, process start included), verify sig/s, ratio (bar: 0.8).
 *
 * The processes are run by bench/procs.h: every wait is bounded and fails
 * with a message naming the node and the tail of its log. Children die
 * with this process (PR_SET_PDEATHSIG); on exit, failure or signal they
 * are killed and the temporary folder is removed (--keep-work keeps it on
 * failure, for the logs).
 *
 * Usage: bench_p2p [--records N] [--identities N] [--reviews M]
 *                  [--records-per-block R] [--skip-sync] [--keep DIR]
 *                  [--keep-work]
 *   --keep DIR: generate the sync chain in DIR and keep it; if DIR already
 *               holds a chain (DIR/genesis.json), serve that one instead.
 * reputed is $RP_REPUTED or ../node/reputed next to this program's folder,
 * repute-gen $RP_REPUTE_GEN or ../node/repute-gen.
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/procs.h"
#include "bench/records.h"
#include "crypto/error.h"
#include "crypto/sig.h"

#define MESH      8 /* nodes of part 1 */
#define POLL_MS   2
#define RECORD_S  30.0  /* until a record is on every node */
#define SETTLE_S  60.0  /* until the mesh is idle after part 1 */
#define SYNC_S    600.0 /* until the fresh node has the chain */
#define STALL_S   60.0  /* without any height progress */
#define GEN_S     900.0
#define VERIFY_S  600.0
#define OVERALL_S 1800 /* the whole run, whatever happens */

static char gen_bin[4096];
static rp_procs_node *nodes[MESH];

/* ---- nodes ---------------------------------------------------------------------------- */

static json_t *p2p_metrics(rp_procs_node *n)
{
    json_t *m = rp_procs_call(n, "node.metrics", NULL);
    json_t *p = json_object_get(m, "p2p");
    if (!json_is_object(p))
        rp_procs_die_at(n, "%s: node.metrics has no \"p2p\" member", n->name);
    json_incref(p);
    json_decref(m);
    return p;
}

static uint64_t p2p_counter(rp_procs_node *n, const json_t *p, const char *key)
{
    return rp_procs_u64(n, p, key);
}

static int peers_of(rp_procs_node *n)
{
    json_t *info = rp_procs_call(n, "node.info", NULL);
    int k = (int)json_integer_value(json_object_get(json_object_get(info, "network"), "peers"));
    json_decref(info);
    return k;
}

/* ---- part 1 and 3: the mesh ---------------------------------------------------------- */

struct wire {
    uint64_t bytes_out, bytes_in, msgs_out, inv_sent, getdata_sent, records_sent, records_received,
        duplicates, unrequested, blocks_synced;
};

static void wire_sum(struct wire *w)
{
    memset(w, 0, sizeof *w);
    for (int i = 0; i < MESH; i++) {
        rp_procs_node *n = nodes[i];
        json_t *p = p2p_metrics(n);
        w->bytes_out += p2p_counter(n, p, "bytes_out");
        w->bytes_in += p2p_counter(n, p, "bytes_in");
        w->msgs_out += p2p_counter(n, p, "messages_out");
        w->inv_sent += p2p_counter(n, p, "inv_sent");
        w->getdata_sent += p2p_counter(n, p, "getdata_sent");
        w->records_sent += p2p_counter(n, p, "records_sent");
        w->records_received += p2p_counter(n, p, "records_received");
        w->duplicates += p2p_counter(n, p, "records_duplicate");
        w->unrequested += p2p_counter(n, p, "records_unrequested");
        w->blocks_synced += p2p_counter(n, p, "blocks_synced");
        json_decref(p);
    }
}

/* Bytes a message of m bytes takes on the wire (docs/p2p.md, "Framing"). */
static uint64_t wire_size(uint64_t m)
{
    uint64_t frames = 1 + (m > 65515 ? (m - 65515 + 65518) / 65519 : 0);
    return 34 * frames + 4 + m;
}

/* The bytes of the BLOCKS message that carries block h alone, from the
 * validator's chain.block (blocks.md: header 259, each record u16 + bytes). */
static uint64_t blocks_msg_bytes(rp_procs_node *v, uint64_t h)
{
    uint64_t body = 0, offset = 0, commit = 0;
    for (;;) {
        json_t *b =
            rp_procs_call(v, "chain.block",
                          json_pack("{s:I,s:I,s:i}", "height", (json_int_t)h, "records_offset",
                                    (json_int_t)offset, "records_limit", 1000));
        json_t *recs = json_object_get(b, "records");
        size_t i;
        json_t *r;
        json_array_foreach(recs, i, r)
        {
            const char *hex = json_string_value(json_object_get(r, "hex"));
            if (!hex)
                rp_procs_die_at(v, "chain.block %llu: a record without hex", (unsigned long long)h);
            body += 2 + strlen(hex) / 2;
        }
        const char *ch = json_string_value(json_object_get(b, "commit_hex"));
        if (!ch)
            rp_procs_die_at(v, "chain.block %llu: no commit_hex", (unsigned long long)h);
        commit = strlen(ch) / 2;
        json_t *next = json_object_get(b, "next_offset");
        int more = json_is_integer(next) || json_is_string(next);
        if (more)
            offset = rp_procs_u64(v, b, "next_offset");
        json_decref(b);
        if (!more)
            break;
    }
    /* type, from, count; block length u32 + block; commit length u16 + commit */
    return wire_size(1 + 8 + 2 + 4 + 259 + body + 2 + commit);
}

/* Until every node of the mesh has the validator's head, an empty mempool
 * and no record request in flight. */
static void wait_idle(void)
{
    double end = rp_procs_now() + SETTLE_S;
    for (;;) {
        uint64_t top = rp_procs_height(nodes[0]);
        int idle = 1;
        for (int i = 0; i < MESH && idle; i++) {
            rp_procs_node *n = nodes[i];
            json_t *m = rp_procs_call(n, "mempool.info", NULL);
            json_t *p = p2p_metrics(n);
            idle = rp_procs_height(n) == top && rp_procs_u64(n, m, "count") == 0 &&
                   p2p_counter(n, p, "records_requested_inflight") == 0;
            json_decref(m);
            json_decref(p);
            if (!idle && rp_procs_now() > end)
                rp_procs_die_at(n,
                                "%s: not idle (at the validator's height %llu, mempool empty) "
                                "%.0f s after the last record",
                                n->name, (unsigned long long)top, SETTLE_S);
        }
        if (idle)
            return;
        rp_procs_sleep_ms(100);
    }
}

static void part_mesh(size_t nrec, int cores)
{
    /* Node i dials i-1 and (i-1)/2 (when that is another node). */
    int links = 0, degree[MESH] = {0};
    rp_procs_node *v = nodes[0] = rp_procs_node_new("n0");
    rp_hash chain = rp_procs_node_init(v, NULL);
    char genesis[256];
    snprintf(genesis, sizeof genesis, "%s/genesis.json", v->dir);
    rp_procs_conf_p2p(v, "127.0.0.1:0", NULL, 0);
    rp_procs_node_start(v);
    for (int i = 1; i < MESH; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        rp_procs_node *n = nodes[i] = rp_procs_node_new(name);
        rp_procs_node_init(n, genesis);
        rp_procs_node *peers[2];
        int np = 0;
        int at[2];
        at[np] = i - 1;
        peers[np++] = nodes[i - 1];
        if ((i - 1) / 2 != i - 1) {
            at[np] = (i - 1) / 2;
            peers[np++] = nodes[(i - 1) / 2];
        }
        for (int k = 0; k < np; k++) {
            degree[i]++;
            degree[at[k]]++;
            links++;
        }
        rp_procs_conf_p2p(n, "127.0.0.1:0", peers, np);
        rp_procs_node_start(n);
    }
    /* The mesh is up: every node has its peers and the validator's head. */
    double end = rp_procs_now() + 60;
    for (int i = 0; i < MESH; i++) {
        while (peers_of(nodes[i]) != degree[i] || rp_procs_height(nodes[i]) < rp_procs_height(v)) {
            if (rp_procs_now() > end)
                rp_procs_die_at(nodes[i],
                                "%s: %d peers (expected %d), height %llu (validator %llu) "
                                "after 60 s",
                                nodes[i]->name, peers_of(nodes[i]), degree[i],
                                (unsigned long long)rp_procs_height(nodes[i]),
                                (unsigned long long)rp_procs_height(v));
            rp_procs_sleep_ms(50);
        }
    }
    json_t *info = rp_procs_call(v, "node.info", NULL);
    unsigned pow = (unsigned)json_integer_value(json_object_get(info, "pow_difficulty"));
    json_decref(info);
    rp_bench_rec *recs = rp_bench_registrations(nrec, &chain, pow, "p2p bench");
    double rec_bytes = 0;
    for (size_t k = 0; k < nrec; k++)
        rec_bytes += (double)recs[k].size;
    rec_bytes /= (double)nrec;

    printf("bench_p2p: %d reputed nodes on loopback: 1 dev validator (500 ms blocks), %d full "
           "nodes; node i dials i-1 and (i-1)/2: %d links; %d core(s), load average %.2f\n",
           MESH, MESH - 1, links, cores, rp_procs_loadavg());
    fflush(stdout);

    struct wire w0, w1;
    wire_sum(&w0);
    uint64_t h0 = rp_procs_height(v);
    double *all = malloc(nrec * sizeof *all), *self = malloc(nrec * sizeof *self);
    if (!all || !self)
        rp_procs_die("out of memory");
    size_t via_block = 0; /* (record, node) pairs first seen on chain */
    double t_start = rp_procs_now();
    for (size_t k = 0; k < nrec; k++) {
        rp_procs_node *src = nodes[k % MESH];
        json_t *params = json_pack("{s:s,s:b}", "record", recs[k].line_hex, "wait", 0);
        double t0 = rp_procs_now();
        json_t *res = rp_procs_call(src, "record.submit", params);
        double t1 = rp_procs_now();
        const char *st = json_string_value(json_object_get(res, "status"));
        if (!st || strcmp(st, "pending") != 0)
            rp_procs_die_at(src, "%s: record %zu submitted: status %s, expected pending", src->name,
                            k, st ? st : "(none)");
        json_decref(res);
        self[k] = (t1 - t0) * 1e3;
        int seen[MESH] = {0}, left = MESH - 1;
        seen[k % MESH] = 1;
        double last = t1;
        while (left) {
            for (int i = 0; i < MESH; i++) {
                if (seen[i])
                    continue;
                int h = rp_procs_record_state(nodes[i], recs[k].id);
                if (h) {
                    seen[i] = 1;
                    left--;
                    last = rp_procs_now();
                    via_block += h == 2;
                }
            }
            if (!left)
                break;
            if (rp_procs_now() - t0 > RECORD_S) {
                int i = 0;
                while (seen[i])
                    i++;
                rp_procs_die_at(nodes[i],
                                "record %zu (%s), submitted at %s, not on %s after %.0f s", k,
                                recs[k].id, src->name, nodes[i]->name, RECORD_S);
            }
            rp_procs_sleep_ms(POLL_MS);
        }
        all[k] = (last - t0) * 1e3;
    }
    double t_all = rp_procs_now() - t_start;
    wait_idle();
    uint64_t h1 = rp_procs_height(v);
    wire_sum(&w1);

    /* 1. propagation */
    double a50 = rp_procs_quantile(all, nrec, 0.5), a99 = rp_procs_quantile(all, nrec, 0.99);
    double s50 = rp_procs_quantile(self, nrec, 0.5), s99 = rp_procs_quantile(self, nrec, 0.99);
    printf("\n1. propagation: %zu IDENTITY registrations (%.0f bytes each on average), one at a "
           "time, round-robin over the %d nodes, record.submit wait=false, then record.get "
           "polled every %d ms on every node (%.1f s in all)\n",
           nrec, rec_bytes, MESH, POLL_MS, t_all);
    printf("%-56s %10s %10s\n", "", "p50 ms", "p99 ms");
    printf("%-56s %10.1f %10.1f\n", "submit -> in the mempool or chain of all 8 nodes", a50, a99);
    printf("%-56s %10.2f %10.2f\n", "reference: submit -> pending on the submitting node", s50,
           s99);
    printf("%-56s %10.0f %10.0f\n", "ratio (all nodes / submitting node)", a50 / s50, a99 / s99);
    printf("(of the %zu (record, other node) pairs, %zu first seen already in a block, the "
           "rest in the mempool)\n",
           nrec * (MESH - 1), via_block);

    /* 3. bytes on the wire */
    uint64_t blocks = h1 - h0, block_wire = 0;
    for (uint64_t h = h0 + 1; h <= h1; h++)
        block_wire += blocks_msg_bytes(v, h);
    uint64_t synced = w1.blocks_synced - w0.blocks_synced;
    double sync_bytes = blocks ? (double)block_wire / (double)blocks * (double)synced : 0;
    double sent = (double)(w1.bytes_out - w0.bytes_out);
    double per_link = sent / ((double)nrec * links);
    double sync_per_link = sync_bytes / ((double)nrec * links);
    double bodies = (double)(w1.records_sent - w0.records_sent) / ((double)nrec * (MESH - 1));
    printf("\n3. bytes on the wire during 1 (node.metrics \"p2p\", summed over the %d nodes); the "
           "record itself: %.0f bytes\n",
           MESH, rec_bytes);
    printf("%-56s %10.0f bytes  (%.2f x the record)\n", "bytes sent / (records x links)", per_link,
           per_link / rec_bytes);
    printf("%-56s %10.0f bytes  (%.2f x the record)\n",
           "  of which BLOCKS carrying part 1's blocks (computed)", sync_per_link,
           sync_per_link / rec_bytes);
    printf("%-56s %10.0f bytes  (%.2f x the record)\n",
           "  the rest: gossip, NEWBLOCK, GETBLOCKS, PING", per_link - sync_per_link,
           (per_link - sync_per_link) / rec_bytes);
    printf("%-56s %10.3f        (1.0: each node got each body once by gossip)\n",
           "record bodies sent / (records x (nodes - 1))", bodies);
    if (nrec * (MESH - 1) > via_block)
        printf("%-56s %10.3f        (pairs the poll first saw pending, not in a block)\n",
               "record bodies sent / (record, node) pairs by gossip",
               (double)(w1.records_sent - w0.records_sent) /
                   (double)(nrec * (MESH - 1) - via_block));
    printf("%-56s %10.3f / %.3f\n", "INV ids / GETDATA ids sent per (record x link)",
           (double)(w1.inv_sent - w0.inv_sent) / ((double)nrec * links),
           (double)(w1.getdata_sent - w0.getdata_sent) / ((double)nrec * links));
    printf("(%llu bytes sent, %llu received, %llu messages; %llu blocks made during 1, synced %llu "
           "times by the full nodes (%d each: %s); %llu bodies received, %llu duplicate, "
           "%llu unrequested)\n",
           (unsigned long long)(w1.bytes_out - w0.bytes_out),
           (unsigned long long)(w1.bytes_in - w0.bytes_in),
           (unsigned long long)(w1.msgs_out - w0.msgs_out), (unsigned long long)blocks,
           (unsigned long long)synced, MESH - 1, synced == blocks * (MESH - 1) ? "yes" : "NO",
           (unsigned long long)(w1.records_received - w0.records_received),
           (unsigned long long)(w1.duplicates - w0.duplicates),
           (unsigned long long)(w1.unrequested - w0.unrequested));
    if (w1.duplicates != w0.duplicates || bodies > 1.0)
        printf("WARNING: a record body crossed a link more than once\n");
    fflush(stdout);

    free(all);
    free(self);
    free(recs);
    for (int i = MESH - 1; i >= 0; i--)
        rp_procs_node_stop(nodes[i]);
}

/* ---- part 2: sync ------------------------------------------------------------------- */

static int has_chain(const char *dir)
{
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/genesis.json", dir);
    return stat(path, &sb) == 0;
}

static void generate(const char *dir, const char *identities, const char *reviews, const char *rpb)
{
    char out[128], err[128];
    snprintf(out, sizeof out, "%s/gen.out", rp_procs_work());
    snprintf(err, sizeof err, "%s/gen.log", rp_procs_work());
    char d[4096], ni[32], nr[32], nb[32];
    snprintf(d, sizeof d, "%s", dir);
    snprintf(ni, sizeof ni, "%s", identities);
    snprintf(nr, sizeof nr, "%s", reviews);
    snprintf(nb, sizeof nb, "%s", rpb);
    char *argv[] = {gen_bin, "--datadir",           d,  "--identities", ni,  "--reviews",
                    nr,      "--records-per-block", nb, "--seed",       "1", NULL};
    printf("\n2. sync: repute-gen --identities %s --reviews %s --records-per-block %s into %s\n",
           identities, reviews, rpb, dir);
    fflush(stdout);
    double t = rp_procs_now();
    int st = rp_procs_run(argv, out, err, GEN_S);
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        rp_procs_print_tail("repute-gen's output", err);
        rp_procs_die("repute-gen %s", st < 0 ? "did not finish in time" : "failed");
    }
    char *text = rp_procs_read_file(out);
    printf("   generated in %.1f s: %s", rp_procs_now() - t, text ? text : "(no summary)\n");
    free(text);
}

/* reputed verify on dir: its signatures and seconds. */
static void verify(const char *dir, uint64_t *sigs, double *secs, uint64_t *blocks)
{
    char out[128], err[128];
    snprintf(out, sizeof out, "%s/verify.out", rp_procs_work());
    snprintf(err, sizeof err, "%s/verify.log", rp_procs_work());
    char d[4096], bin[4096];
    snprintf(d, sizeof d, "%s", dir);
    snprintf(bin, sizeof bin, "%s", rp_procs_reputed());
    char *argv[] = {bin, "verify", "--datadir", d, NULL};
    int st = rp_procs_run(argv, out, err, VERIFY_S);
    char *text = rp_procs_read_file(out);
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || !text || !strstr(text, "verify: OK")) {
        rp_procs_print_tail("reputed verify's output", err);
        free(text);
        rp_procs_die("reputed verify on the synced datadir %s",
                     st < 0 ? "did not finish" : "failed");
    }
    unsigned long long b = 0, s = 0;
    int got = 0;
    *secs = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long long x, y, z;
        double t;
        /* sscanf stores what it matched before failing: temporaries */
        if (sscanf(line, "verify: %llu blocks, %llu records, %llu signatures", &x, &y, &z) == 3) {
            (void)y;
            b = x;
            s = z;
            got |= 1;
        } else if (strstr(line, " s, ") && sscanf(line, "verify: %lf s,", &t) == 1) {
            *secs = t;
            got |= 2;
        }
    }
    if (got != 3 || *secs <= 0) {
        free(text);
        rp_procs_die("cannot read reputed verify's summary (%s)", out);
    }
    free(text);
    *sigs = s;
    *blocks = b;
}

static void part_sync(const char *keep, const char *identities, const char *reviews,
                      const char *rpb)
{
    char chain_dir[4096];
    if (keep)
        snprintf(chain_dir, sizeof chain_dir, "%s", keep);
    else
        snprintf(chain_dir, sizeof chain_dir, "%s/chain", rp_procs_work());
    if (keep && has_chain(chain_dir))
        printf("\n2. sync: serving the chain already in %s (--keep)\n", chain_dir);
    else
        generate(chain_dir, identities, reviews, rpb);

    rp_procs_node *v = rp_procs_node_new("validator");
    if (strlen(chain_dir) + sizeof "/rpc.sock" > sizeof v->dir)
        rp_procs_die("--keep: the path is too long");
    snprintf(v->dir, sizeof v->dir, "%s", chain_dir);
    snprintf(v->sock, sizeof v->sock, "%s/rpc.sock", chain_dir);
    rp_procs_conf_p2p(v, "127.0.0.1:0", NULL, 0);
    rp_procs_node_start(v);
    uint64_t top = rp_procs_height(v);

    rp_procs_node *f = rp_procs_node_new("fresh");
    char genesis[4200];
    snprintf(genesis, sizeof genesis, "%s/genesis.json", chain_dir);
    rp_procs_node_init(f, genesis);
    rp_procs_node *peers[1] = {v};
    rp_procs_conf_p2p(f, "", peers, 1);
    double t0 = rp_procs_now();
    rp_procs_node_start(f);
    double t_up = rp_procs_now() - t0;
    uint64_t h = 0, last_h = 0;
    double last_move = rp_procs_now(), t_first = 0, t_half = 0;
    while ((h = rp_procs_height(f)) < top) {
        double t = rp_procs_now();
        if (h && !t_first)
            t_first = t - t0;
        if (h >= top / 2 && !t_half)
            t_half = t - t0;
        if (h != last_h) {
            last_h = h;
            last_move = t;
        }
        if (t - last_move > STALL_S)
            rp_procs_die_at(f, "sync stalled at height %llu of %llu (no progress for %.0f s)",
                            (unsigned long long)h, (unsigned long long)top, STALL_S);
        if (t - t0 > SYNC_S)
            rp_procs_die_at(f, "sync at height %llu of %llu after %.0f s", (unsigned long long)h,
                            (unsigned long long)top, SYNC_S);
        rp_procs_sleep_ms(10);
    }
    double t_sync = rp_procs_now() - t0;
    json_t *hv = rp_procs_call(v, "chain.head", NULL), *hf = rp_procs_call(f, "chain.head", NULL);
    const char *sv = json_string_value(json_object_get(hv, "state_hash"));
    const char *sf = json_string_value(json_object_get(hf, "state_hash"));
    if (!sv || !sf || strcmp(sv, sf) != 0 || rp_procs_u64(v, hv, "height") != h)
        rp_procs_die_at(f, "the synced node's head differs from the validator's at height %llu",
                        (unsigned long long)h);
    json_decref(hv);
    json_decref(hf);
    rp_procs_node_stop(f);
    rp_procs_node_stop(v);

    uint64_t sigs = 0, vblocks = 0;
    double vsecs = 0;
    verify(f->dir, &sigs, &vsecs, &vblocks);
    if (vblocks != h)
        rp_procs_die("verify replayed %llu blocks, the node synced %llu",
                     (unsigned long long)vblocks, (unsigned long long)h);
    double sync_rate = (double)sigs / t_sync, verify_rate = (double)sigs / vsecs;
    printf("   a fresh full node, the validator as its one peer: %llu blocks, %llu signatures "
           "(records' and commits', as verify counts them) in %.2f s (up and answering after "
           "%.2f s)\n",
           (unsigned long long)h, (unsigned long long)sigs, t_sync, t_up);
    printf("   (first block committed after %.2f s, half of them after %.2f s)\n", t_first, t_half);
    printf("%-56s %10.0f sig/s\n", "sync, start to the validator's height", sync_rate);
    printf("%-56s %10.0f sig/s  (%.2f s, same datadir, same run)\n",
           "reference: reputed verify on the synced datadir", verify_rate, vsecs);
    printf("%-56s %10.3f        (bar >= 0.80)  %s\n", "ratio sync / verify",
           sync_rate / verify_rate,
           sync_rate / verify_rate >= 0.8 ? "meets the bar" : "BELOW THE BAR");
    fflush(stdout);
}

/* ---- main ------------------------------------------------------------------------------ */
static int usage(void)
{
    fprintf(stderr, "usage: bench_p2p [--records N] [--identities N] [--reviews M] "
                    "[--records-per-block R] [--skip-sync] [--keep DIR] [--keep-work]\n");
    return 2;
}

int main(int argc, char **argv)
{
    long nrec = 200;
    const char *identities = "20000", *reviews = "100000", *rpb = "1000", *keep = NULL;
    int skip_sync = 0, keep_work = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--records") && val && rp_procs_digits(val)) {
            nrec = atol(val);
            i++;
        } else if (!strcmp(a, "--identities") && val && rp_procs_digits(val)) {
            identities = val;
            i++;
        } else if (!strcmp(a, "--reviews") && val && rp_procs_digits(val)) {
            reviews = val;
            i++;
        } else if (!strcmp(a, "--records-per-block") && val && rp_procs_digits(val)) {
            rpb = val;
            i++;
        } else if (!strcmp(a, "--keep") && val) {
            keep = val;
            i++;
        } else if (!strcmp(a, "--skip-sync")) {
            skip_sync = 1;
        } else if (!strcmp(a, "--keep-work")) {
            keep_work = 1;
        } else {
            return usage();
        }
    }
    if (nrec < 1 || nrec > 100000) {
        fprintf(stderr, "bench_p2p: --records 1..100000\n");
        return 2;
    }
    rp_procs_setup("bench_p2p", argv[0], keep_work, OVERALL_S);
    if (!skip_sync)
        rp_procs_find_bin(gen_bin, sizeof gen_bin, "RP_REPUTE_GEN", "../node/repute-gen", argv[0]);
    if (rp_crypto_init() != 0)
        rp_procs_die("%s", rp_strerror(RP_ERR_CRYPTO_INIT));
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    double t0 = rp_procs_now();
    part_mesh((size_t)nrec, (int)cores);
    if (!skip_sync)
        part_sync(keep, identities, reviews, rpb);
    printf("\nbench_p2p: done in %.0f s (load average now %.2f)\n", rp_procs_now() - t0,
           rp_procs_loadavg());
    rp_procs_finish();
    return 0;
}
