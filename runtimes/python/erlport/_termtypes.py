"""The Python types for Erlang terms that have no exact Python counterpart.

Re-exported by ``erlterms`` (import them from there); used by the encoder and the decoder.
"""

from struct import Struct

_U16 = Struct(">H")
_U32 = Struct(">I")
OPAQUE = b"$erlport.opaque"  # first element of {'$erlport.opaque', Language, Data}


def _atom_ext(raw):
    return b"d" + _U16.pack(len(raw)) + raw


class DecodeError(ValueError):
    """The bytes are not a term this codec understands (bad tag, truncated, bad envelope)."""


class Atom(bytes):
    """An Erlang atom. A ``bytes`` subclass, so ``isinstance(atom, bytes)`` holds.

    ``Atom(b'ok')`` or ``Atom('ok')`` (a ``str`` is stored as Latin-1, the charset of ATOM_EXT).
    At most 255 bytes, Erlang's limit.
    """

    __slots__ = ()

    def __new__(cls, value):
        if isinstance(value, str):
            value = value.encode("latin-1")
        if len(value) > 255:
            raise ValueError("atom longer than 255 bytes: %r" % (value[:32],))
        return bytes.__new__(cls, value)

    def __repr__(self):
        return "Atom(%s)" % bytes.__repr__(self)


class List(list):
    """An Erlang list (or string, which is a list of character codes)."""

    __slots__ = ()

    def to_string(self):
        """The list read as a string of Unicode code points: ``List([104, 105]) -> 'hi'``."""
        try:
            return "".join(map(chr, self))
        except TypeError:
            raise TypeError("not a list of character codes: %r" % (self,)) from None


class ImproperList(list):
    """A list whose last tail is not ``[]``: ``[a, b | tail]``."""

    __slots__ = ("tail",)

    def __init__(self, items, tail):
        list.__init__(self, items)
        if not self:
            raise ValueError("an improper list needs at least one item")
        if isinstance(tail, list):
            raise ValueError("the tail of an improper list cannot be a list")
        self.tail = tail

    def __eq__(self, other):
        return (isinstance(other, ImproperList) and list.__eq__(self, other)
                and self.tail == other.tail)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = None

    def __repr__(self):
        return "ImproperList(%s, %r)" % (list.__repr__(self), self.tail)


class OpaqueObject(object):
    """A foreign language's value that Python keeps without understanding it.

    It arrives as ``{'$erlport.opaque', Language, Data}`` and is sent back exactly as it came.
    """

    __slots__ = ("data", "language", "_term")

    def __init__(self, data, language, term=None):
        self.data = bytes(data)
        self.language = language if isinstance(language, Atom) else Atom(language)
        if term is None:
            term = (b"h\x03" + _atom_ext(OPAQUE) + _atom_ext(self.language)
                    + b"m" + _U32.pack(len(self.data)) + self.data)
        self._term = term

    def encoded(self):
        """The ETF bytes of this value (without the leading 131)."""
        return self._term

    def __eq__(self, other):
        return isinstance(other, OpaqueObject) and self._term == other._term

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self._term)

    def __repr__(self):
        return "OpaqueObject(%r, %r)" % (self.data, self.language)


class Pid(object):
    """An Erlang process id; re-encoded exactly as it was received."""

    __slots__ = ("node", "id", "serial", "creation", "_term")

    def __init__(self, node, id, serial, creation, term=None):
        self.node = node if isinstance(node, Atom) else Atom(node)
        self.id, self.serial, self.creation = id, serial, creation
        if term is None:
            term = (b"X" + _atom_ext(self.node) + _U32.pack(id) + _U32.pack(serial)
                    + _U32.pack(creation))
        self._term = term

    def encoded(self):
        """The ETF bytes of this pid (without the leading 131)."""
        return self._term

    def __eq__(self, other):
        return isinstance(other, Pid) and (self.node, self.id, self.serial, self.creation) == (
            other.node, other.id, other.serial, other.creation)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash((self.node, self.id, self.serial, self.creation))

    def __repr__(self):
        return "Pid(%r, %d, %d, %d)" % (self.node, self.id, self.serial, self.creation)

