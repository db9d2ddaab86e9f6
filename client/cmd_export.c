/*
 * cmd_export.c: `arrangctl export --child REF [--out FILE]`: the subject-access export
 * (AVG art. 15 and 20; docs/export.md): everything this node holds about one child, as
 * the API's "export" gives it page by page, written as one JSON document (libjansson for
 * each item), so an export of any size is written without holding it whole. The file
 * holds personal data: it is created new, mode 0600, never overwritten; a failed export
 * removes what it wrote. It must not gather the rows itself: the daemon does, and
 * records the export in its access log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "arrerr.h"
#include "cmd.h"
#include "jsonout.h"
#include "obj.h"
#include "req.h"

/* Where the document goes and how far it got. */
struct export_out {
	FILE *f;
	const char *path; /* NULL: stdout */
	int part;         /* the part whose array is open; -1: none yet */
	size_t n[3];      /* items written per part */
};

static const char *const export_parts[] = {"rows", "history", "access_log"};

/* Open path (new, 0600) or, for NULL or "-", stdout. */
static int
export_open(struct export_out *o, const char *path)
{
	int fd;

	o->f = stdout;
	o->path = path != NULL && strcmp(path, "-") != 0 ? path : NULL;
	o->part = -1;
	if (o->path == NULL)
		return CLI_OK;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return cli_error("cannot create %s: %s", path, strerror(errno));
	if ((o->f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(path);
		return cli_error("cannot write %s: %s", path, strerror(errno));
	}
	return CLI_OK;
}

/* Dump o (a msgpack object) as JSON after indent; false on error. */
static bool
export_dump(FILE *f, const msgpack_object *o)
{
	json_t *j = jsonout_value(o);
	bool ok =
	    j != NULL && json_dumpf(j, f, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY) == 0;

	json_decref(j);
	return ok;
}

/* The header (from the first page) and an empty array for each part before part. */
static bool
export_head(struct export_out *o, const msgpack_object *page)
{
	static const char *const keys[] = {"format", "child_ref", "organisation"};

	if (fputs("{\n", o->f) == EOF)
		return false;
	for (size_t i = 0; i < 3; i++) {
		if (fprintf(o->f, "  \"%s\": ", keys[i]) < 0 ||
		    !export_dump(o->f, obj_get(page, keys[i])) || fputs(",\n", o->f) == EOF)
			return false;
	}
	return true;
}

/* Open the array of part (closing those before it, empty ones too). */
static bool
export_to_part(struct export_out *o, int part)
{
	while (o->part < part) {
		if (o->part >= 0 && fputs("\n  ],\n", o->f) == EOF)
			return false;
		o->part++;
		if (fprintf(o->f, "  \"%s\": [", export_parts[o->part]) < 0)
			return false;
	}
	return true;
}

/* Write one page's items; false on a write error or a page that does not fit. */
static bool
export_items(struct export_out *o, const msgpack_object *page)
{
	const msgpack_object *items = obj_get(page, "items"), *part = obj_get(page, "part");
	int p = -1;

	for (int i = 0; i < 3 && part != NULL && part->type == MSGPACK_OBJECT_STR; i++)
		if (part->via.str.size == strlen(export_parts[i]) &&
		    memcmp(part->via.str.ptr, export_parts[i], part->via.str.size) == 0)
			p = i;
	if (p < o->part || items == NULL || items->type != MSGPACK_OBJECT_ARRAY ||
	    !export_to_part(o, p))
		return false;
	for (uint32_t i = 0; i < items->via.array.size; i++)
		if (fputs(o->n[p]++ > 0 ? ",\n    " : "\n    ", o->f) == EOF ||
		    !export_dump(o->f, &items->via.array.ptr[i]))
			return false;
	return true;
}

/* The request of the page after the one whose "next" is next (NULL: the first). */
static void
export_request(struct req *rq, const char *ref, const msgpack_object *next)
{
	uint32_t n = next != NULL ? next->via.map.size : 0;

	req_begin(rq, "export", 1 + n);
	req_str(rq, "child");
	req_str(rq, ref);
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *k = &next->via.map.ptr[i].key, *v = &next->via.map.ptr[i].val;

		req_strn(rq, k->via.str.ptr, k->via.str.size);
		if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			req_uint(rq, v->via.u64);
		else
			req_strn(rq, v->via.str.ptr, v->via.str.size);
	}
}

/* Whether next is a cursor this client can send back: a map of str keys, uint or str. */
static bool
export_next_ok(const msgpack_object *next)
{
	if (next->type != MSGPACK_OBJECT_MAP)
		return false;
	for (uint32_t i = 0; i < next->via.map.size; i++) {
		const msgpack_object *k = &next->via.map.ptr[i].key, *v = &next->via.map.ptr[i].val;

		if (k->type != MSGPACK_OBJECT_STR ||
		    (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER && v->type != MSGPACK_OBJECT_STR))
			return false;
	}
	return true;
}

/* Ask for every page and write each; an exit code. */
static int
export_pages(struct cli *cli, const char *ref, struct export_out *o)
{
	struct reply rp[2]; /* this page's, and the one before (next points into it) */
	const msgpack_object *next = NULL;
	struct req rq;
	int rc = CLI_OK, cur = 0;

	reply_init(&rp[0]);
	reply_init(&rp[1]);
	for (bool first = true; rc == CLI_OK; first = false) {
		cur = !cur;
		export_request(&rq, ref, next);
		rc = cli_call(cli, &rq, &rp[cur]);
		reply_free(&rp[!cur]);
		next = NULL;
		if (rc != 0) {
			rc = cli_fail(cli, rc, &rp[cur]);
			break;
		}
		if ((first && !export_head(o, rp[cur].result)) || !export_items(o, rp[cur].result))
			rc = cli_error("cannot write %s", o->path != NULL ? o->path : "the export");
		next = obj_get(rp[cur].result, "next");
		if (next == NULL || next->type == MSGPACK_OBJECT_NIL)
			break;
		if (rc == CLI_OK && !export_next_ok(next))
			rc = cli_error("the daemon's export page has no usable cursor");
	}
	reply_free(&rp[0]);
	reply_free(&rp[1]);
	if (rc == CLI_OK && (!export_to_part(o, 2) || fputs("\n  ]\n}\n", o->f) == EOF))
		rc = cli_error("cannot write %s", o->path != NULL ? o->path : "the export");
	return rc;
}

int
cmd_export_child(struct cli *cli, const char *ref, const char *out)
{
	struct export_out o = {0};
	int rc;

	if ((rc = export_open(&o, out)) != CLI_OK)
		return rc;
	rc = export_pages(cli, ref, &o);
	if (o.f != stdout && fclose(o.f) != 0 && rc == CLI_OK)
		rc = cli_error("cannot write %s: %s", o.path, strerror(errno));
	if (o.path != NULL && rc != CLI_OK)
		unlink(o.path); /* nothing half-written is left */
	else if (o.path != NULL)
		fprintf(stderr,
		        "export of child %s written to %s (%zu rows, %zu history entries)\n", ref,
		        o.path, o.n[0], o.n[1]);
	return rc;
}
