package org.mempool.bench;

import java.util.Arrays;
import org.mempool.Allocation;
import org.mempool.MemoryPool;
import org.mempool.MemoryType;
import org.mempool.PoolConfig;

/**
 * Per-call overhead of allocate+free from Java against the same loop in C,
 * on the same pool, in one process. Prints medians and the ratio; then, for
 * the managed path, allocateBlock+close pairs and a putLong+getLong pair of
 * the checked accessors (no C counterpart).
 * usage: java -Dmempool.jni.library=... -Dmempool.bench.library=... OverheadBench [runs] [pairs]
 */
public final class OverheadBench {
    static native double cPairs(long pool, long size, long n);

    static double javaPairs(MemoryPool pool, long size, long n) {
        long t0 = System.nanoTime();
        for (long i = 0; i < n; i++)
            pool.deallocate(pool.allocate(size));
        return (System.nanoTime() - t0) / (double) n;
    }

    static double blockPairs(MemoryPool pool, long size, long n) {
        long t0 = System.nanoTime();
        for (long i = 0; i < n; i++)
            pool.allocateBlock(size).close();
        return (System.nanoTime() - t0) / (double) n;
    }

    static long sink;

    static double accessorPairs(Allocation a, long n) {
        long t0 = System.nanoTime(), sum = 0;
        for (long i = 0; i < n; i++) {
            a.putLong(i & 56, i);
            sum += a.getLong(i & 56);
        }
        sink += sum;
        return (System.nanoTime() - t0) / (double) n;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    public static void main(String[] args) {
        System.load(System.getProperty("mempool.bench.library"));
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 9;
        long pairs = args.length > 1 ? Long.parseLong(args[1]) : 1_000_000;
        String[] names = {"fixed 64 B", "variable 64 B"};
        PoolConfig[] configs = {PoolConfig.fixedSizeCPU(64), PoolConfig.defaultCPU()};
        for (int k = 0; k < configs.length; k++) {
            try (MemoryPool pool = MemoryPool.create("bench", MemoryType.CPU, configs[k])) {
                javaPairs(pool, 64, pairs); // warm the JIT
                cPairs(pool.handle(), 64, pairs);
                double[] tj = new double[runs], tc = new double[runs];
                for (int r = 0; r < runs; r++) {
                    tj[r] = javaPairs(pool, 64, pairs);
                    tc[r] = cPairs(pool.handle(), 64, pairs);
                }
                double j = median(tj), c = median(tc);
                if (c < 0)
                    throw new IllegalStateException("the C loop failed: " + org.mempool.Mempool.lastErrorMessage());
                System.out.printf("java  %-14s C %7.1f ns/pair   Java %7.1f ns/pair   Java/C %5.2fx%n", names[k], c, j, j / c);
                try (Allocation a = pool.allocateBlock(64)) {
                    blockPairs(pool, 64, pairs);
                    accessorPairs(a, pairs);
                    double[] tb = new double[runs], ta = new double[runs];
                    for (int r = 0; r < runs; r++) {
                        tb[r] = blockPairs(pool, 64, pairs);
                        ta[r] = accessorPairs(a, pairs);
                    }
                    System.out.printf("java  %-14s allocateBlock+close %7.1f ns/pair   putLong+getLong %5.1f ns/pair%n",
                            names[k], median(tb), median(ta));
                }
            }
        }
    }
}
