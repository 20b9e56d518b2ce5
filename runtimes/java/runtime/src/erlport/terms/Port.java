package erlport.terms;

import java.io.Serializable;
import java.util.Objects;

/** An Erlang port identifier, kept only so that it can be sent back unchanged. */
public class Port implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The node the port lives on. */
    public Atom node;
    /** The port number (up to 64 bits since OTP 24). */
    public Long id;
    /** The node incarnation. */
    public Long creation;

    /** A port with the given parts. */
    public Port(Atom node, Long id, Long creation) {
        this.node = node;
        this.id = id;
        this.creation = creation;
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof Port)) {
            return false;
        }
        Port that = (Port) other;
        return Objects.equals(node, that.node) && Objects.equals(id, that.id)
                && Objects.equals(creation, that.creation);
    }

    @Override
    public int hashCode() {
        return Objects.hash(node, id, creation);
    }

    @Override
    public String toString() {
        return "#Port<" + node + "." + id + ">";
    }
}
