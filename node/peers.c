/* The RPC methods that look at the network (docs/rpc.md): peers.list,
 * peers.add, peers.disconnect, peers.ban, peers.unban, and the "network"
 * member of node.info and node.metrics. Loop thread only.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "crypto/error.h"
#include "crypto/hex.h"
#include "node/network.h"
#include "node/node.h"
#include "node/rpc_params.h"

#define BAN_DEFAULT_S (24 * 3600)
#define BAN_MAX_S (365ULL * 24 * 3600)
#define PEERS_MAX 2048 /* peers.list answers at most this many */

/* The network is off (not started, or the node is stopping). */
static int network_off(struct node *n, rp_rpc_call *call)
{
    if (n->network && !n->network->stopped)
        return 0;
    rp_rpc_error(call, RP_RPC_SHUTTING_DOWN, "the network is not running", NULL);
    return 1;
}

static const char *role_text(unsigned r)
{
    return r == RP_P2P_ROLE_VALIDATOR ? "validator" : r == RP_P2P_ROLE_FULL ? "full" : "unknown";
}

json_t *rp_network_info(struct node *n)
{
    struct network *w = n->network;
    json_t *o = json_object();
    json_object_set_new(o, "role", json_string(n->validator_index >= 0 ? "validator" : "full"));
    if (!w || w->stopped) {
        json_object_set_new(o, "sync", json_pack("{s:s}", "state", "off"));
        return o;
    }
    json_object_set_new(o, "node_id", rp_json_hex(w->local.hello.node_key.bytes, 32));
    json_object_set_new(o, "p2p_port", json_integer(rp_net_port(w->net)));
    rp_net_stats ns;
    rp_net_stats_get(w->net, &ns);
    json_object_set_new(o, "peers", json_integer((json_int_t)(ns.inbound + ns.outbound)));
    rp_sync_status st;
    rp_sync_status_get(w->sync, &st, uv_now(n->loop));
    const char *state = st.syncing ? "syncing" : ns.inbound + ns.outbound ? "synced" : "alone";
    json_object_set_new(o, "sync",
                        json_pack("{s:s,s:o,s:o,s:f,s:o}", "state", state, "height",
                                  rp_json_u64(st.tip), "target",
                                  rp_json_u64(st.target > st.tip ? st.target : st.tip),
                                  "blocks_per_s", st.blocks_per_s, "blocks_synced",
                                  rp_json_u64(w->blocks_synced)));
    return o;
}

json_t *rp_network_metrics(struct node *n)
{
    struct network *w = n->network;
    if (!w || w->stopped)
        return json_object();
    rp_net_stats ns;
    rp_net_stats_get(w->net, &ns);
    rp_gossip_stats gs;
    rp_gossip_stats_get(w->gossip, &gs);
    rp_sync_status ss;
    rp_sync_status_get(w->sync, &ss, uv_now(n->loop));
    json_t *o = json_object();
#define SET(k, v) json_object_set_new(o, k, json_integer((json_int_t)(v)))
    SET("peers_inbound", ns.inbound);
    SET("peers_outbound", ns.outbound);
    SET("peers_handshaking", ns.handshaking);
    SET("connections_accepted", ns.accepted);
    SET("connections_dialed", ns.dialed);
    SET("handshakes_failed", ns.handshakes_failed);
    SET("peers_misbehaved", ns.misbehaved);
    SET("peers_evicted", ns.evicted);
    SET("bytes_in", ns.bytes_in);
    SET("bytes_out", ns.bytes_out);
    SET("messages_in", ns.msgs_in);
    SET("messages_out", ns.msgs_out);
    SET("addresses_new", ns.book_new);
    SET("addresses_tried", ns.book_tried);
    SET("discouraged", ns.discouraged);
    SET("inv_sent", gs.inv_sent);
    SET("inv_received", gs.inv_received);
    SET("getdata_sent", gs.getdata_sent);
    SET("records_sent", gs.records_sent);
    SET("records_received", gs.records_received);
    SET("records_duplicate", gs.duplicates);
    SET("records_unrequested", gs.unrequested);
    SET("records_requested_inflight", gs.inflight);
    SET("sync_height", ss.tip);
    SET("sync_target", ss.target);
    SET("sync_inflight", ss.inflight);
    SET("sync_buffered_bytes", ss.buffered_bytes);
    SET("blocks_synced", w->blocks_synced);
#undef SET
    return o;
}

static json_t *peer_json(const rp_net_peer_info *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "peer", json_integer((json_int_t)p->id));
    json_object_set_new(o, "node_id",
                        p->has_node_id ? rp_json_hex(p->node_id.bytes, 32) : json_null());
    json_object_set_new(o, "addr", json_string(p->addr));
    json_object_set_new(o, "direction", json_string(p->outbound ? "outbound" : "inbound"));
    json_object_set_new(o, "persistent", json_boolean(p->persistent));
    json_object_set_new(o, "state", json_string(p->ready ? "connected" : "handshake"));
    json_object_set_new(o, "role", json_string(role_text(p->role)));
    json_object_set_new(o, "user_agent", json_string(p->user_agent));
    json_object_set_new(o, "listen_port", json_integer(p->listen_port));
    json_object_set_new(o, "connected_since_ms", rp_json_u64(p->connected_ms));
    json_object_set_new(o, "ping_ms", p->ping_us < 0 ? json_null()
                                                     : json_real((double)p->ping_us / 1000.0));
    json_object_set_new(o, "bytes_in", rp_json_u64(p->bytes_in));
    json_object_set_new(o, "bytes_out", rp_json_u64(p->bytes_out));
    json_object_set_new(o, "messages_in", rp_json_u64(p->msgs_in));
    json_object_set_new(o, "messages_out", rp_json_u64(p->msgs_out));
    json_object_set_new(o, "send_queued", json_integer((json_int_t)p->send_queued));
    json_object_set_new(o, "discouraged", json_boolean(p->discouraged));
    return o;
}

void rp_m_peers_list(struct node *n, rp_rpc_call *call, json_t *params)
{
    (void)params;
    if (network_off(n, call))
        return;
    struct network *w = n->network;
    static rp_net_peer_info info[PEERS_MAX];
    size_t total = rp_net_peers(w->net, info, PEERS_MAX);
    json_t *arr = json_array();
    for (size_t i = 0; i < total && i < PEERS_MAX; i++) {
        json_t *o = peer_json(&info[i]);
        struct npeer *np = info[i].ready ? rp_network_peer(w, info[i].id) : NULL;
        json_object_set_new(o, "height", np && np->status_seen ? rp_json_u64(np->height)
                                                                : json_null());
        json_array_append_new(arr, o);
    }
    rp_rpc_reply(call, json_pack("{s:o,s:i,s:o}", "peers", arr, "count", (int)total, "now_ms",
                                 rp_json_u64(rp_node_wall_ms())));
}

/* A required string parameter, at most cap - 1 bytes. Returns 0, or -1
 * answered. */
static int param_str(rp_rpc_call *call, json_t *params, const char *name, char *out, size_t cap)
{
    json_t *v = params ? json_object_get(params, name) : NULL;
    if (!json_is_string(v)) {
        rp_param_bad(call, name, "is required (a string)");
        return -1;
    }
    if (json_string_length(v) >= cap) {
        rp_param_bad(call, name, "is too long");
        return -1;
    }
    snprintf(out, cap, "%s", json_string_value(v));
    return 0;
}

void rp_m_peers_add(struct node *n, rp_rpc_call *call, json_t *params)
{
    if (network_off(n, call))
        return;
    char ep[RP_ENDPOINT_TEXT_MAX + 1], err[300];
    int persistent = 0;
    if (param_str(call, params, "endpoint", ep, sizeof ep) < 0 ||
        rp_param_bool(call, params, "persistent", &persistent) < 0)
        return;
    if (rp_net_add(n->network->net, ep, persistent, err, sizeof err) != 0) {
        rp_param_bad(call, "endpoint", err);
        return;
    }
    rp_rpc_reply(call, json_pack("{s:s,s:b}", "endpoint", ep, "persistent", persistent));
}

void rp_m_peers_disconnect(struct node *n, rp_rpc_call *call, json_t *params)
{
    if (network_off(n, call))
        return;
    uint64_t id;
    int r = rp_param_u64(call, params, "peer", &id);
    if (r < 0)
        return;
    if (r == 0) {
        rp_param_bad(call, "peer", "is required (a peer number from peers.list)");
        return;
    }
    rp_net_peer_info info;
    if (!rp_net_peer(n->network->net, id, &info)) {
        rp_rpc_error(call, RP_RPC_NOT_FOUND, "no such peer", NULL);
        return;
    }
    rp_net_disconnect(n->network->net, id, "disconnected by the operator");
    rp_rpc_reply(call, json_pack("{s:I}", "disconnected", (json_int_t)id));
}

void rp_m_peers_ban(struct node *n, rp_rpc_call *call, json_t *params)
{
    if (network_off(n, call))
        return;
    char who[80], err[300];
    uint64_t secs = BAN_DEFAULT_S;
    if (param_str(call, params, "who", who, sizeof who) < 0 ||
        rp_param_u64(call, params, "seconds", &secs) < 0)
        return;
    if (secs == 0 || secs > BAN_MAX_S) {
        rp_param_bad(call, "seconds", "must be in 1..31536000");
        return;
    }
    int k = rp_net_ban(n->network->net, who, secs, err, sizeof err);
    if (k < 0) {
        rp_param_bad(call, "who", err);
        return;
    }
    rp_rpc_reply(call, json_pack("{s:s,s:o,s:i}", "who", who, "until_s",
                                 rp_json_u64(rp_node_wall_ms() / 1000 + secs), "disconnected", k));
}

void rp_m_peers_unban(struct node *n, rp_rpc_call *call, json_t *params)
{
    if (network_off(n, call))
        return;
    char who[80], err[300];
    if (param_str(call, params, "who", who, sizeof who) < 0)
        return;
    int k = rp_net_unban(n->network->net, who, err, sizeof err);
    if (k < 0) {
        rp_param_bad(call, "who", err);
        return;
    }
    rp_rpc_reply(call, json_pack("{s:s,s:b}", "who", who, "lifted", k > 0));
}
