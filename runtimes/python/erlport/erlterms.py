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

from ._decoder import decode, decode_prefix
from ._encoder import compress, encode, encode_into
from ._termtypes import Atom, DecodeError, ImproperList, List, OpaqueObject, Pid

__all__ = [
    "Atom", "List", "ImproperList", "OpaqueObject", "Pid", "DecodeError",
    "encode", "encode_into", "compress", "decode", "decode_prefix",
]
