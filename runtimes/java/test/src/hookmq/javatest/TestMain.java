package hookmq.javatest;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A minimal test runner (no JUnit here): runs every public no-argument method whose name starts
 * with {@code test} in each listed class, on a fresh instance, and exits 1 if any failed.
 * Arguments filter the tests by substring of {@code Class.method}.
 */
public final class TestMain {
    private static final List<Class<?>> CLASSES = List.of(
            EtfTest.class,
            io.hookmq.sdk.SdkInternalsTest.class,
            SdkTest.class,
            RuntimeTest.class,
            BatchTest.class,
            CompatTest.class);

    private TestMain() {
    }

    /** Runs the tests; see the class comment. */
    public static void main(String[] args) throws Exception {
        int passed = 0;
        List<String> failed = new ArrayList<>();
        for (Class<?> cls : CLASSES) {
            List<Method> tests = new ArrayList<>();
            for (Method method : cls.getMethods()) {
                if (method.getName().startsWith("test") && method.getParameterCount() == 0
                        && !Modifier.isStatic(method.getModifiers()) && selected(cls, method, args)) {
                    tests.add(method);
                }
            }
            tests.sort(Comparator.comparing(Method::getName));
            for (Method test : tests) {
                String name = cls.getSimpleName() + "." + test.getName();
                long start = System.nanoTime();
                try {
                    test.invoke(cls.getDeclaredConstructor().newInstance());
                    passed++;
                    System.out.printf("ok    %-60s %5d ms%n", name, (System.nanoTime() - start) / 1_000_000);
                } catch (InvocationTargetException e) {
                    failed.add(name);
                    System.out.printf("FAIL  %s%n", name);
                    e.getCause().printStackTrace(System.out);
                }
            }
        }
        System.out.printf("%n%d passed, %d failed%n", passed, failed.size());
        for (String name : failed) {
            System.out.println("  failed: " + name);
        }
        System.exit(failed.isEmpty() && passed > 0 ? 0 : 1);
    }

    private static boolean selected(Class<?> cls, Method method, String[] filters) {
        if (filters.length == 0) {
            return true;
        }
        String name = cls.getSimpleName() + "." + method.getName();
        for (String filter : filters) {
            if (name.contains(filter)) {
                return true;
            }
        }
        return false;
    }
}
