//! Opening a connection on the first of the configuration's servers that takes it, and
//! knowing which one that was.
//!
//! tokio-postgres walks the hosts, and each name's addresses, itself, but does not say which
//! one it connected to; its `CancelToken` keeps that address, but sends the request without
//! waiting for the server to act on it (see `cancel`). A cancel request sent anywhere else
//! is lost: another server of a multi-host configuration, or another address of the name,
//! accepts it and ignores it. So tethered walks them, in tokio-postgres's order, and hands
//! tokio-postgres one address at a time.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tethered_core::{Error, Result};
use tokio_postgres::config::{Host, LoadBalanceHosts};
use tokio_postgres::{Client, Config};

use crate::cancel::CancelTarget;
use crate::error::connect_error;
use crate::tls::PgTls;

/// Connects to the first server of `config` that accepts the connection (and, with
/// `target_session_attrs=read-write`, allows writes), spawns the connection's task, and
/// says where its cancel requests must go. Each attempt is bounded by the configuration's
/// `connect_timeout` and by `remaining`, the time the checkout's context has left: a
/// server that does not answer is not waited for past the caller's deadline, and the
/// context's end stops the walk.
pub(crate) async fn connect<T: PgTls>(
    config: &Config,
    tls: &T,
    remaining: Option<Duration>,
) -> Result<(Client, CancelTarget)> {
    let mut last_error = None;
    for server in servers(config) {
        let targets = match targets(&server, config).await {
            Ok(targets) => targets,
            Err(error) => {
                last_error = Some(error);
                continue;
            }
        };
        for target in targets {
            let mut one = one_server(config, &server, &target);
            if let Some(left) = remaining {
                let timeout = config
                    .get_connect_timeout()
                    .map_or(left, |own| left.min(*own));
                // tokio-postgres reads a zero as "no timeout".
                one.connect_timeout(timeout.max(Duration::from_millis(1)));
            }
            match one.connect(tls.clone()).await {
                Ok((client, connection)) => {
                    // The connection task ends by itself once the client is dropped.
                    tokio::spawn(connection);
                    return Ok((client, target));
                }
                Err(error) => last_error = Some(connect_error(error)),
            }
        }
    }
    Err(last_error.unwrap_or_else(|| {
        Error::InvalidInput("the PostgreSQL configuration names no host".to_owned())
    }))
}

/// One entry of the configuration's host list.
struct Server {
    host: Option<Host>,
    hostaddr: Option<IpAddr>,
    port: u16,
}

/// The configuration's servers, in the order tokio-postgres would try them.
fn servers(config: &Config) -> Vec<Server> {
    let (hosts, hostaddrs, ports) = (
        config.get_hosts(),
        config.get_hostaddrs(),
        config.get_ports(),
    );
    let mut servers: Vec<Server> = (0..hosts.len().max(hostaddrs.len()))
        .map(|index| Server {
            host: hosts.get(index).cloned(),
            hostaddr: hostaddrs.get(index).copied(),
            port: ports.get(index).or(ports.first()).copied().unwrap_or(5432),
        })
        .collect();
    if config.get_load_balance_hosts() == LoadBalanceHosts::Random && !servers.is_empty() {
        // Spread over the servers without a random number generator of our own: the
        // clock's nanoseconds pick where the walk starts.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
        let start = nanos as usize % servers.len();
        servers.rotate_left(start);
    }
    servers
}

/// The addresses `server` stands for: its `hostaddr`, each address its name resolves to,
/// or its socket directory.
async fn targets(server: &Server, config: &Config) -> Result<Vec<CancelTarget>> {
    let connect_timeout = config.get_connect_timeout().copied();
    let tcp = |host: &str, address| CancelTarget::Tcp {
        host: host.to_owned(),
        address,
        port: server.port,
        connect_timeout,
    };
    match (&server.host, server.hostaddr) {
        (Some(Host::Tcp(host)), Some(address)) => Ok(vec![tcp(host, address)]),
        (None, Some(address)) => Ok(vec![tcp("", address)]),
        (Some(Host::Tcp(host)), None) => {
            let addresses = tokio::net::lookup_host((host.as_str(), server.port))
                .await
                .map_err(|error| {
                    Error::connection(
                        format!("could not connect to PostgreSQL: cannot resolve {host}: {error}"),
                        Some(error.into()),
                    )
                })?;
            Ok(addresses.map(|address| tcp(host, address.ip())).collect())
        }
        #[cfg(unix)]
        (Some(Host::Unix(directory)), _) => Ok(vec![CancelTarget::Unix {
            directory: directory.clone(),
            port: server.port,
        }]),
        (None, None) => Ok(Vec::new()),
    }
}

/// `config` with `server` narrowed to the one address `target`: every other setting is
/// kept, so tokio-postgres connects (TLS, authentication, `target_session_attrs`) as it
/// would have.
fn one_server(config: &Config, server: &Server, target: &CancelTarget) -> Config {
    let mut one = Config::new();
    match target {
        CancelTarget::Tcp { address, .. } => {
            if let Some(Host::Tcp(host)) = &server.host {
                one.host(host);
            }
            one.hostaddr(*address);
        }
        #[cfg(unix)]
        CancelTarget::Unix { directory, .. } => {
            one.host_path(directory);
        }
    }
    one.port(server.port);
    if let Some(user) = config.get_user() {
        one.user(user);
    }
    if let Some(password) = config.get_password() {
        one.password(password);
    }
    if let Some(dbname) = config.get_dbname() {
        one.dbname(dbname);
    }
    if let Some(options) = config.get_options() {
        one.options(options);
    }
    if let Some(name) = config.get_application_name() {
        one.application_name(name);
    }
    if let Some(timeout) = config.get_connect_timeout() {
        one.connect_timeout(*timeout);
    }
    if let Some(timeout) = config.get_tcp_user_timeout() {
        one.tcp_user_timeout(*timeout);
    }
    if let Some(interval) = config.get_keepalives_interval() {
        one.keepalives_interval(interval);
    }
    if let Some(retries) = config.get_keepalives_retries() {
        one.keepalives_retries(retries);
    }
    one.ssl_mode(config.get_ssl_mode())
        .ssl_negotiation(config.get_ssl_negotiation())
        .keepalives(config.get_keepalives())
        .keepalives_idle(config.get_keepalives_idle())
        .target_session_attrs(config.get_target_session_attrs())
        .channel_binding(config.get_channel_binding());
    one
}
