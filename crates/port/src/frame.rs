//! The `{packet, 4}` framing: a 4-byte big-endian length before each term.
