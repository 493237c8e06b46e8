/* Which inbound peer gives way when the inbound slots are full and another
 * connects: the choice Bitcoin Core makes (net.cpp, SelectNodeToEvict), so
 * that an attacker who opens many connections cannot push out the peers
 * that keep the node honest. Pure: the transport hands in a snapshot.
 *
 * Protected, in this order, from the peers not protected yet:
 *   - RP_EVICT_PROTECT_GROUP peers whose network groups have the highest
 *     keyed hash (a key the attacker does not know, so it cannot choose
 *     addresses that would be protected);
 *   - RP_EVICT_PROTECT_PING peers with the lowest round-trip times;
 *   - RP_EVICT_PROTECT_BLOCKS peers that most recently sent a new block;
 *   - RP_EVICT_PROTECT_RECORDS peers that most recently sent a new record;
 *   - half of the rest: those connected longest.
 * Persistent peers are never candidates. Of the unprotected, a discouraged
 * peer goes first; otherwise the network group with the most peers loses
 * its most recent connection.
 */
#ifndef RP_P2P_EVICT_H
#define RP_P2P_EVICT_H

#include <stddef.h>
#include <stdint.h>

#define RP_EVICT_PROTECT_GROUP 4
#define RP_EVICT_PROTECT_PING 8
#define RP_EVICT_PROTECT_BLOCKS 4
#define RP_EVICT_PROTECT_RECORDS 4

typedef struct rp_evict_candidate {
    uint64_t peer;          /* the transport's id */
    uint64_t group_hash;    /* keyed hash of its network group */
    uint64_t connected_ms;  /* when it connected (lower: older) */
    uint64_t min_ping_us;   /* UINT64_MAX: never measured */
    uint64_t last_block_ms; /* 0: never */
    uint64_t last_record_ms;
    int discouraged;
} rp_evict_candidate;

/* Choose a peer to evict.
 * Returns: 1 and *peer, or 0 if every candidate is protected.
 * In: c[0..n): the inbound peers, not persistent (reordered in place). */
int rp_evict_select(rp_evict_candidate *c, size_t n, uint64_t *peer);

#endif /* RP_P2P_EVICT_H */
