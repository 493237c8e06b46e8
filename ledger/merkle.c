/* Merkle trees in the RFC 6962 shape, with tagged (domain-separated) hashes.
 *
 * RFC 6962 defines the tree top-down: split n leaves at the largest power of
 * two strictly below n and recurse. The same tree comes out bottom-up if each
 * level pairs its nodes left to right and carries a last, unpaired node up to
 * the next level unchanged (never hashed with itself). That form needs no
 * recursion and one scratch array of n hashes, reduced in place, so root and
 * audit path share one loop: the path is the sibling of the tracked node at
 * every level where it has one. The tests check the result against a naive
 * recursive implementation of the RFC's definition.
 *
 * Verification is RFC 9162 section 2.1.3.2 verbatim: fn and sn walk the
 * leaf's index and the last index up the tree, which both decides left or
 * right at each step and rejects paths of the wrong length without ever
 * building the tree.
 */
#include "ledger/merkle.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"

void rp_merkle_leaf(rp_hash *out, const unsigned char *data, size_t len)
{
    rp_th_ctx ctx;
    rp_th_init(&ctx, RP_TAG_MERKLE_LEAF);
    rp_th_update(&ctx, data, len);
    rp_th_final(&ctx, out);
}

void rp_merkle_node(rp_hash *out, const rp_hash *left, const rp_hash *right)
{
    /* Hash from copies: out may alias left or right. */
    unsigned char buf[64];
    memcpy(buf, left->bytes, 32);
    memcpy(buf + 32, right->bytes, 32);
    rp_th_ctx ctx;
    rp_th_init(&ctx, RP_TAG_MERKLE_NODE);
    rp_th_update(&ctx, buf, sizeof buf);
    rp_th_final(&ctx, out);
}

void rp_merkle_empty(rp_hash *out)
{
    rp_tagged_hash(out, RP_TAG_MERKLE_EMPTY, NULL, 0);
}

/* Reduce leaves[0..n) (n >= 1) to its root in a scratch copy, recording the
 * audit path of leaf `index` into path (if not NULL).
 * Returns: 0 or RP_ERR_NOMEM. */
static int reduce(rp_hash *root, rp_hash *path, size_t *depth, const rp_hash *leaves, size_t n,
                  size_t index)
{
    size_t d = 0;
    if (n == 1) {
        *root = leaves[0];
        if (depth)
            *depth = 0;
        return 0;
    }
    if (n > SIZE_MAX / sizeof *leaves)
        return RP_ERR_NOMEM;
    rp_hash *level = malloc(n * sizeof *level);
    if (!level)
        return RP_ERR_NOMEM;
    memcpy(level, leaves, n * sizeof *level);

    while (n > 1) {
        if (path) {
            size_t sib = index ^ 1;
            /* The last node of an odd level has no sibling: it moves up
             * unchanged and contributes nothing to the path. */
            if (sib < n)
                path[d++] = level[sib];
            index >>= 1;
        }
        size_t half = n / 2;
        for (size_t i = 0; i < half; i++)
            rp_merkle_node(&level[i], &level[2 * i], &level[2 * i + 1]);
        if (n & 1)
            level[half] = level[n - 1];
        n = half + (n & 1);
    }
    *root = level[0];
    free(level);
    if (depth)
        *depth = d;
    return 0;
}

int rp_merkle_root(rp_hash *root, const rp_hash *leaves, size_t n)
{
    if (n == 0) {
        rp_merkle_empty(root);
        return 0;
    }
    int err = reduce(root, NULL, NULL, leaves, n, 0);
    if (err)
        memset(root, 0, sizeof *root);
    return err;
}

int rp_merkle_proof(rp_hash *path, size_t *depth, const rp_hash *leaves, size_t n, size_t index)
{
    *depth = 0;
    if (index >= n)
        return RP_ERR_INVALID_ARG;
    /* Each level at least halves (rounding up) a count below 2^64, so the path
     * never exceeds RP_MERKLE_MAX_DEPTH = 64 entries. */
    rp_hash root;
    int err = reduce(&root, path, depth, leaves, n, index);
    if (err)
        *depth = 0;
    return err;
}

int rp_merkle_verify(const rp_hash *root, const rp_hash *leaf, size_t index, size_t n,
                     const rp_hash *path, size_t depth)
{
    if (index >= n || depth > RP_MERKLE_MAX_DEPTH)
        return 0;
    size_t fn = index, sn = n - 1;
    rp_hash r = *leaf;
    for (size_t i = 0; i < depth; i++) {
        if (sn == 0)
            return 0; /* path longer than the tree is deep */
        if ((fn & 1) || fn == sn) {
            rp_merkle_node(&r, &path[i], &r);
            /* A right-edge node with no sibling at the levels below moves up
             * unchanged: skip those levels. */
            while (fn != 0 && !(fn & 1)) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            rp_merkle_node(&r, &r, &path[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && rp_hash_eq(&r, root);
}
