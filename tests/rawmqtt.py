"""Raw MQTT over a plain socket, for tests that must control every byte and every close: the
malformed-input cases, protocol faults, and checks of what the broker puts on the wire (reason
codes, properties, topic aliases) that a client library would hide or refuse to send."""

import socket
import struct

from harness import TIMEOUT


def encode_len(n):
    """The variable byte integer of a remaining length."""
    out = b""
    while True:
        b, n = n % 128, n // 128
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def packet(first, body):
    """A packet from its first byte and body."""
    return bytes([first]) + encode_len(len(body)) + body


def s(text):
    """A length-prefixed string (or binary) field."""
    b = text.encode() if isinstance(text, str) else text
    return struct.pack(">H", len(b)) + b


def connect_v5(client_id="raw", props=b"\x00", flags=0x02, keepalive=60, will=b""):
    """An MQTT 5 CONNECT; `props` is the encoded property block, `will` the encoded will fields
    (properties, topic, payload) when `flags` has the will bit."""
    return packet(0x10, s("MQTT") + bytes([5, flags]) + struct.pack(">H", keepalive) + props + s(client_id) + will)


def connect_v4(client_id="raw", flags=0x02, keepalive=60, will=b""):
    """An MQTT 3.1.1 CONNECT; `will` holds the encoded will topic and payload."""
    return packet(0x10, s("MQTT") + bytes([4, flags]) + struct.pack(">H", keepalive) + s(client_id) + will)


def properties(*encoded):
    """A property block from encoded properties (identifier byte and value each)."""
    body = b"".join(encoded)
    return encode_len(len(body)) + body


def parse_properties(data):
    """Decodes a property block into {identifier: [values]} (enough for the checks tests make:
    byte, two- and four-byte integers, variable byte integers, strings and string pairs)."""
    n, i, mult = 0, 0, 1
    while True:
        b = data[i]
        i += 1
        n += (b & 127) * mult
        mult *= 128
        if not b & 128:
            break
    end = i + n
    out = {}
    while i < end:
        pid = data[i]
        i += 1
        if pid in (0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A):
            value, i = data[i], i + 1
        elif pid in (0x13, 0x21, 0x22, 0x23):
            value, i = struct.unpack(">H", data[i : i + 2])[0], i + 2
        elif pid in (0x02, 0x11, 0x18, 0x27):
            value, i = struct.unpack(">I", data[i : i + 4])[0], i + 4
        elif pid == 0x0B:
            value, mult = 0, 1
            while True:
                b = data[i]
                i += 1
                value += (b & 127) * mult
                mult *= 128
                if not b & 128:
                    break
        elif pid == 0x26:
            k = struct.unpack(">H", data[i : i + 2])[0]
            key = data[i + 2 : i + 2 + k].decode()
            i += 2 + k
            v = struct.unpack(">H", data[i : i + 2])[0]
            value = (key, data[i + 2 : i + 2 + v].decode())
            i += 2 + v
        else:
            k = struct.unpack(">H", data[i : i + 2])[0]
            value = data[i + 2 : i + 2 + k]
            i += 2 + k
            if pid not in (0x09, 0x16):
                value = value.decode()
        out.setdefault(pid, []).append(value)
    return out, end


class Raw:
    """One raw connection to the broker."""

    def __init__(self, port, timeout=TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def send(self, data):
        self.sock.sendall(data)

    def read_packet(self):
        """The next packet (first byte, body), or None if the broker closed the connection."""
        try:
            first = self.sock.recv(1)
            if not first:
                return None
            mult, n = 1, 0
            while True:
                b = self.sock.recv(1)
                if not b:
                    return None
                n += (b[0] & 127) * mult
                mult *= 128
                if not b[0] & 128:
                    break
            body = b""
            while len(body) < n:
                chunk = self.sock.recv(n - len(body))
                if not chunk:
                    return None
                body += chunk
            return first[0], body
        except ConnectionResetError:
            return None

    def expect(self, first_byte):
        """The next packet, which must have this first byte; returns its body."""
        p = self.read_packet()
        assert p is not None, f"connection closed, expected 0x{first_byte:02X}"
        assert p[0] == first_byte, f"got packet 0x{p[0]:02X} {p[1]!r}, expected 0x{first_byte:02X}"
        return p[1]

    def expect_closed(self):
        """Reads until close; returns the packets seen before it."""
        seen = []
        while True:
            p = self.read_packet()
            if p is None:
                return seen
            seen.append(p)

    def close(self):
        self.sock.close()


def v5_publish(topic, payload, qos=0, packet_id=1, props=b"\x00"):
    """An MQTT 5 PUBLISH."""
    pid = struct.pack(">H", packet_id) if qos else b""
    return packet(0x30 | (qos << 1), s(topic) + pid + props + payload)


def v4_publish(topic, payload, qos=0, packet_id=1):
    """An MQTT 3.1.1 PUBLISH."""
    pid = struct.pack(">H", packet_id) if qos else b""
    return packet(0x30 | (qos << 1), s(topic) + pid + payload)


def parse_publish(first, body, v5=True):
    """(topic, packet id or None, properties dict, payload) of a received PUBLISH."""
    qos = (first >> 1) & 3
    n = struct.unpack(">H", body[:2])[0]
    topic = body[2 : 2 + n].decode()
    i = 2 + n
    packet_id = None
    if qos:
        packet_id = struct.unpack(">H", body[i : i + 2])[0]
        i += 2
    props = {}
    if v5:
        props, used = parse_properties(body[i:])
        i += used
    return topic, packet_id, props, body[i:]
