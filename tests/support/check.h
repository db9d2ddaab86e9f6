/*
 * check.h: how test and benchmark programs report: a failed check prints where and why
 * and exits 1, progress lines carry the elapsed time, and a program may register hooks
 * that run before a failure exits (the region dumps its daemon logs, the random source
 * prints its seed). It owns no daemons and no files; it must not be used by the product.
 */
#ifndef CHECK_H
#define CHECK_H

/* Print and exit 1 when cond is false (regions are torn down at exit). */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			check_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                        \
		}                                                                                  \
	} while (0)

void check_fail(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
/*
 * Print "<program>: error: ..." on stderr and exit 1 (the benchmarks' way of failing).
 * After check_program(name), failed CHECKs report this way too.
 */
void check_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void check_program(const char *name);

/* Progress line "[  1.23] ..." with the seconds since check_epoch() (0 before it). */
void check_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void check_epoch(void);
/* Seconds since check_epoch(). */
double check_elapsed(void);

/* Run fn before a failure exits (at most a few hooks; later ones run first). */
void check_on_fail(void (*fn)(void));

#endif
