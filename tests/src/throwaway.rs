//! A database server of a test's own, started from the installed binaries, for what must
//! not be done to the shared servers: restarting them.
//!
//! Each instance keeps its data under a unique directory inside
//! `${TETHERED_DB_DIR:-${TMPDIR:-/tmp}/tethered-databases}`, listens on a free loopback port
//! (found by binding `127.0.0.1:0`), and is stopped and removed when dropped. The servers
//! are started as `scripts/ensure-databases` starts its own: PostgreSQL with `initdb` and
//! `pg_ctl` (as user `postgres` through `runuser` when run as root), MariaDB with
//! `mariadb-install-db` and `mariadbd --no-defaults`. A missing binary is a loud failure
//! that names it: these tests never skip themselves.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::backend::unique;

/// Which server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// PostgreSQL.
    Postgres,
    /// MariaDB.
    MariaDb,
}

/// A running server of the test's own.
pub struct Throwaway {
    kind: Kind,
    dir: PathBuf,
    port: u16,
    /// The MariaDB server process (PostgreSQL's is `pg_ctl`'s).
    mariadbd: Option<Child>,
}

impl Throwaway {
    /// Creates and starts a server of `kind`. Blocking: call it from a multi-threaded
    /// runtime (it runs in `block_in_place`).
    pub fn start(kind: Kind) -> Throwaway {
        tokio::task::block_in_place(|| {
            let base = std::env::var_os("TETHERED_DB_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| std::env::temp_dir().join("tethered-databases"));
            let dir = base.join(unique(match kind {
                Kind::Postgres => "throwaway_pg",
                Kind::MariaDb => "throwaway_my",
            }));
            std::fs::create_dir_all(&dir)
                .unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
            let mut server = Throwaway {
                kind,
                dir,
                port: free_port(),
                mariadbd: None,
            };
            server.create();
            server.run();
            if kind == Kind::MariaDb {
                server.grant_loopback_root();
            }
            server
        })
    }

    /// The URL of its default database as the superuser, without a password.
    pub fn url(&self) -> String {
        match self.kind {
            Kind::Postgres => format!("postgres://postgres@127.0.0.1:{}/postgres", self.port),
            Kind::MariaDb => format!("mysql://root@127.0.0.1:{}/mysql", self.port),
        }
    }

    /// A namespace that exists on a new server (a schema, a database).
    pub fn namespace(&self) -> &'static str {
        match self.kind {
            Kind::Postgres => "public",
            Kind::MariaDb => "mysql",
        }
    }

    /// Stops the server the way an operator does (a fast shutdown, SIGTERM) and starts it
    /// again on the same port and data. Every session it had is gone.
    pub fn restart(&mut self) {
        tokio::task::block_in_place(|| {
            self.stop();
            self.run();
        });
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn create(&self) {
        match self.kind {
            Kind::Postgres => {
                let bin = postgres_bin();
                if is_root() {
                    // initdb runs as postgres, which must own the directory.
                    run(Command::new("chown").arg("postgres:").arg(&self.dir));
                }
                run(as_postgres(&bin.join("initdb"))
                    .arg("-D")
                    .arg(self.data())
                    .args(["-A", "trust", "-U", "postgres", "-E", "UTF8"])
                    .args(["--locale=C", "--no-sync"]));
            }
            Kind::MariaDb => {
                run(Command::new(binary("mariadb-install-db"))
                    .arg("--no-defaults")
                    .arg(format!("--datadir={}", self.data().display()))
                    .arg(format!("--user={}", user()))
                    .args(["--auth-root-authentication-method=normal", "--skip-test-db"]));
            }
        }
    }

    /// Starts the server and waits until it takes connections.
    fn run(&mut self) {
        match self.kind {
            Kind::Postgres => {
                let options = format!(
                    "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                    self.port,
                    self.dir.display()
                );
                run(as_postgres(&postgres_bin().join("pg_ctl"))
                    .arg("-D")
                    .arg(self.data())
                    .arg("-l")
                    .arg(self.dir.join("server.log"))
                    .args(["-w", "-t", "60", "-o", &options, "start"]));
            }
            Kind::MariaDb => {
                let child = Command::new(binary("mariadbd"))
                    .arg("--no-defaults")
                    .arg(format!("--datadir={}", self.data().display()))
                    .arg(format!("--user={}", user()))
                    .args([
                        "--character-set-server=utf8mb4",
                        "--collation-server=utf8mb4_general_ci",
                        "--bind-address=127.0.0.1",
                        "--skip-name-resolve",
                    ])
                    .arg(format!("--port={}", self.port))
                    .arg(format!("--socket={}", self.socket().display()))
                    .arg(format!(
                        "--log-error={}",
                        self.dir.join("error.log").display()
                    ))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap_or_else(|error| panic!("cannot start mariadbd: {error}"));
                self.mariadbd = Some(child);
                self.wait_for_mariadb();
            }
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("mysqld.sock")
    }

    fn wait_for_mariadb(&mut self) {
        let start = Instant::now();
        loop {
            let ping = Command::new(binary("mariadb-admin"))
                .arg(format!("--socket={}", self.socket().display()))
                .args(["-u", "root", "ping"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if ping.is_ok_and(|status| status.success()) {
                return;
            }
            if let Some(Ok(Some(exited))) = self.mariadbd.as_mut().map(Child::try_wait) {
                panic!(
                    "mariadbd exited ({exited}) before it took connections; see {}",
                    self.dir.join("error.log").display()
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "mariadbd did not take connections within 60 s; see {}",
                self.dir.join("error.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Loopback TCP connections come from 127.0.0.1, not `localhost`.
    fn grant_loopback_root(&self) {
        run(Command::new(binary("mariadb"))
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-u", "root", "-e"])
            .arg(
                "CREATE USER IF NOT EXISTS root@'127.0.0.1'; \
                 GRANT ALL ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;",
            ));
    }

    fn stop(&mut self) {
        match self.kind {
            Kind::Postgres => {
                run(as_postgres(&postgres_bin().join("pg_ctl"))
                    .arg("-D")
                    .arg(self.data())
                    .args(["-m", "fast", "-w", "-t", "60", "stop"]));
            }
            Kind::MariaDb => {
                if let Some(mut child) = self.mariadbd.take() {
                    run(Command::new("kill").args(["-TERM", &child.id().to_string()]));
                    let _ = child.wait();
                }
            }
        }
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        let mut stop = || {
            self.stop();
            let _ = std::fs::remove_dir_all(&self.dir);
        };
        // Dropped inside a test's runtime or outside one.
        match tokio::runtime::Handle::try_current() {
            Ok(_) => tokio::task::block_in_place(stop),
            Err(_) => stop(),
        }
    }
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    listener.local_addr().expect("the bound address").port()
}

fn is_root() -> bool {
    user() == "root"
}

fn user() -> String {
    let output = Command::new("id")
        .arg("-un")
        .output()
        .expect("running `id -un`");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The newest installed PostgreSQL's binaries.
fn postgres_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (initdb, pg_ctl): \
             install the postgresql package (apt-get install postgresql)"
        )
    })
}

/// `program` as user postgres when running as root (PostgreSQL refuses to run as root).
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// The path of an installed binary, found on `PATH` or in `/usr/sbin`.
fn binary(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.exists())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not installed (not on PATH nor in /usr/sbin): install the \
                 mariadb-server package (apt-get install mariadb-server mariadb-client)"
            )
        })
}

/// Runs `command` to its end; a failure panics with what it printed.
fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
