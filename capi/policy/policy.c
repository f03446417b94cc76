/* Policies: the calls that give a pool its slow-path hooks (hooks.c has
 * the rules a running hook lives by) and the policy-driven trim. A client
 * of the pool (pool.h). */
#include "core/pool.h"
#include "policy/hooks.h"

#include <string.h>

mp_status mp_pool_set_policy(mp_pool *handle, const mp_policy *policy)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s != MP_OK)
        return s;
    mp__hooks *next = NULL;
    if (policy) {
        size_t given = policy->struct_size;
        if (given < MP__POLICY_SIZE_1_1 || given > 4096)
            return mp__fail(MP_ERR_INVALID_ARGUMENT, "policy->struct_size is %zu; set it to sizeof(mp_policy)", given);
        for (size_t i = sizeof(mp_policy); i < given; i++)
            if (((const unsigned char *)policy)[i] != 0)
                return mp__fail(MP_ERR_UNSUPPORTED, "policy byte %zu is set, but this library knows only the first "
                                "%zu bytes of mp_policy", i, sizeof(mp_policy));
        if (!(next = mp__hooks_new(policy)))
            return mp__fail(MP_ERR_OUT_OF_MEMORY, "pool '%s': no memory for its policy", mp__pool_name(pool));
    }
    /* The old policy's release runs now, or when its last running hook returns. */
    mp__hooks_unref(mp__pool_swap_hooks(pool, next));
    return MP_OK;
}

mp_status mp_pool_trim_auto(mp_pool *handle)
{
    mp__pool *pool;
    mp_status s = mp__pool_get(handle, &pool);
    if (s != MP_OK)
        return s;
    mp__pool_totals t;
    mp__hooks *h = mp__pool_hooks_enter(pool, &t);
    size_t keep = t.initial_size;
    const mp_policy *pol = h ? mp__hooks_policy(h) : NULL;
    if (pol && pol->trim) {
        char detail[256] = "";
        s = pol->trim(pol->user, handle, t.reserved, t.in_use, &keep, detail, sizeof detail);
        if (s != MP_OK)
            s = mp__fail(s, "pool '%s': the trim policy failed: %s", mp__pool_name(pool), detail);
    }
    mp__pool_hooks_leave(pool, h);
    return s == MP_OK ? mp_pool_trim(handle, keep) : s;
}
