/* Fuzz target: the p2p message decoder (p2p/msg.h), and what a node does
 * next with a message's parts.
 *
 * Checks the codec's contract: a failed decode leaves a zeroed struct and
 * names a field, and refuses every type byte it does not know; whatever
 * decodes passes rp_p2p_msg_check, measures and re-encodes to exactly the
 * input, and its record, block and commit views lie inside the input, back
 * to back after their length prefixes. Then each framed record, block and
 * commit goes through its own decoder, and a HELLO's binding through
 * rp_p2p_hello_verify, against the chain id and X25519 key the seeds were
 * signed for (tests/test_p2pmsg.c), so the valid seed reaches the end of
 * the verifier and mutations of it the refusals.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/error.h"
#include "ledger/block.h"
#include "ledger/record.h"
#include "p2p/msg.h"
#include "tests/fuzz/fuzz.h"

#define MAX_ITEMS 4096

static rp_hash chain_id;
static unsigned char x25519_static[32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (rp_crypto_init() != 0)
        abort();
    rp_tagged_hash(&chain_id, RP_TAG_GENESIS, (const unsigned char *)"repute-kat", 10);
    unsigned char sk[32];
    for (size_t i = 0; i < 32; i++)
        sk[i] = (unsigned char)(0x60 + i);
    if (crypto_scalarmult_base(x25519_static, sk) != 0)
        abort();
    return 0;
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* A view must be exactly the len bytes after its prefix at *off. */
static void expect_view(const rp_p2p_view *v, const uint8_t *data, size_t size, size_t *off,
                        size_t prefix, size_t max)
{
    if (v->len == 0 || v->len > max || *off + prefix + v->len > size ||
        v->bytes != data + *off + prefix)
        abort();
    *off += prefix + v->len;
}

static void decode_parts(const rp_p2p_msg *m, const uint8_t *data, size_t size)
{
    static rp_block_item items[MAX_ITEMS];
    static rp_commit commit;
    rp_record rec;
    rp_header h;
    size_t off;

    switch (m->type) {
    case RP_P2P_MSG_HELLO: {
        int ok = rp_p2p_hello_verify(&m->body.hello, &chain_id, x25519_static, RP_P2P_VERSION);
        if (ok != 0 && ok != 1)
            abort();
        break;
    }
    case RP_P2P_MSG_RECORDS:
        off = 3;
        for (size_t i = 0; i < m->body.records.count; i++) {
            const rp_p2p_view *v = &m->body.records.records[i];
            expect_view(v, data, size, &off, 2, RP_RECORD_MAX_SIZE);
            (void)rp_record_decode(&rec, v->bytes, v->len, NULL);
        }
        if (off != size)
            abort();
        break;
    case RP_P2P_MSG_BLOCKS:
        off = RP_P2P_RANGE_SIZE;
        for (size_t i = 0; i < m->body.blocks.count; i++) {
            const rp_p2p_block_pair *p = &m->body.blocks.pairs[i];
            expect_view(&p->block, data, size, &off, 4, RP_BLOCK_MAX_SIZE);
            expect_view(&p->commit, data, size, &off, 2, RP_COMMIT_MAX_SIZE);
            (void)rp_block_decode(&h, items, MAX_ITEMS, p->block.bytes, p->block.len);
            (void)rp_commit_decode(&commit, p->commit.bytes, p->commit.len);
        }
        if (off != size)
            abort();
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rp_p2p_msg m;
    static unsigned char again[RP_P2P_MAX_MESSAGE];
    const char *field = NULL;

    int err = rp_p2p_msg_decode(&m, data, size, &field);
    if (err) {
        if (!all_zero(&m, sizeof m) || !field || rp_strerror(err)[0] == '\0')
            abort();
        /* Refusing a type means not knowing it. */
        if (err == RP_ERR_BAD_TYPE &&
            (size == 0 || rp_p2p_msg_type_class(data[0]) == RP_P2P_TYPE_KNOWN))
            abort();
        return 0;
    }
    if (field || size == 0 || m.type != data[0] ||
        rp_p2p_msg_type_class(m.type) != RP_P2P_TYPE_KNOWN)
        abort();
    if (rp_p2p_msg_check(&m, NULL) != 0 || size > rp_p2p_msg_max_size(m.type))
        abort();
    size_t need = 0, len = 0;
    if (rp_p2p_msg_encode(&m, NULL, 0, &need) != 0 || need != size)
        abort();
    if (rp_p2p_msg_encode(&m, again, sizeof again, &len) != 0 || len != size ||
        memcmp(again, data, size) != 0)
        abort();
    decode_parts(&m, data, size);
    return 0;
}
