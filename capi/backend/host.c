/* Host backend: chunks are anonymous private mappings, so a trimmed chunk
 * goes straight back to the kernel. Alignments above the page size are met
 * by mapping extra and starting at the first aligned address inside. */
#include "backend/backend.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static mp_status host_reserve(int device, size_t size, size_t alignment, mp__extent *out)
{
    (void)device;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t extra = alignment > page ? alignment : 0;
    size_t raw_size = mp__align_up(size, page) + extra;
    void *raw = mmap(NULL, raw_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return mp__fail(MP_ERR_OUT_OF_MEMORY, "mmap of %zu bytes failed: %s", raw_size, strerror(errno));
    out->raw = raw;
    out->raw_size = raw_size;
    out->base = (void *)mp__align_up(mp__addr(raw), alignment > page ? alignment : page);
    out->size = raw_size - (size_t)((char *)out->base - (char *)raw);
    return MP_OK;
}

static void host_release(int device, const mp__extent *extent)
{
    (void)device;
    munmap(extent->raw, extent->raw_size);
}

const mp__backend mp__backend_host = {
    .kind = MP_BACKEND_HOST,
    .name = "host",
    .host_accessible = true,
    .reserve = host_reserve,
    .release = host_release,
};
