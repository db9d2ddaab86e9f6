/*
 * test_portowner.c: who holds a TCP port (daemon/portowner.c): the port of an endpoint,
 * strictly; a port this process listens on is found with this process's PID and name;
 * a port nobody listens on is not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "portowner.h"

static void
test_port(void **state)
{
	(void)state;
	assert_int_equal(portowner_port("tcp://127.0.0.1:7400"), 7400);
	assert_int_equal(portowner_port("tcp://[::1]:1"), 1);
	assert_int_equal(portowner_port("tcp://*:65535"), 65535);
	assert_int_equal(portowner_port("tcp://host:65536"), -1);
	assert_int_equal(portowner_port("tcp://host:0"), -1);
	assert_int_equal(portowner_port("tcp://host:"), -1);
	assert_int_equal(portowner_port("tcp://host:74x"), -1);
	assert_int_equal(portowner_port("tcp://host"), -1);
	assert_int_equal(portowner_port("ipc:///run/x:7400"), -1);
	assert_int_equal(portowner_port(NULL), -1);
}

/* A TCP socket bound to 127.0.0.1 on a free port; listening when listen_too. */
static int
bound_socket(bool listen_too, int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	if (listen_too)
		assert_int_equal(listen(fd, 1), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void
test_find(void **state)
{
	char comm[64] = "", want[64];
	FILE *f;
	int port, fd;

	(void)state;
	assert_non_null(f = fopen("/proc/self/comm", "r"));
	assert_non_null(fgets(want, sizeof(want), f));
	fclose(f);
	want[strcspn(want, "\n")] = '\0';

	fd = bound_socket(true, &port);
	assert_int_equal(portowner_find(port, comm, sizeof(comm)), getpid());
	assert_string_equal(comm, want);
	close(fd);

	/* Bound but not listening: not a holder of the port for a listener. */
	fd = bound_socket(false, &port);
	assert_int_equal(portowner_find(port, comm, sizeof(comm)), 0);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_port),
	    cmocka_unit_test(test_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
