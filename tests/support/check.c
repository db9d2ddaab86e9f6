/*
 * check.c: see check.h. Prints to stdout (failed checks, progress) or stderr (check_die)
 * and exits; it never touches a daemon itself: what to show on failure comes from the
 * hooks others register.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "monoclock.h"

#define MAX_HOOKS 4

static void (*hooks[MAX_HOOKS])(void);
static int nhooks;
static const char *program;
static double epoch;
static bool failing;

void
check_program(const char *name)
{
	program = name;
}

void
check_on_fail(void (*fn)(void))
{
	for (int k = 0; k < nhooks; k++)
		if (hooks[k] == fn)
			return;
	if (nhooks < MAX_HOOKS)
		hooks[nhooks++] = fn;
}

void
check_epoch(void)
{
	epoch = mono_s();
}

double
check_elapsed(void)
{
	return epoch > 0 ? mono_s() - epoch : 0.0;
}

/* The hooks run once: a hook that fails a check itself must not loop. */
static void
run_hooks(void)
{
	if (failing)
		return;
	failing = true;
	for (int k = nhooks - 1; k >= 0; k--)
		hooks[k]();
}

static void __attribute__((noreturn)) vdie(const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: error: ", program != NULL ? program : "test");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	run_hooks();
	exit(1);
}

void
check_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(fmt, ap);
	va_end(ap);
}

void
check_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (program != NULL)
		vdie(fmt, ap);
	printf("FAIL: %s:%d: %s: ", file, line, expr);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	run_hooks();
	fflush(stdout);
	exit(1);
}

void
check_log(const char *fmt, ...)
{
	va_list ap;

	printf("[%6.2f] ", check_elapsed());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}
