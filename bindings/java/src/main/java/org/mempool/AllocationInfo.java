package org.mempool;

import java.util.ArrayList;
import java.util.List;

/** One live allocation (the seed's AllocationInfo): address, requested size, sequence number. */
public record AllocationInfo(long address, long size, long sequence) {
    /* A C call that copies records: mp_pool_get_allocations or mp_tracker_get_allocations. */
    interface Lister { void list(mp_allocation_info out, long room, long[] count); }

    /* Every record that lister gives, oldest first, with room for all of them. */
    static List<AllocationInfo> list(Lister lister) {
        long[] count = new long[1];
        lister.list(null, 0, count);
        while (true) {
            long n = count[0];
            mp_allocation_info records = MempoolNative.mpswig_records(n);
            try {
                lister.list(records, n, count);
                List<AllocationInfo> list = new ArrayList<>();
                for (long i = 0; i < count[0]; i++) {
                    mp_allocation_info r = MempoolNative.mpswig_record_at(records, i);
                    list.add(new AllocationInfo(r.getPtr(), r.getSize(), r.getSequence().longValue()));
                }
                return list;
            } catch (BufferTooSmallException grew) {
                // another thread allocated meanwhile; a failed call leaves the out-array as it was: count again
                lister.list(null, 0, count);
            } finally {
                MempoolNative.mpswig_records_free(records);
            }
        }
    }
}
