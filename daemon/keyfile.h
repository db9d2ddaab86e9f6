/*
 * keyfile.h: the node key on disk: data_dir/node.key, mode 0600, holding the 32-byte
 * Ed25519 seed as 64 hex characters and a newline. Refuses to load a key file that is
 * readable by group or others, or malformed. Never logs the key.
 */
#ifndef KEYFILE_H
#define KEYFILE_H

#include <stddef.h>

#include "nodekey.h"

/* Create path with a new key; ARR_EEXIST if it exists. *out owned by the caller. */
int keyfile_create(const char *path, struct nodekey **out);
/* Load; ARR_EKEY for bad content or permissions, ARR_EIO/ARR_ENOTFOUND for I/O. */
int keyfile_load(const char *path, struct nodekey **out);

/*
 * The same, and on failure a one-line reason in err ("path: message", errlen bytes,
 * always NUL-terminated; may be NULL) for the operator: which permission bits are
 * wrong, what is malformed. Never contains key material.
 */
int keyfile_create_err(const char *path, struct nodekey **out, char *err, size_t errlen);
int keyfile_load_err(const char *path, struct nodekey **out, char *err, size_t errlen);

#endif
