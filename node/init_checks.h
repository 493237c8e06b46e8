/* Internal to node/: the checks that both `reputed init` (init.c) and
 * `reputed run`'s start-up (startup.c) make of a datadir. */
#ifndef RP_NODE_INIT_CHECKS_H
#define RP_NODE_INIT_CHECKS_H

#include <stddef.h>

/* An interrupted init (or repute-gen) left its marker in dir.
 * Returns: 0 if none; RP_ERR_UNFINISHED with err saying which tool to run again. */
int rp_init_check_marker(const char *dir, char *err, size_t errlen);
/* dir/rpc.sock fits a Unix socket address.
 * Returns: 0, or -ENAMETOOLONG with err set. */
int rp_init_check_socket_path(const char *dir, char *err, size_t errlen);

#endif
