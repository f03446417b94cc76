/* The strategy table: which strategy serves each mp_allocator_type. A new
 * strategy is one file with its mp__strategy and one line here (and its
 * enumerator in capi/mempool.abi.lua). */
#include "strategy/strategy.h"

static const mp__strategy *const strategies[] = {
    [MP_ALLOCATOR_FIXED_SIZE] = &mp__strategy_fixed,
    [MP_ALLOCATOR_VARIABLE_SIZE] = &mp__strategy_tlsf,
};

const mp__strategy *mp__strategy_for(mp_allocator_type type)
{
    return (unsigned)type < sizeof strategies / sizeof *strategies ? strategies[type] : NULL;
}
