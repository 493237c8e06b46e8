/* Fuzz target: the reputed.conf parser (node/config.h).
 *
 * Any text either parses or is refused with a "NAME:LINE: message" error and
 * the defaults left in place; what parses, formatted again with
 * rp_config_format, parses to the same configuration (the writer and the
 * reader agree), unless a path is too long for one line, which the parser
 * must then refuse rather than split.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/error.h"
#include "node/config.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rp_config cfg, defaults, again;
    char err[512];
    rp_config_defaults(&defaults);
    int rc = rp_config_parse(&cfg, "fuzz.conf", (const char *)data, size, err, sizeof err);
    if (rc) {
        if (rc != RP_ERR_CONFIG && rc != RP_ERR_NOMEM)
            abort();
        if (strncmp(err, "fuzz.conf:", 10) != 0 || memcmp(&cfg, &defaults, sizeof cfg) != 0)
            abort();
        return 0;
    }
    char *text = rp_config_format(&cfg);
    if (!text)
        return 0;
    rc = rp_config_parse(&again, "again.conf", text, strlen(text), err, sizeof err);
    /* The formatted text writes every key: which ones the fuzzed file set
     * (set_keys) is all that may differ. */
    again.set_keys = cfg.set_keys;
    if (rc == 0 && memcmp(&again, &cfg, sizeof cfg) != 0)
        abort();
    free(text);
    return 0;
}
