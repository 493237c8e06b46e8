/* The strict command-line parser of reputed and repute-cli (see cmdline.h).
 *
 * One pass over argv, no getopt: getopt permutes, bundles letters, accepts
 * abbreviations (getopt_long) and says nothing about an option given twice,
 * and its messages are not ours. Option tables are a handful of entries, so
 * every lookup is a linear search.
 */
#include "node/cmdline.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int rp_cmdline_usage_error(const char *prog, const char *usage, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    fputs(usage, stderr);
    return RP_CMDLINE_USAGE;
}

/* The k-th option of cl, k < nopts + nmore: the command's own first. */
static const rp_cmdline_opt *opt_at(const rp_cmdline *cl, size_t k)
{
    return k < cl->nopts ? &cl->opts[k] : &cl->more[k - cl->nopts];
}

int rp_cmdline_parse(const rp_cmdline *cl, int argc, char **argv, int first, size_t *npos)
{
    int only_pos = 0;
    *npos = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (only_pos || a[0] != '-' || a[1] == '\0') { /* "-" is standard input */
            if (*npos == cl->npos_max)
                return rp_cmdline_usage_error(cl->prog, cl->usage, "unexpected argument '%s'", a);
            cl->pos[(*npos)++] = a;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return RP_CMDLINE_HELP;
        const rp_cmdline_opt *o = NULL;
        const char *val = NULL;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);
            for (size_t k = 0; k < cl->nopts + cl->nmore && !o; k++) {
                const rp_cmdline_opt *c = opt_at(cl, k);
                if (strlen(c->name) == n && !strncmp(c->name, name, n))
                    o = c;
            }
            if (o && eq)
                val = eq + 1;
        } else if (a[2] == '\0') { /* a short letter, never bundled */
            for (size_t k = 0; k < cl->nopts + cl->nmore && !o; k++)
                if (opt_at(cl, k)->letter == a[1])
                    o = opt_at(cl, k);
        }
        if (!o)
            return rp_cmdline_usage_error(cl->prog, cl->usage, "unknown option '%s'", a);
        if (o->flag) {
            if (val)
                return rp_cmdline_usage_error(cl->prog, cl->usage, "option '--%s' takes no value",
                                              o->name);
            if (*o->flag)
                return rp_cmdline_usage_error(cl->prog, cl->usage, "option '--%s' is given twice",
                                              o->name);
            *o->flag = 1;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc)
                return rp_cmdline_usage_error(cl->prog, cl->usage, "option '%s' needs a value", a);
            val = argv[++i];
        }
        if (*val == '\0')
            return rp_cmdline_usage_error(cl->prog, cl->usage,
                                          "option '--%s' needs a non-empty value", o->name);
        if (*o->value)
            return rp_cmdline_usage_error(cl->prog, cl->usage, "option '--%s' is given twice",
                                          o->name);
        *o->value = val;
    }
    return RP_CMDLINE_OK;
}

const rp_cmdline_command *rp_cmdline_find_command(const rp_cmdline_command *cmds, size_t n,
                                                  const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(cmds[i].name, name))
            return &cmds[i];
    return NULL;
}
