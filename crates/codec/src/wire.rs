//! Primitive wire types shared by the decoder and the encoder: variable byte integers, two-byte
//! length-prefixed strings and binary data.
