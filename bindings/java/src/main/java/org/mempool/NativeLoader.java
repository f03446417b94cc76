package org.mempool;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Loads the JNI library once, at the first native call, as zstd-jni does:
 * <ol>
 * <li>the file named by the system property {@code mempool.jni.library}, when
 * set (then nothing else is tried);</li>
 * <li>the copy inside the jar, {@code /native/<os>-<arch>/libmempool_jni.so},
 * extracted to a temporary file (in {@code mempool.jni.tmpdir}, else
 * {@code java.io.tmpdir}) and loaded from there;</li>
 * <li>{@code mempool_jni} from {@code java.library.path}.</li>
 * </ol>
 * The library in the jar has mempool linked in statically: it needs nothing
 * else on the machine but the C library. When every way fails, the
 * {@link UnsatisfiedLinkError} lists what was tried and what to set.
 */
final class NativeLoader {
    static final String PROPERTY = "mempool.jni.library";
    static final String TMPDIR_PROPERTY = "mempool.jni.tmpdir";
    private static boolean loaded;

    private NativeLoader() {}

    /** The folder of the jar's resources for this machine, as {@code linux-x86_64}. */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) os = "linux";
        else if (os.startsWith("mac") || os.startsWith("darwin")) os = "darwin";
        else if (os.startsWith("windows")) os = "windows";
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        switch (arch) {
            case "amd64": case "x86_64": case "x64": arch = "x86_64"; break;
            case "aarch64": case "arm64": arch = "aarch64"; break;
            default: break;
        }
        return os + "-" + arch;
    }

    static synchronized void load() {
        if (loaded) return;
        List<String> tried = new ArrayList<>();
        String path = System.getProperty(PROPERTY);
        if (path != null && !path.isEmpty()) {
            try {
                System.load(path);
                loaded = true;
                return;
            } catch (UnsatisfiedLinkError e) {
                tried.add("-D" + PROPERTY + "=" + path + ": " + e.getMessage());
                throw failure(tried, e);
            }
        }
        String resource = "/native/" + platform() + "/" + System.mapLibraryName("mempool_jni");
        UnsatisfiedLinkError last = null;
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                tried.add("the jar's " + resource + ": not in the jar (no build for " + platform() + ")");
            } else {
                String dir = System.getProperty(TMPDIR_PROPERTY, System.getProperty("java.io.tmpdir"));
                Path tmp = Files.createTempFile(Path.of(dir), "libmempool_jni", ".so");
                try {
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                    System.load(tmp.toAbsolutePath().toString());
                    loaded = true;
                    return;
                } catch (UnsatisfiedLinkError e) {
                    last = e;
                    tried.add("the jar's " + resource + ", extracted to " + tmp + ": " + e.getMessage()
                              + " (a noexec temporary folder? set -D" + TMPDIR_PROPERTY + "=DIR)");
                } finally {
                    // A loaded library stays mapped; the file is not needed.
                    Files.deleteIfExists(tmp);
                }
            }
        } catch (IOException e) {
            tried.add("the jar's " + resource + ": could not extract it: " + e);
        }
        try {
            System.loadLibrary("mempool_jni");
            loaded = true;
        } catch (UnsatisfiedLinkError e) {
            tried.add("System.loadLibrary(\"mempool_jni\") on java.library.path="
                      + System.getProperty("java.library.path") + ": " + e.getMessage());
            throw failure(tried, last != null ? last : e);
        }
    }

    private static UnsatisfiedLinkError failure(List<String> tried, Throwable cause) {
        StringBuilder m = new StringBuilder("mempool: cannot load the JNI library libmempool_jni.so. Set -D")
            .append(PROPERTY).append("=/path/to/libmempool_jni.so, or put its folder on -Djava.library.path. Tried:");
        for (String t : tried) m.append("\n  - ").append(t);
        UnsatisfiedLinkError e = new UnsatisfiedLinkError(m.toString());
        e.initCause(cause);
        return e;
    }
}
