//! Point selects by primary key: tethered against raw mysql_async, on the same number of
//! connections, in interleaved rounds (raw, tethered, tethered with a deadline, in an order
//! that turns each round), reporting medians.
//!
//! Raw mysql_async runs prepared statements on plain `Conn`s, one per task. Tethered runs
//! each select through `&Pool` (a checkout per statement, the cancellation protocol, the
//! binder and the decoder). "With deadline" gives every select a context with 5 s left,
//! so the server-side limit (`SET STATEMENT max_statement_time=... FOR`) is in the text.
//!
//! Client CPU is the process's user + system time from `/proc/self/stat` (clock ticks of
//! 10 ms, summed over all rounds of a variant; the server is another process).
//!
//! Run with `cargo bench -p tethered-mysql --bench point_select` against
//! TETHERED_MYSQL_URL (default `mysql://root@127.0.0.1:3306/test`).

use std::time::Duration;

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use tethered_core::{Ctx, Executor, PoolOptions, Sql};
use tethered_mysql::MyPool;
use tokio::time::Instant;

const CONNECTIONS: usize = 4;
const QUERIES_PER_ROUND: u64 = 10_000;
const ROUNDS: usize = 15;
const ROWS: u64 = 10_000;

fn url() -> String {
    std::env::var("TETHERED_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Raw,
    Tethered,
    TetheredWithDeadline,
}

/// What one round measured.
struct Round {
    elapsed: Duration,
    cpu: Duration,
    prepares: u64,
}

/// The process's CPU time so far (user + system), from `/proc/self/stat`.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat[stat.rfind(')').expect("stat format") + 2..]
        .split(' ')
        .collect();
    // utime and stime are fields 14 and 15 of the whole line, in ticks of 1/100 s.
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 10)
}

async fn global_prepares(observer: &mut Conn) -> u64 {
    let row: Option<(String, u64)> = observer
        .query_first("SHOW GLOBAL STATUS LIKE 'Com_stmt_prepare'")
        .await
        .expect("status");
    row.expect("a row").1
}

/// The id task `task` asks for as its `n`th query.
fn id_for(task: u64, n: u64) -> u64 {
    (task * 7919 + n * 104_729) % ROWS + 1
}

/// Each task owns one plain connection, and gives it back.
async fn raw_round(conns: Vec<Conn>, select: &'static str) -> Vec<Conn> {
    let per_task = QUERIES_PER_ROUND / conns.len() as u64;
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(task, mut conn)| {
            tokio::spawn(async move {
                for n in 0..per_task {
                    let id = id_for(task as u64, n);
                    let row: Option<(u64, String, i64)> =
                        conn.exec_first(select, (id,)).await.expect("raw select");
                    assert_eq!(row.expect("a row").0, id);
                }
                conn
            })
        })
        .collect();
    let mut conns = Vec::new();
    for task in tasks {
        conns.push(task.await.expect("raw task"));
    }
    conns
}

/// Each task runs its selects through the pool, one checkout per select.
async fn tethered_round(pool: &MyPool, select: &'static str, deadline: bool) {
    let per_task = QUERIES_PER_ROUND / CONNECTIONS as u64;
    let tasks: Vec<_> = (0..CONNECTIONS as u64)
        .map(|task| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let root = Ctx::background();
                for n in 0..per_task {
                    let id = id_for(task, n);
                    let query = Sql::new(select).bind(id);
                    let (got, _, _): (u64, String, i64) = if deadline {
                        let scope = root.with_timeout(Duration::from_secs(5));
                        pool.fetch_one(&scope, query).await
                    } else {
                        pool.fetch_one(&root, query).await
                    }
                    .expect("tethered select");
                    assert_eq!(got, id);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("tethered task");
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let mut observer = Conn::from_url(url()).await.unwrap_or_else(|error| {
        panic!("MariaDB/MySQL is not reachable at {} ({error}): run `scripts/test` or set TETHERED_MYSQL_URL", url())
    });
    let table = format!("bench_point_{}", std::process::id());
    observer
        .query_drop(format!(
            "CREATE TABLE {table} (id bigint unsigned PRIMARY KEY, name varchar(50) NOT NULL, n bigint NOT NULL) ENGINE=InnoDB"
        ))
        .await
        .expect("create");
    observer
        .query_drop(format!(
            "INSERT INTO {table} SELECT seq, CONCAT('name ', seq), seq * 3 FROM seq_1_to_{ROWS}"
        ))
        .await
        .expect("fill");
    // Leaked once, as an application's `const` statement would be: `Sql` keeps it uncopied.
    let select: &'static str = format!("SELECT id, name, n FROM {table} WHERE id = ?").leak();

    let mut raw: Vec<Conn> = Vec::new();
    for _ in 0..CONNECTIONS {
        raw.push(Conn::from_url(url()).await.expect("raw connection"));
    }
    let options = PoolOptions {
        max_connections: CONNECTIONS,
        ..PoolOptions::default()
    };
    let pool = tethered_mysql::connect(&Ctx::background(), &url(), options)
        .await
        .expect("pool");

    let variants = [
        Variant::Raw,
        Variant::Tethered,
        Variant::TetheredWithDeadline,
    ];
    let mut rounds: Vec<(Variant, Round)> = Vec::new();
    // Round 0 warms every connection's statement cache and is not counted. The order turns
    // each round, so no variant always runs first or after the same neighbour.
    for round in 0..=ROUNDS {
        let mut order = variants;
        order.rotate_left(round % variants.len());
        for variant in order {
            let prepares = global_prepares(&mut observer).await;
            let cpu = process_cpu();
            let start = Instant::now();
            match variant {
                Variant::Raw => raw = raw_round(raw, select).await,
                Variant::Tethered => tethered_round(&pool, select, false).await,
                Variant::TetheredWithDeadline => tethered_round(&pool, select, true).await,
            }
            let measured = Round {
                elapsed: start.elapsed(),
                cpu: process_cpu() - cpu,
                prepares: global_prepares(&mut observer).await - prepares,
            };
            if round > 0 {
                rounds.push((variant, measured));
            }
        }
    }

    println!(
        "{QUERIES_PER_ROUND} point selects per round, {CONNECTIONS} connections, {ROUNDS} \
         interleaved rounds, medians:"
    );
    let mut raw_throughput = 0.0;
    for variant in variants {
        let of_variant: Vec<&Round> = rounds
            .iter()
            .filter(|(v, _)| *v == variant)
            .map(|(_, round)| round)
            .collect();
        let elapsed = median(of_variant.iter().map(|r| r.elapsed).collect());
        let throughput = QUERIES_PER_ROUND as f64 / elapsed.as_secs_f64();
        let cpu: Duration = of_variant.iter().map(|r| r.cpu).sum();
        let queries = QUERIES_PER_ROUND * of_variant.len() as u64;
        let cpu_per_query = cpu.as_secs_f64() * 1e6 / queries as f64;
        let prepares: u64 = of_variant.iter().map(|r| r.prepares).sum();
        if variant == Variant::Raw {
            raw_throughput = throughput;
        }
        println!(
            "  {:<24} {throughput:>9.0} queries/s  {:>5.3}x raw  client CPU {cpu_per_query:>5.1} µs/query  \
             statements prepared while measuring: {prepares}",
            format!("{variant:?}"),
            throughput / raw_throughput,
        );
    }
    observer
        .query_drop(format!("DROP TABLE {table}"))
        .await
        .expect("drop");
}
