/* Merkle trees over byte strings, with domain-separated hashing.
 *
 *   leaf(d)    = TH("repute/merkle/leaf/v1", d)
 *   node(l, r) = TH("repute/merkle/node/v1", l || r)
 *   root([])   = TH("repute/merkle/empty/v1", "")
 *   root([d])  = leaf(d)
 *   root(D)    = node(root(D[0..k)), root(D[k..n)))  with k the largest power
 *                of two below n  (the RFC 6962 shape)
 *
 * Leaves and inner nodes never share a hash input, and an odd node is never
 * duplicated (Bitcoin's CVE-2012-2459), so every list has one root and no two
 * lists share it. Proofs are RFC 6962 audit paths. The three tags are
 * RP_TAG_MERKLE_LEAF, _NODE and _EMPTY in crypto/hash.h's registry.
 *
 * Pure functions; no allocation except where a contract says so.
 */
#ifndef RP_MERKLE_H
#define RP_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"

#define RP_MERKLE_MAX_DEPTH 64

void rp_merkle_leaf(rp_hash *out, const unsigned char *data, size_t len);
void rp_merkle_node(rp_hash *out, const rp_hash *left, const rp_hash *right);
void rp_merkle_empty(rp_hash *out);

/* Root over n leaf hashes (already passed through rp_merkle_leaf).
 * Returns: 0, or RP_ERR_NOMEM. Works in O(n) scratch space, allocated here.
 * Out: root.  In: leaves[0..n) (n may be 0). */
int rp_merkle_root(rp_hash *root, const rp_hash *leaves, size_t n);

/* Audit path for leaf `index` of n.
 * Returns: 0; RP_ERR_INVALID_ARG if index >= n; RP_ERR_NOMEM.
 * Out: path[0..*depth), from the leaf's sibling up to the root's child.
 * In:  leaves[0..n); index; path has room for RP_MERKLE_MAX_DEPTH hashes. */
int rp_merkle_proof(rp_hash *path, size_t *depth, const rp_hash *leaves, size_t n, size_t index);

/* Check an audit path.
 * Returns: 1 if leaf at index of a tree of n leaves with this path has this
 *          root, 0 otherwise (including index >= n or a wrong path length). */
int rp_merkle_verify(const rp_hash *root, const rp_hash *leaf, size_t index, size_t n,
                     const rp_hash *path, size_t depth);

#endif /* RP_MERKLE_H */
