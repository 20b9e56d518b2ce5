package erlport.terms;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Objects;

/**
 * A list whose tail is not {@code []}, such as {@code [a | b]}. The elements are the list's
 * contents; {@link #tail} is the final non-list term. (An hookmq addition: erlport 1.1.1 has no
 * such class.)
 */
public class ImproperList extends ArrayList<Object> {
    private static final long serialVersionUID = 1L;

    /** The term after the last {@code |}. */
    public Object tail;

    /** The improper list {@code [elements... | tail]}. */
    public ImproperList(Collection<?> elements, Object tail) {
        super(elements);
        this.tail = tail;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ImproperList && super.equals(other)
                && Objects.equals(((ImproperList) other).tail, tail);
    }

    @Override
    public int hashCode() {
        return 31 * super.hashCode() + Objects.hashCode(tail);
    }

    @Override
    public String toString() {
        String head = TermText.of(new ArrayList<>(this));
        return head.substring(0, head.length() - 1) + " | " + TermText.of(tail) + "]";
    }
}
