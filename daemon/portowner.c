/*
 * portowner.c: who holds a TCP port (portowner.h). The listening sockets on the port are
 * found in /proc/net/tcp and /proc/net/tcp6 (their inodes), then the process that has one
 * of them open among /proc/PID/fd. It only reads /proc and never signals or otherwise
 * touches the process it finds; what it cannot read it skips.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "portowner.h"

#define PORTOWNER_MAX_INODES 8
#define PORTOWNER_TCP_LISTEN 0x0A /* st column of /proc/net/tcp */

int
portowner_port(const char *endpoint)
{
	const char *colon = endpoint != NULL ? strrchr(endpoint, ':') : NULL;
	char *end;
	long v;

	if (colon == NULL || strncmp(endpoint, "tcp://", 6) != 0)
		return -1;
	v = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end != '\0' || v < 1 || v > 65535)
		return -1;
	return (int)v;
}

/* Add the inodes of sockets listening on port in file (a /proc/net/tcp table) to ino. */
static size_t
portowner_inodes(const char *file, int port, unsigned long *ino, size_t n)
{
	FILE *f = fopen(file, "re");
	char line[512];
	unsigned int lport, st;
	unsigned long inode;

	if (f == NULL)
		return n;
	while (n < PORTOWNER_MAX_INODES && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " %*s %*[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*u %*u %lu", &lport,
		           &st, &inode) == 3 &&
		    (int)lport == port && st == PORTOWNER_TCP_LISTEN && inode != 0)
			ino[n++] = inode;
	}
	fclose(f);
	return n;
}

/* Whether process pid (a /proc entry name) has one of the sockets ino[0..n) open. */
static int
portowner_holds(const char *pid, const unsigned long *ino, size_t n)
{
	char dir[64], path[64 + 256], link[64];
	struct dirent *e;
	unsigned long inode;
	int found = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while (!found && (e = readdir(d)) != NULL) {
		ssize_t len;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((len = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%lu]", &inode) != 1)
			continue;
		for (size_t i = 0; i < n && !found; i++)
			found = ino[i] == inode;
	}
	closedir(d);
	return found;
}

/* /proc/PID/comm into comm, "?" when it cannot be read. */
static void
portowner_comm(const char *pid, char *comm, size_t commlen)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	snprintf(comm, commlen, "?");
	if ((f = fopen(path, "re")) == NULL)
		return;
	if (fgets(comm, (int)commlen, f) != NULL)
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

pid_t
portowner_find(int port, char *comm, size_t commlen)
{
	unsigned long ino[PORTOWNER_MAX_INODES];
	size_t n = 0;
	struct dirent *e;
	pid_t pid = 0;
	DIR *d;

	n = portowner_inodes("/proc/net/tcp", port, ino, n);
	n = portowner_inodes("/proc/net/tcp6", port, ino, n);
	if (n == 0 || (d = opendir("/proc")) == NULL)
		return 0;
	while (pid == 0 && (e = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]) || !portowner_holds(e->d_name, ino, n))
			continue;
		pid = (pid_t)strtol(e->d_name, NULL, 10);
		portowner_comm(e->d_name, comm, commlen);
	}
	closedir(d);
	return pid;
}

void
portowner_log_in_use(const char *endpoint)
{
	char comm[64];
	int port = portowner_port(endpoint);
	pid_t pid = port > 0 ? portowner_find(port, comm, sizeof(comm)) : 0;

	if (pid > 0)
		log_error("cannot listen on %s: port %d is in use by %s (pid %ld)", endpoint, port,
		          comm, (long)pid);
	else if (port > 0)
		log_error("cannot listen on %s: port %d is in use by another process", endpoint,
		          port);
	else
		log_error("cannot listen on %s: address in use", endpoint);
}
