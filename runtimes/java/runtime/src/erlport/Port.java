package erlport;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The pipe to the broker: frames of a 1-, 2- or 4-byte big-endian length (per {@code --packet})
 * followed by that many bytes, on stdin and stdout.
 *
 * <p>Writes are buffered and sent by {@link #flush()}; all writes are synchronized, so that text
 * printed by handler threads never interleaves with a reply.
 */
public class Port {
    private final Options options;
    private final InputStream in;
    private final OutputStream out;
    private final byte[] header = new byte[4];

    /** The port on this process's real stdin and stdout (not {@code System.in}/{@code System.out}). */
    public Port(Options options) {
        this(options, new FileInputStream(FileDescriptor.in), new FileOutputStream(FileDescriptor.out));
    }

    Port(Options options, InputStream in, OutputStream out) {
        this.options = options;
        this.in = new BufferedInputStream(in, options.bufferSize);
        this.out = new BufferedOutputStream(out, options.bufferSize);
    }

    /**
     * Reads and decodes the next frame; {@code null} when stdin is closed between frames.
     *
     * @throws EOFException when stdin closes in the middle of a frame
     */
    public Request read() throws Exception {
        byte[] frame = readFrame();
        return frame == null ? null : new Request(frame);
    }

    /** The payload of the next frame; {@code null} on a clean end of input. */
    byte[] readFrame() throws IOException {
        int got = readFully(header, options.packet);
        if (got == 0) {
            return null;
        }
        if (got < options.packet) {
            throw new EOFException("input closed inside a frame header");
        }
        long length = 0;
        for (int i = 0; i < options.packet; i++) {
            length = (length << 8) | (header[i] & 0xff);
        }
        if (length > Integer.MAX_VALUE - 16) {
            throw new IOException("frame of " + length + " bytes is too large");
        }
        byte[] frame = new byte[(int) length];
        if (readFully(frame, frame.length) < frame.length) {
            throw new EOFException("input closed inside a frame of " + length + " bytes");
        }
        return frame;
    }

    private int readFully(byte[] buffer, int count) throws IOException {
        int got = 0;
        while (got < count) {
            int n = in.read(buffer, got, count - got);
            if (n < 0) {
                break;
            }
            got += n;
        }
        return got;
    }

    /** True when a further frame has (at least partly) arrived and can be read without waiting. */
    boolean inputPending() {
        try {
            return in.available() > 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** Encodes and queues {@code response}; returns the bytes queued. */
    public int write(Response response) throws Exception {
        return __write__data(response.pack(options.compressed));
    }

    /** Queues {@code data} (an external term) as one frame; returns the bytes queued. */
    public synchronized int __write__data(byte[] data) {
        long limit = options.packet == 4 ? 0xffffffffL : (1L << (8 * options.packet)) - 1;
        if (data.length > limit) {
            throw new IllegalArgumentException("term of " + data.length
                    + " bytes does not fit a --packet=" + options.packet + " frame");
        }
        try {
            for (int i = options.packet - 1; i >= 0; i--) {
                out.write(data.length >>> (8 * i));
            }
            out.write(data);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write to the broker", e);
        }
        return options.packet + data.length;
    }

    /** Sends every queued frame. */
    public synchronized void flush() throws IOException {
        out.flush();
    }
}
