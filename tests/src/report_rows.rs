//! Rows that are not a table's: `#[derive(FromRow)]` structs read from a join with
//! aggregates, by column name, and wide tuples read by position.

use std::time::Duration;

use tethered::{Error, Executor, FromRow};

use crate::backend::{Backend, Stage};

/// Sales per region: renamed columns, a nullable one, and columns a query may leave out.
#[derive(FromRow, Debug, PartialEq)]
#[tethered(default)]
pub struct RegionSales {
    pub region: String,
    #[tethered(rename = "order_count")]
    pub orders: i64,
    #[tethered(rename = "sum_cents")]
    pub total_cents: i64,
    pub nickname: Option<String>,
    #[tethered(default)]
    pub refunds: i64,
    #[tethered(default = "RegionSales::currency")]
    pub currency: String,
    /// Missing from the row: the struct's `Default` gives it.
    pub note: String,
}

impl RegionSales {
    fn currency() -> String {
        "EUR".to_owned()
    }
}

impl Default for RegionSales {
    fn default() -> RegionSales {
        RegionSales {
            region: String::new(),
            orders: 0,
            total_cents: 0,
            nickname: None,
            refunds: 0,
            currency: String::new(),
            note: "from Default".to_owned(),
        }
    }
}

/// A row whose every column is required.
#[derive(FromRow, Debug)]
pub struct Strict {
    pub region: String,
    pub refunds: i64,
}

/// `customers` and `orders`: two regions, one with a nickname, three orders.
async fn shop<B: Backend>(stage: &Stage<B>) {
    for statement in [
        "CREATE TABLE customers (id BIGINT PRIMARY KEY, region VARCHAR(20) NOT NULL, \
         nickname VARCHAR(20))",
        "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, \
         cents BIGINT NOT NULL)",
        "INSERT INTO customers (id, region, nickname) VALUES (1, 'north', 'Ada'), \
         (2, 'south', NULL)",
        "INSERT INTO orders (id, customer_id, cents) VALUES (1, 1, 250), (2, 1, 1000), \
         (3, 2, 75)",
    ] {
        stage.setup(statement).await;
    }
}

pub async fn a_report_row_from_a_join_with_an_aggregate_reads_by_column_name<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    shop(&stage).await;
    let ctx = &stage.root.with_timeout(Duration::from_secs(10));
    // Not in the struct's order, and SUM cast from PostgreSQL's numeric (MariaDB's DECIMAL).
    let report = format!(
        "SELECT CAST(SUM(o.cents) AS {}) AS sum_cents, MAX(c.nickname) AS nickname, \
         c.region, COUNT(*) AS order_count \
         FROM customers c JOIN orders o ON o.customer_id = c.id \
         GROUP BY c.region ORDER BY c.region",
        B::SIGNED
    );

    let sales: Vec<RegionSales> = stage.pool.fetch_all(ctx, report).await.expect("report");

    let expected = |region: &str, orders, total_cents, nickname: Option<&str>| RegionSales {
        region: region.to_owned(),
        orders,
        total_cents,
        nickname: nickname.map(str::to_owned),
        refunds: 0,
        currency: "EUR".to_owned(),
        note: "from Default".to_owned(),
    };
    assert_eq!(
        sales,
        [
            expected("north", 2, 1250, Some("Ada")),
            expected("south", 1, 75, None),
        ]
    );
    stage.finish().await;
}

pub async fn missing_columns_take_defaults_and_nulls_do_not<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    let ctx = &stage.root.with_timeout(Duration::from_secs(10));
    let db = &stage.pool;

    let present: RegionSales = db
        .fetch_one(
            ctx,
            "SELECT 'west' AS region, 3 AS order_count, 9 AS sum_cents, 4 AS refunds, \
             'USD' AS currency, 'given' AS note",
        )
        .await
        .expect("every column");
    let null_default = db
        .fetch_one::<RegionSales>(
            ctx,
            "SELECT 'west' AS region, 3 AS order_count, 9 AS sum_cents, NULL AS refunds",
        )
        .await
        .expect_err("NULL is not a missing column");
    let missing = db
        .fetch_one::<Strict>(ctx, "SELECT 'west' AS region")
        .await
        .expect_err("refunds is required");

    assert_eq!(
        (
            present.refunds,
            present.currency.as_str(),
            present.note.as_str()
        ),
        (4, "USD", "given")
    );
    assert!(
        matches!(&null_default, Error::Decode { column, .. } if column == "refunds"),
        "{null_default}"
    );
    assert!(!null_default.is_missing_column());
    assert!(
        matches!(&missing, Error::Decode { column, .. } if column == "refunds"),
        "{missing}"
    );
    assert!(missing.is_missing_column(), "{missing}");
    stage.finish().await;
}

type Sixteen = (
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    String,
);

pub async fn sixteen_columns_read_into_a_tuple<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    let ctx = &stage.root.with_timeout(Duration::from_secs(10));

    let (c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16): Sixteen = stage
        .pool
        .fetch_one(
            ctx,
            "SELECT 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 'sixteen'",
        )
        .await
        .expect("sixteen columns");

    // The standard library compares and prints tuples of at most 12.
    assert_eq!(
        [
            c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15
        ],
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    );
    assert_eq!(c16, "sixteen");
    stage.finish().await;
}
