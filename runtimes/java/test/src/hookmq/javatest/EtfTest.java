package hookmq.javatest;

import static hookmq.javatest.Check.bytes;
import static hookmq.javatest.Check.equal;
import static hookmq.javatest.Check.unhex;

import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Etf;
import erlport.terms.ImproperList;
import erlport.terms.Pid;
import erlport.terms.Reference;
import erlport.terms.Tuple;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The ETF codec against golden bytes from the protocol reference, and round trips. */
public class EtfTest {
    private static Atom atom(String name) {
        return new Atom(name);
    }

    public void testDecodesTheInitCallTheBrokerSends() {
        Object term = Etf.decode(unhex("83 68 05 64 0001 43 61 01 64 0005 686f6f6b73 64 0004 696e6974 6a"));
        equal(Tuple.forElements(new Object[] {atom("C"), 1, atom("hooks"), atom("init"), List.of()}), term);
    }

    public void testEncodesAReplyWithAtomExtLikeTheBrokerReadsBest() {
        Object reply = Tuple.three(atom("r"), 3, Tuple.two(0, true));
        bytes(unhex("83 68 03 64 0001 72 61 03 68 02 61 00 64 0004 74727565"), Etf.encode(reply));
    }

    public void testTrueAndFalseAreBooleansWhateverTheAtomTag() {
        equal(true, Etf.decode(unhex("83 64 0004 74727565")));
        equal(true, Etf.decode(unhex("83 73 04 74727565")));
        equal(true, Etf.decode(unhex("83 76 0004 74727565")));
        equal(true, Etf.decode(unhex("83 77 04 74727565")));
        equal(false, Etf.decode(unhex("83 77 05 66616c7365")));
        equal(atom("undefined"), Etf.decode(unhex("83 77 09 756e646566696e6564")));
        bytes(unhex("83 64 0005 66616c7365"), Etf.encode(false));
    }

    public void testNullIsUndefinedAndUtf8AtomNamesUseAtomUtf8() {
        bytes(unhex("83 64 0009 756e646566696e6564"), Etf.encode(null));
        bytes(unhex("83 64 0001 e9"), Etf.encode(atom("\u00e9")));
        bytes(unhex("83 76 0003 e282ac"), Etf.encode(atom("\u20ac")));
        equal(atom("\u20ac"), Etf.decode(unhex("83 77 03 e282ac")));
    }

    public void testIntegersPickTheSmallestTagAndBigsStayBigInteger() {
        bytes(unhex("83 61 ff"), Etf.encode(255));
        bytes(unhex("83 62 00000100"), Etf.encode(256));
        bytes(unhex("83 62 ffffffff"), Etf.encode(-1));
        bytes(unhex("83 62 80000000"), Etf.encode((long) Integer.MIN_VALUE));
        // 1594044131000 ms, a 2020 timestamp, as the broker sends it
        bytes(unhex("83 6e 06 00 b8 26 6f 24 73 01"), Etf.encode(1594044131000L));
        equal(BigInteger.valueOf(1594044131000L), Etf.decode(unhex("83 6e 06 00 b8 26 6f 24 73 01")));
        bytes(unhex("83 6e 01 00 05"), Etf.encode(BigInteger.valueOf(5)));
        equal(BigInteger.valueOf(5), Etf.decode(unhex("83 6e 01 00 05")));
        BigInteger huge = BigInteger.ONE.shiftLeft(2100).negate();
        byte[] encoded = Etf.encode(huge);
        equal(0x6f, encoded[1] & 0xff);
        equal(huge, Etf.decode(encoded));
        equal(-7, Etf.decode(unhex("83 62 fffffff9")));
    }

    public void testFloats() {
        bytes(unhex("83 46 3ff8000000000000"), Etf.encode(1.5));
        equal(1.5, Etf.decode(unhex("83 46 3ff8000000000000")));
        String old = String.format("%-31s", "1.50000000000000000000e+00").replace(' ', '\0');
        byte[] oldFloat = new byte[33];
        oldFloat[0] = (byte) 131;
        oldFloat[1] = 99;
        System.arraycopy(old.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), 0, oldFloat, 2, 31);
        equal(1.5, Etf.decode(oldFloat));
        Check.raises(IllegalArgumentException.class, () -> Etf.encode(Double.NaN));
    }

    public void testStringsAreCharlistsAndEmptyListIsJustNil() {
        bytes(unhex("83 6b 0005 686f6f6b73"), Etf.encode("hooks"));
        bytes(unhex("83 6b 0001 e9"), Etf.encode("\u00e9"));
        // not Latin-1: a list of code points, like the Python side
        bytes(unhex("83 6c 00000001 62 000020ac 6a"), Etf.encode("\u20ac"));
        bytes(unhex("83 6a"), Etf.encode(""));
        bytes(unhex("83 6a"), Etf.encode(new ArrayList<>()));
        bytes(unhex("83 6a"), Etf.encode(new Object[0]));
        equal("hooks", Etf.decode(unhex("83 6b 0005 686f6f6b73")));
    }

    public void testBinariesListsTuplesAndMaps() {
        bytes(unhex("83 6d 00000003 616263"), Etf.encode(new Binary("abc")));
        bytes(unhex("83 6d 00000002 0102"), Etf.encode(new byte[] {1, 2}));
        bytes(unhex("83 6c 00000002 61 01 61 02 6a"), Etf.encode(List.of(1, 2)));
        bytes(unhex("83 68 00"), Etf.encode(new Tuple(0)));
        Map<Object, Object> map = new LinkedHashMap<>();
        map.put(atom("a"), new Binary("b"));
        bytes(unhex("83 74 00000001 64 0001 61 6d 00000001 62"), Etf.encode(map));
        equal(map, Etf.decode(unhex("83 74 00000001 64 0001 61 6d 00000001 62")));
        Object[] wide = new Object[300];
        java.util.Arrays.fill(wide, 0);
        byte[] large = Etf.encode(Tuple.forElements(wide));
        equal(0x69, large[1] & 0xff);
        equal(Tuple.forElements(wide), Etf.decode(large));
    }

    public void testImproperListsRoundTrip() {
        byte[] wire = unhex("83 6c 00000001 61 01 64 0001 62");
        Object term = Etf.decode(wire);
        equal(new ImproperList(List.of(1), atom("b")), term);
        bytes(wire, Etf.encode(term));
    }

    public void testPidsAndReferencesRoundTrip() {
        byte[] pid = unhex("83 58 64 000d 6e6f6e6f6465406e6f686f7374 00000051 00000000 00000000");
        equal(new Pid(atom("nonode@nohost"), 81L, 0L, 0L), Etf.decode(pid));
        bytes(pid, Etf.encode(Etf.decode(pid)));
        byte[] oldPid = unhex("83 67 64 000d 6e6f6e6f6465406e6f686f7374 00000051 00000000 00");
        equal(new Pid(atom("nonode@nohost"), 81L, 0L, 0L), Etf.decode(oldPid));
        byte[] ref = unhex("83 5a 0003 64 000d 6e6f6e6f6465406e6f686f7374 00000000 0001e6b3 00040001 00000000");
        Reference decoded = (Reference) Etf.decode(ref);
        equal(new long[] {0x1e6b3L, 0x40001L, 0L}, decoded.words);
        bytes(ref, Etf.encode(decoded));
    }

    public void testAListOfSmallIntegersSentAsStringExtDecodesToString() {
        equal("\u0001\u0002", Etf.decode(unhex("83 6b 0002 0102")));
    }

    public void testOpaqueJavaObjectsRoundTripByteExact() {
        java.util.UUID state = java.util.UUID.fromString("0c4d2f4e-1b7a-4c3e-9f00-5a1b2c3d4e5f");
        byte[] encoded = Etf.encode(Tuple.two(atom("state"), state));
        // {state, {'$erlport.opaque', java, <<Java serialization stream: ac ed 00 05 ...>>}}
        String head = "83 68 02 64 0005 7374617465 68 03 64 000f 2465726c706f72742e6f7061717565 64 0004 6a617661 6d";
        int prefix = unhex(head).length;
        bytes(unhex(head), java.util.Arrays.copyOf(encoded, prefix));
        bytes(unhex("aced0005"), java.util.Arrays.copyOfRange(encoded, prefix + 4, prefix + 8));
        equal(state, ((Tuple) Etf.decode(encoded)).get(1));
        // the broker splices the bytes back: decoding then re-encoding the object gives them again
        bytes(encoded, Etf.encode(Etf.decode(encoded)));
    }

    public void testAnOpaqueThatCannotBeReadStaysATuple() {
        Tuple broken = Tuple.three(atom("$erlport.opaque"), atom("java"), new Binary(new byte[] {1, 2, 3}));
        equal(broken, Etf.decode(Etf.encode(broken)));
        Tuple python = Tuple.three(atom("$erlport.opaque"), atom("python"), new Binary(new byte[] {1}));
        equal(python, Etf.decode(Etf.encode(python)));
    }

    public void testObjectsThatCannotBeEncodedAreRejected() {
        Check.raises(IllegalArgumentException.class, () -> Etf.encode(new Object()));
    }

    public void testCompressedTermsRoundTrip() {
        byte[] payload = new byte[4000];
        Object term = List.of(new Binary(payload), "x");
        byte[] packed = Etf.encode(term, 6);
        equal(0x50, packed[1] & 0xff);
        Check.that(packed.length < 200, "compressed size " + packed.length);
        equal(term, Etf.decode(packed));
        bytes(Etf.encode(1), Etf.encode(1, 6));
    }

    public void testMalformedInputIsRejectedNotMisread() {
        Check.raises(IllegalArgumentException.class, () -> Etf.decode(unhex("83 6d 00000005 6162")));
        Check.raises(IllegalArgumentException.class, () -> Etf.decode(unhex("68 00")));
        Check.raises(IllegalArgumentException.class, () -> Etf.decode(unhex("83 6a 6a")));
        Check.raises(IllegalArgumentException.class, () -> Etf.decode(unhex("83 6c 7fffffff 6a")));
        Check.raises(IllegalArgumentException.class, () -> Etf.decode(unhex("83 71 64 0001 6d 64 0001 66 61 01")));
    }
}
