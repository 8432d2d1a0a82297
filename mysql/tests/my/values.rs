//! MariaDB's own rules for values: binding and decoding in the text and the binary
//! protocol, strict mode, generated ids, and its errors. What every backend shares is in the
//! cross-backend suite (`tests/` at the workspace root).

use std::time::Duration;

use tethered_core::sea_query::{Alias, Query, Value};
use tethered_core::{Ctx, Error, Executor, Row, Sql};
use tethered_mysql::{MyRow, MySql};

use crate::support::{Observer, pool, unique};

/// Every supported kind, in a row of its own column types.
const KINDS: &str = "id int PRIMARY KEY, b bool, i8 tinyint, i16 smallint, i32 int, \
                     i64 bigint, u8 tinyint unsigned, u16 smallint unsigned, u32 int unsigned, \
                     u64 bigint unsigned, f32 float, f64 double, s varchar(100), c char(1), \
                     bytes varbinary(100), label enum('small', 'large')";

fn label(value: &str) -> Value {
    use tethered_core::sea_query::{Enum, OptionEnum};
    Value::Enum(OptionEnum::Some(Box::new(Enum {
        type_name: "size".into(),
        value: value.to_owned().into(),
    })))
}

/// Reads every column of `row` and checks it against what was bound (`Some`) or NULL.
fn check_kinds(row: &MyRow, present: bool, protocol: &str) {
    macro_rules! column {
        ($name:literal, $t:ty, $expected:expr) => {{
            let got: Option<$t> = row
                .try_get($name)
                .unwrap_or_else(|error| panic!("{protocol}: {error}"));
            let expected: Option<$t> = present.then(|| $expected);
            assert_eq!(got, expected, "{protocol}: column {}", $name);
        }};
    }
    column!("b", bool, true);
    column!("i8", i8, i8::MIN);
    column!("i16", i16, i16::MIN);
    column!("i32", i32, i32::MIN);
    column!("i64", i64, i64::MIN);
    column!("u8", u8, u8::MAX);
    column!("u16", u16, u16::MAX);
    column!("u32", u32, u32::MAX);
    column!("u64", u64, u64::MAX);
    column!("f32", f32, 0.1f32);
    column!("f64", f64, 0.1f64);
    column!("f32", f64, f64::from(0.1f32));
    column!("s", String, "héllo 'quoted'".to_owned());
    column!("c", String, "é".to_owned());
    column!("bytes", Vec<u8>, vec![0u8, 39, 255]);
    column!("label", String, "large".to_owned());
    column!("s", Vec<u8>, "héllo 'quoted'".as_bytes().to_vec());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_round_trips_in_the_text_and_the_binary_protocol() {
    let pool = pool(1).await;
    let observer = Observer::connect().await;
    let table = unique("kinds");
    observer
        // The character set said, not left to the server's default.
        .execute(&format!(
            "CREATE TABLE {table} ({KINDS}) CHARACTER SET utf8mb4"
        ))
        .await;
    let ctx = Ctx::background();
    let columns = [
        "id", "b", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64", "s", "c",
        "bytes", "label",
    ]
    .map(Alias::new);
    let values: [Value; 15] = [
        true.into(),
        i8::MIN.into(),
        i16::MIN.into(),
        i32::MIN.into(),
        i64::MIN.into(),
        u8::MAX.into(),
        u16::MAX.into(),
        u32::MAX.into(),
        u64::MAX.into(),
        0.1f32.into(),
        0.1f64.into(),
        "héllo 'quoted'".into(),
        'é'.into(),
        vec![0u8, 39, 255].into(),
        label("large"),
    ];
    let nulls: [Value; 15] = [
        Value::Bool(None),
        Value::TinyInt(None),
        Value::SmallInt(None),
        Value::Int(None),
        Value::BigInt(None),
        Value::TinyUnsigned(None),
        Value::SmallUnsigned(None),
        Value::Unsigned(None),
        Value::BigUnsigned(None),
        Value::Float(None),
        Value::Double(None),
        Value::String(None),
        Value::Char(None),
        Value::Bytes(None),
        Value::Enum(tethered_core::sea_query::OptionEnum::None("size".into())),
    ];
    for (id, row) in [(1, values), (2, nulls)] {
        let insert = Query::insert()
            .into_table(Alias::new(&table))
            .columns(columns.clone())
            .values_panic(std::iter::once(Value::from(id)).chain(row).map(Into::into))
            .to_owned();
        pool.execute(&ctx, insert).await.expect("insert");
    }

    for id in [1, 2] {
        let text = format!("SELECT * FROM {table} WHERE id = {id}");
        let row: MyRow = pool.fetch_one(&ctx, text.as_str()).await.expect("text");
        check_kinds(&row, id == 1, "text");
        let binary = Sql::new(format!("SELECT * FROM {table} WHERE id = ?")).bind(id);
        let row: MyRow = pool.fetch_one(&ctx, binary).await.expect("binary");
        check_kinds(&row, id == 1, "binary");
    }

    // Bound values come back as themselves, through expressions too.
    let (max, plus_zero): (u64, u64) = pool
        .fetch_one(
            &ctx,
            Sql::new("SELECT ?, ? + 0").bind(u64::MAX).bind(u64::MAX),
        )
        .await
        .expect("u64::MAX");
    assert_eq!((max, plus_zero), (u64::MAX, u64::MAX));
    observer.execute(&format!("DROP TABLE {table}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_integers_are_refused_by_the_server_never_truncated() {
    let pool = pool(1).await;
    let observer = Observer::connect().await;
    let table = unique("range");
    let plain = unique("range_myisam");
    observer
        .execute(&format!(
            "CREATE TABLE {table} (small tinyint, positive int unsigned, big bigint) ENGINE=InnoDB"
        ))
        .await;
    // Not transactional: plain STRICT_TRANS_TABLES would only warn for a later row.
    observer
        .execute(&format!(
            "CREATE TABLE {plain} (small tinyint) ENGINE=MyISAM"
        ))
        .await;
    let ctx = Ctx::background();

    for (column, value) in [
        ("small", Value::from(300i32)),
        ("small", Value::from(-129i64)),
        ("positive", Value::from(-1i32)),
        ("big", Value::from(u64::MAX)),
    ] {
        let insert =
            Sql::new(format!("INSERT INTO {table} ({column}) VALUES (?)")).bind(value.clone());
        let refused = pool.execute(&ctx, insert).await.expect_err("out of range");
        let database = refused
            .as_database_error()
            .unwrap_or_else(|| panic!("{refused:?}"));
        assert_eq!(
            (database.number(), database.code()),
            (Some(1264), "22003"),
            "{column} = {value:?}: {refused}"
        );
    }
    let later_row = Sql::new(format!("INSERT INTO {plain} (small) VALUES (?), (?)"))
        .bind(1)
        .bind(300);
    let refused = pool
        .execute(&ctx, later_row)
        .await
        .expect_err("out of range");
    assert_eq!(refused.code(), Some("22003"), "{refused}");
    let overflow = pool
        .fetch_one::<(u64,)>(&ctx, Sql::new("SELECT ? + 1").bind(u64::MAX))
        .await
        .expect_err("overflow");
    assert_eq!(
        overflow.as_database_error().and_then(|e| e.number()),
        Some(1690),
        "{overflow}"
    );

    let fits = Sql::new(format!(
        "INSERT INTO {table} (small, positive, big) VALUES (?, ?, ?)"
    ))
    .bind(-128i64)
    .bind(u64::from(u32::MAX))
    .bind(i64::MIN);
    pool.execute(&ctx, fits).await.expect("values that fit");
    let stored: (i8, u32, i64) = pool
        .fetch_one(&ctx, format!("SELECT small, positive, big FROM {table}"))
        .await
        .expect("select");
    assert_eq!(stored, (-128, u32::MAX, i64::MIN));
    observer
        .execute(&format!("DROP TABLE {table}, {plain}"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decode_errors_name_the_column_and_the_type() {
    let pool = pool(1).await;
    let ctx = Ctx::background();

    let wrong_type = pool
        .fetch_one::<(i64,)>(&ctx, "SELECT 'abc' AS label")
        .await;
    let Err(Error::Decode {
        column, rust_type, ..
    }) = &wrong_type
    else {
        panic!("expected a decode error, got {wrong_type:?}");
    };
    assert_eq!((column.as_str(), *rust_type), ("label", "i64"));

    for query in [
        Sql::new("SELECT 300 AS big"),
        Sql::new("SELECT ? AS big").bind(300),
    ] {
        let too_big = pool.fetch_one::<(i8,)>(&ctx, query).await;
        let Err(Error::Decode { column, source, .. }) = &too_big else {
            panic!("expected a decode error, got {too_big:?}");
        };
        assert_eq!(column, "big");
        assert!(source.to_string().contains("does not fit"), "{source}");
    }

    let null = pool
        .fetch_one::<(String,)>(&ctx, "SELECT CAST(NULL AS CHAR) AS maybe")
        .await;
    assert!(
        matches!(&null, Err(Error::Decode { column, .. }) if column == "maybe"),
        "{null:?}"
    );
    let (maybe,): (Option<String>,) = pool
        .fetch_one(&ctx, "SELECT CAST(NULL AS CHAR) AS maybe")
        .await
        .expect("an Option takes NULL");
    assert_eq!(maybe, None);

    let (count, sum): (i32, i64) = pool
        .fetch_one(&ctx, "SELECT count(*), SUM(seq) FROM seq_1_to_3")
        .await
        .expect("a count fits an i32, a whole DECIMAL an i64");
    assert_eq!((count, sum), (3, 6));
    let fraction = pool.fetch_one::<(i64,)>(&ctx, "SELECT 1.5 AS d").await;
    assert!(
        matches!(&fraction, Err(Error::Decode { column, source, .. })
            if column == "d" && source.to_string().contains("not an integer")),
        "{fraction:?}"
    );
    let (decimal,): (String,) = pool
        .fetch_one(&ctx, "SELECT 1.5 AS d")
        .await
        .expect("a DECIMAL as text");
    assert_eq!(decimal, "1.5");
    let not_bool = pool.fetch_one::<(bool,)>(&ctx, "SELECT 2 AS flag").await;
    assert!(
        matches!(&not_bool, Err(Error::Decode { column, .. }) if column == "flag"),
        "{not_bool:?}"
    );
    let binary_text = pool
        .fetch_one::<(String,)>(&ctx, "SELECT CAST('x' AS BINARY) AS raw")
        .await;
    assert!(
        matches!(&binary_text, Err(Error::Decode { column, source, .. })
            if column == "raw" && source.to_string().contains("binary")),
        "{binary_text:?}"
    );

    let row: MyRow = pool
        .fetch_one(&ctx, "SELECT 1 AS one")
        .await
        .expect("a row");
    let missing = row.try_get::<i32>("two");
    assert!(
        matches!(&missing, Err(Error::Decode { column, .. }) if column == "two"),
        "{missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserts_report_the_generated_id_and_the_rows_they_touched() {
    let pool = pool(1).await;
    let observer = Observer::connect().await;
    let table = unique("ids");
    observer
        .execute(&format!(
            "CREATE TABLE {table} (id bigint unsigned AUTO_INCREMENT PRIMARY KEY, n int) \
             AUTO_INCREMENT = 1000"
        ))
        .await;
    let ctx = Ctx::background();

    let first = pool
        .execute(
            &ctx,
            Sql::new(format!("INSERT INTO {table} (n) VALUES (?)")).bind(1),
        )
        .await
        .expect("insert");
    let second = pool
        .execute(&ctx, format!("INSERT INTO {table} (n) VALUES (2), (3)"))
        .await
        .expect("insert");
    let updated = pool
        .execute(
            &ctx,
            Sql::new(format!("UPDATE {table} SET n = n + 1 WHERE n > ?")).bind(1),
        )
        .await
        .expect("update");

    assert_eq!((first.rows_affected, first.last_insert_id), (1, Some(1000)));
    assert_eq!(
        (second.rows_affected, second.last_insert_id),
        (2, Some(1001))
    );
    assert_eq!((updated.rows_affected, updated.last_insert_id), (2, None));
    observer.execute(&format!("DROP TABLE {table}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_statements_and_urls_are_clear_errors() {
    let pool = pool(1).await;
    let ctx = Ctx::background();
    let mut connection = pool.acquire(&ctx).await.expect("acquire");
    let (id,): (u64,) = connection
        .fetch_one(&ctx, "SELECT CONNECTION_ID()")
        .await
        .expect("id");

    let syntax = connection.execute(&ctx, "SELEC 1").await;
    let syntax = syntax.expect_err("a syntax error");
    assert_eq!(syntax.code(), Some("42000"));
    assert_eq!(
        syntax.as_database_error().and_then(|e| e.number()),
        Some(1064)
    );
    let bound_syntax = connection
        .execute(&ctx, Sql::new("SELEC ?").bind(1))
        .await
        .expect_err("a syntax error");
    assert_eq!(bound_syntax.code(), Some("42000"));
    let placeholders = connection
        .execute(&ctx, Sql::new("SELECT ?").bind(1).bind(2))
        .await;
    assert!(
        matches!(placeholders, Err(Error::InvalidInput(_))),
        "{placeholders:?}"
    );
    let (same,): (u64,) = connection
        .fetch_one(&ctx, "SELECT CONNECTION_ID()")
        .await
        .expect("the connection survives bad statements");
    assert_eq!(same, id);

    let not_a_url = MySql::from_url("definitely not a url");
    assert!(
        matches!(not_a_url, Err(Error::InvalidInput(_))),
        "{not_a_url:?}"
    );
    let nobody = tethered_mysql::connect(
        &Ctx::background().with_timeout(Duration::from_secs(5)),
        "mysql://root@127.0.0.1:1/test",
        tethered_core::PoolOptions::default(),
    )
    .await;
    assert!(
        matches!(nobody, Err(Error::Connection { .. })),
        "{nobody:?}"
    );
}
