// mempool as a C++17 std::pmr::memory_resource, header-only, over the C ABI.
//
//   mempool::PoolMemoryResource res(pool);          // an mp_pool * or a BasicMemoryPool &
//   std::pmr::vector<std::pmr::string> v(&res);     // v and its strings live in the pool
//
// allocate is mp_pool_allocate, deallocate is mp_pool_deallocate; a failure
// throws mempool::BadAlloc, a std::bad_alloc (pmr's contract) that carries
// the status and the library's detail message. The resource does not own
// the pool: the pool must outlive it and every block allocated through it.
// Two resources over one pool compare equal, so either frees the other's
// blocks. Thread safety is the pool's (a thread_safe pool serves any thread).
#ifndef MEMPOOL_MEMPOOL_PMR_HPP
#define MEMPOOL_MEMPOOL_PMR_HPP

#include <mempool/mempool.hpp>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <memory_resource>
#include <new>

namespace mempool {

/// What a PoolMemoryResource throws when the pool cannot serve a request:
/// a std::bad_alloc, as std::pmr requires, with the pool's status and
/// detail message. Copying never throws (the message is a fixed buffer).
class BadAlloc : public std::bad_alloc {
public:
    BadAlloc(mp_status status, const char *detail) noexcept : status_(status)
    {
        std::snprintf(what_, sizeof what_, "%s: %s", mp_status_name(status), detail ? detail : "");
    }
    const char *what() const noexcept override { return what_; }
    mp_status status() const noexcept { return status_; }

private:
    mp_status status_;
    char what_[256];
};

/// A std::pmr::memory_resource whose blocks come from one pool.
class PoolMemoryResource : public std::pmr::memory_resource {
public:
    /// A resource over pool, whose memory the host must be able to touch
    /// (a CPU pool, or a GPU pool of pinned or managed memory): containers
    /// construct their elements in it. Throws the pool's exception for a bad
    /// handle, InvalidArgumentException for device memory.
    explicit PoolMemoryResource(mp_pool *pool) : pool_(pool), alignment_(hostAlignment(pool)) {}
    explicit PoolMemoryResource(BasicMemoryPool &pool) : PoolMemoryResource(pool.handle()) {}

    mp_pool *pool() const noexcept { return pool_; }
    /// The pool's alignment: the largest alignment served without
    /// mp_pool_allocate_aligned.
    std::size_t alignment() const noexcept { return alignment_; }
    /// Frees the pool refused (a pointer it never handed out, or freed
    /// twice): deallocate cannot throw, so they are counted here instead,
    /// and the pool is left as it was.
    std::size_t refusedFrees() const noexcept { return refused_.load(std::memory_order_relaxed); }

protected:
    void *do_allocate(std::size_t bytes, std::size_t alignment) override
    {
        void *p = nullptr;
        // pmr allows allocate(0) and wants a distinct pointer; the pool refuses size 0.
        // Beyond the pool's alignment, the pool places the block (fixed and debug pools
        // refuse: std::bad_alloc with the pool's reason).
        mp_status s = alignment > alignment_ ? mp_pool_allocate_aligned(pool_, bytes ? bytes : 1, alignment, &p)
                                             : mp_pool_allocate(pool_, bytes ? bytes : 1, &p);
        if (s != MP_OK)
            throw BadAlloc(s, mp_last_error_message());
        return p;
    }

    void do_deallocate(void *p, std::size_t, std::size_t) override
    {
        if (mp_pool_deallocate(pool_, p) != MP_OK)
            refused_.fetch_add(1, std::memory_order_relaxed);
    }

    bool do_is_equal(const std::pmr::memory_resource &other) const noexcept override
    {
        if (this == &other)
            return true;
        const auto *o = dynamic_cast<const PoolMemoryResource *>(&other);
        return o != nullptr && o->pool_ == pool_;
    }

private:
    static std::size_t hostAlignment(mp_pool *pool)
    {
        mp_config c{};
        c.struct_size = sizeof c;
        detail::check(mp_pool_get_config(pool, &c));
        mp_memory_type t;
        detail::check(mp_pool_get_memory_type(pool, &t));
        if (t == MP_MEMORY_GPU && !c.use_pinned_memory && !c.use_managed_memory)
            throw InvalidArgumentException(MP_ERR_INVALID_ARGUMENT,
                                           "a memory resource needs host memory: this pool holds GPU device memory");
        return c.alignment;
    }

    mp_pool *pool_;
    std::size_t alignment_;
    std::atomic<std::size_t> refused_{0};
};

} // namespace mempool

#endif
