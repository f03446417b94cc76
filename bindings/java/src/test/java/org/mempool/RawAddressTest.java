package org.mempool;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.Buffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/** No public call turns a raw address into memory access. */
class RawAddressTest {
    /* Every class of the binding's jar (or classes folder). */
    private static List<Class<?>> bindingClasses() throws Exception {
        Path where = Path.of(MemoryPool.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> names = new ArrayList<>();
        if (Files.isDirectory(where)) {
            try (Stream<Path> files = Files.walk(where)) {
                files.map(p -> where.relativize(p).toString()).forEach(names::add);
            }
        } else {
            try (ZipFile jar = new ZipFile(where.toFile())) {
                jar.stream().map(e -> e.getName()).forEach(names::add);
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }
        List<Class<?>> classes = new ArrayList<>();
        for (String n : names)
            if (n.startsWith("org/mempool/") && n.endsWith(".class"))
                classes.add(Class.forName(n.replace('/', '.').replace(".class", ""), false,
                        MemoryPool.class.getClassLoader()));
        assertTrue(classes.size() > 20, "found only " + classes);
        return classes;
    }

    @Test
    void noPublicMethodMakesAByteBufferFromAnAddress() throws Exception {
        List<String> found = new ArrayList<>();
        for (Class<?> c : bindingClasses()) {
            if (!Modifier.isPublic(c.getModifiers()))
                continue;
            for (Method m : c.getDeclaredMethods())
                if (Modifier.isPublic(m.getModifiers()) && Buffer.class.isAssignableFrom(m.getReturnType())
                        && !(c == Allocation.class && m.getName().equals("buffer") && m.getParameterCount() == 0))
                    found.add(c.getName() + "." + m.getName());
        }
        assertEquals(List.of(), found, "public ways to a ByteBuffer besides Allocation.buffer()");
    }

    @Test
    void theRawNativeLayerIsNotPublic() throws Exception {
        List<String> exposed = new ArrayList<>();
        for (Class<?> c : bindingClasses())
            if (Modifier.isPublic(c.getModifiers()) && (c.getName().contains("Native") || c.getName().contains("SWIGTYPE")
                    || c.getSimpleName().startsWith("mp")))
                exposed.add(c.getName());
        assertEquals(List.of(), exposed, "public classes of SWIG's raw layer");
    }
}
