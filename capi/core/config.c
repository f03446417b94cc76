/* Configuration: the seed's eight presets and the general-purpose one,
 * validation, and the struct_size protocol for every struct that crosses
 * the ABI.
 *
 * struct_size rule (as Linux's extensible syscall structs): a caller's struct
 * smaller than ours but at least the 1.0 size is read as far as it goes, the
 * rest taking defaults; a larger one is accepted when the bytes we do not
 * know are zero, so a newer program's unused fields cost nothing. */
#include "backend/cuda_rt.h"
#include "core/config.h"
#include "strategy/strategy.h"

#include <stddef.h>
#include <string.h>

#define STRUCT_SIZE_LIMIT 4096
#define MIB ((size_t)1 << 20)

static mp_status struct_size_ok(size_t given, size_t min_size, const char *what)
{
    if (given < min_size || given > STRUCT_SIZE_LIMIT)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%s->struct_size is %zu; set it to sizeof(%s) (%zu in this library)",
                        what, given, what, min_size);
    return MP_OK;
}

mp_status mp__struct_out(void *user, const void *ours, size_t min_size, size_t our_size, const char *what)
{
    if (!user)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%s is NULL", what);
    size_t given = *(const size_t *)user;
    mp_status s = struct_size_ok(given, min_size, what);
    if (s != MP_OK)
        return s;
    size_t n = given < our_size ? given : our_size;
    memcpy((char *)user + sizeof(size_t), (const char *)ours + sizeof(size_t), n - sizeof(size_t));
    if (given > our_size)
        memset((char *)user + our_size, 0, given - our_size);
    return MP_OK;
}

mp_status mp__records_in(const void *array, size_t capacity, size_t min_size, const char *what, const char *type,
                         size_t *stride)
{
    *stride = array ? *(const size_t *)array : 0;
    if (!array && capacity > 0)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%s is NULL but its capacity is %zu", what, capacity);
    if (array && (*stride < min_size || *stride > STRUCT_SIZE_LIMIT))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "%s->struct_size is %zu; set it to sizeof(%s) (%zu in this library)",
                        what, *stride, type, min_size);
    return MP_OK;
}

void mp__record_out(void *array, size_t stride, size_t i, const void *ours, size_t our_size)
{
    char *dst = (char *)array + i * stride;
    memcpy(dst, ours, stride < our_size ? stride : our_size);
    if (stride > our_size)
        memset(dst + our_size, 0, stride - our_size);
    *(size_t *)(void *)dst = stride;
}

static mp_config base(mp_allocator_type type, size_t initial, size_t alignment)
{
    return (mp_config){
        .struct_size = sizeof(mp_config),
        .allocator_type = type,
        .initial_size = initial,
        .block_size = 256,
        .thread_safe = true,
        .sync_type = MP_SYNC_MUTEX,
        .track_stats = true,
        .enable_debugging = false,
        .device_id = 0,
        .alignment = alignment,
        .growth_factor = 2,
        .max_size = 0,
    };
}

static mp_status put(mp_config *out, const mp_config *c)
{
    return mp__struct_out(out, c, MP__CONFIG_SIZE_1_0, sizeof(mp_config), "config");
}

static mp_status bad_device(int device_id)
{
    return mp__fail(MP_ERR_INVALID_ARGUMENT, "device_id %d is negative", device_id);
}

mp_status mp_config_default_cpu(mp_config *config)
{
    mp_config c = base(MP_ALLOCATOR_VARIABLE_SIZE, MIB, MP_DEFAULT_ALIGNMENT);
    return put(config, &c);
}

mp_status mp_config_default_gpu(mp_config *config)
{
    mp_config c = base(MP_ALLOCATOR_VARIABLE_SIZE, MIB, MP_DEFAULT_GPU_ALIGNMENT);
    return put(config, &c);
}

mp_status mp_config_fixed_size_cpu(mp_config *config, size_t block_size)
{
    if (block_size == 0 || block_size > MP__MAX_REQUEST)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "block_size %zu is out of range (1 .. 2^48)", block_size);
    mp_config c = base(MP_ALLOCATOR_FIXED_SIZE, MIB, MP_DEFAULT_ALIGNMENT);
    c.block_size = block_size;
    return put(config, &c);
}

mp_status mp_config_fixed_size_gpu(mp_config *config, size_t block_size, int device_id)
{
    if (block_size == 0 || block_size > MP__MAX_REQUEST)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "block_size %zu is out of range (1 .. 2^48)", block_size);
    if (device_id < 0)
        return bad_device(device_id);
    mp_config c = base(MP_ALLOCATOR_FIXED_SIZE, MIB, MP_DEFAULT_GPU_ALIGNMENT);
    c.block_size = block_size;
    c.device_id = device_id;
    return put(config, &c);
}

mp_status mp_config_high_performance_cpu(mp_config *config)
{
    /* A cache line: blocks never share one (no false sharing between
     * threads), and the state map, a byte per 64 bytes instead of per 16, is
     * dense enough to stay in cache (churn about 14% faster; bench/RESULTS.md). */
    mp_config c = base(MP_ALLOCATOR_VARIABLE_SIZE, 64 * MIB, 64);
    c.sync_type = MP_SYNC_LOCK_FREE;
    c.track_stats = false;
    return put(config, &c);
}

mp_status mp_config_high_performance_gpu(mp_config *config, int device_id)
{
    if (device_id < 0)
        return bad_device(device_id);
    mp_config c = base(MP_ALLOCATOR_VARIABLE_SIZE, 256 * MIB, MP_DEFAULT_GPU_ALIGNMENT);
    c.sync_type = MP_SYNC_LOCK_FREE;
    c.track_stats = false;
    c.device_id = device_id;
    return put(config, &c);
}

mp_status mp_config_general_purpose_cpu(mp_config *config)
{
    /* A heap for any mix of sizes and threads: thread caches (no lock on the
     * common path), counters without a record per allocation. 64 MiB of
     * address space up front (resident only where blocks are): grown from
     * nothing, a Lua state spread over 14 chunks and every free outside a
     * thread's current chunk took the slow path (1.99 s and 37 MiB peak
     * against 1.80 s and 34 MiB; bench/RESULTS.md, 2026-11-29). */
    mp_config c = base(MP_ALLOCATOR_VARIABLE_SIZE, 64 * MIB, MP_DEFAULT_ALIGNMENT);
    c.sync_type = MP_SYNC_LOCK_FREE;
    c.counters_only = true;
    return put(config, &c);
}

mp_status mp_config_debug_cpu(mp_config *config)
{
    mp_config c = base(MP_ALLOCATOR_VARIABLE_SIZE, MIB, MP_DEFAULT_ALIGNMENT);
    c.enable_debugging = true;
    return put(config, &c);
}

mp_status mp_config_debug_gpu(mp_config *config, int device_id)
{
    if (device_id < 0)
        return bad_device(device_id);
    mp_config c = base(MP_ALLOCATOR_VARIABLE_SIZE, MIB, MP_DEFAULT_GPU_ALIGNMENT);
    c.enable_debugging = true;
    c.device_id = device_id;
    return put(config, &c);
}

mp_status mp__config_read(const mp_config *user, mp_config *out)
{
    if (!user)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "config is NULL");
    size_t given = user->struct_size;
    mp_status s = struct_size_ok(given, MP__CONFIG_SIZE_1_0, "config");
    if (s != MP_OK)
        return s;
    for (size_t i = sizeof(mp_config); i < given; i++)
        if (((const unsigned char *)user)[i] != 0)
            return mp__fail(MP_ERR_UNSUPPORTED, "config byte %zu is set, but this library (%s) knows only the "
                            "first %zu bytes of mp_config", i, mp_version_string(), sizeof(mp_config));
    *out = base(user->allocator_type, user->initial_size, user->alignment);
    memcpy(out, user, given < sizeof(mp_config) ? given : sizeof(mp_config));
    out->struct_size = sizeof(mp_config);
    return MP_OK;
}

mp_status mp__config_check(const mp_config *c, mp_memory_type type)
{
    if ((unsigned)type > MP_MEMORY_GPU)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "memory_type %d is neither MP_MEMORY_CPU nor MP_MEMORY_GPU", (int)type);
    const mp__strategy *strategy = mp__strategy_for(c->allocator_type);
    if (!strategy)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "allocator_type %d is unknown", (int)c->allocator_type);
    if ((unsigned)c->sync_type > MP_SYNC_LOCK_FREE)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "sync_type %d is unknown", (int)c->sync_type);
    if (!mp__is_pow2(c->alignment) || c->alignment > ((size_t)1 << 30))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "alignment %zu is not a power of two up to 1 GiB", c->alignment);
    if (strategy->one_size && (c->block_size == 0 || c->block_size > MP__MAX_REQUEST))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "block_size %zu of a fixed-size pool is out of range (1 .. 2^48)",
                        c->block_size);
    if (c->growth_factor < 1 || c->growth_factor > 64)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "growth_factor %zu is out of range (1 .. 64)", c->growth_factor);
    if (c->initial_size > MP__MAX_REQUEST || c->max_size > ((size_t)1 << 56))
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "initial_size %zu or max_size %zu is beyond any machine",
                        c->initial_size, c->max_size);
    if (c->max_size && c->initial_size > c->max_size)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "initial_size %zu exceeds max_size %zu", c->initial_size, c->max_size);
    if (c->use_pinned_memory && c->use_managed_memory)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "use_pinned_memory and use_managed_memory exclude each other");
    if (c->device_id < 0)
        return bad_device(c->device_id);
    if (type == MP_MEMORY_GPU || c->use_managed_memory)
        return mp__cuda_check_device(c->device_id);
    if (c->use_pinned_memory && mp__cuda_device_count() == 0)
        return mp__cuda_check_device(0);
    return MP_OK;
}

mp_status mp_config_validate(const mp_config *config, mp_memory_type memory_type)
{
    mp_config c;
    mp_status s = mp__config_read(config, &c);
    return s == MP_OK ? mp__config_check(&c, memory_type) : s;
}

/* The length of the UTF-8 sequence at s (at most n bytes) and its code
 * point, or 0 when it is malformed: a stray continuation byte, a truncated
 * or overlong sequence, a surrogate, or a code point above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *out)
{
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    uint32_t cp = len == 1 ? c : c & (0x7Fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *out = cp;
    return len;
}

mp_status mp__check_name(const char *name)
{
    if (!name)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool name is NULL");
    size_t n = strnlen(name, MP_NAME_MAX + 1);
    if (n == 0 || n > MP_NAME_MAX)
        return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool name must be 1 to %d bytes long", MP_NAME_MAX);
    const unsigned char *u = (const unsigned char *)name;
    for (size_t i = 0, len; i < n; i += len) {
        uint32_t cp;
        if (!(len = utf8_seq(u + i, n - i, &cp)))
            return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool name is not valid UTF-8 at byte %zu", i);
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) /* C0, DEL and C1 (U+009B is a terminal's CSI) */
            return mp__fail(MP_ERR_INVALID_ARGUMENT, "pool name has a control character at byte %zu", i);
    }
    return MP_OK;
}
