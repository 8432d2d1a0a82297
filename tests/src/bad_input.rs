//! Bad input gets a clear error, never a panic, a hang or lost data.

use std::time::Duration;

use tethered::{Cause, Error, Executor, Model, PoolOptions, StatementOutcome};
use tokio::time::Instant;

use crate::backend::{Backend, Stage};
use crate::models::{MistypedUser, User, users};

pub async fn decode_errors_name_the_column_and_the_type<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(users()).await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let stored = User::new("ada@example.com", None, 36)
        .insert(ctx, db)
        .await
        .expect("insert");

    let mistyped = MistypedUser::find(ctx, db, stored.id).await;
    let Err(Error::Decode {
        column, rust_type, ..
    }) = &mistyped
    else {
        panic!("{}: expected a decode error, got {mistyped:?}", B::NAME);
    };
    assert_eq!((column.as_str(), *rust_type), ("email_address", "i64"));

    let null_into_value = db
        .fetch_one::<(String,)>(ctx, "SELECT name FROM users")
        .await;
    let Err(Error::Decode { column, source, .. }) = &null_into_value else {
        panic!(
            "{}: expected a decode error, got {null_into_value:?}",
            B::NAME
        );
    };
    assert_eq!(column, "name");
    assert!(source.to_string().contains("NULL"), "{source}");
    stage.finish().await;
}

pub async fn extreme_deadlines_behave<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    stage.setup(users()).await;
    let (root, db) = (&stage.root, &stage.pool);

    for done in [
        root.with_timeout(Duration::ZERO),
        root.with_deadline(Instant::now() - Duration::from_secs(3600)),
    ] {
        let result = User::query().all(&done, db).await;
        let Err(Error::Canceled { cause, outcome }) = result else {
            panic!("expected the deadline, got {result:?}");
        };
        assert_eq!(
            (cause, outcome),
            (Cause::DeadlineExceeded, StatementOutcome::NotSent)
        );
    }
    for far in [
        root.with_timeout(Duration::from_secs(200 * 365 * 24 * 3600)),
        root.with_timeout(Duration::MAX),
    ] {
        let stored = User::new("far@example.com", None, 1)
            .insert(&far, db)
            .await
            .expect("insert");
        assert!(
            User::delete_by_key(&far, db, stored.id)
                .await
                .expect("delete")
                == 1
        );
    }
    stage.finish().await;
}

pub async fn malformed_statements_and_urls_are_clear_errors<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    let (ctx, db) = (&stage.root, &stage.pool);

    let syntax = db.execute(ctx, "SELEC 1").await;
    let error = syntax.expect_err("a syntax error");
    assert!(
        error.as_database_error().is_some() && error.code().is_some(),
        "{error:?}"
    );
    let missing = User::query().all(ctx, db).await;
    assert!(
        missing
            .expect_err("no such table")
            .as_database_error()
            .is_some()
    );
    let healthy = db
        .fetch_one::<(i64,)>(ctx, "SELECT 1")
        .await
        .expect("still usable");
    assert_eq!(healthy, (1,));

    let not_a_url = B::pool_in("not a url at all", "x", PoolOptions::default());
    assert!(
        matches!(not_a_url, Err(Error::InvalidInput(_))),
        "{not_a_url:?}"
    );
    let nobody = B::pool_in(
        &B::url().replace(":5432", ":1").replace(":3306", ":1"),
        "x",
        PoolOptions::default(),
    )
    .expect("a well-formed URL");
    let connecting = ctx.with_timeout(Duration::from_secs(5));
    let refused = nobody.fetch_one::<(i64,)>(&connecting, "SELECT 1").await;
    assert!(
        matches!(refused, Err(Error::Connection { .. })),
        "{refused:?}"
    );
    stage.finish().await;
}
