/*
 * cmd_member.c: `arrangctl member list|show|add|remove|rotate-key|endpoint|invite`: the
 * region's member list as this node folds it, the member change sets and invitations this
 * node signs (the daemon
 * refuses them with a reason when the list does not let this node make them). A member is
 * named by its members-file name, its m- name or its public key in hex. Their help is in
 * commands.c; nothing here decides who may change the list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonout.h"
#include "out.h"

static const char *const heads[] = {"NAME",  "ORGANISATION", "KIND", "ROLES",
                                    "STATE", "ENDPOINT",     "KEY",  NULL};
static const char *const keys[] = {"name",  "organisation", "kind", "roles",
                                   "state", "endpoint",     "key"};
#define NCOLS 7

/* o's text (a string of the reply), or "-" when empty or absent. */
static void
cell(struct table *t, const msgpack_object *o)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0)
		table_cell(t, "-");
	else
		table_celln(t, o->via.str.ptr, o->via.str.size);
}

static int
print_list(const msgpack_object *res)
{
	const msgpack_object *m = obj_get(res, "members"), *rn = obj_get(res, "region_name"),
	                     *id = obj_get(res, "region");
	struct table *t;
	int rc = CLI_OK;

	if (m == NULL || m->type != MSGPACK_OBJECT_ARRAY)
		return cli_fail(NULL, ARR_EMALFORMED, NULL);
	if (id != NULL && id->type == MSGPACK_OBJECT_STR && rn != NULL &&
	    rn->type == MSGPACK_OBJECT_STR)
		printf("region %.*s (%.*s)\n", (int)rn->via.str.size, rn->via.str.ptr,
		       (int)id->via.str.size, id->via.str.ptr);
	else
		printf("region: no genesis (members file only)\n");
	if ((t = table_new(NCOLS)) == NULL)
		return cli_error("out of memory");
	for (const char *const *h = heads; *h != NULL; h++)
		table_cell(t, *h);
	for (uint32_t i = 0; i < m->via.array.size; i++)
		for (size_t k = 0; k < NCOLS; k++)
			cell(t, obj_get(&m->via.array.ptr[i], keys[k]));
	if (!table_print(t, stdout))
		rc = cli_error("out of memory");
	table_destroy(&t);
	return rc;
}

static const char *const show_keys[] = {"name",  "key",     "organisation", "kind",
                                        "roles", "state",   "endpoint",     "seeded",
                                        "cut",   "new_key", "added_by",     "added_seq"};

static void
print_one(const msgpack_object *e)
{
	for (size_t k = 0; k < sizeof(show_keys) / sizeof(show_keys[0]); k++) {
		const msgpack_object *o = obj_get(e, show_keys[k]);
		struct strbuf sb = STRBUF_INIT;

		if (o == NULL || o->type == MSGPACK_OBJECT_NIL ||
		    (o->type == MSGPACK_OBJECT_STR && o->via.str.size == 0))
			strbuf_putc(&sb, '-');
		else
			out_text(&sb, o);
		printf("%-13s %s\n", show_keys[k], strbuf_str(&sb));
		strbuf_free(&sb);
	}
}

/* "removed jeugdhulp-b (member change set 12)". */
static void
print_done(const char *done, const char *member, const msgpack_object *res)
{
	const msgpack_object *seq = obj_get(res, "seq");

	printf("%s%s%s (member change set %llu)\n", done, member != NULL ? " " : "",
	       member != NULL ? member : "",
	       seq != NULL && seq->type == MSGPACK_OBJECT_POSITIVE_INTEGER
	           ? (unsigned long long)seq->via.u64
	           : 0ULL);
}

/* The token alone on stdout (for a script to pass on); its id and expiry on stderr. */
static int
print_token(const msgpack_object *res)
{
	const msgpack_object *tok = obj_get(res, "token"), *id = obj_get(res, "id"),
	                     *exp = obj_get(res, "expires");

	if (tok == NULL || tok->type != MSGPACK_OBJECT_STR || id == NULL ||
	    id->type != MSGPACK_OBJECT_STR || exp == NULL ||
	    exp->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return cli_fail(NULL, ARR_EMALFORMED, NULL);
	printf("%.*s\n", (int)tok->via.str.size, tok->via.str.ptr);
	fprintf(stderr,
	        "invitation %.*s, valid once until %llu (unix time); hand the token over "
	        "a channel only the invitee reads\n",
	        (int)id->via.str.size, id->via.str.ptr, (unsigned long long)exp->via.u64);
	return CLI_OK;
}

/*
 * One call: method with the member (the one positional word, when npos_want is 1) and the
 * options given (their names with '-' read as '_'), printed by how.
 */
static int
member_call(struct cli *cli, const struct cmd_call *call, int argc, char **argv, const char *method,
            struct opt *opts, size_t npos_want, const char *done)
{
	struct args a = {0};
	struct reply rp;
	struct req rq;
	uint32_t np = (uint32_t)npos_want;
	int rc;

	reply_init(&rp);
	rc = commands_args_n(cli, call, argc, argv, opts, npos_want ? "MEMBER" : NULL, &a);
	if (rc != CLI_OK || a.help)
		goto out;
	for (struct opt *o = opts; o->name != NULL; o++)
		np += o->value != NULL;
	req_begin(&rq, method, np);
	if (npos_want == 1) {
		req_str(&rq, "member");
		req_str(&rq, a.pos[0]);
	}
	for (struct opt *o = opts; o->name != NULL; o++) {
		char name[32];

		if (o->value == NULL)
			continue;
		/* --registrar is roles=registrar; --new-key is new_key */
		snprintf(name, sizeof(name), "%s",
		         strcmp(o->name, "registrar") == 0 ? "roles" : o->name);
		for (char *c = name; *c != '\0'; c++)
			*c = *c == '-' ? '_' : *c;
		req_str(&rq, name);
		if (strcmp(o->name, "cut") == 0)
			req_uint(&rq, strtoull(o->value, NULL, 10));
		else
			req_str(&rq, strcmp(o->name, "registrar") == 0 ? "registrar" : o->value);
	}
	if ((rc = cli_ask(cli, &rq, &rp)) != CLI_OK)
		goto out;
	if (cli->json)
		rc = jsonout_print_value(rp.result);
	else if (strcmp(method, "member.list") == 0)
		rc = print_list(rp.result);
	else if (strcmp(method, "member.show") == 0)
		print_one(rp.result);
	else if (strcmp(method, "member.invite") == 0)
		rc = print_token(rp.result);
	else
		print_done(done, npos_want ? a.pos[0] : NULL, rp.result);
out:
	reply_free(&rp);
	args_free(&a);
	return rc;
}

int
cmd_member_list(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};

	return member_call(cli, call, argc, argv, "member.list", opts, 0, NULL);
}

int
cmd_member_show(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{NULL, false, NULL}};

	return member_call(cli, call, argc, argv, "member.show", opts, 1, NULL);
}

int
cmd_member_add(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{"key", true, NULL},        {"organisation", true, NULL},
	                     {"kind", true, NULL},       {"endpoint", true, NULL},
	                     {"registrar", false, NULL}, {NULL, false, NULL}};

	return member_call(cli, call, argc, argv, "member.add", opts, 0, "added a member");
}

int
cmd_member_remove(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{"cut", true, NULL}, {NULL, false, NULL}};

	return member_call(cli, call, argc, argv, "member.remove", opts, 1, "removed");
}

int
cmd_member_rotate(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{"new-key", true, NULL}, {"cut", true, NULL}, {NULL, false, NULL}};

	return member_call(cli, call, argc, argv, "member.rotate_key", opts, 1,
	                   "rotated the key of");
}

int
cmd_member_endpoint(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{"endpoint", true, NULL}, {NULL, false, NULL}};

	return member_call(cli, call, argc, argv, "member.endpoint", opts, 1,
	                   "changed the endpoint of");
}

int
cmd_member_invite(struct cli *cli, const struct cmd_call *call, int argc, char **argv)
{
	struct opt opts[] = {{"organisation", true, NULL}, {"kind", true, NULL},
	                     {"registrar", false, NULL},   {"expires", true, NULL},
	                     {"endpoint", true, NULL},     {"replaces", true, NULL},
	                     {NULL, false, NULL}};

	return member_call(cli, call, argc, argv, "member.invite", opts, 0, NULL);
}
