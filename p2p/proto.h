/* The peer-to-peer protocol's constants, shared by every p2p/ file and by
 * docs/p2p.md, which is the protocol's reference.
 *
 * Versions and limits here are part of the wire: changing one is a new
 * protocol version.
 */
#ifndef RP_P2P_PROTO_H
#define RP_P2P_PROTO_H

/* The protocol version, bound into the Noise prologue and sent in STATUS. */
#define RP_P2P_VERSION 1

/* The Noise protocol name (the framework's revision 34). */
#define RP_P2P_NOISE_NAME "Noise_XX_25519_ChaChaPoly_SHA256"

/* One Noise message, as the framework bounds it. */
#define RP_P2P_NOISE_MAX 65535

/* The largest application message after reassembly: a full block (header
 * and a 4 MiB body) with its commit and the message's own framing, with
 * room to spare. */
#define RP_P2P_MAX_MESSAGE (5u << 20)

/* The default TCP port. */
#define RP_P2P_DEFAULT_PORT 27650

#endif /* RP_P2P_PROTO_H */
