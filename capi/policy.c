/* Policies: a pool's slow-path hooks (growth, out of memory, trim). The
 * pool keeps a copy of the caller's mp_policy; pool.c calls the hooks with
 * its lock released, so a hook may call into the pool (reset a scratch pool,
 * read stats). The allocate and free fast paths never look at the policy. */
#include "pool.h"

#include <string.h>

mp_status mp_pool_set_policy(mp_pool *pool, const mp_policy *policy)
{
    mp_status s = mp__pool_check_handle(pool);
    if (s != MP_OK)
        return s;
    mp_policy next = {0};
    if (policy) {
        size_t given = policy->struct_size;
        if (given < MP__POLICY_SIZE_1_1 || given > 4096)
            return mp__fail(MP_ERR_INVALID_ARGUMENT, "policy->struct_size is %zu; set it to sizeof(mp_policy)", given);
        for (size_t i = sizeof next; i < given; i++)
            if (((const unsigned char *)policy)[i] != 0)
                return mp__fail(MP_ERR_UNSUPPORTED, "policy byte %zu is set, but this library knows only the first "
                                "%zu bytes of mp_policy", i, sizeof next);
        memcpy(&next, policy, given < sizeof next ? given : sizeof next);
        next.struct_size = sizeof next;
    }
    mp__lock_acquire(&pool->lock);
    mp_policy old = pool->policy;
    pool->policy = next;
    mp__lock_release(&pool->lock);
    if (old.release)
        old.release(old.user);
    return MP_OK;
}

mp_status mp_pool_trim_auto(mp_pool *pool)
{
    mp_status s = mp__pool_check_handle(pool);
    if (s != MP_OK)
        return s;
    mp__lock_acquire(&pool->lock);
    mp_policy pol = pool->policy;
    size_t reserved = pool->reserved, keep = pool->cfg.initial_size, in_use = 0;
    for (int i = 0; i < MP__ARENAS; i++) {
        mp__usage u = {0};
        if (pool->arena[i].st)
            pool->strategy->usage(pool->arena[i].st, &u);
        in_use += u.free_bytes; /* summed as free, subtracted below */
    }
    in_use = reserved - in_use;
    mp__lock_release(&pool->lock);
    if (pol.trim) {
        char detail[256] = "";
        s = pol.trim(pol.user, pool, reserved, in_use, &keep, detail, sizeof detail);
        if (s != MP_OK)
            return mp__fail(s, "pool '%s': the trim policy failed: %s", pool->name, detail);
    }
    return mp_pool_trim(pool, keep);
}
