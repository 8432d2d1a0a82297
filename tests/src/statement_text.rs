//! What one call's text may hold, the same on every backend: one statement, whose time
//! limit on the server is tethered's to set.

use tethered::{Error, Executor, Model, Sql};

use crate::backend::{Backend, Stage};
use crate::models::{Event, events};

fn refused(result: tethered::Result<tethered::Executed>, starts: &str) -> String {
    match result {
        Err(Error::InvalidInput(message)) if message.starts_with(starts) => message,
        other => panic!("expected InvalidInput starting {starts:?}, got {other:?}"),
    }
}

pub async fn a_text_of_several_statements_is_refused_and_none_of_it_runs<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    stage.setup(events()).await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let insert = |kind: &str| format!("INSERT INTO events (kind, amount) VALUES ('{kind}', 1)");

    // A server-side limit would cover only the first statement of such a text.
    for text in [
        format!("{}; {}", insert("first"), insert("second")),
        format!("SELECT 1; {}", insert("third")),
        format!("{};{}", insert("fourth"), B::sleep(3, "several")),
    ] {
        refused(
            db.execute(ctx, text.as_str()).await,
            "one statement per call",
        );
    }
    let bound = Sql::new(format!(
        "INSERT INTO events (kind, amount) VALUES ({}, 1); SELECT 1",
        B::placeholder(1)
    ))
    .bind("fifth");
    refused(db.execute(ctx, bound).await, "one statement per call");
    let none = Event::query().count(ctx, db).await.expect("count");
    assert_eq!(none, 0, "a refused text ran in part");

    // A trailing semicolon ends the one statement; strings and comments may hold them.
    let alone = format!("{}; -- a comment; with semicolons", insert("it''s; fine"));
    db.execute(ctx, alone.as_str())
        .await
        .expect("one statement");
    let stored = Event::query().all(ctx, db).await.expect("rows");
    assert_eq!(
        stored
            .iter()
            .map(|event| event.kind.as_str())
            .collect::<Vec<_>>(),
        ["it's; fine"]
    );
    stage.finish().await;
}

pub async fn a_callers_own_session_time_limit_is_refused<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    let (ctx, db) = (&stage.root, &stage.pool);

    let message = refused(
        db.execute(ctx, B::SET_SESSION_TIME_LIMIT).await,
        "tethered sets",
    );

    assert!(message.contains("with_timeout"), "{message}");
    db.execute(ctx, "SELECT 1")
        .await
        .expect("the connection is fine");
    stage.finish().await;
}
