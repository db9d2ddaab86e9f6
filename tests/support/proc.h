/*
 * proc.h: processes of the tests and benchmarks: spawn one with its output appended to a
 * log (it dies with us: PR_SET_PDEATHSIG), run one and capture its stdout, stop, kill
 * and reap by pid, sleep, and read /proc (memory, CPU time, I/O counts).
 * Only ever signals the pids it is given; never looks processes up by name.
 */
#ifndef PROC_H
#define PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

void proc_sleep_ms(double ms);

/*
 * fork and exec argv (envp NULL: our environment, and argv[0] is looked up in PATH),
 * stdout and stderr appended to log. The arrays are built by the caller before the fork:
 * the child only calls async-signal-safe functions. Fails the check on fork failure.
 */
pid_t proc_spawn(const char *const *argv, char *const *envp, const char *log);
/* Run argv to its end, stdout into out (NUL-terminated), stderr appended to errlog. */
int proc_capture(const char *const *argv, char *out, size_t outlen, const char *errlog);
/*
 * SIGCONT and SIGTERM, then wait up to timeout_s for the exit; true with its wait status
 * in *status when it exited in time, false when it had to be killed (SIGKILL, reaped).
 */
bool proc_stop(pid_t pid, double timeout_s, int *status);
/*
 * SIGKILL (and SIGCONT, so a stopped one dies too) and reap. True when it was still
 * running and died of our signal; false when it had exited on its own before. *status
 * (may be NULL) gets the wait status.
 */
bool proc_kill(pid_t pid, int *status);
/* Whether pid has exited (reaped here, the wait status in *status, may be NULL). */
bool proc_exited(pid_t pid, int *status);

/* A "Vm...:" field of /proc/pid/status in KiB, or -1. */
long proc_kib(pid_t pid, const char *field);
/* utime + stime of /proc/pid/stat in seconds, or -1. */
double proc_cpu_s(pid_t pid);
/*
 * CPU time of every thread of pid in seconds, from /proc/pid/task/<tid>/schedstat (the
 * scheduler's nanoseconds, not clock ticks: fit for the small idle costs a tick of 10 ms
 * would swamp), or -1. Threads that have exited are not counted.
 */
double proc_cpu_exact_s(pid_t pid);
/* the same as proc_cpu_s, and the part of it spent in the kernel in *sys_s */
double proc_cpu_split(pid_t pid, double *sys_s);
/* write_bytes of /proc/pid/io (bytes this process caused to be written to storage), or -1. */
long long proc_write_bytes(pid_t pid);
/*
 * /proc/pid/io: bytes sent to storage, bytes read by read calls (from the page cache or
 * the disk), and the read and write calls made; counts that do not depend on the
 * machine's load. Fields it cannot read are -1; returns -1 when the file is missing.
 */
struct proc_io {
	long long write_bytes, rchar, syscr, syscw;
};
int proc_io(pid_t pid, struct proc_io *io);

#endif
