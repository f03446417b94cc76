/* A program that finds mempool the way users do: find_package or pkg-config. */
#include <mempool/mempool.h>
#include <stdio.h>

int main(void)
{
    if (mp_version() != MP_VERSION_NUMBER) {
        fprintf(stderr, "header %d, library %u\n", MP_VERSION_NUMBER, mp_version());
        return 1;
    }
    void *p = NULL;
    if (mp_allocate(NULL, 64, &p) != MP_OK || mp_deallocate(NULL, p) != MP_OK) {
        fprintf(stderr, "%s\n", mp_last_error_message());
        return 1;
    }
    puts("consumer ok");
    return 0;
}
