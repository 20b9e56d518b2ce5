"""Erlang term types and the External Term Format (ETF) codec.

Used by ``erlproto`` (frames in and out of the runtime) and by hook code that builds terms by
hand, e.g. a message proplist ``[(Atom(b'topic'), b't/1'), ...]``.

Mapping, Erlang -> Python (``decode``):

* integers (97, 98, 110, 111) -> ``int``; floats (70, and the old string form 99) -> ``float``
* atoms (100, 115, 118, 119) -> ``Atom``, except ``true``/``false`` -> ``bool`` and
  ``undefined`` -> ``None``
* tuples (104, 105) -> ``tuple``; ``{'$erlport.opaque', python, Bin}`` -> the unpickled object,
  ``{'$erlport.opaque', Other, Bin}`` -> ``OpaqueObject`` (re-encoded byte for byte)
* ``[]`` (106) and proper lists (108) -> ``List``; strings (107) -> ``List`` of ints;
  improper lists -> ``ImproperList``
* binaries (109) -> ``bytes``; maps (116) -> ``dict``; pids (103, 88) -> ``Pid``

Mapping, Python -> Erlang (``encode``), chosen so that a peer reading erlport's encoding reads
ours unchanged:

* ``Atom`` -> always ATOM_EXT (100); ``True``/``False``/``None`` -> atoms ``true``/``false``/
  ``undefined`` (also 100)
* ``tuple`` -> 104/105; ``bytes`` (and ``bytearray``/``memoryview``) -> binary 109
* ``list`` -> ``[]`` (106) if empty, STRING_EXT (107) if every item is an ``int`` in 0..255 and
  there are at most 65535 items, otherwise LIST_EXT (108) ending in ``[]``
* ``str`` -> the list of its code points (107 when all are below 256, else 108): *not* UTF-8
* ``int`` -> 97 / 98 / 110 / 111; ``float`` -> NEW_FLOAT_EXT (70)
* ``ImproperList``, ``OpaqueObject``, ``Pid`` -> their own form
* anything else -> ``{'$erlport.opaque', python, <<pickle protocol 2>>}``
"""

import pickle
import zlib
from struct import Struct, error as _StructError

__all__ = [
    "Atom", "List", "ImproperList", "OpaqueObject", "Pid", "DecodeError",
    "encode", "decode", "decode_prefix",
]

_U16 = Struct(">H")
_U32 = Struct(">I")
_I32 = Struct(">i")
_F64 = Struct(">d")

_VERSION = 131
_COMPRESSED = 80  # 'P'
_OPAQUE = b"$erlport.opaque"


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
            out = bytearray(b"h\x03")
            _enc_atom(Atom(_OPAQUE), out)
            _enc_atom(self.language, out)
            _enc_binary(self.data, out)
            term = bytes(out)
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
            out = bytearray(b"X")
            _enc_atom(self.node, out)
            out += _U32.pack(id) + _U32.pack(serial) + _U32.pack(creation)
            term = bytes(out)
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


# --------------------------------------------------------------------------------- encoding

_SMALL_INTS = tuple(bytes((97, i)) for i in range(256))
_TRUE = b"d\x00\x04true"
_FALSE = b"d\x00\x05false"
_UNDEFINED = b"d\x00\x09undefined"
_ATOM_BYTES = {}  # Atom -> its ETF bytes; bounded by _ATOM_CACHE_MAX
_ATOM_CACHE_MAX = 4096
_OPAQUE_PYTHON = b"h\x03d\x00\x0f$erlport.opaqued\x00\x06python"


def _enc_int(n, out):
    if 0 <= n <= 255:
        out += _SMALL_INTS[n]
    elif -2147483648 <= n <= 2147483647:
        out += b"b" + _I32.pack(n)
    else:
        sign = 0
        if n < 0:
            sign, n = 1, -n
        size = (n.bit_length() + 7) >> 3
        digits = n.to_bytes(size, "little")
        if size <= 255:
            out += bytes((110, size, sign)) + digits
        else:
            out += b"o" + _U32.pack(size) + bytes((sign,)) + digits


def _enc_atom(atom, out):
    cached = _ATOM_BYTES.get(atom)
    if cached is None:
        if len(atom) > 255:
            raise ValueError("atom longer than 255 bytes")
        cached = b"d" + _U16.pack(len(atom)) + atom
        if len(_ATOM_BYTES) >= _ATOM_CACHE_MAX:
            _ATOM_BYTES.clear()
        _ATOM_BYTES[bytes(atom)] = cached
    out += cached


def _enc_bool(value, out):
    out += _TRUE if value else _FALSE


def _enc_none(_value, out):
    out += _UNDEFINED


def _enc_binary(data, out):
    out += b"m" + _U32.pack(len(data))
    out += data


def _enc_float(value, out):
    out += b"F" + _F64.pack(value)


def _enc_str(text, out):
    n = len(text)
    if not n:
        out += b"j"
        return
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        out += b"l" + _U32.pack(n)
        for ch in text:
            _enc_int(ord(ch), out)
        out += b"j"
        return
    if n <= 65535:
        out += b"k" + _U16.pack(n) + raw
    else:
        out += b"l" + _U32.pack(n) + b"".join([_SMALL_INTS[c] for c in raw]) + b"j"


def _enc_tuple(items, out):
    n = len(items)
    if n < 256:
        out += bytes((104, n))
    else:
        out += b"i" + _U32.pack(n)
    get = _ENCODERS.get
    for item in items:
        get(type(item), _enc_other)(item, out)


def _is_byte_string(items):
    if len(items) > 65535:
        return False
    for x in items:
        if type(x) is not int or not 0 <= x <= 255:
            return False
    return True


def _enc_list(items, out):
    n = len(items)
    if not n:
        out += b"j"
        return
    if type(items[0]) is int and _is_byte_string(items):
        out += b"k" + _U16.pack(n) + bytes(items)
        return
    out += b"l" + _U32.pack(n)
    get = _ENCODERS.get
    for item in items:
        get(type(item), _enc_other)(item, out)
    out += b"j"


def _enc_improper(items, out):
    out += b"l" + _U32.pack(len(items))
    get = _ENCODERS.get
    for item in items:
        get(type(item), _enc_other)(item, out)
    tail = items.tail
    get(type(tail), _enc_other)(tail, out)


def _enc_raw(value, out):
    out += value.encoded()


def _enc_pickled(value, out):
    out += _OPAQUE_PYTHON
    _enc_binary(pickle.dumps(value, 2), out)


# Subclasses (an IntEnum, a namedtuple, a subclass of Atom) are matched by isinstance, most
# specific class first; bool cannot be subclassed.
_BY_ISINSTANCE = (
    (Atom, _enc_atom), (ImproperList, _enc_improper), (list, _enc_list), (tuple, _enc_tuple),
    (int, _enc_int), (float, _enc_float), (str, _enc_str), (bytes, _enc_binary),
    (OpaqueObject, _enc_raw), (Pid, _enc_raw),
)


def _enc_other(value, out):
    for cls, encoder in _BY_ISINSTANCE:
        if isinstance(value, cls):
            encoder(value, out)
            return
    _enc_pickled(value, out)


_ENCODERS = {
    Atom: _enc_atom, bool: _enc_bool, type(None): _enc_none, int: _enc_int,
    bytes: _enc_binary, bytearray: _enc_binary, memoryview: _enc_binary, str: _enc_str,
    float: _enc_float, tuple: _enc_tuple, list: _enc_list, List: _enc_list,
    ImproperList: _enc_improper, OpaqueObject: _enc_raw, Pid: _enc_raw,
}


def encode_into(term, out):
    """Append the ETF body of ``term`` (no 131 prefix) to the bytearray ``out``."""
    _ENCODERS.get(type(term), _enc_other)(term, out)


def encode(term, compressed=0):
    """Return ``term`` as ETF bytes starting with 131.

    ``compressed`` is a zlib level 0..9; with a level above 0 the compressed envelope
    (131, 'P', size, zlib data) is used when it is shorter.
    """
    out = bytearray(b"\x83")
    _ENCODERS.get(type(term), _enc_other)(term, out)
    if compressed:
        out = compress(out, compressed)
    return bytes(out)


def compress(term, level):
    """Return the compressed envelope of an encoded term (with its 131) if that is shorter."""
    body = memoryview(term)[1:]
    packed = zlib.compress(body, level)
    if len(packed) + 5 < len(body):
        return b"\x83P" + _U32.pack(len(body)) + packed
    return term


# --------------------------------------------------------------------------------- decoding

_MISSING = object()
_SPECIAL_ATOMS = {b"true": True, b"false": False, b"undefined": None}
_ATOMS = dict(_SPECIAL_ATOMS)  # raw atom bytes -> decoded value, bounded by _ATOM_CACHE_MAX


def _atom_value(raw):
    value = _ATOMS.get(raw, _MISSING)
    if value is _MISSING:
        if len(_ATOMS) >= _ATOM_CACHE_MAX:
            _ATOMS.clear()
            _ATOMS.update(_SPECIAL_ATOMS)
        value = _ATOMS[raw] = bytes.__new__(Atom, raw)
    return value


def _d_small_int(d, p):
    return d[p + 1], p + 2


def _d_int(d, p):
    return _I32.unpack_from(d, p + 1)[0], p + 5


def _d_new_float(d, p):
    return _F64.unpack_from(d, p + 1)[0], p + 9


def _d_old_float(d, p):
    text = d[p + 1:p + 32].split(b"\x00", 1)[0]
    try:
        return float(text), p + 32
    except ValueError:
        raise DecodeError("bad FLOAT_EXT %r" % (text,)) from None


def _d_atom(d, p):  # ATOM_EXT, ATOM_UTF8_EXT: 2-byte length
    end = p + 3 + ((d[p + 1] << 8) | d[p + 2])
    value = _ATOMS.get(d[p + 3:end], _MISSING)
    if value is _MISSING:
        value = _atom_value(d[p + 3:end])
    return value, end


def _d_small_atom(d, p):  # SMALL_ATOM_EXT, SMALL_ATOM_UTF8_EXT: 1-byte length
    end = p + 2 + d[p + 1]
    value = _ATOMS.get(d[p + 2:end], _MISSING)
    if value is _MISSING:
        value = _atom_value(d[p + 2:end])
    return value, end


def _tuple_items(d, p, n):
    items = []
    append = items.append
    for _ in range(n):
        value, p = _DECODERS[d[p]](d, p)
        append(value)
    return items, p


def _finish_tuple(d, start, p, items):
    if len(items) == 3 and items[0] == _OPAQUE and isinstance(items[2], bytes):
        if items[1] == b"python":
            try:
                return pickle.loads(items[2]), p
            except Exception as exc:
                raise DecodeError("cannot unpickle a python opaque value: %r" % (exc,)) from exc
        return OpaqueObject(items[2], items[1], d[start:p]), p
    return tuple(items), p


def _d_small_tuple(d, p):
    n = d[p + 1]
    if n == 2:
        first, q = _DECODERS[d[p + 2]](d, p + 2)
        second, q = _DECODERS[d[q]](d, q)
        return (first, second), q
    items, q = _tuple_items(d, p + 2, n)
    return _finish_tuple(d, p, q, items)


def _d_large_tuple(d, p):
    items, q = _tuple_items(d, p + 5, _U32.unpack_from(d, p + 1)[0])
    return _finish_tuple(d, p, q, items)


def _d_nil(_d, p):
    return List(), p + 1


def _d_string(d, p):
    end = p + 3 + ((d[p + 1] << 8) | d[p + 2])
    return List(d[p + 3:end]), end


def _d_list(d, p):
    n = _U32.unpack_from(d, p + 1)[0]
    p += 5
    items = List()
    append = items.append
    atoms = _ATOMS
    decoders = _DECODERS
    for _ in range(n):
        # Fast path for the broker's proplists: {atom, binary | atom | small int}.
        if d[p] == 104 and d[p + 1] == 2 and d[p + 2] == 100:
            q = p + 5 + ((d[p + 3] << 8) | d[p + 4])
            key = atoms.get(d[p + 5:q], _MISSING)
            if key is _MISSING:
                key = _atom_value(d[p + 5:q])
            tag = d[q]
            if tag == 109:
                p = q + 5 + _U32.unpack_from(d, q + 1)[0]
                append((key, d[q + 5:p]))
            elif tag == 100:
                p = q + 3 + ((d[q + 1] << 8) | d[q + 2])
                value = atoms.get(d[q + 3:p], _MISSING)
                append((key, value if value is not _MISSING else _atom_value(d[q + 3:p])))
            elif tag == 97:
                p = q + 2
                append((key, d[q + 1]))
            else:
                value, p = decoders[tag](d, q)
                append((key, value))
        else:
            value, p = decoders[d[p]](d, p)
            append(value)
    if d[p] == 106:
        return items, p + 1
    tail, p = decoders[d[p]](d, p)
    if not items or isinstance(tail, list):
        raise DecodeError("malformed improper list")
    return ImproperList(items, tail), p


def _d_binary(d, p):
    end = p + 5 + _U32.unpack_from(d, p + 1)[0]
    return d[p + 5:end], end


def _bignum(d, start, size, sign):
    value = int.from_bytes(d[start:start + size], "little")
    return -value if sign else value


def _d_small_big(d, p):
    size = d[p + 1]
    return _bignum(d, p + 3, size, d[p + 2]), p + 3 + size


def _d_large_big(d, p):
    size = _U32.unpack_from(d, p + 1)[0]
    return _bignum(d, p + 6, size, d[p + 5]), p + 6 + size


def _hashable(key):
    if isinstance(key, list):
        return tuple(_hashable(k) for k in key)
    if isinstance(key, dict):
        return tuple(sorted(((_hashable(k), _hashable(v)) for k, v in key.items()), key=repr))
    return key


def _d_map(d, p):
    n = _U32.unpack_from(d, p + 1)[0]
    p += 5
    result = {}
    for _ in range(n):
        key, p = _DECODERS[d[p]](d, p)
        value, p = _DECODERS[d[p]](d, p)
        try:
            result[key] = value
        except TypeError:
            result[_hashable(key)] = value
    return result, p


def _d_pid(d, p):  # PID_EXT (103): 1-byte creation; NEW_PID_EXT (88): 4-byte creation
    tag = d[p + 1]
    if tag in (100, 118):
        q = p + 4 + ((d[p + 2] << 8) | d[p + 3])
        node = d[p + 4:q]
    elif tag in (115, 119):
        q = p + 3 + d[p + 2]
        node = d[p + 3:q]
    else:
        raise DecodeError("a pid's node must be an atom, got tag %d" % tag)
    ident, serial = _U32.unpack_from(d, q)[0], _U32.unpack_from(d, q + 4)[0]
    if d[p] == 103:
        creation, end = d[q + 8], q + 9
    else:
        creation, end = _U32.unpack_from(d, q + 8)[0], q + 12
    return Pid(bytes.__new__(Atom, node), ident, serial, creation, d[p:end]), end


def _d_unsupported(d, p):
    raise DecodeError("unsupported term tag %d at offset %d" % (d[p], p))


_DECODERS = [_d_unsupported] * 256
for _tag, _fn in (
        (97, _d_small_int), (98, _d_int), (70, _d_new_float), (99, _d_old_float),
        (100, _d_atom), (118, _d_atom), (115, _d_small_atom), (119, _d_small_atom),
        (104, _d_small_tuple), (105, _d_large_tuple), (106, _d_nil), (107, _d_string),
        (108, _d_list), (109, _d_binary), (110, _d_small_big), (111, _d_large_big),
        (116, _d_map), (103, _d_pid), (88, _d_pid)):
    _DECODERS[_tag] = _fn
del _tag, _fn


def _inflate(data):
    if len(data) < 6:
        raise DecodeError("truncated compressed term")
    size = _U32.unpack_from(data, 2)[0]
    try:
        body = zlib.decompress(data[6:])
    except zlib.error as exc:
        raise DecodeError("bad compressed term: %s" % (exc,)) from None
    if len(body) != size:
        raise DecodeError("compressed term is %d bytes, header says %d" % (len(body), size))
    return body


def decode_prefix(data):
    """Decode the term at the start of ``data`` (which begins with 131).

    Returns ``(term, rest)`` where ``rest`` is the bytes after the term.
    """
    if type(data) is not bytes:
        data = bytes(data)
    if not data or data[0] != _VERSION:
        raise DecodeError("a term must start with 131, got %r" % (data[:1],))
    start = 1
    if len(data) > 1 and data[1] == _COMPRESSED:
        data, start = _inflate(data), 0
    try:
        term, end = _DECODERS[data[start]](data, start)
    except (IndexError, _StructError):
        raise DecodeError("truncated term") from None
    except RecursionError:
        raise DecodeError("term nested too deeply") from None
    if end > len(data):
        raise DecodeError("truncated term")
    return term, data[end:]


def decode(data):
    """Decode one term from ETF bytes beginning with 131; bytes after the term are ignored."""
    if type(data) is bytes and len(data) > 1 and data[0] == _VERSION and data[1] != _COMPRESSED:
        try:
            term, end = _DECODERS[data[1]](data, 1)
        except (IndexError, _StructError):
            raise DecodeError("truncated term") from None
        except RecursionError:
            raise DecodeError("term nested too deeply") from None
        if end > len(data):
            raise DecodeError("truncated term")
        return term
    return decode_prefix(data)[0]
