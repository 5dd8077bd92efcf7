//! A byte stream that refuses any RESP frame larger than a bound, for the
//! pub/sub connection.
//!
//! redis-rs reads each reply whole before handing it over, and a pub/sub
//! message is whatever any client with `PUBLISH` rights sent: up to the
//! server's `proto-max-bulk-len` (512 MB by default). This stream sits
//! under redis-rs's parser and follows the RESP framing as the bytes go
//! by — line headers, bulk lengths, bulk bodies skipped without keeping
//! them — and fails the read as soon as a header announces a bulk longer
//! than the bound or a line runs past [`MAX_LINE`], before the body
//! arrives. The connection then ends, the way a lost one does, and the
//! listener subscribes again.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The longest header or simple line (`+OK`, `-ERR …`, `:12`, `$5`).
pub(crate) const MAX_LINE: usize = 1024;

/// Where the scanner is in the RESP stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// In a line; `bulk` when it is a bulk header (`$`, `=`, `!`) whose
    /// length so far is `length` (`None`: `-1`, a null).
    Line {
        read: usize,
        bulk: bool,
        length: Option<u64>,
    },
    /// In a bulk body and its `\r\n`: this many bytes left.
    Body(u64),
}

/// Follows RESP framing and refuses bulks longer than `limit`.
#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    at: At,
    limit: u64,
}

impl Scanner {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            at: At::Line {
                read: 0,
                bulk: false,
                length: Some(0),
            },
            limit: u64::try_from(limit).unwrap_or(u64::MAX),
        }
    }

    /// Takes `bytes` in; an error once they break the bound.
    pub(crate) fn scan(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while let Some((&byte, rest)) = bytes.split_first() {
            match &mut self.at {
                At::Body(left) => {
                    let take = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    *left -= take as u64;
                    bytes = &bytes[take..];
                    if *left == 0 {
                        self.at = line();
                    }
                    continue;
                }
                At::Line { read, bulk, length } => {
                    *read += 1;
                    if *read > MAX_LINE {
                        return Err(refused("a RESP line longer than its bound"));
                    }
                    match (byte, *read) {
                        (b'$' | b'=' | b'!', 1) => *bulk = true,
                        (b'\n', _) => {
                            self.at = match (*bulk, *length) {
                                (true, Some(length)) if length > self.limit => {
                                    return Err(refused(
                                        "a pub/sub frame larger than its bound: dropped unread",
                                    ));
                                }
                                (true, Some(length)) => At::Body(length + 2),
                                _ => line(),
                            };
                        }
                        (b'-', 2) if *bulk => *length = None,
                        (b'0'..=b'9', _) if *bulk => {
                            if let Some(length) = length {
                                *length = length
                                    .saturating_mul(10)
                                    .saturating_add(u64::from(byte - b'0'));
                            }
                        }
                        _ => {}
                    }
                }
            }
            bytes = rest;
        }
        Ok(())
    }
}

fn line() -> At {
    At::Line {
        read: 0,
        bulk: false,
        length: Some(0),
    }
}

fn refused(why: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// `S`, with every byte read checked by a [`Scanner`].
pub(crate) struct Guarded<S> {
    inner: S,
    scanner: Scanner,
}

impl<S> Guarded<S> {
    pub(crate) fn new(inner: S, limit: usize) -> Self {
        Self {
            inner,
            scanner: Scanner::new(limit),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => Poll::Ready(this.scanner.scan(&buf.filled()[before..])),
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_in_pieces(bytes: &[u8], limit: usize, piece: usize) -> io::Result<()> {
        let mut scanner = Scanner::new(limit);
        bytes
            .chunks(piece)
            .try_for_each(|chunk| scanner.scan(chunk))
    }

    #[test]
    fn frames_within_the_bound_pass_in_any_pieces() {
        let message = b"*3\r\n$7\r\nmessage\r\n$5\r\nchan1\r\n$10\r\n0123456789\r\n\
                        +OK\r\n:42\r\n$-1\r\n*-1\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$3\r\n\r\n\r\n";
        for piece in [1, 2, 3, 7, message.len()] {
            scan_in_pieces(message, 10, piece).unwrap();
        }
    }

    #[test]
    fn a_bulk_over_the_bound_fails_at_its_header() {
        let header = b"*3\r\n$7\r\nmessage\r\n$5\r\nchan1\r\n$536870912\r\n";
        for piece in [1, 5, header.len()] {
            let error = scan_in_pieces(header, 4096, piece).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        }
        // A body's bytes are never taken for a header.
        let body = b"$11\r\n$999999999\r\n\r\n";
        scan_in_pieces(body, 100, 1).unwrap();
        // Nor may a line run on without end.
        let endless = vec![b'+'; MAX_LINE + 1];
        assert!(scan_in_pieces(&endless, 100, 64).is_err());
        // A length that overflows is over the bound too.
        assert!(scan_in_pieces(b"$99999999999999999999999999\r\n", 100, 3).is_err());
    }
}
