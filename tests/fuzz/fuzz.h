/* The two entry points every fuzz target defines, as libFuzzer expects them.
 * replay_main.c calls the same functions to run a corpus without libFuzzer. */
#ifndef RP_FUZZ_H
#define RP_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
