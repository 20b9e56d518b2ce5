"""ETF decoding: External Term Format bytes to Python values (rules in ``erlterms``)."""

import pickle
import zlib
from struct import Struct, error as _StructError

from ._termtypes import OPAQUE as _OPAQUE
from ._termtypes import Atom, DecodeError, ImproperList, List, OpaqueObject, Pid

_U32 = Struct(">I")
_I32 = Struct(">i")
_F64 = Struct(">d")
_VERSION = 131
_COMPRESSED = 80  # 'P'
_ATOM_CACHE_MAX = 4096

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
    # Binaries, small integers and atoms inline: hookmq's batched calls send messages and
    # client infos as tuples of them.
    items = []
    append = items.append
    unpack = _U32.unpack_from
    atoms = _ATOMS
    for _ in range(n):
        tag = d[p]
        if tag == 109:
            q = p + 5 + unpack(d, p + 1)[0]
            append(d[p + 5:q])
        elif tag == 97:
            q = p + 2
            append(d[p + 1])
        elif tag == 100:
            q = p + 3 + ((d[p + 1] << 8) | d[p + 2])
            value = atoms.get(d[p + 3:q], _MISSING)
            append(value if value is not _MISSING else _atom_value(d[p + 3:q]))
        else:
            value, q = _DECODERS[tag](d, p)
            append(value)
        p = q
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

