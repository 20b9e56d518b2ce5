package erlport;

import erlport.terms.Binary;
import erlport.terms.Etf;
import erlport.terms.Tuple;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The program the broker starts:
 * {@code java -cp erlport.jar:<handler classes> erlport.CLI --packet=4 --use_stdio --compressed=0
 * --buffer_size=65536}.
 *
 * <p>It serves calls one at a time, in arrival order, until stdin closes (exit status 0). Each
 * {@code {'C', Id, Module, Function, Args}} gets {@code {'r', Id, Result}} or, when the method
 * throws or cannot be found, {@code {'e', Id, <<StackTrace>>}} (also printed to stderr). A frame
 * that is not a term gets {@code {'e', <<Why>>}}. Other terms are ignored. When the broker asks
 * for it, calls also come in batches, answered one frame per batch ({@link Batch}). Exit status
 * 64 means bad options, 74 a broken pipe, 3 a batch the broker should never send.
 */
public class CLI {
    /** Runs the runtime; see the class comment. */
    public static void main(String[] args) {
        Options options;
        try {
            options = new Options(args);
        } catch (IllegalArgumentException e) {
            System.err.println("erlport: " + e.getMessage());
            System.exit(64);
            return;
        }
        Port port = new Port(options);
        PrintStream printed = new PrintStream(new StdoutFrames(port), true, StandardCharsets.UTF_8);
        System.setOut(printed);
        System.setIn(new ByteArrayInputStream(new byte[0]));
        System.exit(serve(port, printed, options));
    }

    /** The call loop; returns the exit status. */
    static int serve(Port port, PrintStream printed, Options options) {
        Dispatcher dispatcher = new Dispatcher();
        Batch batch = new Batch(dispatcher);
        Erlang.setup(port, printed, options, dispatcher, batch);
        try {
            while (true) {
                byte[] frame;
                try {
                    frame = port.readFrame();
                } catch (IOException e) {
                    System.err.println("erlport: " + e.getMessage());
                    return 74;
                }
                if (frame == null) {
                    printed.flush();
                    port.flush();
                    return 0;
                }
                if (!handle(frame, dispatcher, batch, port, printed, options)) {
                    printed.flush();
                    port.flush();
                    return 3;
                }
                if (!port.inputPending()) {
                    port.flush();
                }
            }
        } catch (IOException | UncheckedIOException e) {
            System.err.println("erlport: lost the pipe to the broker: " + e);
            return 74;
        }
    }

    /** Handles one frame; false when it is a batch that cannot be run (the runtime then exits). */
    static boolean handle(byte[] frame, Dispatcher dispatcher, Batch batch, Port port,
            PrintStream printed, Options options) {
        Object term;
        try {
            term = Etf.decode(frame);
        } catch (RuntimeException e) {
            System.err.println("erlport: bad frame from the broker: " + e.getMessage());
            port.__write__data(Response.stop(new Binary("bad frame: " + e.getMessage())).pack(0));
            return true;
        }
        if (Batch.isBatch(term)) {
            return answerBatch((Tuple) term, batch, port, printed, options);
        }
        Request request;
        try {
            request = new Request(term);
        } catch (RuntimeException e) {
            System.err.println("erlport: bad call from the broker: " + e.getMessage());
            Object id = ((Tuple) term).elements[1];
            port.__write__data(Response.failure(id, new Binary("bad call: " + e.getMessage())).pack(0));
            return true;
        }
        if (request.type != RequestType.CALL) {
            return true;
        }
        Response response;
        try {
            String module = request.classname.value;
            Object result = Batch.CONTROL.equals(module)
                    ? batch.control(request.methodName.value, request.args)
                    : dispatcher.call(module, request.methodName.value, request.args);
            response = Response.success(request.requestId, result);
        } catch (Throwable error) {
            response = failure(request, error);
        }
        printed.flush();
        byte[] data;
        try {
            data = response.pack(options.compressed);
            port.__write__data(data);
        } catch (IllegalArgumentException error) {
            port.__write__data(failure(request, error).pack(options.compressed));
        }
        return true;
    }

    private static boolean answerBatch(Tuple request, Batch batch, Port port, PrintStream printed,
            Options options) {
        Batch.ErrorSink errors = (what, error) -> {
            String trace = Utils.stackTrace(error);
            System.err.print("erlport: " + what + " failed: " + trace);
            return trace;
        };
        com.erlport.erlang.term.Tuple answer;
        try {
            answer = batch.answer(request, errors);
        } catch (RuntimeException e) {
            System.err.println("erlport: bad batch from the broker, exiting: " + e.getMessage());
            port.__write__data(Response.stop(new Binary("bad batch: " + e.getMessage())).pack(0));
            return false;
        }
        printed.flush();
        byte[] data;
        try {
            data = Etf.encode(answer, options.compressed);
        } catch (IllegalArgumentException e) {
            data = Etf.encode(batch.encodable(request, answer, errors), options.compressed);
        }
        port.__write__data(data);
        return true;
    }

    private static Response failure(Request request, Throwable error) {
        String trace = Utils.stackTrace(error);
        System.err.print("erlport: " + request.classname.value + ":" + request.methodName.value + "/"
                + request.args.length + " failed: " + trace);
        return Response.failure(request.requestId, new Binary(trace));
    }
}
