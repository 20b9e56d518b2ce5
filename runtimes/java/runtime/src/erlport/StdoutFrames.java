package erlport;

import erlport.terms.Atom;
import erlport.terms.Etf;
import erlport.terms.Tuple;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * What {@code System.out} writes to once the runtime has started: bytes are collected and, on
 * each flush, sent to the broker as {@code {'P', Chars}} (the text as an Erlang string), the frame
 * erlport uses for printed output. The broker writes it to its log; the protocol pipe is never
 * corrupted by a handler's {@code System.out.println}.
 */
final class StdoutFrames extends OutputStream {
    private static final Atom PRINT = new Atom("P");
    /** Pending text beyond this many bytes is sent without waiting for a flush. */
    private static final int MAX_PENDING = 16 * 1024;

    private final Port port;
    private byte[] pending = new byte[256];
    private int count;

    StdoutFrames(Port port) {
        this.port = port;
    }

    @Override
    public synchronized void write(int b) {
        ensure(1);
        pending[count++] = (byte) b;
        if (count >= MAX_PENDING) {
            flush();
        }
    }

    @Override
    public synchronized void write(byte[] bytes, int offset, int length) {
        ensure(length);
        System.arraycopy(bytes, offset, pending, count, length);
        count += length;
        if (count >= MAX_PENDING) {
            flush();
        }
    }

    private void ensure(int extra) {
        if (pending.length - count < extra) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, count + extra));
        }
    }

    /** Sends the complete UTF-8 text collected so far as one frame and pushes it out. */
    @Override
    public synchronized void flush() {
        int complete = completeUtf8Prefix();
        if (complete == 0) {
            return;
        }
        String text = new String(pending, 0, complete, StandardCharsets.UTF_8);
        System.arraycopy(pending, complete, pending, 0, count - complete);
        count -= complete;
        try {
            port.__write__data(Etf.encode(Tuple.two(PRINT, text)));
            port.flush();
        } catch (Exception e) {
            System.err.println("erlport: cannot forward printed text to the broker: " + e);
        }
    }

    /** The length of the pending bytes without a trailing, still incomplete UTF-8 sequence. */
    private int completeUtf8Prefix() {
        int lead = count - 1;
        int back = 0;
        while (lead >= 0 && back < 3 && (pending[lead] & 0xc0) == 0x80) {
            lead--;
            back++;
        }
        if (lead < 0) {
            return count;
        }
        int b = pending[lead] & 0xff;
        int needed = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
        return lead + needed > count ? lead : count;
    }
}
