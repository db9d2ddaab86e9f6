/*
 * proc.c: see proc.h. fork/exec, waitpid and /proc readers; nothing here knows what the
 * processes are. It never signals a pid it was not given.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "monoclock.h"
#include "proc.h"

void
proc_sleep_ms(double ms)
{
	struct timespec ts = {(time_t)(ms / 1000),
	                      (long)((ms - 1000.0 * (time_t)(ms / 1000)) * 1e6)};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

pid_t
proc_spawn(const char *const *argv, char *const *envp, const char *log)
{
	pid_t parent = getpid(), pid = fork();

	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (envp != NULL)
			execve(argv[0], (char *const *)argv, envp);
		else
			execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

int
proc_capture(const char *const *argv, char *out, size_t outlen, const char *errlog)
{
	int pfd[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	CHECK(pipe(pfd) == 0 && (pid = fork()) >= 0, "cannot run %s: %s", argv[0], strerror(errno));
	if (pid == 0) {
		int fd = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(pfd[1], 1);
		if (fd >= 0)
			dup2(fd, 2);
		close(pfd[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	while (got + 1 < outlen && (n = read(pfd[0], out + got, outlen - got - 1)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(pfd[0]);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

bool
proc_stop(pid_t pid, double timeout_s, int *status)
{
	double until = mono_s() + timeout_s;
	pid_t w = 0;

	*status = 0;
	kill(pid, SIGCONT);
	kill(pid, SIGTERM);
	while (mono_s() < until && (w = waitpid(pid, status, WNOHANG)) == 0)
		proc_sleep_ms(10);
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, status, 0);
		return false;
	}
	return true;
}

bool
proc_kill(pid_t pid, int *status)
{
	int st = 0;
	bool ours = waitpid(pid, &st, WNOHANG) == 0;

	if (ours) {
		kill(pid, SIGKILL);
		kill(pid, SIGCONT);
		CHECK(waitpid(pid, &st, 0) == pid, "waitpid %d", (int)pid);
		ours = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
	}
	if (status != NULL)
		*status = st;
	return ours;
}

bool
proc_exited(pid_t pid, int *status)
{
	int st = 0;

	if (waitpid(pid, &st, WNOHANG) != pid)
		return false;
	if (status != NULL)
		*status = st;
	return true;
}

long
proc_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			kib = strtol(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

double
proc_cpu_s(pid_t pid)
{
	double sys;

	return proc_cpu_split(pid, &sys);
}

double
proc_cpu_exact_s(pid_t pid)
{
	char path[64], file[64 + sizeof(((struct dirent *)0)->d_name) + 16];
	unsigned long long ns, sum = 0;
	struct dirent *e;
	DIR *d;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s/schedstat", path, e->d_name);
		if ((f = fopen(file, "r")) == NULL)
			continue; /* the thread has just exited */
		if (fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		fclose(f);
	}
	closedir(d);
	return (double)sum / 1e9;
}

double
proc_cpu_split(pid_t pid, double *sys_s)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	size_t n;
	FILE *f;

	*sys_s = -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces: fields count from the last ')' (field 2) */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	*sys_s = (double)st / (double)sysconf(_SC_CLK_TCK);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

int
proc_io(pid_t pid, struct proc_io *io)
{
	char path[64], line[128];
	FILE *f;

	io->write_bytes = io->rchar = io->syscr = io->syscw = -1;
	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "write_bytes: %lld", &io->write_bytes) != 1 &&
		    sscanf(line, "rchar: %lld", &io->rchar) != 1 &&
		    sscanf(line, "syscr: %lld", &io->syscr) != 1)
			(void)sscanf(line, "syscw: %lld", &io->syscw);
	fclose(f);
	return 0;
}

long long
proc_write_bytes(pid_t pid)
{
	struct proc_io io;

	proc_io(pid, &io);
	return io.write_bytes;
}
