/*
 * confval.c: the checks of values that both the config and the members file hold:
 * member names, organisation names and peer endpoints. Pure functions over strings; it
 * never reads files, resolves names or opens sockets.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "arrlimits.h"
#include "confval.h"
#include "utf8.h"

#define CONFVAL_NAME_MAX 63
#define CONFVAL_HOST_MAX 253

int
confval_name_ok(const char *s)
{
	size_t i;

	if (s == NULL || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= CONFVAL_NAME_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

/*
 * Whether s is well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF) without control characters: an organisation name goes into every change
 * set as a MessagePack str, which must hold valid UTF-8.
 */
static int
confval_utf8_text_ok(const unsigned char *s)
{
	size_t n = strlen((const char *)s);

	for (size_t i = 0, len; i < n; i += len) {
		uint32_t cp;

		if ((len = utf8_decode(s + i, n - i, &cp)) == 0)
			return 0;
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return 0;
	}
	return 1;
}

int
confval_org_ok(const char *s)
{
	size_t len;

	if (s == NULL || (len = strlen(s)) == 0 || len > ARR_ORG_MAX)
		return 0;
	return confval_utf8_text_ok((const unsigned char *)s);
}

/*
 * The host part of an endpoint: "*" (bind to all interfaces), a bracketed IPv6
 * address, or a host name, IPv4 address or interface name. ZeroMQ's other forms
 * (source addresses with ';', wildcard ports) are refused: they are not needed and
 * would only make a typo harder to see.
 */
static int
confval_host_ok(const char *host, size_t len)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len > CONFVAL_HOST_MAX)
		return 0;
	if (len == 1 && host[0] == '*')
		return 1;
	if (host[0] == '[') {
		struct in6_addr a;

		if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof(buf))
			return 0;
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		return inet_pton(AF_INET6, buf, &a) == 1;
	}
	if (!((host[0] >= 'a' && host[0] <= 'z') || (host[0] >= 'A' && host[0] <= 'Z') ||
	      (host[0] >= '0' && host[0] <= '9')))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

int
confval_endpoint_ok(const char *s)
{
	const char *host, *colon, *port;
	unsigned long v = 0;
	size_t i;

	if (s == NULL || strncmp(s, "tcp://", 6) != 0)
		return 0;
	host = s + 6;
	if ((colon = strrchr(host, ':')) == NULL)
		return 0;
	if (!confval_host_ok(host, (size_t)(colon - host)))
		return 0;
	port = colon + 1;
	if (port[0] < '1' || port[0] > '9') /* no sign, no leading zero, not empty */
		return 0;
	for (i = 0; port[i] != '\0'; i++) {
		if (i >= 5 || port[i] < '0' || port[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(port[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

int
confval_list_has(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *q = list; q != NULL && *q != '\0';) {
		const char *end = strchr(q, ',');
		size_t len = end != NULL ? (size_t)(end - q) : strlen(q);

		if (len == n && memcmp(q, name, n) == 0)
			return 1;
		q = end != NULL ? end + 1 : NULL;
	}
	return 0;
}
