/* The runtime version query, so a program can tell the library it loaded
 * from the header it was compiled with. */
#include "core/core.h"

#define MP__STR2(x) #x
#define MP__STR(x) MP__STR2(x)

unsigned mp_version(void) { return MP_VERSION_NUMBER; }

const char *mp_version_string(void)
{
    return MP__STR(MP_VERSION_MAJOR) "." MP__STR(MP_VERSION_MINOR) "." MP__STR(MP_VERSION_PATCH)
#ifdef MEMPOOL_HAVE_CUDA
        " (cuda)"
#else
        " (no cuda)"
#endif
        ;
}
