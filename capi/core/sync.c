/* The pool lock's slow path. A waiter reads the flag until it looks free
 * (no cache-line ping-pong while it spins), tries the exchange again, and
 * after a bounded spin yields its CPU, so a holder that was preempted gets
 * to run even when threads outnumber cores. Critical sections are a few
 * dozen nanoseconds: sleeping in the kernel would cost more than it saves. */
#include "core/sync.h"

#include <sched.h>

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void mp__lock_wait(mp__lock *lock)
{
    for (;;) {
        for (int spin = 0; spin < 128; spin++) {
            if (!atomic_load_explicit(&lock->held, memory_order_relaxed) &&
                !atomic_exchange_explicit(&lock->held, 1, memory_order_acquire))
                return;
            cpu_relax();
        }
        sched_yield();
    }
}
