package erlport;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds and invokes the Java method a call names. Classes are loaded with the thread's context
 * class loader; each class gets one instance, made with its public no-argument constructor on the
 * first call to one of its instance methods; static methods need no instance. The method is the
 * public one with the call's name and arity, every parameter declared {@code Object} (any
 * parameter types are accepted when exactly one public method has that name and arity). Each
 * (class, method, arity) is resolved once and cached.
 */
final class Dispatcher {
    private record Key(String module, String function, int arity) {
    }

    /** A resolved method and the instance it is called on ({@code null} for a static one). */
    record Target(Method method, Object receiver) {
        @Override
        public String toString() {
            return method.getDeclaringClass().getName() + ":" + method.getName() + "/" + method.getParameterCount();
        }
    }

    private final Map<Key, Target> targets = new HashMap<>();
    private final Map<Class<?>, Object> instances = new HashMap<>();

    /**
     * Calls {@code module:function(args...)} and returns its result ({@code null} for void).
     * Exceptions thrown by the method are rethrown as they are.
     */
    Object call(String module, String function, Object[] args) throws Throwable {
        return invoke(target(module, function, args.length), args);
    }

    /** The method {@code module:function/arity}, resolved once and cached. */
    Target target(String module, String function, int arity) throws Throwable {
        Key key = new Key(module, function, arity);
        Target target = targets.get(key);
        if (target == null) {
            target = resolve(key);
            targets.put(key, target);
        }
        return target;
    }

    /** Calls {@code target} with {@code args}; what the method throws is rethrown as it is. */
    Object invoke(Target target, Object[] args) throws Throwable {
        try {
            return target.method.invoke(target.receiver, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private Target resolve(Key key) throws Throwable {
        Class<?> cls = loadClass(key.module);
        Method method = findMethod(cls, key.function, key.arity);
        method.trySetAccessible();
        Object receiver = Modifier.isStatic(method.getModifiers()) ? null : instance(cls);
        return new Target(method, receiver);
    }

    /** The class named {@code name}; a canonical name of a nested class is accepted too. */
    private static Class<?> loadClass(String name) throws ClassNotFoundException {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        if (loader == null) {
            loader = Dispatcher.class.getClassLoader();
        }
        String candidate = name;
        while (true) {
            try {
                return Class.forName(candidate, true, loader);
            } catch (ClassNotFoundException e) {
                int dot = candidate.lastIndexOf('.');
                if (dot < 0) {
                    throw new ClassNotFoundException(name + " (is it on the classpath?)");
                }
                candidate = candidate.substring(0, dot) + '$' + candidate.substring(dot + 1);
            }
        }
    }

    private static Method findMethod(Class<?> cls, String name, int arity) throws NoSuchMethodException {
        Class<?>[] objects = new Class<?>[arity];
        Arrays.fill(objects, Object.class);
        try {
            return cls.getMethod(name, objects);
        } catch (NoSuchMethodException e) {
            // fall through: look for a single method of that name and arity with other types
        }
        List<Method> sameArity = new ArrayList<>();
        List<Integer> arities = new ArrayList<>();
        for (Method method : cls.getMethods()) {
            if (method.getName().equals(name)) {
                arities.add(method.getParameterCount());
                if (method.getParameterCount() == arity) {
                    sameArity.add(method);
                }
            }
        }
        if (sameArity.size() == 1) {
            return sameArity.get(0);
        }
        String found = arities.isEmpty() ? "no public method of that name"
                : sameArity.isEmpty() ? "public methods of that name take " + arities + " arguments"
                : sameArity.size() + " public overloads of that arity; declare one with Object parameters";
        throw new NoSuchMethodException(cls.getName() + "." + name + "/" + arity + ": " + found);
    }

    private Object instance(Class<?> cls) throws Throwable {
        Object instance = instances.get(cls);
        if (instance == null) {
            Constructor<?> constructor;
            try {
                constructor = cls.getDeclaredConstructor();
            } catch (NoSuchMethodException e) {
                throw new NoSuchMethodException(cls.getName()
                        + " needs a public no-argument constructor to receive calls");
            }
            constructor.trySetAccessible();
            try {
                instance = constructor.newInstance();
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            instances.put(cls, instance);
        }
        return instance;
    }
}
