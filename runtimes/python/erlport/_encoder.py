"""ETF encoding: Python values to External Term Format bytes (rules in ``erlterms``)."""

import pickle
import zlib
from struct import Struct

from ._termtypes import Atom, ImproperList, List, OpaqueObject, Pid

_U16 = Struct(">H")
_U32 = Struct(">I")
_I32 = Struct(">i")
_F64 = Struct(">d")

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

