// A program written against the installed jar alone (tests/package/check_java_package.sh):
// a pool, an allocation, a free, the stats.
import org.mempool.*;

public class Consumer {
    public static void main(String[] args) {
        try (MemoryPool pool = MemoryPool.create("consumer", MemoryType.CPU, PoolConfig.fixedSizeCPU(64))) {
            long a = pool.allocate(48);
            pool.deallocate(a);
            MemoryStats s = pool.getStats();
            System.out.println("mempool " + Mempool.version() + ": allocations " + s.getAllocationCount()
                               + ", deallocations " + s.getDeallocationCount() + ", in use " + s.getCurrentUsed());
        }
    }
}
