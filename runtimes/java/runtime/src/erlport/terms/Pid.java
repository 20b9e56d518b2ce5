package erlport.terms;

import java.io.Serializable;
import java.util.Objects;

/** An Erlang process identifier, kept only so that it can be sent back unchanged. */
public class Pid implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The node the process lives on. */
    public Atom node;
    /** The process number. */
    public Long id;
    /** The serial number. */
    public Long serial;
    /** The node incarnation. */
    public Long creation;

    /** A pid with the given parts, as they appear in {@code NEW_PID_EXT}. */
    public Pid(Atom node, Long id, Long serial, Long creation) {
        this.node = node;
        this.id = id;
        this.serial = serial;
        this.creation = creation;
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof Pid)) {
            return false;
        }
        Pid that = (Pid) other;
        return Objects.equals(node, that.node) && Objects.equals(id, that.id)
                && Objects.equals(serial, that.serial) && Objects.equals(creation, that.creation);
    }

    @Override
    public int hashCode() {
        return Objects.hash(node, id, serial, creation);
    }

    @Override
    public String toString() {
        return "<" + node + "." + id + "." + serial + ">";
    }
}
