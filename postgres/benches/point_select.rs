//! Point selects by primary key: tethered against raw tokio-postgres (prepared statements,
//! the same number of connections, each used by one query at a time), in one process,
//! with interleaved rounds so drift on a noisy machine hits every contestant alike.
//!
//! Client CPU is the time this process's threads spent on a CPU (the sum of
//! /proc/self/task/*/schedstat, in nanoseconds), divided by the queries of the round;
//! PostgreSQL's own CPU is not counted. Everything runs on the runtime's worker threads,
//! so both contestants' connection tasks are placed alike.
//!
//! Run with `cargo bench -p tethered-postgres --bench point_select` against
//! TETHERED_POSTGRES_URL (default `postgres://postgres@127.0.0.1:5432/test`).
//!
//! For a profiler (e.g. `valgrind --tool=callgrind`, which counts instructions whatever
//! else the machine does), `PROFILE_ONLY=Raw|Tethered|TetheredWithDeadline` runs just that
//! contestant, sequentially, `PROFILE_QUERIES` times (default 2000): the difference between
//! two counts divided by the difference in queries is the cost of one query.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tethered_core::{Ctx, Executor, PoolOptions, Sql};
use tethered_postgres::{PgPool, connect};
use tokio::sync::Semaphore;
use tokio_postgres::{Client, NoTls, Statement};

const ROWS: i64 = 1_000;
const ROUNDS: usize = 5;
const CONNECTIONS: usize = 8;
const TASKS: usize = 32;
const QUERIES_PER_ROUND: usize = 20_000;
const SEQUENTIAL_QUERIES: usize = 4_000;

/// Process CPU time so far (user + system), from /proc/self/stat.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let after_name = &stat[stat.rfind(')').expect("command name") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 10)
}

/// A minimal pool of raw clients, each with the statement prepared once.
struct RawPool {
    clients: Mutex<Vec<(Client, Statement)>>,
    free: Semaphore,
}

impl RawPool {
    async fn new(url: &str, table: &str, size: usize) -> RawPool {
        let mut clients = Vec::new();
        for _ in 0..size {
            let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
            tokio::spawn(connection);
            let statement = client
                .prepare(&format!("SELECT id, name FROM {table} WHERE id = $1"))
                .await
                .expect("prepare");
            clients.push((client, statement));
        }
        RawPool {
            clients: Mutex::new(clients),
            free: Semaphore::new(size),
        }
    }

    async fn point_select(&self, id: i64) {
        let permit = self.free.acquire().await.expect("open");
        let (client, statement) = self
            .clients
            .lock()
            .expect("pool")
            .pop()
            .expect("a free client");
        let row = client.query_one(&statement, &[&id]).await.expect("select");
        // Decoded owned, as tethered decodes rows into values.
        let name: String = row.get(1);
        assert!(!name.is_empty());
        self.clients.lock().expect("pool").push((client, statement));
        drop(permit);
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Contestant {
    Raw,
    Tethered,
    TetheredWithDeadline,
}

struct Bench {
    raw: RawPool,
    pool: PgPool,
    /// The service's long-lived root context; requests derive from it.
    root: Ctx,
    /// Static, as an application's SQL usually is (the table name is per run).
    select: &'static str,
}

impl Bench {
    async fn point_select(&self, contestant: Contestant, id: i64) {
        match contestant {
            Contestant::Raw => self.raw.point_select(id).await,
            Contestant::Tethered => self.tethered(&self.root, id).await,
            Contestant::TetheredWithDeadline => {
                // A request with a deadline, as a service derives per request.
                let request = self.root.with_timeout(Duration::from_secs(5));
                self.tethered(&request, id).await;
            }
        }
    }

    async fn tethered(&self, ctx: &Ctx, id: i64) {
        let sql = Sql::new(self.select).bind(id);
        let (_, name): (i64, String) = self.pool.fetch_one(ctx, sql).await.expect("select");
        assert!(!name.is_empty());
    }
}

/// Runs `queries` point selects over `tasks` concurrent tasks; returns wall and CPU time.
async fn round(
    bench: &Arc<Bench>,
    contestant: Contestant,
    tasks: usize,
    queries: usize,
) -> (Duration, Duration) {
    let (wall, cpu) = (Instant::now(), cpu_time());
    let workers: Vec<_> = (0..tasks)
        .map(|task| {
            let bench = Arc::clone(bench);
            tokio::spawn(async move {
                for i in 0..queries / tasks {
                    let id = ((task * 7919 + i * 104_729) as i64 % ROWS) + 1;
                    bench.point_select(contestant, id).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
    (wall.elapsed(), cpu_time() - cpu)
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    tokio::spawn(compare()).await.expect("benchmark");
}

async fn compare() {
    let url = std::env::var("TETHERED_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let table = format!("bench_point_{}", std::process::id());
    let ctx = Ctx::background();
    let options = PoolOptions {
        max_connections: CONNECTIONS,
        ..PoolOptions::default()
    };
    let pool = connect(&ctx, &url, options)
        .await
        .expect("PostgreSQL (run scripts/ensure-databases)");
    pool.execute(
        &ctx,
        format!("CREATE TABLE {table} (id int8 PRIMARY KEY, name text NOT NULL)"),
    )
    .await
    .expect("create");
    pool.execute(
        &ctx,
        format!("INSERT INTO {table} SELECT g, 'name ' || g FROM generate_series(1, {ROWS}) g"),
    )
    .await
    .expect("fill");
    let bench = Arc::new(Bench {
        raw: RawPool::new(&url, &table, CONNECTIONS).await,
        root: Ctx::background(),
        select: format!("SELECT id, name FROM {table} WHERE id = $1").leak(),
        pool,
    });
    let contestants = [
        Contestant::Raw,
        Contestant::Tethered,
        Contestant::TetheredWithDeadline,
    ];
    if let Ok(only) = std::env::var("PROFILE_ONLY") {
        let contestant = contestants
            .into_iter()
            .find(|c| format!("{c:?}") == only)
            .expect("contestant");
        round(&bench, contestant, 1, 200).await;
        let queries =
            std::env::var("PROFILE_QUERIES").map_or(2000, |q| q.parse().expect("a count"));
        round(&bench, contestant, 1, queries).await;
        return;
    }
    for contestant in contestants {
        round(&bench, contestant, TASKS, 2_000).await; // warm up: connections, caches
    }

    println!(
        "{:<34} {:>12} {:>10} {:>14} {:>10}",
        "workload / contestant", "queries/s", "vs raw", "CPU us/query", "vs raw"
    );
    for (workload, tasks, queries) in [
        ("1 connection, sequential", 1, SEQUENTIAL_QUERIES),
        ("32 tasks over 8 connections", TASKS, QUERIES_PER_ROUND),
    ] {
        let mut throughput = vec![Vec::new(); contestants.len()];
        let mut cpu = vec![Vec::new(); contestants.len()];
        for _ in 0..ROUNDS {
            for (index, contestant) in contestants.iter().enumerate() {
                let (wall, used) = round(&bench, *contestant, tasks, queries).await;
                throughput[index].push(queries as f64 / wall.as_secs_f64());
                cpu[index].push(used.as_secs_f64() * 1e6 / queries as f64);
            }
        }
        let throughput: Vec<f64> = throughput.into_iter().map(median).collect();
        let cpu: Vec<f64> = cpu.into_iter().map(median).collect();
        for (index, contestant) in contestants.iter().enumerate() {
            println!(
                "{:<34} {:>12.0} {:>9.3}x {:>14.1} {:>9.3}x",
                format!("{workload}: {contestant:?}"),
                throughput[index],
                throughput[index] / throughput[0],
                cpu[index],
                cpu[index] / cpu[0],
            );
        }
    }
    bench
        .pool
        .execute(&ctx, format!("DROP TABLE {table}"))
        .await
        .expect("drop");
}
