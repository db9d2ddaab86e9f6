/*
 * arrerr.c: names and descriptions of the ARR_E* codes, generated from the one X-macro
 * table in arrerr.h. Owns no state; adding a code means adding a line to that table.
 */
#include "arrerr.h"

/* The English text of code, for log lines and error replies. */
const char *
arrerr_str(int code)
{
	switch (code) {
	case ARR_OK:
		return "success";
#define ARRERR_STR(name, num, text)                                                                \
	case name:                                                                                 \
		return text;
		ARRERR_MAP(ARRERR_STR)
#undef ARRERR_STR
	default:
		return "unknown error";
	}
}

/* The symbolic name of code, as it appears in quarantine reasons and the spec. */
const char *
arrerr_name(int code)
{
	switch (code) {
	case ARR_OK:
		return "ARR_OK";
#define ARRERR_NAME(name, num, text)                                                               \
	case name:                                                                                 \
		return #name;
		ARRERR_MAP(ARRERR_NAME)
#undef ARRERR_NAME
	default:
		return "ARR_E?";
	}
}
