//! An in-process TCP proxy between the pool under test and its server: a slow network
//! (a fixed delay each way) or a frozen one ([`Proxy::stall`]), on a port of its own.
//!
//! Each direction of a link is a reader and a writer joined by a queue: a chunk read at `t`
//! is written at `t + delay`, in the order read, so a delay never reorders bytes and a
//! burst costs one delay, not one per chunk. A stalled link neither reads nor writes; the
//! kernel's buffers fill and the peer is held back, as on a partitioned network. Links
//! opened after a stall pass. The proxy and every link end when it is dropped.

use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::AbortHandle;
use tokio::time::{Instant, sleep_until};

/// A TCP proxy on 127.0.0.1 (a port of its own) to one target address.
pub struct Proxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    acceptor: AbortHandle,
}

struct Shared {
    /// Where links go: round robin, in the order of acceptance.
    targets: Vec<SocketAddr>,
    /// The turn of the next link, round robin over `targets`.
    next_turn: AtomicUsize,
    delay: Duration,
    accepted: AtomicUsize,
    /// Chunks read and not yet written (or dropped).
    in_flight: AtomicUsize,
    /// Told whenever `in_flight` falls to 0.
    drained: Notify,
    links: Mutex<Vec<Link>>,
}

/// One proxied connection: its task, and the switch that freezes it.
struct Link {
    stalled: watch::Sender<bool>,
    task: AbortHandle,
}

impl Proxy {
    /// Listens on 127.0.0.1 (any free port) and forwards every connection to `target`
    /// (`host:port`), each byte `delay` late in each direction.
    pub async fn start(target: &str, delay: Duration) -> io::Result<Proxy> {
        Proxy::listen(vec![address_of(target).await?], delay).await
    }

    /// A load balancer: listens on 127.0.0.1 (any free port) and forwards each new
    /// connection to the next of `targets` (`host:port`), round robin, without delay.
    pub async fn balance(targets: &[String]) -> io::Result<Proxy> {
        let mut addresses = Vec::new();
        for target in targets {
            addresses.push(address_of(target).await?);
        }
        Proxy::listen(addresses, Duration::ZERO).await
    }

    async fn listen(targets: Vec<SocketAddr>, delay: Duration) -> io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            targets,
            next_turn: AtomicUsize::new(0),
            delay,
            accepted: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            drained: Notify::new(),
            links: Mutex::new(Vec::new()),
        });
        let acceptor = tokio::spawn(accept(listener, Arc::clone(&shared))).abort_handle();
        Ok(Proxy {
            address,
            shared,
            acceptor,
        })
    }

    /// Where the proxy listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `url` (`scheme://user@host:port/db?...`) pointed at the proxy instead of its server.
    pub fn url(&self, url: &str) -> String {
        redirect(url, self.address)
    }

    /// How many connections the proxy has accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Sends the next connection to the balancer's target `index` (in the order given to
    /// [`Proxy::balance`]); the round robin goes on from there.
    pub fn send_next_to(&self, index: usize) {
        self.shared.next_turn.store(index, Ordering::SeqCst);
    }

    /// Freezes every link open now: from here on none of them reads or writes a byte.
    /// Connections accepted later pass as before.
    pub fn stall(&self) {
        for link in self.shared.links().iter() {
            let _ = link.stalled.send(true);
        }
    }

    /// Waits until every chunk the proxy has read is written: what a client sent before
    /// this call has reached the server (bytes still in the kernel's buffers excepted). On
    /// a stalled link with bytes pending, this never returns.
    pub async fn drained(&self) {
        loop {
            let mut drained = pin!(self.shared.drained.notified());
            drained.as_mut().enable();
            if self.shared.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            drained.await;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        for link in self.shared.links().drain(..) {
            link.task.abort();
        }
    }
}

impl Shared {
    fn links(&self) -> std::sync::MutexGuard<'_, Vec<Link>> {
        self.links.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The first address `target` (`host:port`) resolves to.
async fn address_of(target: &str) -> io::Result<SocketAddr> {
    tokio::net::lookup_host(target)
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{target} has no address")))
}

/// The `host:port` of `url` (`scheme://user@host:port/db?...`).
pub fn server_address(url: &str) -> Option<&str> {
    let (_, address, _) = split_authority(url)?;
    Some(address)
}

/// `url` with its `host:port` replaced by `address`.
pub fn redirect(url: &str, address: SocketAddr) -> String {
    match split_authority(url) {
        Some((before, _, after)) => format!("{before}{address}{after}"),
        None => panic!("`{url}` names no server"),
    }
}

/// `url` cut around its `host:port`: what precedes it (scheme and user), it, and the rest.
fn split_authority(url: &str) -> Option<(&str, &str, &str)> {
    let scheme_end = url.find("://")? + 3;
    let authority_len = url[scheme_end..]
        .find(['/', '?'])
        .unwrap_or(url.len() - scheme_end);
    let authority = &url[scheme_end..scheme_end + authority_len];
    let host_start = scheme_end + authority.rfind('@').map_or(0, |at| at + 1);
    let host_end = scheme_end + authority_len;
    Some((
        &url[..host_start],
        &url[host_start..host_end],
        &url[host_end..],
    ))
    .filter(|(_, address, _)| !address.is_empty())
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((client, _)) = listener.accept().await {
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        let turn = shared.next_turn.fetch_add(1, Ordering::SeqCst);
        let target = shared.targets[turn % shared.targets.len()];
        let (stalled, watched) = watch::channel(false);
        let task = tokio::spawn(link(client, target, Arc::clone(&shared), watched)).abort_handle();
        let mut links = shared.links();
        links.retain(|link| !link.task.is_finished());
        links.push(Link { stalled, task });
    }
}

async fn link(
    client: TcpStream,
    target: SocketAddr,
    shared: Arc<Shared>,
    stalled: watch::Receiver<bool>,
) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (from_client, to_client) = client.into_split();
    let (from_server, to_server) = server.into_split();
    tokio::join!(
        pipe(from_client, to_server, &shared, stalled.clone()),
        pipe(from_server, to_client, &shared, stalled),
    );
}

/// Bytes read and not yet written, counted in [`Shared::in_flight`] while they live.
struct Chunk<'s> {
    bytes: Vec<u8>,
    shared: &'s Shared,
}

impl Drop for Chunk<'_> {
    fn drop(&mut self) {
        if self.shared.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shared.drained.notify_waiters();
        }
    }
}

/// One direction of a link: each chunk read at `t` is written at `t + delay`; the end of
/// the stream is passed on the same way.
async fn pipe(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    shared: &Shared,
    stalled: watch::Receiver<bool>,
) {
    // `None`: the stream ended.
    let (queue, mut queued) = mpsc::channel::<(Instant, Option<Chunk<'_>>)>(64);
    let mut read_stall = stalled.clone();
    let reader = async move {
        let mut buffer = vec![0; 16 * 1024];
        loop {
            let _ = read_stall.wait_for(|stalled| !stalled).await;
            let read = tokio::select! {
                read = from.read(&mut buffer) => read,
                // Stalled while waiting: read nothing more.
                _ = read_stall.wait_for(|stalled| *stalled) => continue,
            };
            let chunk = match read {
                Ok(0) | Err(_) => None,
                Ok(n) => {
                    shared.in_flight.fetch_add(1, Ordering::SeqCst);
                    Some(Chunk {
                        bytes: buffer[..n].to_vec(),
                        shared,
                    })
                }
            };
            let end = chunk.is_none();
            if queue
                .send((Instant::now() + shared.delay, chunk))
                .await
                .is_err()
                || end
            {
                return;
            }
        }
    };
    let mut write_stall = stalled;
    let writer = async move {
        while let Some((at, chunk)) = queued.recv().await {
            sleep_until(at).await;
            let _ = write_stall.wait_for(|stalled| !stalled).await;
            let Some(chunk) = chunk else {
                let _ = to.shutdown().await;
                return;
            };
            if to.write_all(&chunk.bytes).await.is_err() {
                return;
            }
        }
    };
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server on 127.0.0.1 that echoes every connection, and counts nothing.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        address
    }

    async fn exchange(stream: &mut TcpStream, sent: &[u8]) -> Vec<u8> {
        stream.write_all(sent).await.expect("write");
        let mut received = vec![0; sent.len()];
        stream.read_exact(&mut received).await.expect("read");
        received
    }

    #[tokio::test]
    async fn bytes_arrive_a_delay_late_each_way_and_in_order() {
        let proxy = Proxy::start(&echo().await.to_string(), Duration::from_millis(50))
            .await
            .expect("proxy");
        let mut stream = TcpStream::connect(proxy.address()).await.expect("connect");
        let start = Instant::now();
        assert_eq!(exchange(&mut stream, b"ping").await, b"ping");
        assert!(start.elapsed() >= Duration::from_millis(100), "no delay");

        // Many small writes in a row come back whole and in order, without a delay each.
        let sent: Vec<u8> = (0..20_000u32).map(|n| (n % 251) as u8).collect();
        let start = Instant::now();
        let (mut read, mut write) = stream.split();
        let writes = async {
            for piece in sent.chunks(100) {
                write.write_all(piece).await.expect("write");
            }
        };
        let mut received = vec![0; sent.len()];
        let (_, read) = tokio::join!(writes, read.read_exact(&mut received));
        read.expect("read");
        assert_eq!(received, sent);
        assert!(start.elapsed() >= Duration::from_millis(100), "no delay");
        assert_eq!(proxy.accepted(), 1);
        proxy.drained().await;
    }

    #[tokio::test]
    async fn a_stall_freezes_open_links_and_lets_new_ones_pass() {
        let proxy = Proxy::start(&echo().await.to_string(), Duration::ZERO)
            .await
            .expect("proxy");
        let mut frozen = TcpStream::connect(proxy.address()).await.expect("connect");
        assert_eq!(exchange(&mut frozen, b"before").await, b"before");

        proxy.stall();
        frozen.write_all(b"after").await.expect("write");
        let mut byte = [0; 1];
        let read = tokio::time::timeout(Duration::from_millis(300), frozen.read(&mut byte)).await;
        assert!(read.is_err(), "a stalled link forwarded {read:?}");

        let mut fresh = TcpStream::connect(proxy.address()).await.expect("connect");
        assert_eq!(exchange(&mut fresh, b"new").await, b"new");
        assert_eq!(proxy.accepted(), 2);
    }

    /// A server that greets each connection with `greeting` and closes it.
    async fn greeter(greeting: u8) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let _ = stream.write_all(&[greeting]).await;
            }
        });
        address.to_string()
    }

    #[tokio::test]
    async fn a_balancer_sends_connections_round_robin_or_where_told() {
        let proxy = Proxy::balance(&[greeter(0).await, greeter(1).await])
            .await
            .expect("balancer");
        let mut greetings = Vec::new();
        for turn in 0..5 {
            if turn == 3 {
                proxy.send_next_to(0);
            }
            let mut stream = TcpStream::connect(proxy.address()).await.expect("connect");
            let mut greeting = [0; 1];
            stream.read_exact(&mut greeting).await.expect("a greeting");
            greetings.push(greeting[0]);
        }
        assert_eq!(greetings, [0, 1, 0, 0, 1]);
    }

    #[test]
    fn urls_are_redirected_to_the_proxy() {
        let to: SocketAddr = "127.0.0.1:4000".parse().expect("address");
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/test",
                "postgres://postgres@127.0.0.1:4000/test",
            ),
            (
                "mysql://root:pw@db.example:3306/test?prefer_socket=false",
                "mysql://root:pw@127.0.0.1:4000/test?prefer_socket=false",
            ),
            ("mysql://localhost:3306", "mysql://127.0.0.1:4000"),
        ];
        for (url, redirected) in cases {
            assert_eq!(redirect(url, to), redirected);
        }
        assert_eq!(
            server_address("postgres://postgres@127.0.0.1:5432/test"),
            Some("127.0.0.1:5432")
        );
        assert_eq!(server_address("not a url"), None);
    }
}
