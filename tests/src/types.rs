//! The column types behind features (chrono, uuid, json, decimal) and `#[derive(Enum)]`:
//! each as a model field (with `Option` and NULL), a filter value, a bound value and a
//! decoded column, at its extremes, on each backend's own SQL types; and every lossy case a
//! clear error naming the column, never a truncation.
//!
//! Each test creates its tables in its own namespace (see [`Stage`]), with the character
//! set spelled out on MariaDB.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tethered::{
    ColumnRef, Ctx, Driver, Enum, Error, Executor, Field, FromRow, Json, Model, Pool, Row, Sql,
};
use uuid::Uuid;

use crate::backend::{Backend, Stage};

/// Whether the suite runs on PostgreSQL: the DDL of these types differs per dialect.
fn on_postgres<B: Backend>() -> bool {
    B::NAME == "PostgreSQL"
}

/// `pg` on PostgreSQL, `my` on MySQL/MariaDB (there with the character set given); on
/// SQLite, `my` with an auto-increment key as SQLite writes it (its type names are free).
fn ddl<B: Backend>(pg: &str, my: &str) -> String {
    if on_postgres::<B>() {
        pg.to_owned()
    } else if B::NAME == "SQLite" {
        sqlite_ddl(my)
    } else {
        format!("{my} CHARACTER SET utf8mb4")
    }
}

/// MySQL's DDL as SQLite takes it: an auto-increment key is `INTEGER PRIMARY KEY`, and
/// decimals and enums are TEXT (a `DECIMAL` column's numeric affinity would turn the exact
/// text into a REAL).
fn sqlite_ddl(my: &str) -> String {
    let mut ddl = my.replace("BIGINT AUTO_INCREMENT PRIMARY KEY", "INTEGER PRIMARY KEY");
    for kind in ["DECIMAL(", "ENUM("] {
        while let Some(start) = ddl.find(kind) {
            let end = ddl[start..]
                .find(')')
                .map_or(ddl.len(), |end| start + end + 1);
            ddl.replace_range(start..end, "TEXT");
        }
    }
    ddl
}

/// `SELECT` of one bound value, cast to `pg_type` on PostgreSQL (MySQL takes it as sent).
fn select_bound<B: Backend>(pg_type: &str) -> String {
    if on_postgres::<B>() {
        format!("SELECT $1::{pg_type} AS v")
    } else {
        "SELECT ? AS v".to_owned()
    }
}

/// The first column of a row, as any field type (derived enums and `Json<T>` included).
struct First<T>(T);

impl<R: Row, T: Field> FromRow<R> for First<T> {
    fn from_row(row: R) -> tethered::Result<First<T>> {
        row.try_get_field(ColumnRef::Index(0)).map(First)
    }
}

/// The value `sql` returns in its first column.
async fn one<T: Field + Send, D: Driver>(ctx: &Ctx, db: &Pool<D>, sql: Sql) -> tethered::Result<T> {
    db.fetch_one::<First<T>>(ctx, sql)
        .await
        .map(|First(value)| value)
}

/// A decode error's column and message, or a panic saying what came instead.
fn decode_error<T: std::fmt::Debug>(result: tethered::Result<T>) -> (String, String) {
    match result {
        Err(error @ Error::Decode { .. }) => {
            let Error::Decode { column, .. } = &error else {
                unreachable!()
            };
            (column.clone(), error.to_string())
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

/// An invalid-input error's message, or a panic saying what came instead.
fn refusal<T: std::fmt::Debug>(result: tethered::Result<T>) -> String {
    match result {
        Err(Error::InvalidInput(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[derive(Model, Debug, Clone, PartialEq)]
#[tethered(table = "moments")]
struct Moment {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    at: DateTime<Utc>,
    zoned: DateTime<FixedOffset>,
    local: NaiveDateTime,
    day: NaiveDate,
    clock: NaiveTime,
    maybe_at: Option<DateTime<Utc>>,
    maybe_day: Option<NaiveDate>,
}

async fn moments<B: Backend>(stage: &Stage<B>) {
    let id = if on_postgres::<B>() {
        "id BIGSERIAL PRIMARY KEY"
    } else {
        "id BIGINT AUTO_INCREMENT PRIMARY KEY"
    };
    stage
        .setup(ddl::<B>(
            &format!(
                "CREATE TABLE moments ({id}, at TIMESTAMPTZ NOT NULL, zoned TIMESTAMPTZ NOT NULL, \
                 local TIMESTAMP NOT NULL, day DATE NOT NULL, clock TIME NOT NULL, \
                 maybe_at TIMESTAMPTZ, maybe_day DATE)"
            ),
            &format!(
                "CREATE TABLE moments ({id}, at DATETIME(6) NOT NULL, zoned DATETIME(6) NOT NULL, \
                 local DATETIME(6) NOT NULL, day DATE NOT NULL, clock TIME(6) NOT NULL, \
                 maybe_at DATETIME(6) NULL, maybe_day DATE NULL)"
            ),
        ))
        .await;
}

fn datetime(year: i32, month: u32, day: u32, clock: NaiveTime) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(year, month, day)
        .expect("a date")
        .and_time(clock)
}

fn last_microsecond() -> NaiveTime {
    NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).expect("a time")
}

pub async fn chrono_values_round_trip_at_their_extremes<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    moments(&stage).await;
    let (ctx, db) = (&stage.root, &stage.pool);
    // MariaDB's DATETIME keeps no zone, so only UTC offsets are stored there.
    let zone = if on_postgres::<B>() {
        FixedOffset::east_opt(5 * 3600 + 1800).expect("+05:30")
    } else {
        FixedOffset::east_opt(0).expect("UTC")
    };
    let first = datetime(1, 1, 1, NaiveTime::MIN);
    let last = datetime(9999, 12, 31, last_microsecond());
    let mut stored = Vec::new();
    for (local, clock, maybe) in [
        (first, NaiveTime::MIN, true),
        (last, last_microsecond(), false),
    ] {
        // A zoned time at the far end stays within the years on either side of UTC.
        let zoned = zone
            .from_local_datetime(&datetime(2024, 2, 29, clock))
            .single()
            .expect("unambiguous");
        let moment = Moment {
            id: 0,
            at: local.and_utc(),
            zoned,
            local,
            day: local.date(),
            clock,
            maybe_at: maybe.then(|| local.and_utc()),
            maybe_day: maybe.then(|| local.date()),
        };
        let inserted = moment.insert(ctx, db).await.expect("insert");
        assert_eq!(
            inserted,
            Moment {
                id: inserted.id,
                ..moment
            },
            "{}",
            B::NAME
        );
        let found = Moment::find(ctx, db, inserted.id).await.expect("find");
        assert_eq!(found.as_ref(), Some(&inserted), "read back");
        stored.push(inserted);
    }

    let after_year_one = Moment::query()
        .filter(Moment::AT.gt(first.and_utc()))
        .all(ctx, db)
        .await
        .expect("filter");
    assert_eq!(after_year_one, &stored[1..]);
    let null = Moment::query()
        .filter(Moment::MAYBE_DAY.is_null())
        .count(ctx, db)
        .await
        .expect("count");
    assert_eq!(null, 1);
    let on_the_day = Moment::query()
        .filter(Moment::DAY.eq(first.date()))
        .filter(Moment::CLOCK.eq(NaiveTime::MIN))
        .count(ctx, db)
        .await
        .expect("count");
    assert_eq!(on_the_day, 1);

    // Raw SQL: bound and decoded on the backend's own types.
    let instant = Utc
        .with_ymd_and_hms(2024, 5, 6, 7, 8, 9)
        .single()
        .expect("a time")
        + chrono::Duration::microseconds(123_456);
    let read: DateTime<Utc> = one(
        ctx,
        db,
        Sql::new(select_bound::<B>("timestamptz")).bind(instant),
    )
    .await
    .expect("a bound timestamp");
    assert_eq!(read, instant);
    let (at, day): (DateTime<Utc>, Option<NaiveDate>) = db
        .fetch_one(
            ctx,
            Sql::new(format!(
                "SELECT at, maybe_day FROM moments WHERE at = {}",
                B::placeholder(1)
            ))
            .bind(last.and_utc()),
        )
        .await
        .expect("raw select");
    assert_eq!((at, day), (last.and_utc(), None));
    stage.finish().await;
}

pub async fn timestamp_columns_keep_the_instant_in_utc<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    // MariaDB's TIMESTAMP converts through the session's zone, which tethered sets to UTC.
    stage
        .setup(ddl::<B>(
            "CREATE TABLE stamps (at TIMESTAMPTZ(6) NOT NULL, plain TIMESTAMP(6) NOT NULL)",
            "CREATE TABLE stamps (at TIMESTAMP(6) NOT NULL, plain DATETIME(6) NOT NULL)",
        ))
        .await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let instant = Utc
        .with_ymd_and_hms(2038, 1, 19, 3, 14, 7)
        .single()
        .expect("a time")
        - chrono::Duration::microseconds(1);
    let insert = format!(
        "INSERT INTO stamps (at, plain) VALUES ({}, {})",
        B::placeholder(1),
        B::placeholder(2)
    );
    db.execute(
        ctx,
        Sql::new(insert).bind(instant).bind(instant.naive_utc()),
    )
    .await
    .expect("insert");
    let (at, plain): (DateTime<Utc>, NaiveDateTime) = db
        .fetch_one(ctx, "SELECT at, plain FROM stamps")
        .await
        .expect("select");
    assert_eq!((at, plain), (instant, instant.naive_utc()));
    stage.finish().await;
}

pub async fn lossy_times_are_refused_with_clear_errors<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    moments(&stage).await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let nanos = datetime(
        2024,
        1,
        1,
        NaiveTime::from_hms_nano_opt(1, 2, 3, 4).expect("a time"),
    );
    let moment = Moment {
        id: 0,
        at: nanos.and_utc(),
        zoned: nanos.and_utc().fixed_offset(),
        local: nanos,
        day: nanos.date(),
        clock: NaiveTime::MIN,
        maybe_at: None,
        maybe_day: None,
    };
    let message = refusal(moment.insert(ctx, db).await);
    assert!(message.contains("nanoseconds"), "{}: {message}", B::NAME);
    assert_eq!(Moment::query().count(ctx, db).await.expect("count"), 0);

    if on_postgres::<B>() {
        // An instant beyond chrono's years: PostgreSQL's infinity.
        let infinite = one::<DateTime<Utc>, _>(
            ctx,
            db,
            Sql::new("SELECT 'infinity'::timestamptz AS forever"),
        )
        .await;
        let (column, message) = decode_error(infinite);
        assert_eq!(column, "forever", "{message}");
        assert!(message.contains("DateTime<Utc>"), "{message}");
    } else if B::NAME == "SQLite" {
        // Zoned instants are stored in UTC, as on PostgreSQL; the text holds years 1 to 9999.
        let year = datetime(10_000, 1, 1, NaiveTime::MIN);
        let message = refusal(db.execute(ctx, Sql::new("SELECT ?").bind(year)).await);
        assert!(message.contains("1 to 9999"), "{message}");
    } else {
        let zoned = FixedOffset::east_opt(3600)
            .expect("+01:00")
            .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
            .single()
            .expect("a time");
        let message = refusal(db.execute(ctx, Sql::new("SELECT ?").bind(zoned)).await);
        assert!(message.contains("time zone"), "{message}");
        let year = datetime(10_000, 1, 1, NaiveTime::MIN);
        let message = refusal(db.execute(ctx, Sql::new("SELECT ?").bind(year)).await);
        assert!(message.contains("1 to 9999"), "{message}");
        // A TIME is a duration; beyond a day it is no time of day.
        let long =
            one::<NaiveTime, _>(ctx, db, Sql::new("SELECT CAST('30:00:00' AS TIME) AS span")).await;
        let (column, message) = decode_error(long);
        assert_eq!(column, "span", "{message}");
        // A DATETIME is not cut to its date.
        let cut = one::<NaiveDate, _>(ctx, db, Sql::new("SELECT NOW() AS now")).await;
        assert_eq!(decode_error(cut).0, "now");
    }
    stage.finish().await;
}

#[derive(Model, Debug, Clone, PartialEq)]
#[tethered(table = "tokens")]
struct Token {
    #[tethered(primary_key)]
    id: Uuid,
    parent: Option<Uuid>,
}

pub async fn uuids_round_trip_as_keys_filters_and_raw_values<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage
        .setup(ddl::<B>(
            "CREATE TABLE tokens (id UUID PRIMARY KEY, parent UUID)",
            "CREATE TABLE tokens (id CHAR(36) PRIMARY KEY, parent CHAR(36) NULL)",
        ))
        .await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let tokens = [
        Token {
            id: Uuid::nil(),
            parent: None,
        },
        Token {
            id: Uuid::max(),
            parent: Some(Uuid::nil()),
        },
        Token {
            id: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            parent: Some(Uuid::max()),
        },
    ];
    for token in &tokens {
        assert_eq!(&token.insert(ctx, db).await.expect("insert"), token);
    }
    let found = Token::find(ctx, db, Uuid::max()).await.expect("find");
    assert_eq!(found.as_ref(), Some(&tokens[1]));
    let children = Token::query()
        .filter(Token::PARENT.is_in([Uuid::nil(), Uuid::max()]))
        .order_by(Token::ID.asc())
        .all(ctx, db)
        .await
        .expect("filter");
    assert_eq!(children.len(), 2);

    let id = tokens[2].id;
    let read: Uuid = one(ctx, db, Sql::new(select_bound::<B>("uuid")).bind(id))
        .await
        .expect("raw uuid");
    assert_eq!(read, id);
    if !on_postgres::<B>() {
        // BINARY(16) holds the 16 bytes, and decodes from them.
        stage
            .setup("CREATE TABLE packed (id BINARY(16) NOT NULL)")
            .await;
        db.execute(
            ctx,
            Sql::new("INSERT INTO packed VALUES (?)").bind(id.as_bytes().to_vec()),
        )
        .await
        .expect("insert bytes");
        let read: Uuid = one(ctx, db, Sql::new("SELECT id FROM packed"))
            .await
            .expect("packed uuid");
        assert_eq!(read, id);
    }
    let not_a_uuid = one::<Uuid, _>(ctx, db, Sql::new("SELECT 'not a uuid' AS id")).await;
    assert_eq!(decode_error(not_a_uuid).0, "id");
    stage.finish().await;
}

/// Attributes stored as JSON: nested maps, lists and options.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Attributes {
    colour: String,
    sizes: Vec<u32>,
    dimensions: BTreeMap<String, f64>,
    note: Option<String>,
    nested: Vec<BTreeMap<String, Vec<bool>>>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[tethered(table = "documents")]
struct Document {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    attributes: Json<Attributes>,
    raw: serde_json::Value,
    maybe: Option<Json<Attributes>>,
}

pub async fn json_round_trips_nested_and_null<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage
        .setup(ddl::<B>(
            "CREATE TABLE documents (id BIGSERIAL PRIMARY KEY, attributes JSONB NOT NULL, \
             raw JSON NOT NULL, maybe JSONB)",
            "CREATE TABLE documents (id BIGINT AUTO_INCREMENT PRIMARY KEY, \
             attributes JSON NOT NULL, raw JSON NOT NULL, maybe JSON NULL)",
        ))
        .await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let attributes = Attributes {
        colour: "ünïcödé ✓ 🦀 \"quoted\"".to_owned(),
        sizes: vec![0, u32::MAX],
        dimensions: BTreeMap::from([("depth".to_owned(), 0.5), ("width".to_owned(), -1e300)]),
        note: None,
        nested: vec![BTreeMap::from([("flags".to_owned(), vec![true, false])])],
    };
    let raw = serde_json::json!({"a": [1, {"b": null, "c": [[], {}]}], "d": "é"});
    let document = Document {
        id: 0,
        attributes: Json(attributes.clone()),
        raw: raw.clone(),
        maybe: None,
    };
    let stored = document.insert(ctx, db).await.expect("insert");
    assert_eq!(
        stored,
        Document {
            id: stored.id,
            ..document.clone()
        }
    );
    let with_maybe = Document {
        maybe: Some(Json(attributes.clone())),
        raw: serde_json::Value::Null,
        ..document
    };
    let stored = with_maybe.insert(ctx, db).await.expect("insert");
    let found = Document::find(ctx, db, stored.id).await.expect("find");
    assert_eq!(
        found,
        Some(Document {
            id: stored.id,
            ..with_maybe
        })
    );

    let read: serde_json::Value = one(
        ctx,
        db,
        Sql::new(select_bound::<B>("jsonb")).bind(raw.clone()),
    )
    .await
    .expect("raw json");
    assert_eq!(read, raw);
    let read: Json<Attributes> = one(
        ctx,
        db,
        Sql::new(select_bound::<B>("json"))
            .bind(Json(attributes.clone()).to_value().expect("json")),
    )
    .await
    .expect("raw Json<T>");
    assert_eq!(read.0, attributes);

    // A stored document that is not an `Attributes`: the column is named.
    let wrong = one::<Json<Attributes>, _>(
        ctx,
        db,
        Sql::new("SELECT raw FROM documents WHERE maybe IS NULL"),
    )
    .await;
    let (column, message) = decode_error(wrong);
    assert_eq!(column, "raw", "{message}");
    assert!(
        message.contains("Json<Attributes>"),
        "short type names: {message}"
    );

    // A map serde_json cannot write: refused before anything is sent.
    #[derive(Model, Debug, Clone)]
    #[tethered(table = "documents")]
    struct Unwritable {
        #[tethered(primary_key, auto_increment)]
        id: i64,
        attributes: Json<BTreeMap<(u8, u8), u8>>,
    }
    let unwritable = Unwritable {
        id: 0,
        attributes: Json(BTreeMap::from([((1, 2), 3)])),
    };
    let message = refusal(unwritable.insert(ctx, db).await);
    assert!(message.contains("JSON"), "{message}");
    stage.finish().await;
}

#[derive(Model, Debug, Clone, PartialEq)]
#[tethered(table = "prices")]
struct Price {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    amount: Decimal,
    maybe: Option<Decimal>,
}

pub async fn decimals_round_trip_at_full_precision_and_refuse_wider_values<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage
        .setup(ddl::<B>(
            "CREATE TABLE prices (id BIGSERIAL PRIMARY KEY, amount NUMERIC NOT NULL, maybe NUMERIC)",
            "CREATE TABLE prices (id BIGINT AUTO_INCREMENT PRIMARY KEY, \
             amount DECIMAL(65, 30) NOT NULL, maybe DECIMAL(65, 30) NULL)",
        ))
        .await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let smallest = Decimal::new(1, 28);
    let widest_fraction: Decimal = "-7.9228162514264337593543950335"
        .parse()
        .expect("a decimal");
    for (amount, maybe) in [
        (Decimal::MAX, Some(Decimal::MIN)),
        (smallest, Some(widest_fraction)),
        (Decimal::ZERO, None),
    ] {
        let price = Price {
            id: 0,
            amount,
            maybe,
        };
        let stored = price.insert(ctx, db).await.expect("insert");
        assert_eq!(
            stored,
            Price {
                id: stored.id,
                ..price
            },
            "{}",
            B::NAME
        );
    }
    let positive = Price::query()
        .filter(Price::AMOUNT.gt(Decimal::ZERO))
        .count(ctx, db)
        .await
        .expect("count");
    assert_eq!(positive, 2);
    // MySQL gives a bound value back as text: the cast makes it a DECIMAL.
    let select = if on_postgres::<B>() {
        select_bound::<B>("numeric")
    } else if B::NAME == "SQLite" {
        // SQLite keeps a decimal as its text; a cast to DECIMAL would make it a REAL.
        "SELECT ? AS v".to_owned()
    } else {
        "SELECT CAST(? AS DECIMAL(65, 30)) AS v".to_owned()
    };
    let read: Decimal = one(ctx, db, Sql::new(select).bind(widest_fraction))
        .await
        .expect("raw decimal");
    assert_eq!(read, widest_fraction);

    // Wider than a Decimal, before and after the point: refused, never rounded.
    let cast = |text: &str| {
        if on_postgres::<B>() {
            format!("SELECT '{text}'::numeric AS wide")
        } else if B::NAME == "SQLite" {
            format!("SELECT '{text}' AS wide")
        } else {
            format!("SELECT CAST('{text}' AS DECIMAL(65, 30)) AS wide")
        }
    };
    for wide in [
        "12345678901234567890123456789012345",
        "0.000000000000000000000000000012",
    ] {
        let (column, message) =
            decode_error(one::<Decimal, _>(ctx, db, Sql::new(cast(wide))).await);
        assert_eq!(column, "wide", "{message}");
        assert!(message.contains("does not fit"), "{message}");
    }
    stage.finish().await;
}

pub async fn sums_of_integers_decode_into_integers_and_decimals<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage
        .setup("CREATE TABLE amounts (v BIGINT NOT NULL)")
        .await;
    let (ctx, db) = (&stage.root, &stage.pool);
    db.execute(
        ctx,
        Sql::new(format!(
            "INSERT INTO amounts (v) VALUES ({}), ({})",
            B::placeholder(1),
            B::placeholder(2)
        ))
        .bind(i64::MAX)
        .bind(-1i64),
    )
    .await
    .expect("insert");
    let (total,): (i64,) = db
        .fetch_one(ctx, "SELECT SUM(v) AS total FROM amounts")
        .await
        .expect("SUM into i64");
    assert_eq!(total, i64::MAX - 1);
    let (total,): (Decimal,) = db
        .fetch_one(ctx, "SELECT SUM(v) AS total FROM amounts")
        .await
        .expect("SUM into Decimal");
    assert_eq!(total, Decimal::from(i64::MAX - 1));
    // A fraction is no integer: the error names the column and says what to do.
    let fraction = db
        .fetch_one::<(i64,)>(ctx, "SELECT CAST(1.5 AS DECIMAL(4, 1)) AS half")
        .await;
    let (column, message) = decode_error(fraction);
    assert_eq!(column, "half", "{message}");
    if on_postgres::<B>() {
        assert!(message.contains("Decimal"), "{message}");
    }
    stage.finish().await;
}

/// A text-backed enum, renamed.
#[derive(Enum, Debug, Clone, Copy, PartialEq)]
#[tethered(rename_all = "snake_case")]
enum Status {
    Active,
    OnHold,
    #[tethered(rename = "gone")]
    Archived,
}

/// An integer-backed enum.
#[derive(Enum, Debug, Clone, Copy, PartialEq)]
#[repr(i16)]
enum Priority {
    Low = -1,
    High = 300,
}

/// A text enum in a PostgreSQL enum type or a MariaDB ENUM column.
#[derive(Enum, Debug, Clone, Copy, PartialEq)]
#[tethered(rename_all = "lowercase")]
enum Mood {
    Happy,
    Sad,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[tethered(table = "tasks")]
struct Task {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    status: Status,
    priority: Priority,
    mood: Mood,
    maybe_status: Option<Status>,
    maybe_priority: Option<Priority>,
}

pub async fn enums_round_trip_as_text_integers_and_native_types<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    if on_postgres::<B>() {
        stage
            .setup("CREATE TYPE mood AS ENUM ('happy', 'sad')")
            .await;
    }
    stage
        .setup(ddl::<B>(
            "CREATE TABLE tasks (id BIGSERIAL PRIMARY KEY, status TEXT NOT NULL, \
             priority SMALLINT NOT NULL, mood mood NOT NULL, maybe_status TEXT, \
             maybe_priority SMALLINT)",
            "CREATE TABLE tasks (id BIGINT AUTO_INCREMENT PRIMARY KEY, \
             status VARCHAR(20) NOT NULL, priority SMALLINT NOT NULL, \
             mood ENUM('happy', 'sad') NOT NULL, maybe_status VARCHAR(20) NULL, \
             maybe_priority SMALLINT NULL)",
        ))
        .await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let tasks = [
        Task {
            id: 0,
            status: Status::OnHold,
            priority: Priority::Low,
            mood: Mood::Happy,
            maybe_status: Some(Status::Archived),
            maybe_priority: Some(Priority::High),
        },
        Task {
            id: 0,
            status: Status::Active,
            priority: Priority::High,
            mood: Mood::Sad,
            maybe_status: None,
            maybe_priority: None,
        },
    ];
    for task in &tasks {
        let stored = task.insert(ctx, db).await.expect("insert");
        assert_eq!(
            stored,
            Task {
                id: stored.id,
                ..task.clone()
            },
            "{}",
            B::NAME
        );
    }
    let held = Task::query()
        .filter(Task::STATUS.eq(Status::OnHold))
        .filter(Task::MOOD.eq(Mood::Happy))
        .filter(Task::MAYBE_PRIORITY.eq(Priority::High))
        .count(ctx, db)
        .await
        .expect("filter");
    assert_eq!(held, 1);
    let (labels,): (String,) = db
        .fetch_one(
            ctx,
            "SELECT maybe_status FROM tasks WHERE maybe_status IS NOT NULL",
        )
        .await
        .expect("the stored label");
    assert_eq!(labels, "gone");
    let mood: Mood = one(
        ctx,
        db,
        Sql::new(format!(
            "SELECT mood FROM tasks WHERE status = {}",
            B::placeholder(1)
        ))
        .bind(Status::Active),
    )
    .await
    .expect("a raw enum");
    assert_eq!(mood, Mood::Sad);

    // Values no variant is stored as: decode errors naming the column and the value.
    db.execute(ctx, "UPDATE tasks SET status = 'archived', priority = 7")
        .await
        .expect("update");
    let unknown = Task::query().all(ctx, db).await;
    let (column, message) = decode_error(unknown);
    assert_eq!(column, "status", "{message}");
    assert!(message.contains("\"archived\""), "{message}");
    let priority = one::<Priority, _>(ctx, db, Sql::new("SELECT priority FROM tasks")).await;
    let (column, message) = decode_error(priority);
    assert_eq!(column, "priority", "{message}");
    assert!(
        message.contains('7') && message.contains("Priority"),
        "{message}"
    );
    stage.finish().await;
}

/// The shop of issue 11: one model with every kind of column, served by code generic over
/// the backend with no bounds for the column types.
#[derive(Model, Debug, Clone, PartialEq)]
#[tethered(table = "products")]
struct Product {
    #[tethered(primary_key)]
    id: Uuid,
    created_at: DateTime<Utc>,
    price: Decimal,
    status: Status,
    attributes: Json<Attributes>,
}

/// Products created since `since` and still active, newest first.
async fn recent_products<D: Driver>(
    ctx: &Ctx,
    db: &Pool<D>,
    since: DateTime<Utc>,
) -> tethered::Result<Vec<Product>> {
    Product::query()
        .filter(Product::CREATED_AT.gt(since))
        .filter(Product::STATUS.eq(Status::Active))
        .order_by(Product::CREATED_AT.desc())
        .all(ctx, db)
        .await
}

pub async fn a_generic_shop_service_serves_every_column_type<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage
        .setup(ddl::<B>(
            "CREATE TABLE products (id UUID PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL, \
             price NUMERIC(12, 2) NOT NULL, status TEXT NOT NULL, attributes JSONB NOT NULL)",
            "CREATE TABLE products (id CHAR(36) PRIMARY KEY, created_at DATETIME(6) NOT NULL, \
             price DECIMAL(12, 2) NOT NULL, status VARCHAR(20) NOT NULL, \
             attributes JSON NOT NULL)",
        ))
        .await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let now = Utc
        .with_ymd_and_hms(2025, 11, 30, 12, 0, 0)
        .single()
        .expect("a time");
    let attributes = Attributes {
        colour: "red".to_owned(),
        sizes: vec![38, 40],
        dimensions: BTreeMap::new(),
        note: Some("new".to_owned()),
        nested: Vec::new(),
    };
    for (n, (hours_ago, status)) in [
        (1, Status::Active),
        (30, Status::Active),
        (2, Status::OnHold),
    ]
    .into_iter()
    .enumerate()
    {
        Product {
            id: Uuid::from_u128(n as u128 + 1),
            created_at: now - chrono::Duration::hours(hours_ago),
            price: Decimal::new(1999 + n as i64, 2),
            status,
            attributes: Json(attributes.clone()),
        }
        .insert(ctx, db)
        .await
        .expect("insert");
    }
    let recent = recent_products(ctx, db, now - chrono::Duration::hours(24))
        .await
        .expect("recent products");
    assert_eq!(recent.len(), 1, "{recent:?}");
    assert_eq!(recent[0].id, Uuid::from_u128(1));
    assert_eq!(recent[0].price, Decimal::new(1999, 2));
    assert_eq!(recent[0].attributes.colour, "red");
    stage.finish().await;
}

pub async fn decode_errors_use_short_type_names<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let error = db
        .fetch_one::<(Option<Vec<u8>>,)>(ctx, "SELECT 1 AS n")
        .await
        .expect_err("an integer is no bytes");
    let message = error.to_string();
    assert!(message.contains("as Option<Vec<u8>>"), "{message}");
    assert!(!message.contains("alloc::"), "{message}");
    if on_postgres::<B>() {
        // The placeholder is cast already: the hint says to bind another value.
        let cast = db
            .execute(ctx, Sql::new("SELECT $1::timestamptz").bind("yesterday"))
            .await;
        let message = refusal(cast);
        assert!(!message.contains("cast the placeholder"), "{message}");
        let uncast = db.execute(ctx, Sql::new("SELECT 1 + $1").bind("one")).await;
        assert!(refusal(uncast).contains("cast the placeholder"));
    }
    stage.finish().await;
}

#[derive(Model, Debug, Clone, PartialEq)]
#[tethered(table = "instants")]
struct Instant {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    at: time::OffsetDateTime,
    local: time::PrimitiveDateTime,
    day: time::Date,
    clock: time::Time,
    maybe_at: Option<time::OffsetDateTime>,
}

pub async fn time_values_round_trip_at_their_extremes<B: Backend>() {
    use time::macros::{datetime, offset, time};

    let stage = Stage::<B>::new(2).await;
    stage
        .setup(ddl::<B>(
            "CREATE TABLE instants (id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL, \
             local TIMESTAMP NOT NULL, day DATE NOT NULL, clock TIME NOT NULL, \
             maybe_at TIMESTAMPTZ)",
            "CREATE TABLE instants (id BIGINT AUTO_INCREMENT PRIMARY KEY, \
             at DATETIME(6) NOT NULL, local DATETIME(6) NOT NULL, day DATE NOT NULL, \
             clock TIME(6) NOT NULL, maybe_at DATETIME(6) NULL)",
        ))
        .await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let first = datetime!(0001-01-01 00:00:00);
    let last = datetime!(9999-12-31 23:59:59.999_999);
    // MariaDB's DATETIME keeps no zone: only UTC offsets are stored there.
    let zoned = if on_postgres::<B>() {
        datetime!(2024-02-29 12:00:00.000_001).assume_offset(offset!(-09:30))
    } else {
        datetime!(2024-02-29 12:00:00.000_001).assume_utc()
    };
    for (local, maybe) in [(first, None), (last, Some(zoned))] {
        let instant = Instant {
            id: 0,
            at: local.assume_utc(),
            local,
            day: local.date(),
            clock: local.time(),
            maybe_at: maybe,
        };
        let stored = instant.insert(ctx, db).await.expect("insert");
        assert_eq!(
            stored,
            Instant {
                id: stored.id,
                ..instant
            },
            "{}",
            B::NAME
        );
        let found = Instant::find(ctx, db, stored.id).await.expect("find");
        assert_eq!(found.as_ref(), Some(&stored));
    }
    let late = Instant::query()
        .filter(Instant::CLOCK.gt(time!(12:00)))
        .count(ctx, db)
        .await
        .expect("filter");
    assert_eq!(late, 1);
    let read: time::OffsetDateTime = one(
        ctx,
        db,
        Sql::new(select_bound::<B>("timestamptz")).bind(zoned),
    )
    .await
    .expect("raw OffsetDateTime");
    assert_eq!(read, zoned);
    let nanos = datetime!(2024-01-01 00:00:00.000_000_001);
    let message = refusal(
        db.execute(ctx, Sql::new(select_bound::<B>("timestamp")).bind(nanos))
            .await,
    );
    assert!(message.contains("nanoseconds"), "{message}");
    stage.finish().await;
}
