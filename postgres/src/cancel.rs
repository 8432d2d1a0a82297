//! Stopping a connection's statement with PostgreSQL's CancelRequest.
//!
//! The postmaster answers a CancelRequest by signalling the backend twice (the process,
//! then its process group) and closing the socket. Under load the second signal can arrive
//! after the first has already stopped the statement, and then stop the connection's next
//! statement instead. So a cancel here completes only once the server has closed the
//! socket: both signals have been sent by then, and a backend that has gone idle ignores a
//! late one. (tokio-postgres's own `cancel_query` returns as soon as the request is
//! written.)

use std::io;
use std::net::IpAddr;
#[cfg(unix)]
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tethered_core::{Canceller, Error, Result};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;
use tokio_postgres::CancelToken;
use tokio_postgres::tls::MakeTlsConnect;

use crate::tls::PgTls;

/// Where a connection's cancel requests go: the one server address the connection is on,
/// never the configuration's first host that accepts (with several hosts, or a name with
/// several addresses, that may be another server, where the request is lost).
#[derive(Clone, Debug)]
pub(crate) enum CancelTarget {
    Tcp {
        /// The host name, for TLS.
        host: String,
        address: IpAddr,
        port: u16,
        connect_timeout: Option<Duration>,
    },
    #[cfg(unix)]
    Unix {
        /// The directory the server's socket is in.
        directory: PathBuf,
        port: u16,
    },
}

impl CancelTarget {
    /// A socket to the server, and its host name for TLS.
    async fn connect(&self) -> io::Result<(CancelSocket, &str)> {
        match self {
            CancelTarget::Tcp {
                host,
                address,
                port,
                connect_timeout,
            } => {
                let connect = TcpStream::connect((*address, *port));
                let stream = match connect_timeout {
                    Some(limit) => tokio::time::timeout(*limit, connect)
                        .await
                        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))?,
                    None => connect.await?,
                };
                stream.set_nodelay(true)?;
                Ok((CancelSocket::Tcp(stream), host.as_str()))
            }
            #[cfg(unix)]
            CancelTarget::Unix { directory, port } => {
                let socket = directory.join(format!(".s.PGSQL.{port}"));
                let stream = UnixStream::connect(socket).await?;
                // tokio-postgres names no host for a socket either.
                Ok((CancelSocket::Unix(stream), ""))
            }
        }
    }
}

/// The socket a cancel request travels on. Shutting it down also waits for the server to
/// close its end, which it does once it has signalled the backend.
#[derive(Debug)]
pub enum CancelSocket {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A Unix-domain socket.
    #[cfg(unix)]
    Unix(UnixStream),
}

impl CancelSocket {
    fn io(self: Pin<&mut Self>) -> Pin<&mut (dyn AsyncReadWrite + Send + Unpin)> {
        match self.get_mut() {
            CancelSocket::Tcp(stream) => Pin::new(stream),
            #[cfg(unix)]
            CancelSocket::Unix(stream) => Pin::new(stream),
        }
    }
}

trait AsyncReadWrite: AsyncRead + AsyncWrite {}

impl<S: AsyncRead + AsyncWrite> AsyncReadWrite for S {}

impl AsyncRead for CancelSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.io().poll_read(cx, buf)
    }
}

impl AsyncWrite for CancelSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io().poll_flush(cx)
    }

    /// Closes our side, then reads until the server has closed its side.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut io = self.io();
        ready!(io.as_mut().poll_shutdown(cx))?;
        let mut scratch = [0; 64];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match ready!(io.as_mut().poll_read(cx, &mut buf)) {
                Ok(()) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::ConnectionReset => {
                    return Poll::Ready(Ok(()));
                }
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}

/// Sends a CancelRequest for one connection, over a new socket, through the connection's
/// own TLS connector. Made once per connection; cloning shares it.
pub struct PgCanceller<T> {
    shared: Arc<Shared<T>>,
}

struct Shared<T> {
    token: CancelToken,
    tls: T,
    target: CancelTarget,
}

impl<T> PgCanceller<T> {
    pub(crate) fn new(token: CancelToken, tls: T, target: CancelTarget) -> PgCanceller<T> {
        PgCanceller {
            shared: Arc::new(Shared { token, tls, target }),
        }
    }
}

impl<T> Clone for PgCanceller<T> {
    fn clone(&self) -> PgCanceller<T> {
        PgCanceller {
            shared: Arc::clone(&self.shared),
        }
    }
}

fn cancel_error(error: impl Into<tethered_core::BoxError>) -> Error {
    Error::connection("could not send the cancel request", Some(error.into()))
}

impl<T: PgTls> Canceller for PgCanceller<T> {
    /// Completes once the server has taken the request and closed the socket. Whether the
    /// statement stopped is told by the statement itself: it ends with SQLSTATE 57014.
    async fn cancel(&self) -> Result<()> {
        let shared = &self.shared;
        let (socket, host) = shared.target.connect().await.map_err(cancel_error)?;
        let tls = MakeTlsConnect::<CancelSocket>::make_tls_connect(&mut shared.tls.clone(), host)
            .map_err(cancel_error)?;
        shared
            .token
            .cancel_query_raw(socket, tls)
            .await
            .map_err(cancel_error)
    }
}
