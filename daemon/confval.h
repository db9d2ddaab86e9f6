/*
 * confval.h: checks of the values the config and members files share (member names,
 * organisation names, peer endpoints, lists of names). Pure functions; 1 when s is
 * acceptable (or found), else 0.
 */
#ifndef CONFVAL_H
#define CONFVAL_H

/* Whether s is an endpoint arrangd accepts: tcp://HOST:PORT with PORT 1..65535. */
int confval_endpoint_ok(const char *s);

/* Whether s is a member name: [a-z0-9][a-z0-9-]{0,62} (the node's and the members'). */
int confval_name_ok(const char *s);
/* Whether s is an organisation name: 1..ARR_ORG_MAX bytes of UTF-8, no control chars. */
int confval_org_ok(const char *s);
/* Whether name is an element of list, names separated by commas (NULL: empty). */
int confval_list_has(const char *list, const char *name);

#endif
