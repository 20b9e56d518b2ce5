package hookmq.javatest;

import erlport.terms.Atom;
import erlport.terms.Etf;
import erlport.terms.Tuple;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The runtime in a child JVM, started the way the broker starts it
 * ({@code java -cp erlport.jar:... erlport.CLI --packet=4 --use_stdio --compressed=0
 * --buffer_size=65536}), with the test playing the broker. Every wait is bounded.
 */
public final class PortProcess implements AutoCloseable {
    /** How long any single wait may take; generous because two test JVMs share two cores. */
    public static final long TIMEOUT_SECONDS = 30;

    private static final byte[] EOF_MARK = new byte[0];

    private final Process process;
    private final OutputStream stdin;
    private final BlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    private final List<String> printed = new ArrayList<>();
    private final Thread errors;

    private PortProcess(Process process) {
        this.process = process;
        this.stdin = process.getOutputStream();
        Thread reader = new Thread(() -> readFrames(process.getInputStream()), "port-stdout");
        reader.setDaemon(true);
        reader.start();
        errors = new Thread(() -> copy(process.getErrorStream()), "port-stderr");
        errors.setDaemon(true);
        errors.start();
    }

    /** The build directory ({@code -Dhookmq.java.build}, default {@code runtimes/java/build}). */
    public static File buildDir() {
        return new File(System.getProperty("hookmq.java.build", "runtimes/java/build")).getAbsoluteFile();
    }

    /** Starts the runtime with erlport.jar, hookmq-sdk.jar, the test and the compat classes. */
    public static PortProcess start(String... extraOptions) throws IOException {
        File build = buildDir();
        String cp = String.join(File.pathSeparator, new File(build, "erlport.jar").getPath(),
                new File(build, "hookmq-sdk.jar").getPath(), new File(build, "test-classes").getPath(),
                new File(build, "compat-classes").getPath());
        String java = new File(System.getProperty("java.home"), "bin/java").getPath();
        List<String> command = new ArrayList<>(List.of(java, "-XX:TieredStopAtLevel=1",
                "-cp", cp, "erlport.CLI", "--packet=4", "--use_stdio"));
        if (extraOptions.length == 0) {
            command.addAll(List.of("--compressed=0", "--buffer_size=65536"));
        } else {
            command.addAll(Arrays.asList(extraOptions));
        }
        return new PortProcess(new ProcessBuilder(command).start());
    }

    private void readFrames(InputStream in) {
        try (DataInputStream data = new DataInputStream(in)) {
            while (true) {
                int length = data.readInt();
                byte[] frame = new byte[length];
                data.readFully(frame);
                frames.add(frame);
            }
        } catch (EOFException e) {
            // the runtime closed its stdout
        } catch (IOException e) {
            System.err.println("port-stdout: " + e);
        } finally {
            frames.add(EOF_MARK);
        }
    }

    private void copy(InputStream in) {
        byte[] buffer = new byte[4096];
        try {
            for (int n; (n = in.read(buffer)) > 0;) {
                synchronized (stderr) {
                    stderr.write(buffer, 0, n);
                }
            }
        } catch (IOException e) {
            // the process is gone
        }
    }

    /** Sends {@code data} (an external term) as one 4-byte-length frame. */
    public void sendBytes(byte[] data) throws IOException {
        byte[] header = {(byte) (data.length >>> 24), (byte) (data.length >>> 16), (byte) (data.length >>> 8),
            (byte) data.length};
        stdin.write(header);
        stdin.write(data);
        stdin.flush();
    }

    /** Writes {@code bytes} as they are, without a length prefix. */
    public void writeRaw(byte[] bytes) throws IOException {
        stdin.write(bytes);
        stdin.flush();
    }

    /** Sends {@code term}. */
    public void send(Object term) throws IOException {
        sendBytes(Etf.encode(term));
    }

    /** Sends the call {@code {'C', id, Module, Function, [args...]}} with atom names. */
    public void sendCall(int id, String module, String function, Object... args) throws IOException {
        send(Tuple.forElements(new Object[] {new Atom("C"), id, new Atom(module), new Atom(function),
            new ArrayList<>(Arrays.asList(args))}));
    }

    /** The next frame's bytes, {@code {'P', Text}} frames included; fails on timeout or end of output. */
    public byte[] nextFrame() throws InterruptedException {
        byte[] frame = frames.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        if (frame == null) {
            throw new AssertionError("no frame from the runtime within " + TIMEOUT_SECONDS + " s; stderr:\n" + stderr());
        }
        if (frame == EOF_MARK) {
            frames.add(EOF_MARK);
            throw new AssertionError("the runtime closed its output; stderr:\n" + stderr());
        }
        return frame;
    }

    /** The bytes of the next frame that is not printed text; the text is kept for {@link #printed()}. */
    public byte[] nextReplyBytes() throws InterruptedException {
        while (true) {
            byte[] frame = nextFrame();
            Object term = Etf.decode(frame);
            if (term instanceof Tuple && ((Tuple) term).length() == 2
                    && new Atom("P").equals(((Tuple) term).get(0))) {
                printed.add(text(((Tuple) term).get(1)));
                continue;
            }
            return frame;
        }
    }

    /** The next frame that is not printed text, decoded. */
    public Tuple nextReply() throws InterruptedException {
        return (Tuple) Etf.decode(nextReplyBytes());
    }

    /** Calls and returns the reply's third element, failing unless the reply is {@code {'r', id, _}}. */
    public Object call(int id, String module, String function, Object... args) throws Exception {
        sendCall(id, module, function, args);
        Tuple reply = nextReply();
        Check.equal(Tuple.three(new Atom("r"), id, reply.get(2)), reply);
        return reply.get(2);
    }

    /** The text of the {@code {'P', Text}} frames seen so far, one string per frame. */
    public List<String> printed() {
        return printed;
    }

    private static String text(Object chars) {
        if (chars instanceof String) {
            return (String) chars;
        }
        StringBuilder out = new StringBuilder();
        for (Object c : (List<?>) chars) {
            out.appendCodePoint(((Number) c).intValue());
        }
        return out.toString();
    }

    /** Closes the runtime's stdin and returns its exit status; fails if it does not exit in time. */
    public int closeAndWait() throws Exception {
        stdin.close();
        return waitFor();
    }

    /** Waits for the process to exit on its own and returns its exit status. */
    public int waitFor() throws Exception {
        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("the runtime did not exit within " + TIMEOUT_SECONDS + " s");
        }
        errors.join(TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
        return process.exitValue();
    }

    /** What the runtime wrote to stderr so far. */
    public String stderr() {
        synchronized (stderr) {
            return stderr.toString(StandardCharsets.UTF_8);
        }
    }

    /** Kills the process if it is still running. */
    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }
}
