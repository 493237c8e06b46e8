/* The consensus messages on the peer-to-peer wire, in the range that the
 * p2p codec keeps for them (p2p/msg.h, 0x40..0x4F). docs/p2p.md,
 * "Consensus messages", is the normative description; the layouts (all
 * integers big-endian, ledger/codec.h):
 *
 *   PROPOSAL 0x40  height u64 | round u32 | pol_round u32 (0xffffffff: -1) |
 *                  block_hash 32 | proposer u16 | signature 64 |
 *                  block_len u32 (1..RP_BLOCK_MAX_SIZE) | block |
 *                  parent_commit_len u16 (0..RP_COMMIT_MAX_SIZE) | parent_commit
 *   VOTE     0x41  type u8 (1 prevote, 2 precommit) | height u64 | round u32 |
 *                  block_hash 32 (zero: nil) | validator u16 | signature 64
 *   STATE    0x42  height u64 | round u32 | step u8 (0..2) | flags u8
 *                  (bit 0: it holds the round's proposal; others zero) |
 *                  n u16 (1..RP_CS_MAX_VALIDATORS) | prevotes bitmap |
 *                  precommits bitmap, each ceil(n/8) bytes, bit i (of byte
 *                  i/8, least significant first) set if it holds validator
 *                  i's vote of that round; bits past n zero
 *
 * A proposal carries its block and the commit of the block's parent that
 * the block's header names (its proposer's; ledger/exec.h,
 * rp_exec_check_after): empty at height 1.
 *
 * STATE says where a node is and what it holds, so that a peer sends it
 * what it misses (the round's proposal with its block, the votes it lacks)
 * instead of everything again.
 *
 * Decoders take untrusted bytes, check every length before using it, and
 * accept one encoding per value; what they accept re-encodes to the same
 * bytes. The proposal's block is a view into the input. Signatures are not
 * checked here (consensus/types.h). Pure and thread-safe.
 */
#ifndef RP_CS_WIRE_H
#define RP_CS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/types.h"

enum rp_cs_wire_type {
    RP_CS_MSG_PROPOSAL = 0x40,
    RP_CS_MSG_VOTE = 0x41,
    RP_CS_MSG_STATE = 0x42,
};

#define RP_CS_PROPOSAL_FIXED (1 + 8 + 4 + 4 + 32 + 2 + 64 + 4 + 2)
#define RP_CS_VOTE_SIZE      (1 + 1 + 8 + 4 + 32 + 2 + 64)
#define RP_CS_BITMAP_MAX     ((RP_CS_MAX_VALIDATORS + 7) / 8)
#define RP_CS_STATE_MAX_SIZE (1 + 8 + 4 + 1 + 1 + 2 + 2 * RP_CS_BITMAP_MAX)

typedef struct rp_cs_state_msg {
    uint64_t height;
    uint32_t round;
    uint8_t step;         /* enum rp_cs_step */
    uint8_t has_proposal; /* 0 or 1 */
    uint16_t n;
    unsigned char prevotes[RP_CS_BITMAP_MAX];
    unsigned char precommits[RP_CS_BITMAP_MAX];
} rp_cs_state_msg;

/* Encoders. Return: 0; RP_ERR_BUFFER if cap is too small; RP_ERR_RANGE or
 * RP_ERR_TOO_LONG for a value the decoder would refuse. Out: out[0..*len).
 * A proposal needs RP_CS_PROPOSAL_FIXED + blen + plen bytes; pc may be
 * NULL with plen 0. */
int rp_cs_wire_proposal(const rp_cs_proposal *p, const unsigned char *block, size_t blen,
                        const unsigned char *pc, size_t plen, unsigned char *out, size_t cap,
                        size_t *len);
int rp_cs_wire_vote(const rp_cs_vote *v, unsigned char out[static RP_CS_VOTE_SIZE]);
int rp_cs_wire_state(const rp_cs_state_msg *s, unsigned char *out, size_t cap, size_t *len);

/* Decoders: in[0..len) is the whole message, type byte included.
 * Returns: 0, or a codec error (RP_ERR_BAD_TYPE for a wrong type byte;
 * RP_ERR_TRUNCATED, RP_ERR_TRAILING, RP_ERR_RANGE, RP_ERR_TOO_LONG,
 * RP_ERR_NONCANONICAL); field names the offending field (may be NULL).
 * Outputs are zeroed on failure; a proposal's block and parent commit are
 * views into in (*pc NULL when plen is 0). */
int rp_cs_wire_proposal_decode(rp_cs_proposal *p, const unsigned char **block, size_t *blen,
                               const unsigned char **pc, size_t *plen, const unsigned char *in,
                               size_t len, const char **field);
int rp_cs_wire_vote_decode(rp_cs_vote *v, const unsigned char *in, size_t len,
                           const char **field);
int rp_cs_wire_state_decode(rp_cs_state_msg *s, const unsigned char *in, size_t len,
                            const char **field);

/* Bitmap helpers for STATE. */
static inline int rp_cs_bit(const unsigned char *map, size_t i)
{
    return (map[i / 8] >> (i % 8)) & 1;
}
static inline void rp_cs_bit_set(unsigned char *map, size_t i)
{
    map[i / 8] |= (unsigned char)(1u << (i % 8));
}

#endif /* RP_CS_WIRE_H */
