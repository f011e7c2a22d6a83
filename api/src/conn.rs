//! One client connection's bytes, as hyper sees them.
//!
//! Two things hyper does not offer are done here, below it:
//! - **A write timeout.** A client that sends requests and never reads its
//!   answers would hold the connection (and its buffers) forever: a write
//!   that makes no progress for `write_timeout` fails, and hyper closes the
//!   connection. (Idle connections and slow request heads are hyper's own
//!   `header_read_timeout`.)
//! - **JSON for hyper's automatic answers.** A request hyper cannot parse
//!   (bad request line, URI over its limit, headers over `max_buf_size`) is
//!   answered by hyper itself, before any service runs, with an empty body.
//!   Those answers, recognised by their status and by lacking the header
//!   every answer of ours carries, are replaced by the same JSON error any
//!   other 4xx gets. hyper closes the connection after them.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

pub struct ClientIo<S> {
    inner: S,
    write_timeout: Duration,
    /// Running while a write waits on the client.
    stalled: Option<Pin<Box<Sleep>>>,
    /// Our replacement for hyper's automatic answer: bytes, how far written,
    /// and the length of hyper's bytes it stands for.
    replacing: Option<(Vec<u8>, usize, usize)>,
}

impl<S> ClientIo<S> {
    pub fn new(inner: S, write_timeout: Duration) -> Self {
        ClientIo {
            inner,
            write_timeout,
            stalled: None,
            replacing: None,
        }
    }
}

impl<S: AsyncWrite + Unpin> ClientIo<S> {
    /// A write returned Pending: fail once it has waited `write_timeout`.
    fn stall(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let timeout = self.write_timeout;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        ready!(sleep.as_mut().poll(cx));
        self.stalled = None;
        tracing::debug!("client connection closed: it read nothing within the write timeout");
        Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client read nothing within the write timeout",
        ))
    }

    /// A write (or flush) that made progress resets the clock; one still
    /// waiting on the client fails once it has waited `write_timeout`.
    fn timed<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Pending => self.stall(cx).map(Err),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }

    fn write_with<F>(&mut self, cx: &mut Context<'_>, write: F) -> Poll<io::Result<usize>>
    where
        F: FnOnce(Pin<&mut S>, &mut Context<'_>) -> Poll<io::Result<usize>>,
    {
        let polled = write(Pin::new(&mut self.inner), cx);
        self.timed(cx, polled)
    }

    /// Write our replacement whole; then report hyper's bytes as written.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        loop {
            let (bytes, at, stands_for) = self.replacing.as_mut().expect("replacing");
            if *at == bytes.len() {
                let n = *stands_for;
                self.replacing = None;
                return Poll::Ready(Ok(n));
            }
            let (bytes, at) = (std::mem::take(bytes), *at);
            let r = self.write_with(cx, |s, cx| s.poll_write(cx, &bytes[at..]));
            let slot = self.replacing.as_mut().expect("replacing");
            slot.0 = bytes;
            match ready!(r) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => slot.1 += n,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ClientIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ClientIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacing.is_none()
            && let Some(json) = automatic_answer(buf)
        {
            this.replacing = Some((json, 0, buf.len()));
        }
        if this.replacing.is_some() {
            return this.poll_replacement(cx);
        }
        this.write_with(cx, |s, cx| s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacing.is_none()
            && let Some(first) = bufs.iter().find(|b| !b.is_empty())
            && let Some(json) = automatic_answer(first)
        {
            // hyper's automatic answer is a head alone, in one slice.
            this.replacing = Some((json, 0, first.len()));
        }
        if this.replacing.is_some() {
            return this.poll_replacement(cx);
        }
        this.write_with(cx, |s, cx| s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.timed(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The header every answer of larder's own carries (`route` adds it).
const OURS: &[u8] = b"x-content-type-options";

/// If `head` is hyper's automatic answer to an unparsable request, our JSON
/// answer in its place.
fn automatic_answer(head: &[u8]) -> Option<Vec<u8>> {
    let rest = head
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| head.strip_prefix(b"HTTP/1.0 "))?;
    let (code, message) = match rest.get(..4)? {
        b"400 " => ("bad-request", "the request is not valid HTTP/1.1"),
        b"414 " => ("uri-too-long", "the request URI is too long"),
        b"431 " => ("headers-too-large", "the request headers are too large"),
        _ => return None,
    };
    // A head alone, short, without the header of ours.
    if head.len() > 512 || !head.ends_with(b"\r\n\r\n") {
        return None;
    }
    if head
        .windows(OURS.len())
        .any(|w| w.eq_ignore_ascii_case(OURS))
    {
        return None;
    }
    let status_line = &head[..head.windows(2).position(|w| w == b"\r\n")?];
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    let mut out = Vec::with_capacity(status_line.len() + body.len() + 160);
    out.extend_from_slice(status_line);
    out.extend_from_slice(
        format!(
            "\r\ncontent-type: application/json\r\nx-content-type-options: nosniff\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let status = std::str::from_utf8(&rest[..3]).unwrap_or("other");
    metrics::counter!(larder_jobs::names::HTTP_REQUESTS, "route" => "other", "status" => status.to_owned())
        .increment(1);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::automatic_answer;

    #[test]
    fn only_hypers_own_error_heads_are_replaced() {
        let hyper = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Thu, 03 Dec 2026 08:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(automatic_answer(hyper).unwrap()).unwrap();
        assert!(out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(out.contains("content-type: application/json\r\n"));
        let body = out.split_once("\r\n\r\n").unwrap().1;
        assert!(out.contains(&format!("content-length: {}\r\n", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "headers-too-large");

        // Our own 400s, any 200, a body that happens to start like a head.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nx-content-type-options: nosniff\r\ncontent-length: 2\r\n\r\n{}";
        assert!(automatic_answer(ours).is_none());
        assert!(automatic_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(automatic_answer(b"{\"HTTP/1.1 400 \"}").is_none());
        assert!(automatic_answer(b"HTTP/1.1 400 Bad Request\r\ncontent-").is_none());
        assert!(automatic_answer(b"HTTP/1.1 400 Bad Request\r\n\r\nbody").is_none());
    }
}
