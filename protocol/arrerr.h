/*
 * arrerr.h: the one table of error codes shared by protocol, daemon and client.
 * Functions return 0 on success or a negative ARR_E* code; arrerr_str() names it.
 * Codes travel on the wire (API error replies), so their numbers never change.
 */
#ifndef ARRERR_H
#define ARRERR_H

#define ARRERR_MAP(X)                                                                              \
	X(ARR_ENOMEM, 1, "out of memory")                                                          \
	X(ARR_EINVAL, 2, "invalid argument")                                                       \
	X(ARR_EMALFORMED, 3, "malformed message")                                                  \
	X(ARR_ETOOBIG, 4, "message exceeds a protocol limit")                                      \
	X(ARR_ETYPE, 5, "wrong type in message")                                                   \
	X(ARR_ENONCANON, 6, "encoding is not canonical")                                           \
	X(ARR_EVERSION, 7, "unsupported protocol or format version")                               \
	X(ARR_EBADSIG, 8, "signature verification failed")                                         \
	X(ARR_ENOTMEMBER, 9, "origin is not a member of the region")                               \
	X(ARR_ECLOCK, 10, "clock is ahead of local time by more than the allowed drift")           \
	X(ARR_ESCHEMA, 11, "unknown table or column")                                              \
	X(ARR_ECONFLICT, 12, "different content for an existing (origin, seq)")                    \
	X(ARR_EIO, 13, "input/output error")                                                       \
	X(ARR_EDB, 14, "database error")                                                           \
	X(ARR_ENOTFOUND, 15, "not found")                                                          \
	X(ARR_EFULL, 16, "disk or database full")                                                  \
	X(ARR_EREADONLY, 17, "statement is not read-only")                                         \
	X(ARR_ECONFIG, 18, "invalid configuration")                                                \
	X(ARR_EKEY, 19, "invalid key")                                                             \
	X(ARR_ESCOPE, 20, "unknown scope")                                                         \
	X(ARR_EUNAVAIL, 21, "daemon unreachable")                                                  \
	X(ARR_ESTATE, 22, "transition not allowed")                                                \
	X(ARR_EEXIST, 23, "already exists")                                                        \
	X(ARR_ETIMEOUT, 24, "operation took too long")                                             \
	X(ARR_EBUSY, 25, "daemon busy; try again")                                                 \
	X(ARR_EACCES, 26, "permission denied")                                                     \
	X(ARR_EAUTHOR, 27, "author_org is not the signer's organisation")                          \
	X(ARR_EBODYHASH, 28, "body does not match the header's body_hash")                         \
	X(ARR_EDECRYPT, 29, "body cannot be decrypted with the scope key it names")                \
	X(ARR_EFORBIDDEN, 30, "not allowed by the scope's policy")                                 \
	X(ARR_ENOTPARTY, 31, "this node is not a party of the scope")

enum arrerr {
	ARR_OK = 0,
#define ARRERR_ENUM(name, num, text) name = -(num),
	ARRERR_MAP(ARRERR_ENUM)
#undef ARRERR_ENUM
};

/* A static English description of code; "unknown error" for codes not in the table. */
const char *arrerr_str(int code);

/* The symbolic name ("ARR_EBADSIG") of code, or "ARR_E?" when unknown. */
const char *arrerr_name(int code);

#endif
