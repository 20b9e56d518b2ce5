// Test peer for crates/port/tests/java_peer.rs, run in source-file mode against the Java port
// runtime (runtimes/java/build/erlport.jar).
//   echo: each stdin line is the hex of a term; print the hex of the runtime's re-encoding of
//         it, a tab, and its Erlang-like text on one line.
//   emit: print the hex of a few Java values, the last one an init() result whose State is a
//         serialized Java object.
import erlport.terms.Atom;
import erlport.terms.Binary;
import erlport.terms.Etf;
import erlport.terms.Tuple;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.HexFormat;
import java.util.List;

public class EtfEcho {
    public static void main(String[] args) throws Exception {
        HexFormat hex = HexFormat.of();
        if (args[0].equals("echo")) {
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                Object term = Etf.decode(hex.parseHex(line.trim()));
                String text = Etf.toText(term).replace("\r", "\\r").replace("\n", "\\n");
                System.out.println(hex.formatHex(Etf.encode(term)) + "\t" + text);
            }
            return;
        }
        Object spec = Tuple.three("client_authenticate", "SampleHandler", "onClientAuthenticateRaw");
        Object[] values = {
            true, null, 7, 70000, new BigInteger("1700000000123"), "été", "€", new Atom("x"),
            new Binary("b".getBytes(StandardCharsets.UTF_8)), List.of(), List.of(1000),
            Tuple.two(0, Tuple.two(List.of(spec), LocalDate.of(2024, 1, 2))),
        };
        for (Object value : values) {
            System.out.println(hex.formatHex(Etf.encode(value)));
        }
    }
}
