//! The byte side of a connection: a read side (buffer, packet decoder) and a write side
//! (buffer, encoder), kept apart so the connection loop can wait on both at once.

use std::time::Duration;

use super::tap::PacketTap;
use bytes::{Buf, BytesMut};
use hookmq_codec::{Decoder, Packet, Protocol};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The read half of any transport.
pub type Reader = Box<dyn AsyncRead + Send + Unpin>;
/// The write half of any transport.
pub type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// Incoming bytes and their decoder.
pub(crate) struct ReadSide {
    reader: Reader,
    pub(crate) buf: BytesMut,
    pub(crate) decoder: Decoder,
}

/// Outgoing bytes.
pub(crate) struct WriteSide {
    writer: Writer,
    pub(crate) buf: BytesMut,
    /// Bytes were handed to the writer and not flushed yet (TLS and WebSocket writers buffer).
    unflushed: bool,
    /// Packets encoded since the last time this was read (for metrics).
    pub(crate) packets_out: u64,
}

/// Both sides of one connection.
pub(crate) struct Io {
    pub(crate) rd: ReadSide,
    pub(crate) wr: WriteSide,
    /// The hook trace's view of this client's packets, once CONNECT named the client.
    pub(crate) tap: Option<PacketTap>,
}

impl Io {
    pub(crate) fn new(reader: Reader, writer: Writer, max_packet_size: u32) -> Io {
        Io {
            // Small until traffic needs more: an idle connection should cost little memory.
            rd: ReadSide {
                reader,
                buf: BytesMut::with_capacity(512),
                decoder: Decoder::new(max_packet_size),
            },
            wr: WriteSide {
                writer,
                buf: BytesMut::new(),
                unflushed: false,
                packets_out: 0,
            },
            tap: None,
        }
    }

    /// Encodes a packet into the write buffer.
    pub(crate) fn send(&mut self, packet: &Packet, protocol: Protocol) {
        if let Some(tap) = &self.tap {
            tap.packet(packet, false);
        }
        self.wr.send(packet, protocol);
    }

    /// Writes everything buffered, giving up after `limit`.
    pub(crate) async fn flush_within(&mut self, limit: Duration) {
        let wr = &mut self.wr;
        let write = async {
            while wr.wants_write() {
                wr.write_some().await?;
            }
            Ok::<(), std::io::Error>(())
        };
        let _ = tokio::time::timeout(limit, write).await;
    }

    /// Closes the write side.
    pub(crate) async fn shutdown(&mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.wr.writer.shutdown()).await;
    }
}

impl ReadSide {
    /// Gives the buffer's memory back when everything read was handled, so an idle connection
    /// holds no read buffer (the next read allocates a fresh one; decoded payloads keep their
    /// part of the old one alive until they are delivered).
    pub(crate) fn release_if_empty(&mut self) {
        if self.buf.is_empty() && self.buf.capacity() > 0 {
            self.buf = BytesMut::new();
        }
    }

    /// Reads what is available into the buffer; 0 means the peer closed. With an empty buffer
    /// (an idle connection) it waits on a small stack buffer, so waiting costs no heap memory.
    pub(crate) async fn read_some(&mut self) -> std::io::Result<usize> {
        if self.buf.capacity() == 0 {
            let mut first = [0u8; 512];
            let n = self.reader.read(&mut first).await?;
            self.buf.extend_from_slice(&first[..n]);
            return Ok(n);
        }
        if self.buf.capacity() - self.buf.len() < 256 {
            self.buf.reserve(4096);
        }
        self.reader.read_buf(&mut self.buf).await
    }
}

impl WriteSide {
    /// Encodes a packet into the buffer.
    pub(crate) fn send(&mut self, packet: &Packet, protocol: Protocol) {
        match hookmq_codec::encode_packet(packet, protocol, &mut self.buf) {
            Ok(()) => self.packets_out += 1,
            Err(e) => tracing::warn!(error = %e, "could not encode an outgoing packet"),
        }
    }

    /// Whether there is something to write or flush.
    pub(crate) fn wants_write(&self) -> bool {
        !self.buf.is_empty() || self.unflushed
    }

    /// Writes part of the buffer, and flushes once it is empty. Safe to cancel: an interrupted
    /// flush is retried on the next call.
    pub(crate) async fn write_some(&mut self) -> std::io::Result<usize> {
        let mut n = 0;
        if !self.buf.is_empty() {
            n = self.writer.write(&self.buf).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            self.buf.advance(n);
            self.unflushed = true;
        }
        if self.buf.is_empty() && self.unflushed {
            self.writer.flush().await?;
            self.unflushed = false;
        }
        Ok(n)
    }
}
