/*
 * commands.c: arrangctl's commands in one table, as OpenBSD's bgpctl and git list
 * theirs: noun, verb, arguments, summary, handler and the body of --help, and the
 * dispatch of argv to a handler. Every help text (top level, per noun, per command, the
 * hidden `help --list`) is generated from the table (commands_help.c), so a command
 * cannot exist without being listed. This file must not implement a command, print a
 * help text or talk to the daemon.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "commands.h"
#include "commands_int.h"

static const struct cmd cmds[] = {
    {"status", NULL, "", "node, organisation, peers, quarantine, database size", cmd_status, NULL,
     "Show this node: member name, organisation, origin (public key), version, its\n"
     "latest local change set, log and pending counts, quarantined change sets, origins\n"
     "proven to equivocate or over their log quota (origin_max_log_bytes), database\n"
     "size, and per peer whether it is connected and how many change sets it is behind\n"
     "(lacks from us) or ahead (has that we lack). --json prints the daemon's status map.\n\n",
     0, "Node"},
    {"peers", NULL, "", "members: endpoint, connected, last seen, behind/ahead", cmd_peers, NULL,
     "One line per member of the region (other than this node): name, organisation,\n"
     "endpoint (- when this node does not connect to it), connected, last seen (UTC),\n"
     "behind (change sets we have that it lacks) and ahead (change sets it has that we\n"
     "lack). --json prints one JSON object per peer per line.\n\n",
     0, "Node"},
    {"digest", NULL, "[--schema N]",
     "digests of the log and of the readable contents (compare across nodes)", cmd_digest, NULL,
     "Print two digests (64 hex characters each). \"log\" covers every change set this node\n"
     "has logged, readable or not: nodes with the same log have the same log digest,\n"
     "whatever they can read. \"content\" covers the rows this node can read (the region's\n"
     "and those of the arrangements it is a party of): nodes that read the same scopes\n"
     "and hold the same data have the same content digest. Converged means equal log\n"
     "digests everywhere and equal content digests among nodes with the same reads.\n"
     "In a region of mixed schema versions (a rolling upgrade), compare the content\n"
     "digest of the oldest version: --schema N hashes what version N knows.\n"
     "--json prints {\"digest\": \"...\", \"log\": \"...\"}.\n\n",
     0, "Node"},
    {"scope", "show", "ARRANGEMENT", "who may read an arrangement: owner, parties, roles, keys",
     cmd_scope_show, NULL,
     "An arrangement and everything that hangs off it (parties, funding, care,\n"
     "evaluations, consents, its child row) form its scope, readable only by the members\n"
     "granted access; other nodes relay it encrypted. Show whether this node can read\n"
     "ARRANGEMENT (a full id, or a unique prefix of one it can read), the readers with\n"
     "their organisation and roles (the owner first), how many key epochs are current,\n"
     "how many keys this node holds and how many change sets wait for a key. --json\n"
     "prints the daemon's answer.\n\n",
     0, "Scopes"},
    {"scope", "grant", "ARRANGEMENT --member NAME --roles ROLE[,ROLE...]",
     "let a member of the region read an arrangement", cmd_scope_grant, NULL,
     "Issue a GRANT: member NAME (as in the members file) becomes a party of ARRANGEMENT\n"
     "with ROLEs (requester, funder, education, care, coordination; admin only by the\n"
     "owner), and receives every key of the scope this node holds, sealed to its node key,\n"
     "so it can read the history too. Only the owner (the organisation that created the\n"
     "arrangement) or an admin may grant. The member reads the arrangement as soon as the\n"
     "GRANT reaches it. --json prints the seqs of the change set issued.\n\n"
     "Example: arrangctl scope grant 8f3c --member jeugdhulp-b --roles care\n\n",
     0, "Scopes"},
    {"scope", "revoke", "ARRANGEMENT --member NAME",
     "take a member's access to an arrangement away", cmd_scope_revoke, NULL,
     "Issue a REVOKE: member NAME is no longer a party of ARRANGEMENT, and in the same\n"
     "change set the scope gets a new key sealed to the remaining parties only, so what is\n"
     "written from now on is unreadable to NAME. What NAME read before stays with it.\n"
     "Only the owner or an admin may revoke; an admin only by the owner.\n\n",
     0, "Scopes"},
    {"scope", "erase", "ARRANGEMENT --yes", "erase an arrangement for every node (final)",
     cmd_scope_erase, NULL,
     "Issue an ERASE: on this node at once, and on every node it reaches, the scope's keys,\n"
     "rows, history and bodies (key slots included) are dropped; only the signed headers\n"
     "stay, so the logs still converge. Later writes into it are kept header-only. Only\n"
     "the owner (the organisation that created the arrangement) may erase. It cannot be\n"
     "undone: without --yes nothing is sent.\n\n"
     "Example: arrangctl scope erase 8f3c --yes\n\n",
     0, "Scopes"},
    {"scope", "shred", "ARRANGEMENT --yes",
     "drop this node's copy of an arrangement (final, local)", cmd_scope_shred, NULL,
     "Leave a case without erasing it for everyone (this organisation's retention period\n"
     "ended, or its part did): this node's keys for the scope, the rows they opened and\n"
     "their history are dropped; the encrypted change sets stay and are relayed to the\n"
     "other parties, and this node never reads the scope again, not even if granted\n"
     "anew. The other parties' copies are untouched. Without --yes nothing happens.\n\n",
     0, "Scopes"},
    {"sync", NULL, "", "pull from every connected peer now", cmd_sync, NULL,
     "Ask arrangd to pull from every connected peer now, and print how many pulls it\n"
     "sent. The pulls complete in the background; compare `arrangctl digest` across nodes\n"
     "to see convergence. --json prints {\"peers\": N}.\n\n",
     0, "Node"},
    {"quarantine", "list", "[--limit N | --all] [--after ID]",
     "change sets received but not applied", cmd_quarantine_list, NULL,
     "Change sets this node received but did not apply are kept in quarantine with the\n"
     "reason (an ARR_E* name) and never dropped. `list` shows them by quarantine id:\n"
     "id, origin (first 16 hex characters of the public key; full in --json), seq,\n"
     "reason, detail, when received (UTC) and retry attempts, reading every page of the\n"
     "daemon's answer. --json prints one JSON object per change set per line. --limit N\n"
     "shows the first N and says on stderr how many there are and where to go on\n"
     "(--after ID: after that quarantine id).\n\n",
     0, "Node"},
    {"quarantine", "retry", "[ID]", "apply quarantined change sets that have become acceptable",
     cmd_quarantine_retry, NULL,
     "Try to apply every quarantined change set, or only ID, and print how many were\n"
     "applied, were duplicates, wait for earlier change sets (pending) or stay\n"
     "quarantined, and how many were tried. A retry of all goes in steps of about 40 ms\n"
     "(the daemon answers others between them); each entry present at the start is tried\n"
     "once. --json prints the counts summed over the steps as one JSON object.\n\n",
     0, "Node"},
    {"denied", "list", "[--limit N | --all] [--after ID]",
     "change sets whose ops are masked by write authorisation", cmd_denied_list, NULL,
     "Change sets of a scope this node reads whose author lacked the role the role matrix\n"
     "asks for a table or column they wrote (PROTOCOL.md, \"Write authorisation\"). They\n"
     "are logged, relayed and counted like any other, but their ops are masked: every\n"
     "party of the scope judges them the same way. `list` shows them by id: the node and\n"
     "organisation that signed, its seq, the rule broken and the table and column of the\n"
     "first op that broke it (never a value). --json prints one JSON object per change set\n"
     "per line. --limit N shows the first N (--after ID: after that id). Usually there is\n"
     "nothing to do: a denied change set is evidence (see arrangd(8)).\n\n",
     0, "Node"},
    {"denied", "show", "ID", "one denied change set and the rule it broke", cmd_denied_show, NULL,
     "Show denied change set ID (from `denied list`): node, organisation, origin, seq,\n"
     "clock, scope, the rule broken, the op that broke it (table, column, its position and\n"
     "the change set's number of ops) and who may write that column. --json prints one\n"
     "JSON object.\n\n",
     0, "Node"},
    {"backup", NULL, "FILE", "online backup of the replica to a new file", cmd_backup, NULL,
     "Ask arrangd to write an online backup of the replica to FILE, a new SQLite database\n"
     "(SQLite's backup API: consistent while writes and sync go on). FILE must not exist;\n"
     "a relative FILE is taken from the current directory. arrangd writes the file itself,\n"
     "so FILE must be in a directory the daemon may write to: under systemd that is its\n"
     "state directory, e.g. /var/lib/arrangd/backup/. The file holds personal data and is\n"
     "created with mode 0600. Prints \"backup written to FILE (N bytes)\"; --json prints\n"
     "{\"path\": FILE, \"bytes\": N}. Restore: see arrangctl(1) and the operations guide.\n\n"
     "Example: arrangctl backup /var/lib/arrangd/backup/arrangd-$(date +%F).db\n\n",
     0, "Node"},
    {"metrics", NULL, "", "metrics in Prometheus text format", cmd_metrics, NULL,
     "Print arrangd's metrics in the Prometheus text format, as is: change sets sent,\n"
     "received, applied, duplicate and quarantined since the daemon started, local writes,\n"
     "quarantine and pending sizes, log size, database size, peers connected, lag per peer\n"
     "(arrangd_peer_behind/arrangd_peer_ahead{peer=\"NAME\"}) and the apply latency\n"
     "histogram. For node_exporter's textfile collector, write to a temporary file and\n"
     "rename it, so the collector never reads half a file:\n\n"
     "  arrangctl metrics > /var/lib/node_exporter/textfile/arrangd.prom.$$ &&\n"
     "    mv /var/lib/node_exporter/textfile/arrangd.prom.$$ \\\n"
     "       /var/lib/node_exporter/textfile/arrangd.prom\n\n"
     "--json prints {\"text\": \"...\"}.\n\n",
     0, "Node"},
    {"member", "list", "", "the region's members: organisation, kind, roles, state, endpoint",
     cmd_member_list, NULL,
     "The region's member list as this node folds it: the members file (the seed) with the\n"
     "member change sets over it (PROTOCOL.md, \"Member change sets\"). One line per member,\n"
     "removed and rotated-away keys too (their state says so): name (the members file's, or\n"
     "m- and the head of its key), organisation, kind, roles, state, endpoint and public key.\n"
     "--json prints the daemon's answer.\n\n",
     0, "Region"},
    {"member", "show", "MEMBER", "one member of the region", cmd_member_show, NULL,
     "Show MEMBER (a name, an m- name or a public key in hex): its record, who added it and\n"
     "at which seq, and when removed or rotated the cut (its highest seq that stays valid)\n"
     "and its new key. --json prints one JSON object.\n\n",
     0, "Region"},
    {"member", "add",
     "--key HEX --organisation ORG --kind KIND [--registrar] [--endpoint tcp://HOST:PORT]",
     "admit a node to the region (registrars only)", cmd_member_add, NULL,
     "Sign an ADD: the node with public key HEX (`arrangd --show-key` on it) becomes a\n"
     "member for organisation ORG of KIND (gemeente, swv, school or provider), a registrar\n"
     "with --registrar, dialled at the endpoint when one is given. Every node admits it as\n"
     "soon as the change set reaches it. Only a registrar may add.\n\n",
     0, "Region"},
    {"member", "invite",
     "--organisation ORG --kind KIND [--registrar] [--expires 7d] [--endpoint tcp://HOST:PORT]\n"
     "       | --replaces MEMBER [--expires 7d] [--endpoint tcp://HOST:PORT]",
     "print an invitation token for a new member or a lost key's replacement (registrars only)",
     cmd_member_invite, NULL,
     "Sign an invitation: the node that runs `arrangd --init --join TOKEN` with it becomes a\n"
     "member for organisation ORG of KIND (a registrar with --registrar) when it first\n"
     "connects to this node, which then signs its ADD. The token (one line on stdout) holds\n"
     "the region id, this node's key and endpoint (--endpoint, else its member record's), a\n"
     "one-time secret and the expiry (--expires: 1s to 90d, as 30m, 12h or 7d; default 7d).\n"
     "It is valid once. Hand it over a channel only the invitee reads.\n\n"
     "With --replaces MEMBER (a name, an m- name or a public key in hex) the token replaces\n"
     "MEMBER's lost key: the node that joins with it takes MEMBER's record (organisation,\n"
     "kind and roles are MEMBER's; give none of them), as this node signs a ROTATE of it to\n"
     "the new node's key, cut at the highest seq of the old key this node holds. The old\n"
     "key's connections are closed and its later change sets refused on every node.\n\n",
     0, "Region"},
    {"member", "remove", "MEMBER [--cut SEQ]", "take a member out of the region (registrars only)",
     cmd_member_remove, NULL,
     "Sign a REMOVE: MEMBER's connections are closed on every node and its change sets above\n"
     "the cut are refused; those up to it stay valid everywhere, on nodes that join later\n"
     "too. The cut is the highest seq of MEMBER's this node holds unless --cut says.\n\n",
     0, "Region"},
    {"member", "rotate-key", "MEMBER --new-key HEX [--cut SEQ]",
     "replace a member's node key (the member itself, or a registrar when the key is lost)",
     cmd_member_rotate, NULL,
     "Sign a ROTATE: MEMBER's record moves to the key HEX (made with `arrangd --init` on the\n"
     "node); the old key's change sets up to the cut stay valid, later ones are refused. Run\n"
     "on the member itself before it switches keys, or on a registrar's node when the old\n"
     "key is lost or leaked (then give --cut: the last seq known good).\n\n",
     0, "Region"},
    {"member", "endpoint", "MEMBER [--endpoint tcp://HOST:PORT]",
     "change where a member is dialled", cmd_member_endpoint, NULL,
     "Sign an ENDPOINT change: every node dials MEMBER at the new endpoint (none: it is no\n"
     "longer dialled and connects itself). The member itself or a registrar may.\n\n",
     0, "Region"},
    {"arrangement", "add", "--child-ref REF --kind KIND [OPTIONS]", "register one, print its id",
     cmd_arrangement_add,
     "--child-ref REF --kind KIND [--status draft|requested]\n"
     "         [--school ORG] [--municipality ORG] [--lead ORG] [--swv ORG]\n"
     "         [--coordinator NAME] [--requested-on DATE] [--start-on DATE]\n"
     "         [--summary TEXT] [--FIELD VALUE]... [FIELD=VALUE]...",
     "Register an arrangement and print its new id on the first line. The child is found\n"
     "by its pseudonymous reference REF; when this replica has no child with that ref, a\n"
     "child row is created in the same write (and a second line says so). Use --child-id\n"
     "ID instead of --child-ref for an existing child row. ORG is an organisation id, a\n"
     "unique id prefix or the organisation's code (CBS, BRIN, SWV or AGB code). The status\n"
     "is draft unless --status requested is given.\n\n",
     CMD_FIELDS, "Arrangements"},
    {"arrangement", "set", "ID FIELD=VALUE...", "change fields (status lifecycle checked)",
     cmd_arrangement_set, NULL,
     "Change fields of an existing arrangement row. ID may be abbreviated to a unique\n"
     "prefix of at least 4 characters. A status change must follow the lifecycle\n"
     "(draft → requested → under_review → allocated → started ⇄ evaluating,\n"
     "started ⇄ suspended, started|suspended → ended, requested|under_review →\n"
     "withdrawn|rejected, ended|rejected|withdrawn → archived); others are refused\n"
     "with exit status 1.\n\n",
     CMD_FIELDS, "Arrangements"},
    {"arrangement", "list", "[--status S] [--kind K] [--child REF] [--org ORG] [--active-on D]...",
     "list, filtered", cmd_arrangement_list,
     "[--status S] [--kind K] [--child REF]\n"
     "         [--school ORG] [--municipality ORG] [--org ORG]\n"
     "         [--active-on DATE] [--ending-before DATE] [FIELD=VALUE]...\n"
     "         [--limit N | --all] [--after ID]",
     "List arrangements, ordered by id, optionally filtered (filters combine\n"
     "with AND). --child takes a child's ref or id; --school, --municipality and\n"
     "--org an organisation's code or id. --org keeps rows where it is the lead,\n"
     "municipality, school or SWV, or a party. --active-on DATE keeps rows that\n"
     "start on or before DATE and end on or after it (or have no end);\n"
     "--ending-before DATE rows that end before DATE. The table shows the child\n"
     "by its ref, organisations by code and ids shortened to 8 characters; --json\n"
     "prints one JSON object per line with every field and full ids. --limit N\n"
     "shows the first N and says on stderr where to go on (--after ID: after\n"
     "that row) and, without --org and the date filters, how many there are.\n\n",
     CMD_FIELDS, "Arrangements"},
    {"arrangement", "show", "ID", "with parties, funding, assignments, evaluations, plan",
     cmd_arrangement_show, NULL,
     "Show one arrangement (ID may be a unique prefix) with its parties, funding\n"
     "shares, care assignments, evaluations and consents, then its plan: the goals\n"
     "in order (ordinal) with the organisation that works on each (by name), target\n"
     "date, status and the outcome its latest evaluation recorded. --json prints one\n"
     "JSON object: {\"arrangement\": {...}, \"parties\": [...], \"funding\": [...],\n"
     "\"assignments\": [...], \"evaluations\": [...], \"consents\": [...],\n"
     "\"goals\": [...], \"goal_evaluations\": [...]}.\n\n",
     0, "Arrangements"},
    {"arrangement", "history", "ID", "who changed what, when, from which organisation", tbl_history,
     "ID [--limit N | --all] [--after POSITION]", NULL, 0, "Arrangements"},
    {"arrangement", "delete", "ID", "delete (_deleted=1)", tbl_delete, NULL, NULL, 0,
     "Arrangements"},
    {"goal", "add", "arrangement_id=ID description=TEXT org_id=ORG [FIELD=VALUE]...",
     "add a goal to an arrangement's plan, print its id", cmd_goal_add,
     "arrangement_id=ID description=TEXT org_id=ORG\n"
     "         [target_on=DATE] [status=S] [ordinal=N] [--FIELD VALUE]...",
     "Add a goal to the plan of an arrangement (\"één kind, één plan\") and print its\n"
     "new id. ID is an arrangement id or a unique prefix; ORG, the organisation that\n"
     "works on the goal, an id, prefix or code. The goal is open unless status= is given,\n"
     "and comes after the arrangement's last goal unless ordinal= is given. Keep the\n"
     "description short and free of diagnoses (at most 200 bytes). `arrangement show`\n"
     "prints the plan in order with each goal's latest outcome; record an outcome with\n"
     "`arrangctl goal_evaluation add evaluation_id=EV goal_id=GOAL outcome=O [note=TEXT]`\n"
     "(the evaluation and the goal must belong to the same arrangement).\n\n",
     CMD_FIELDS, "Plan"},
    {ANY_TABLE, "add", "[--FIELD VALUE]... [FIELD=VALUE]...", "add a row, print its id", tbl_add,
     NULL,
     "Add a @T row with a new random id and print the id. Fields may be given as\n"
     "options (--FIELD VALUE, '-' or '_' in names) or as FIELD=VALUE words; at least\n"
     "one is needed. Values are checked against the field types before anything is\n"
     "written; references must name an existing row.\n\n",
     CMD_FIELDS, "Other tables"},
    {ANY_TABLE, "set", "ID FIELD=VALUE...", "change fields", tbl_set, NULL,
     "Change fields of an existing @T row. ID may be abbreviated to a unique\n"
     "prefix of at least 4 characters.\n\n",
     CMD_FIELDS, "Other tables"},
    {ANY_TABLE, "list", "[FIELD=VALUE]... [--limit N | --all] [--after ID]",
     "list rows (filters: equality)", tbl_list, NULL,
     "List the @T rows whose fields equal the given values (all rows without\n"
     "filters), ordered by id. The table shows ids shortened to 8 characters and\n"
     "organisations by their code; --json prints one JSON object per line with\n"
     "full ids. --limit N shows the first N and says on stderr how many there are\n"
     "and where to go on (--after ID: after that row).\n\n",
     CMD_FIELDS, "Other tables"},
    {ANY_TABLE, "show", "ID", "show one row", tbl_show, NULL,
     "Show every field of one @T row (ID may be a unique prefix). --json prints\n"
     "the row as one JSON object.\n\n",
     0, "Other tables"},
    {ANY_TABLE, "delete", "ID", "delete a row (_deleted=1)", tbl_delete, NULL,
     "Delete one @T row: writes its hidden _deleted field, which replicates and\n"
     "merges like any other field; the row's history is kept.\n\n",
     0, "Other tables"},
    {ANY_TABLE, "history", "ID", "who changed what, when", tbl_history,
     "ID [--limit N | --all] [--after POSITION]",
     "Every change to one @T row, oldest first: when (UTC, from the writer's\n"
     "clock), which organisation wrote it, which field and the value. Deleted\n"
     "rows keep their history. --json prints one JSON object per change with\n"
     "\"time\" (ISO-8601), \"time_ms\", \"hlc\", \"origin\", \"seq\",\n"
     "\"organisation\", \"column\" and \"value\". Every page of the daemon's\n"
     "answer is read; --limit N shows the first N changes and says on stderr how\n"
     "many there are and where to go on (--after POSITION, as printed).\n\n",
     0, "Other tables"},
    {"search", NULL, "TEXT...", "find arrangements by child ref, organisation, coordinator",
     cmd_search, "TEXT... [--limit N]",
     "Find the arrangements on this replica whose child reference, coordinator, or\n"
     "organisations (lead, municipality, school, SWV or a party: name or code) hold\n"
     "every word of TEXT as the start of a word; case and accents do not count, and a\n"
     "reference such as TD-2016-001 is found as typed. Best matches come first; the\n"
     "first 20 are shown, or N with --limit N (at most 1000), and when there are more,\n"
     "stderr says so. The table shows the child by its ref and organisations by code;\n"
     "--json prints one JSON object per arrangement per line with every field.\n"
     "Nothing found: a note on stderr, exit status 0. The index is kept by arrangd\n"
     "from the rows as they change, local or replicated.\n\n"
     "Example: arrangctl search TD-2016-001 lijster\n\n",
     0, "Data"},
    {"query", NULL, "SQL", "read-only SQL on the local replica", cmd_query, "SQL...",
     "Run one read-only SQL statement on the local replica and print the result as a\n"
     "table (column names as returned, values as stored: full ids, no labels). Several\n"
     "words are joined with spaces. A statement that writes is refused (exit status 1).\n"
     "--json prints one JSON object per result row per line; when a statement returns\n"
     "two columns with the same name, the object holds both keys.\n\n"
     "Example: arrangctl query \"SELECT status, count(*) AS n FROM arrangement GROUP BY "
     "status\"\n\n",
     0, "Data"},
    {"import", NULL, "FILE", "load rows from JSON lines (all or nothing per file)", cmd_import,
     NULL,
     "Load rows from FILE (\"-\" for standard input): JSON lines, one object per row,\n"
     "  {\"table\": \"organisation\", \"id\": \"<uuid>\", \"kind\": \"gemeente\", ...}\n"
     "\"id\" is optional (a new random id is used without it; with it, the row is created\n"
     "or its fields are overwritten). Values are strings, integers or null (null clears a\n"
     "field); references are row ids. Blank lines are skipped. Every line is checked\n"
     "first; invalid lines are reported as FILE:LINE: message and then nothing is written\n"
     "(exit status 1). A valid file is sent in one write, or, when it has more than\n"
     "100000 field values or about 8 MiB, in several writes of whole lines (each\n"
     "atomic; if one fails, the earlier ones stay written and the message says so).\n"
     "Prints the number of rows and field values written.\n\n",
     0, "Data"},
    {"export", NULL, "[TABLE]... | --child REF [--out FILE]",
     "print rows as JSON lines; or everything about one child", cmd_export, NULL,
     "With --child REF: the subject-access export (AVG art. 15 and 20): everything this\n"
     "node holds about the child with that ref (its rows in every case scope, each of its\n"
     "arrangements and every row hanging off them, consents included, the history of\n"
     "those rows with the organisation and node of each change, and the access log's\n"
     "entries for those arrangements) as one JSON document, to FILE (created new, mode\n"
     "0600) or standard output. The format is described in docs/export.md. The export\n"
     "itself is recorded in the access log.\n\n"
     "Without --child: print every visible (not deleted) row of every table, or of the named "
     "tables, as\n"
     "JSON lines in the format `arrangctl import` reads: {\"table\": T, \"id\": ID, FIELD:\n"
     "value...} with null fields left out. Tables come in dependency order\n"
     "(organisation, child, arrangement, then the rest), so `arrangctl export >\n"
     "rows.jsonl` and `arrangctl import rows.jsonl` on another replica round-trip. The\n"
     "output is JSON with or without --json.\n\n",
     0, "Data"},
    {"access-log", NULL, "[--arrangement ID] [--since T] | verify",
     "who read which case data, when (NEN 7513)", cmd_access_log, NULL,
     "Every read of case data through the API (show, list, history, search, query,\n"
     "export) is recorded in this node's access log: the reader's Unix user (the API\n"
     "socket's peer credentials), this node's organisation, the time, the action, the\n"
     "table, row and arrangement ids and the names of the fields read - never a value.\n"
     "Without arguments: every entry, oldest first; --arrangement ID those of one\n"
     "arrangement, --since T (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC) those from T on.\n"
     "--json prints one JSON object per entry per line.\n\n"
     "`access-log verify` checks the log's hash chain (BLAKE2b, each entry over the one\n"
     "before) and prints the head hash; a modified, deleted or reordered entry is\n"
     "reported as \"error: access log entry N ...\" with exit status 1. Record the head\n"
     "hash elsewhere from time to time: the chain then also shows entries removed from\n"
     "its end.\n\n"
     "Example: arrangctl access-log --arrangement 0b3f...-... --since 2026-01-01\n\n",
     0, "Data"},
    {"retention", "due", "[--by DATE]", "when each case's retention period ends", cmd_retention_due,
     NULL,
     "For every arrangement and every kind of organisation involved in it (provider,\n"
     "school, swv, gemeente), the date its retention period ends ([retention] in\n"
     "arrangd.conf, see arrangd(8)) and the rule that started it: the arrangement's\n"
     "end_on (or a care assignment's later valid_to), the day its status became ended,\n"
     "archived, withdrawn or rejected, or, for a provider, the dossier's last change\n"
     "(Jeugdwet art. 7.3.8). A running arrangement has no date for the kinds counted\n"
     "from its end. DUE is yes when the date is today or past (or DATE with --by).\n"
     "Nothing is erased or shredded: this only lists.\n\n",
     0, "Data"},
    {"retention", "apply", "[--yes]", "act on the retention periods due today", cmd_retention_apply,
     NULL,
     "Act on what `retention due` lists as due today, and on nothing else: an\n"
     "arrangement whose period for this node's own kind of organisation (its\n"
     "organisation row) has ended has this node's copy shredded (`scope shred`); one this\n"
     "node owns whose periods have ended for every kind of organisation involved is\n"
     "erased for everyone (`scope erase`). Without --yes nothing is done: it prints what\n"
     "it would do. Both are final.\n\n",
     0, "Data"},
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

/* The nouns that take a verb; table nouns take the ANY_TABLE verbs. */
static const struct noun nouns[] = {
    {"quarantine", NULL,
     "Change sets this node received but did not apply are kept in quarantine with the\n"
     "reason (an ARR_E* name) and never dropped.",
     false, false, " (list or retry)"},
    {"denied", NULL,
     "Change sets whose ops are masked because write authorisation denied them, with\n"
     "the rule they broke.",
     false, false, " (list or show)"},
    {"member", NULL,
     "The region's members: the members file's seed with the signed member change sets\n"
     "every node folds over it.",
     false, false, " (list, show, add, remove, rotate-key or endpoint)"},
    {"retention", NULL,
     "Retention periods of the case data this node holds (DOMAIN.md; arrangd(8)).", false, false,
     " (due or apply)"},
    {"scope", NULL,
     "An arrangement and what hangs off it are readable only by its parties; the other\n"
     "nodes relay them encrypted. A scope is named by its arrangement.",
     false, false, " (show, grant, revoke, erase or shred)"},
    {"arrangement", "arrangement",
     "Education–youth-care arrangements (onderwijs-jeugdhulparrangementen).", false, false, NULL},
    {"organisation", "organisation", "Rows of the @T table.", true, false, NULL},
    {"child", "child", "Rows of the @T table.", true, false, NULL},
    {"party", "arrangement_party", "Rows of the @T table.", true, false, NULL},
    {"arrangement_party", "arrangement_party", "Rows of the @T table.", true, true, NULL},
    {"funding", "funding_share", "Rows of the @T table.", true, false, NULL},
    {"funding_share", "funding_share", "Rows of the @T table.", true, true, NULL},
    {"assignment", "care_assignment", "Rows of the @T table.", true, false, NULL},
    {"care_assignment", "care_assignment", "Rows of the @T table.", true, true, NULL},
    {"evaluation", "evaluation", "Rows of the @T table.", true, false, NULL},
    {"consent", "consent", "Rows of the @T table.", true, false, NULL},
    {"goal", "goal",
     "Goals of an arrangement's plan (één kind, één plan), in the plan's order (ordinal);\n"
     "`goal list arrangement_id=ID` lists one plan, `arrangement show` prints it.",
     true, false, NULL},
    {"goal_evaluation", "goal_evaluation",
     "What an evaluation recorded for one goal of the same arrangement's plan.", true, false, NULL},
};

#define NNOUNS (sizeof(nouns) / sizeof(nouns[0]))

const struct cmd *
commands_table(size_t *n)
{
	*n = NCMDS;
	return cmds;
}

const struct noun *
commands_nouns(size_t *n)
{
	*n = NNOUNS;
	return nouns;
}

bool
commands_of_noun(const struct cmd *c, const struct noun *n)
{
	return strcmp(c->noun, n->noun) == 0 || (n->any_table && strcmp(c->noun, ANY_TABLE) == 0);
}

int
commands_args(struct cli *cli, const struct cmd_call *call, int argc, char **argv, struct opt *opts,
              const struct schema_table *table, struct args *a)
{
	int rc = args_parse(cli, argc, argv, opts, table, a);

	if (rc == CLI_OK && a->help)
		commands_help_cmd(call);
	return rc;
}

int
commands_args_n(struct cli *cli, const struct cmd_call *call, int argc, char **argv,
                struct opt *opts, const char *what, struct args *a)
{
	int rc = commands_args(cli, call, argc, argv, opts, NULL, a);

	if (rc != CLI_OK || a->help)
		return rc;
	if (what == NULL && a->npos > 0)
		return cli_usage(cli, "unexpected argument '%s'", a->pos[0]);
	if (what != NULL && a->npos != 1)
		return a->npos == 0 ? cli_usage(cli, "missing %s", what)
		                    : cli_usage(cli, "too many arguments");
	return CLI_OK;
}

int
commands_no_args(struct cli *cli, const struct cmd_call *call, int argc, char **argv, bool *done)
{
	struct opt opts[] = {{NULL, false, NULL}};
	struct args a;
	int rc = commands_args_n(cli, call, argc, argv, opts, NULL, &a);

	*done = rc != CLI_OK || a.help;
	args_free(&a);
	return rc;
}

/* Set cli->cmd to "noun verb" for "see 'arrangctl ... --help'". */
static void
set_name(struct cli *cli, const char *noun, const char *verb)
{
	snprintf(cli->cmd, sizeof(cli->cmd), "%s%s%s", noun, verb != NULL ? " " : "",
	         verb != NULL ? verb : "");
}

/* "NOUN [global options] VERB ARGS...": argv[0] is the noun. */
static int
dispatch_verb(struct cli *cli, const struct noun *n, int argc, char **argv)
{
	static char help_word[] = "--help";
	static char *help_argv[] = {help_word};
	struct cmd_call call = {NULL, n->noun, NULL};
	bool help = false;
	int i = 1;

	if (n->table != NULL)
		call.t = schema_table_find(n->table);
	set_name(cli, n->noun, NULL);
	/* Global options may come before the verb. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		int rc = args_global(cli, argc, argv, &i, &help);

		if (rc == 0)
			return cli_usage(cli, "unknown option '%s'", argv[i]);
		if (rc != 1)
			return rc;
	}
	if (i >= argc) {
		if (!help)
			return cli_usage(cli, "missing command for '%s'%s", n->noun,
			                 n->hint != NULL ? n->hint : "");
		commands_help_noun(n, call.t);
		return CLI_OK;
	}
	for (size_t k = 0; k < NCMDS; k++) {
		if (cmds[k].verb == NULL || !commands_of_noun(&cmds[k], n) ||
		    strcmp(cmds[k].verb, argv[i]) != 0)
			continue;
		call.cmd = &cmds[k];
		set_name(cli, n->noun, cmds[k].verb);
		if (help)
			return cmds[k].fn(cli, &call, 1, help_argv);
		return cmds[k].fn(cli, &call, argc - i - 1, argv + i + 1);
	}
	return cli_usage(cli, "unknown command '%s %s'", n->noun, argv[i]);
}

int
commands_dispatch(struct cli *cli, int argc, char **argv)
{
	for (size_t k = 0; k < NCMDS; k++)
		if (cmds[k].verb == NULL && strcmp(cmds[k].noun, argv[0]) == 0) {
			struct cmd_call call = {&cmds[k], cmds[k].noun, NULL};

			set_name(cli, cmds[k].noun, NULL);
			return cmds[k].fn(cli, &call, argc - 1, argv + 1);
		}
	for (size_t k = 0; k < NNOUNS; k++)
		if (strcmp(nouns[k].noun, argv[0]) == 0)
			return dispatch_verb(cli, &nouns[k], argc, argv);
	return cli_usage(cli, "unknown command '%s'", argv[0]);
}
