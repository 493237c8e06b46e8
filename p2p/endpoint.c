/* Endpoints as operators write them (contract in endpoint.h). */
#include "p2p/endpoint.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "crypto/error.h"
#include "crypto/hex.h"

static int bad(rp_endpoint *e, const char **why, const char *msg)
{
    memset(e, 0, sizeof *e);
    *why = msg;
    return RP_ERR_INVALID_ARG;
}

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || n > RP_ENDPOINT_HOST_MAX || s[0] == '-' || s[0] == '.' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return 0;
        if (c == '.' && i + 1 < n && s[i + 1] == '.')
            return 0;
    }
    return 1;
}

int rp_endpoint_parse(rp_endpoint *e, const char *text, int id, int port0, const char **why)
{
    memset(e, 0, sizeof *e);
    *why = NULL;
    const char *s = text;
    const char *at = strchr(s, '@');
    if (at) {
        if (id < 0)
            return bad(e, why, "a node ID ('ID@') is not allowed here");
        if (at - s != 64 || rp_hex_decode(e->id.bytes, 32, s, 64) != 0)
            return bad(e, why, "the node ID must be 64 hex digits (the peer's node key)");
        e->has_id = 1;
        s = at + 1;
    } else if (id > 0) {
        return bad(e, why, "missing the node ID: write ID@host:port");
    }
    const char *colon, *hs, *he;
    if (*s == '[') {
        he = strchr(s, ']');
        if (!he)
            return bad(e, why, "an IPv6 address needs its closing ']'");
        hs = s + 1;
        if (he[1] != ':')
            return bad(e, why, "missing ':port' after the IPv6 address");
        colon = he + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return bad(e, why, "missing ':port'");
        hs = s;
        he = colon;
        if (memchr(hs, ':', (size_t)(he - hs)))
            return bad(e, why, "an IPv6 address must be written in brackets: [addr]:port");
    }
    size_t hn = (size_t)(he - hs);
    if (hn == 0 || hn > RP_ENDPOINT_HOST_MAX)
        return bad(e, why, "the host is empty or longer than 253 characters");
    memcpy(e->host, hs, hn);
    e->host[hn] = '\0';
    const char *p = colon + 1;
    size_t pn = strlen(p);
    unsigned long port = 0;
    if (pn == 0 || pn > 5)
        return bad(e, why, "the port must be a number in 0..65535");
    for (size_t i = 0; i < pn; i++) {
        if (p[i] < '0' || p[i] > '9')
            return bad(e, why, "the port must be a number in 0..65535");
        port = port * 10 + (unsigned long)(p[i] - '0');
    }
    if (port > 65535 || (pn > 1 && p[0] == '0'))
        return bad(e, why, "the port must be a number in 0..65535");
    if (port == 0 && !port0)
        return bad(e, why, "port 0 is only for a listener (any free port)");
    e->port = (uint16_t)port;
    if (*s == '[') {
        if (inet_pton(AF_INET6, e->host, e->ip) != 1)
            return bad(e, why, "not an IPv6 address");
        e->kind = RP_ENDPOINT_IPV6;
    } else if (inet_pton(AF_INET, e->host, e->ip) == 1) {
        e->kind = RP_ENDPOINT_IPV4;
    } else {
        int digits_dots = 1;
        for (size_t i = 0; i < hn; i++)
            if (!((e->host[i] >= '0' && e->host[i] <= '9') || e->host[i] == '.'))
                digits_dots = 0;
        if (digits_dots)
            return bad(e, why, "not an IPv4 address");
        if (!name_ok(e->host, hn))
            return bad(e, why, "not an IP address or a DNS name");
        e->kind = RP_ENDPOINT_NAME;
    }
    return 0;
}

size_t rp_endpoint_format(const rp_endpoint *e, char *out, size_t cap)
{
    char id[65] = "";
    if (e->has_id)
        (void)rp_hex_encode(id, sizeof id, e->id.bytes, 32);
    int n = snprintf(out, cap, "%s%s%s%s%s:%u", id, e->has_id ? "@" : "",
                     e->kind == RP_ENDPOINT_IPV6 ? "[" : "", e->host,
                     e->kind == RP_ENDPOINT_IPV6 ? "]" : "", (unsigned)e->port);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : (cap ? cap - 1 : 0);
}
