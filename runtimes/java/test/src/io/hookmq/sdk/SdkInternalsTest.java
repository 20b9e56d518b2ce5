package io.hookmq.sdk;

import static hookmq.javatest.Check.equal;

import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Tuple;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The SDK's hook table and tolerant term reading (package-private parts). */
public class SdkInternalsTest {
    public void testEveryHookHasItsTypedAndRawMethods() throws Exception {
        // EMQX's 19 and hookmq's client_enhanced_authenticate.
        equal(20, Hook.values().length);
        for (Hook hook : Hook.values()) {
            Method typed = HookHandler.class.getMethod(hook.method, hook.params);
            require(!Modifier.isFinal(typed.getModifiers()), hook + " typed method must be overridable");
            Class<?>[] raw = new Class<?>[hook.params.length + 1];
            Arrays.fill(raw, Object.class);
            Method dispatcher = HookHandler.class.getMethod(hook.rawMethod, raw);
            require(Modifier.isFinal(dispatcher.getModifiers()), hook + " raw method must be final");
        }
        equal("onClientAuthorizeRaw", Hook.CLIENT_CHECK_ACL.rawMethod);
        equal("client_check_acl", Hook.CLIENT_CHECK_ACL.wireName);
    }

    public void testEnhancedAuthAnswersAreTheTermsTheBrokerReads() {
        Object[] c = EnhancedAuth.continueWith(new byte[] {1}, null).toTerm().elements;
        equal(new Atom("continue"), c[0]);
        equal(null, c[2]);
        Object[] f = EnhancedAuth.failure(0x86, "no").toTerm().elements;
        equal(0x86, f[1]);
        equal(Boolean.TRUE, EnhancedAuth.success(null, true).toTerm().elements[2]);
    }

    public void testTextAcceptsBinariesAtomsStringsAndCharlists() {
        equal("abc", Terms.text(new Binary("abc")));
        equal("abc", Terms.text(new Atom("abc")));
        equal("abc", Terms.text("abc"));
        equal("\u20ac", Terms.text(List.of(0x20ac)));
        equal("", Terms.text(null));
    }

    public void testIntegersAcceptEveryIntegerType() {
        equal(5L, Terms.integer(5, "x"));
        equal(5L, Terms.integer(5L, "x"));
        equal(1594044131000L, Terms.integer(BigInteger.valueOf(1594044131000L), "x"));
        equal(7L, Terms.integer(new Binary("7"), "x"));
        hookmq.javatest.Check.raises(IllegalArgumentException.class, () -> Terms.integer(new Binary("x"), "x"));
    }

    public void testProplistsMayBeMapsAndSkipJunkElements() {
        Map<Object, Object> map = new LinkedHashMap<>();
        map.put(new Binary("a"), 1);
        equal(Map.of("a", 1), Terms.proplist(map, "m"));
        List<Object> list = List.of(Tuple.two(new Atom("a"), 1), new Atom("junk"), Tuple.three(1, 2, 3));
        equal(Map.of("a", 1), Terms.proplist(list, "m"));
    }

    public void testPropertiesBecomePlainJava() {
        List<Object> props = List.of(
                Tuple.two(new Atom("Session-Expiry-Interval"), 60),
                Tuple.two(new Atom("User-Property"), List.of(Tuple.two(new Binary("k"), new Binary("v")))),
                Tuple.two(new Atom("Content-Type"), new Binary("json")));
        Map<String, Object> plain = Terms.properties(props);
        equal(60L, plain.get("Session-Expiry-Interval"));
        equal(List.of(List.of("k", "v")), plain.get("User-Property"));
        equal("json", plain.get("Content-Type"));
        equal(Map.of(), Terms.properties(List.of()));
    }

    private static void require(boolean condition, String what) {
        hookmq.javatest.Check.that(condition, what);
    }
}
