/* The strict command-line parser that reputed and repute-cli share.
 *
 * A command's arguments are options, each given at most once, and up to a
 * fixed number of positional arguments. Anything else is a usage error: an
 * unknown option, an option without its value, an empty value, an option
 * given twice, a value given to a flag, one positional argument too many.
 * A usage error prints "PROGRAM: MESSAGE", a blank line and the command's
 * usage on stderr, and the program exits with RP_CMDLINE_USAGE, so that a
 * typo in a script never silently does something else.
 *
 * What is accepted:
 *   --name VALUE, --name=VALUE  an option that takes a value (the value may
 *                               start with '-': it is taken as it is)
 *   -l VALUE                    the same, for an option with a short letter
 *                               (letters are never bundled: -lVALUE is
 *                               unknown)
 *   --name, -l                  a flag, which takes no value
 *   -h, --help                  stops parsing: the caller prints its help
 *   --                          ends the options: what follows is positional
 *   -                           a positional argument (standard input)
 *
 * Options are declared in a table with designated initializers, so a field
 * left out is zero:
 *
 *   const char *datadir = NULL, *output = NULL;
 *   int dev = 0;
 *   const rp_cmdline_opt opts[] = {
 *       {.name = "datadir", .value = &datadir},
 *       {.name = "output", .letter = 'o', .value = &output},
 *       {.name = "dev", .flag = &dev},
 *   };
 *
 * Pointers are non-NULL unless said otherwise. Nothing here allocates, keeps
 * state between calls or touches anything but stderr and the variables the
 * tables point to; the values stored are pointers into argv and live as
 * long as it does.
 */
#ifndef RP_CMDLINE_H
#define RP_CMDLINE_H

#include <stddef.h>

/* What rp_cmdline_parse returns. RP_CMDLINE_USAGE is also the exit status
 * of a usage error, so a caller can return it from main as it is. */
enum {
    RP_CMDLINE_OK = 0,    /* every argument was taken */
    RP_CMDLINE_HELP = 1,  /* -h or --help: print the help, exit 0 */
    RP_CMDLINE_USAGE = 2, /* a usage error, already reported on stderr */
};

/* One option. Exactly one of value and flag is set. */
typedef struct rp_cmdline_opt {
    const char *name; /* the long name without its dashes: "datadir" */
    char letter;      /* the short letter ('o' for -o), or 0 for none */
    /* An option with a value: *value must start NULL; it is set to the
     * value (a non-empty string inside argv). */
    const char **value;
    /* A flag: *flag must start 0; it is set to 1. */
    int *flag;
} rp_cmdline_opt;

/* A command line to parse: the options to know and where positional
 * arguments go. Written with designated initializers; fields left out are
 * zero (no options, no positional arguments). */
typedef struct rp_cmdline {
    const char *prog;  /* the program's name, which starts every message */
    const char *usage; /* the text printed after a usage error */
    /* The command's options (NULL when nopts is 0), then, searched after
     * them, options every command shares (NULL when nmore is 0). */
    const rp_cmdline_opt *opts;
    size_t nopts;
    const rp_cmdline_opt *more;
    size_t nmore;
    /* Positional arguments, in order, at most npos_max of them. pos may be
     * NULL when npos_max is 0. */
    const char **pos;
    size_t npos_max;
} rp_cmdline;

/* Parse argv[first..argc) against cl.
 *
 * Returns: RP_CMDLINE_OK: every argument was taken.
 *          RP_CMDLINE_HELP: -h or --help came before any error; nothing is
 *          printed, and the arguments after it are not looked at.
 *          RP_CMDLINE_USAGE: a usage error, reported on stderr through
 *          rp_cmdline_usage_error (cl->prog, cl->usage).
 * Args:    cl: the options and positional slots; the variables they point
 *          to are written as the arguments are met (also before an error).
 * Out:     npos: how many positional arguments were stored in cl->pos.
 * In:      argc, argv: as main received them (argv is only read);
 *          first: the index of the first argument to parse (after the
 *          program and the command name).
 *
 * Only the syntax is checked. Whether an option is required, what its value
 * means and how many positional arguments are too few is the caller's to
 * check, with rp_cmdline_usage_error for the message.
 */
int rp_cmdline_parse(const rp_cmdline *cl, int argc, char **argv, int first, size_t *npos)
    __attribute__((warn_unused_result));

/* A subcommand, as in "reputed init" or "repute-cli vouch". */
typedef struct rp_cmdline_command {
    const char *name;
    /* Runs the command and returns the process's exit status. argv[1] is
     * the command's name; its own arguments start at argv[2]. */
    int (*run)(int argc, char **argv);
    const char *usage; /* its help text ('PROGRAM help COMMAND') */
} rp_cmdline_command;

/* Look a subcommand up by name.
 *
 * Returns: the entry of cmds[0..n) called name, or NULL if there is none.
 * In:      cmds, n: the program's commands; name: as typed.
 */
const rp_cmdline_command *rp_cmdline_find_command(const rp_cmdline_command *cmds, size_t n,
                                                  const char *name);

/* Report a usage error: "PROG: MESSAGE", a blank line, then usage, on
 * stderr.
 *
 * Returns: RP_CMDLINE_USAGE, the exit status to return.
 * In:      prog: the program's name; usage: the help text to show;
 *          fmt, ...: the message, printf-style, without a newline.
 */
int rp_cmdline_usage_error(const char *prog, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* RP_CMDLINE_H */
