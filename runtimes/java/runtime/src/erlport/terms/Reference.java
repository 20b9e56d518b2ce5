package erlport.terms;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;

/**
 * An Erlang reference, kept only so that it can be sent back unchanged.
 *
 * <p>erlport 1.1.1's class has a single {@link #id}; a real reference has up to five 32-bit id
 * words, which this class keeps in {@link #words} so that re-encoding loses nothing.
 */
public class Reference implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The node the reference was made on. */
    public Atom node;
    /** The first id word. */
    public Long id;
    /** The node incarnation. */
    public Long creation;
    /** Every id word, first one first (an hookmq addition). */
    public long[] words;

    /** A reference with a single id word. */
    public Reference(Atom node, Long id, Long creation) {
        this(node, new long[] {id}, creation);
    }

    /** A reference with all its id words (an hookmq addition). */
    public Reference(Atom node, long[] words, Long creation) {
        this.node = node;
        this.words = words;
        this.id = words.length > 0 ? words[0] : 0L;
        this.creation = creation;
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof Reference)) {
            return false;
        }
        Reference that = (Reference) other;
        return Objects.equals(node, that.node) && Arrays.equals(words, that.words)
                && Objects.equals(creation, that.creation);
    }

    @Override
    public int hashCode() {
        return Objects.hash(node, Arrays.hashCode(words), creation);
    }

    @Override
    public String toString() {
        return "#Ref<" + node + "." + Arrays.toString(words) + ">";
    }
}
