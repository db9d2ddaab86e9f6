/*
 * portowner.h: who holds a TCP port, for the one error line a daemon gives when its
 * peer port is taken. Reads /proc only; best effort: a process this user cannot see
 * (another user's, or hidden by ProtectProc=) is not named.
 */
#ifndef PORTOWNER_H
#define PORTOWNER_H

#include <stddef.h>
#include <sys/types.h>

/* The port of tcp://HOST:PORT, or -1. */
int portowner_port(const char *endpoint);

/*
 * The process with a listening TCP socket (IPv4 or IPv6) on port, its name (comm) in
 * comm; 0 when none can be found or read.
 */
pid_t portowner_find(int port, char *comm, size_t commlen);

/*
 * Log at error level (<3>) that endpoint's port is in use, naming the process that
 * holds it when it can: "cannot listen on tcp://...:7700: port 7700 is in use by
 * arrangd (pid 1234)".
 */
void portowner_log_in_use(const char *endpoint);

#endif
