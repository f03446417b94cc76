/* Status codes: names, human strings, and the per-thread detail of the last
 * failure. mp__fail is the one place that writes the detail. */
#include "core/core.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static _Thread_local mp_status last_status = MP_OK;
static _Thread_local char last_detail[512];

static const struct {
    const char *name;
    const char *text;
} status_table[] = {
    [MP_OK] = {"MP_OK", "success"},
    [MP_ERR_INVALID_ARGUMENT] = {"MP_ERR_INVALID_ARGUMENT", "invalid argument"},
    [MP_ERR_OUT_OF_MEMORY] = {"MP_ERR_OUT_OF_MEMORY", "out of memory"},
    [MP_ERR_INVALID_POINTER] = {"MP_ERR_INVALID_POINTER", "invalid pointer"},
    [MP_ERR_INVALID_OPERATION] = {"MP_ERR_INVALID_OPERATION", "invalid operation"},
    [MP_ERR_CUDA] = {"MP_ERR_CUDA", "CUDA error"},
    [MP_ERR_NOT_FOUND] = {"MP_ERR_NOT_FOUND", "not found"},
    [MP_ERR_ALREADY_EXISTS] = {"MP_ERR_ALREADY_EXISTS", "already exists"},
    [MP_ERR_UNSUPPORTED] = {"MP_ERR_UNSUPPORTED", "unsupported"},
    [MP_ERR_CORRUPTION] = {"MP_ERR_CORRUPTION", "memory corruption detected"},
    [MP_ERR_BUFFER_TOO_SMALL] = {"MP_ERR_BUFFER_TOO_SMALL", "buffer too small"},
};

static int known(mp_status s)
{
    return (unsigned)s < sizeof status_table / sizeof status_table[0] && status_table[s].name;
}

const char *mp_status_name(mp_status status)
{
    return known(status) ? status_table[status].name : "MP_ERR_UNKNOWN";
}

const char *mp_status_string(mp_status status)
{
    return known(status) ? status_table[status].text : "unknown status";
}

mp_status mp_last_error(void) { return last_status; }

const char *mp_last_error_message(void) { return last_detail; }

mp_status mp__fail(mp_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_detail, sizeof last_detail, fmt, ap);
    va_end(ap);
    last_status = status;
    return status;
}

mp_status mp__fail_cause(mp_status status, const char *fmt, ...)
{
    char cause[sizeof last_detail];
    memcpy(cause, last_detail, sizeof cause);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_detail, sizeof last_detail, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof last_detail)
        snprintf(last_detail + n, sizeof last_detail - (size_t)n, ": %s", cause);
    last_status = status;
    return status;
}

void mp_string_free(char *string) { free(string); }

#if defined(MEMPOOL_ASSERTS) && MEMPOOL_ASSERTS
_Noreturn void mp__assert_fail(const char *cond, const char *file, int line, const char *func)
{
    fprintf(stderr, "mempool: internal invariant broken: %s (%s:%d, %s)\n", cond, file, line, func);
    abort();
}
#endif
