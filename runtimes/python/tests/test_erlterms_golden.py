"""ETF codec tests: the exact bytes from the wire spec, encoding rules, tolerant decoding."""

import pickle
import zlib

import pytest

from erlport.erlterms import (Atom, DecodeError, ImproperList, List, OpaqueObject, Pid,
                              decode, decode_prefix, encode)


def h(text):
    return bytes.fromhex(text.replace(" ", ""))


INIT_CALL = h("83 68 05 64 0001 43 61 01 64 0005 686f6f6b73 64 0004 696e6974 6a")
REPLY_TRUE = h("83 68 03 64 0001 72 61 03 68 02 61 00 64 0004 74727565")
JAVA_REPLY_TRUE = h("83 68 03 77 01 72 61 03 68 02 61 00 77 04 74727565")


def test_init_call_decodes_and_reencodes_byte_exact():
    term = decode(INIT_CALL)
    assert term == (b"C", 1, b"hooks", b"init", [])
    assert all(type(x) is Atom for x in (term[0], term[2], term[3]))
    assert type(term[4]) is List
    assert encode((Atom(b"C"), 1, Atom(b"hooks"), Atom(b"init"), List())) == INIT_CALL


def test_reply_true_is_the_reference_bytes():
    assert encode((Atom(b"r"), 3, (0, True))) == REPLY_TRUE
    assert decode(REPLY_TRUE) == (b"r", 3, (0, True))


def test_java_small_atom_utf8_reply_decodes():
    term = decode(JAVA_REPLY_TRUE)
    assert term == (b"r", 3, (0, True)) and term[2][1] is True


def test_sdk_hook_spec_is_strings_as_charlists():
    spec = ("client_connect", "hooks", "emqx_hook.on_client_connect", [])
    assert encode(spec) == b"\x83" + h("68 04 6b 000e") + b"client_connect" + h("6b 0005") + \
        b"hooks" + h("6b 001b") + b"emqx_hook.on_client_connect" + h("6a")
    assert encode(()) == h("83 68 00")


def test_str_is_code_points_not_utf8():
    assert encode("\u20ac") == h("83 6c 00000001 62 000020ac 6a")
    assert encode("\u00e9") == h("83 6b 0001 e9")
    assert encode("a\u20ac") == h("83 6c 00000002 61 61 62 000020ac 6a")
    assert encode("") == h("83 6a")
    long_text = "x" * 65536
    assert encode(long_text)[:6] == h("83 6c 00010000") and encode(long_text).endswith(b"j")
    assert decode(encode("h\u00e9\u20ac")).to_string() == "h\u00e9\u20ac"


def test_atoms_and_constants_are_always_atom_ext():
    assert encode(Atom(b"ok")) == h("83 64 0002 6f6b")
    assert encode(True) == h("83 64 0004 74727565")
    assert encode(False) == h("83 64 0005 66616c7365")
    assert encode(None) == h("83 64 0009 756e646566696e6564")
    assert encode(Atom("caf\u00e9")) == h("83 64 0004 636166e9")
    with pytest.raises(ValueError):
        Atom(b"a" * 256)


def test_atoms_decode_from_every_atom_tag_as_bytes():
    for raw in (h("83 64 0003 666f6f"), h("83 73 03 666f6f"), h("83 76 0003 666f6f"),
                h("83 77 03 666f6f")):
        value = decode(raw)
        assert value == b"foo" and isinstance(value, bytes) and isinstance(value, Atom)
    assert decode(h("83 77 05 66616c7365")) is False
    assert decode(h("83 73 09 756e646566696e6564")) is None


@pytest.mark.parametrize("number, wire", [
    (0, "61 00"), (255, "61 ff"), (256, "62 00000100"), (-1, "62 ffffffff"),
    (2 ** 31 - 1, "62 7fffffff"), (-2 ** 31, "62 80000000"),
    (2 ** 31, "6e 04 00 00000080"), (-2 ** 31 - 1, "6e 04 01 01000080"),
    (1600000000000, "6e 06 00 00806e877401"),
])
def test_integers(number, wire):
    assert encode(number) == b"\x83" + h(wire)
    assert decode(b"\x83" + h(wire)) == number


def test_large_big_round_trip():
    big = 1 << (8 * 300)
    assert encode(big)[1] == 111
    assert decode(encode(big)) == big and decode(encode(-big)) == -big


def test_floats():
    assert encode(1.5) == h("83 46 3ff8000000000000")
    assert decode(h("83 46 3ff8000000000000")) == 1.5
    old = b"\x83c" + b"1.50000000000000000000e+00".ljust(31, b"\x00")
    assert decode(old) == 1.5


def test_list_encoding_rules():
    assert encode([]) == h("83 6a")
    assert encode(List()) == h("83 6a")
    assert encode([1, 2, 255]) == h("83 6b 0003 0102ff")
    assert encode([1, 256]) == h("83 6c 00000002 61 01 62 00000100 6a")
    assert encode([True]) == h("83 6c 00000001 64 0004 74727565 6a")
    assert encode([1] * 65536)[:6] == h("83 6c 00010000")
    assert decode(h("83 6b 0003 010203")) == [1, 2, 3]
    assert type(decode(h("83 6b 0003 010203"))) is List


def test_binaries_and_tuples():
    assert encode(b"ab") == h("83 6d 00000002 6162")
    assert encode(bytearray(b"ab")) == h("83 6d 00000002 6162")
    big_tuple = tuple(range(256))
    assert encode(big_tuple)[:6] == h("83 69 00000100")
    assert decode(encode(big_tuple)) == big_tuple


def test_improper_list():
    term = ImproperList([1, 2], Atom(b"t"))
    wire = h("83 6c 00000002 61 01 61 02 64 0001 74")
    assert encode(term) == wire
    decoded = decode(wire)
    assert isinstance(decoded, ImproperList) and decoded == term and decoded.tail == b"t"
    with pytest.raises(ValueError):
        ImproperList([], 1)


def test_python_objects_travel_as_pickled_opaque_terms():
    value = {"a": [1, 2], "b": {3}}
    wire = encode(value)
    assert wire.startswith(h("83 68 03 64 000f") + b"$erlport.opaque" + h("64 0006") + b"python")
    body = decode_prefix(wire)[0]
    assert body == value
    payload = wire.split(b"python", 1)[1]
    assert payload[0] == 0x6D and pickle.loads(payload[5:]) == value
    assert payload[5:7] == b"\x80\x02"  # pickle protocol 2


def test_foreign_opaque_terms_reencode_byte_exact():
    erlang_map = h("74 00000001 64 0001 61 61 01")
    for lang in (h("64 0006") + b"erlang", h("77 04") + b"java"):
        inner = h("68 03 64 000f") + b"$erlport.opaque" + lang + b"m" + \
            len(erlang_map).to_bytes(4, "big") + erlang_map
        value = decode(b"\x83" + inner)
        assert isinstance(value, OpaqueObject) and value.data == erlang_map
        assert encode(value) == b"\x83" + inner
        assert encode([value, 1]) == b"\x83" + h("6c 00000002") + inner + h("61 01 6a")
    made = OpaqueObject(b"xyz", Atom(b"java"))
    assert decode(encode(made)) == made


def test_map_ext_decodes_to_dict():
    wire = h("83 74 00000002 64 0001 61 61 01 6d 00000001 62 6b 0001 63")
    assert decode(wire) == {b"a": 1, b"b": [0x63]}
    wire = h("83 74 00000001 6b 0001 61 61 01")  # a list key is made hashable
    assert decode(wire) == {(0x61,): 1}


def test_trailing_bytes_are_ignored():
    assert decode(h("83 6a 6a")) == []
    term, rest = decode_prefix(h("83 61 05 6a"))
    assert term == 5 and rest == h("6a")


def test_compressed_envelope_both_ways():
    value = [b"x" * 1000, "hello" * 50]
    plain = encode(value)
    packed = encode(value, compressed=6)
    assert packed[:2] == b"\x83P" and len(packed) < len(plain)
    assert int.from_bytes(packed[2:6], "big") == len(plain) - 1
    assert decode(packed) == decode(plain)
    assert encode(1, compressed=9) == encode(1)  # not worth it: sent plain
    manual = b"\x83P" + (len(plain) - 1).to_bytes(4, "big") + zlib.compress(plain[1:])
    assert decode(manual) == decode(plain)


def test_pids_round_trip():
    new_pid = h("83 58 64 000d") + b"nonode@nohost" + h("00000053 00000000 00000000")
    old_pid = h("83 67 64 000d") + b"nonode@nohost" + h("00000053 00000000 00")
    for wire in (new_pid, old_pid):
        pid = decode(wire)
        assert isinstance(pid, Pid) and pid.node == b"nonode@nohost" and pid.id == 0x53
        assert encode(pid) == wire


@pytest.mark.parametrize("wire, reason", [
    ("", "131"), ("84 6a", "131"), ("83 ff", "unsupported"), ("83 6d 00000005 6162", "truncated"),
    ("83 68 02 61 01", "truncated"), ("83 50 00000002 0000", "compressed"),
    ("83 6c 00000001 61 01", "truncated"),
])
def test_malformed_input_raises_decode_error(wire, reason):
    with pytest.raises(DecodeError, match=reason):
        decode(h(wire))


def test_round_trips():
    values = [
        0, -5, 70000, 2 ** 70, 3.25, b"", b"\x00\xff", Atom(b"x"), True, False, None,
        (), (1, (2, (3,))), [], [b"a", [b"b", []]], [(Atom(b"k"), b"v")],
        ImproperList([Atom(b"a")], b"tail"), {"k": "v"},
    ]
    for value in values:
        assert decode(encode(value)) == value, value
    assert decode(encode("text")).to_string() == "text"
    nested = [(Atom(b"node"), Atom(b"emqx@127.0.0.1")), (Atom(b"is_superuser"), False)]
    assert encode(decode(encode(nested))) == encode(nested)


def test_list_to_string():
    assert List([104, 105]).to_string() == "hi"
    with pytest.raises(TypeError):
        List([b"x"]).to_string()
