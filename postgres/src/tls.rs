//! The one bound a TLS connector must meet, for connections and for cancel requests.

use tokio_postgres::Socket;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};

use crate::cancel::CancelSocket;

/// A TLS connector tethered can use: [`tokio_postgres::NoTls`], or the connectors of
/// postgres-openssl, postgres-native-tls and tokio-postgres-rustls (anything generic over
/// the stream it wraps). The same connector carries the connection and its cancel
/// requests.
pub trait PgTls:
    MakeTlsConnect<
        Socket,
        Stream: Send + 'static,
        TlsConnect: Send + TlsConnect<Socket, Future: Send>,
    > + MakeTlsConnect<
        CancelSocket,
        Stream: Send,
        TlsConnect: Send + TlsConnect<CancelSocket, Future: Send>,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> PgTls for T where
    T: MakeTlsConnect<
            Socket,
            Stream: Send + 'static,
            TlsConnect: Send + TlsConnect<Socket, Future: Send>,
        > + MakeTlsConnect<
            CancelSocket,
            Stream: Send,
            TlsConnect: Send + TlsConnect<CancelSocket, Future: Send>,
        > + Clone
        + Send
        + Sync
        + 'static
{
}
