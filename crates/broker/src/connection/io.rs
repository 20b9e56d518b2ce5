//! The byte side of a connection: a read side (buffer, packet decoder) and a write side
//! (buffer, encoder), kept apart so the connection loop can wait on both at once.

use std::time::Duration;

use super::tap::PacketTap;
use bytes::{Buf, BytesMut};
use hookmq_codec::{Decoder, Packet, Protocol};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

/// Bytes read at once (on the poll's stack, never kept).
const STACK_READ: usize = 16 * 1024;

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
            // Empty until traffic needs it: an idle connection should cost little memory.
            rd: ReadSide {
                reader,
                buf: BytesMut::new(),
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

    /// Reads what is available into the buffer; 0 means the peer closed.
    ///
    /// The read goes to a buffer on the stack of the poll, then is appended to the heap buffer
    /// (allocated at the size read when nothing was pending): the waiting future holds no
    /// buffer at all, on the heap or in the task, since a pending read leaves the buffer
    /// untouched and it need not outlive the poll. An idle connection between packets thus
    /// costs no read buffer; the copy is one `memcpy` of what was read.
    pub(crate) async fn read_some(&mut self) -> std::io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_read_some(cx)).await
    }

    fn poll_read_some(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        let mut stack = [MaybeUninit::<u8>::uninit(); STACK_READ];
        let mut rb = ReadBuf::uninit(&mut stack);
        std::task::ready!(Pin::new(&mut self.reader).poll_read(cx, &mut rb))?;
        self.buf.extend_from_slice(rb.filled());
        Poll::Ready(Ok(rb.filled().len()))
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
            // Everything went out: an idle connection keeps no write buffer (the next packet
            // allocates one of its size).
            self.buf = BytesMut::new();
        }
        Ok(n)
    }
}
