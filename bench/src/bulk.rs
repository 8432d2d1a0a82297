//! `--bulk`: a 100,000-row bulk insert on PostgreSQL (issue 12), three ways in interleaved
//! rounds on the same table: tethered's `insert_many` (multi-row inserts split under the
//! 65,535-parameter limit), tethered's `copy_in` (`COPY ... FROM STDIN (FORMAT binary)`),
//! and raw tokio-postgres's own binary copy (`copy_in` + `BinaryCopyInWriter`, the column
//! types written by hand, as a raw user would). Each round starts from an empty table.

use std::time::{Duration, Instant};

use tethered::Model;
use tethered::postgres::CopyIn;
use tethered::postgres::tokio_postgres::binary_copy::BinaryCopyInWriter;
use tethered::postgres::tokio_postgres::types::{ToSql, Type};
use tethered::postgres::tokio_postgres::{self, Client, NoTls};
use tethered_tests::streaming::{Reading, reading, readings};
use tethered_tests::{Postgres, Stage};

use crate::contestant::Result;
use crate::measure::{median, millis, spread};
use crate::settings::Settings;

/// Rows per bulk insert.
const ROWS: i64 = 100_000;

/// The ways of storing the rows, in the order each round runs them.
const WAYS: [&str; 3] = [
    "tethered insert_many",
    "tethered copy_in",
    "raw binary copy",
];

/// Runs the rounds and prints the medians and ratios.
pub async fn run(settings: &Settings) -> Result<()> {
    if !settings.runs("postgres") {
        return Ok(());
    }
    let stage = Stage::<Postgres>::alone(2).await;
    stage.setup(readings()).await;
    let (client, connection) = stage.driver().config().connect(NoTls).await?;
    tokio::spawn(connection);
    let ctx = stage.root.with_timeout(Duration::from_secs(600));
    let batch: Vec<Reading> = (1..=ROWS).map(reading).collect();
    let rounds = settings.sizes.rounds;
    let mut took: [Vec<f64>; 3] = Default::default();
    // One warm-up round first: connections, prepared statements, the table's pages.
    for round in 0..=rounds {
        for (way, times) in took.iter_mut().enumerate() {
            stage.setup("TRUNCATE readings").await;
            let start = Instant::now();
            let stored = match way {
                0 => Reading::insert_many(&ctx, &stage.pool, &batch).await?,
                1 => Reading::copy_in(&ctx, &stage.pool, &batch).await?,
                _ => raw_copy(&client, &batch).await?,
            };
            let elapsed = start.elapsed();
            assert_eq!(stored, ROWS as u64, "{} stored every row", WAYS[way]);
            if round > 0 {
                times.push(millis(elapsed));
            }
        }
    }
    stage.finish().await;
    println!(
        "PostgreSQL bulk insert of {ROWS} rows of 5 columns, medians of {rounds} interleaved \
         rounds (after 1 warm-up round), each into an empty table:"
    );
    for (way, times) in WAYS.iter().zip(&took) {
        let at = median(times);
        println!(
            "  {way:<22} {at:>8.1} ms  {:>9.0} rows/s  spread {:.2}",
            ROWS as f64 / at * 1e3,
            spread(times)
        );
    }
    let [insert_many, copy_in, raw] = took.map(|times| median(&times));
    println!(
        "  copy_in takes {:.2}x raw binary copy's time; insert_many {:.2}x copy_in's",
        copy_in / raw,
        insert_many / copy_in
    );
    Ok(())
}

/// The raw driver's binary copy of `batch`: what tethered's `copy_in` is measured against.
async fn raw_copy(client: &Client, batch: &[Reading]) -> Result<u64, tokio_postgres::Error> {
    let sink = client
        .copy_in("COPY readings (sensor, at, value, ok, note) FROM STDIN (FORMAT binary)")
        .await?;
    let types = [Type::TEXT, Type::INT8, Type::FLOAT8, Type::BOOL, Type::TEXT];
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
    for row in batch {
        let values: [&(dyn ToSql + Sync); 5] =
            [&row.sensor, &row.at, &row.value, &row.ok, &row.note];
        writer.as_mut().write(&values).await?;
    }
    writer.finish().await
}
