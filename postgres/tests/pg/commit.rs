//! A COMMIT stopped by the server rolled back, and PostgreSQL can tell: tethered says so.

use std::time::Duration;

use tethered_core::{Ctx, Error, Executor, StatementOutcome};
use tokio::time::Instant;

use crate::support::{Observer, PROMPTLY, pool, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_stopped_during_its_deferred_work_is_reported_stopped_and_rolled_back() {
    let pool = pool(2).await;
    let observer = Observer::connect().await;
    let root = Ctx::background();
    let table = unique("deferred");
    // A deferred constraint trigger runs at COMMIT: here it sleeps 10 s.
    for statement in [
        format!("CREATE TABLE {table} (n int)"),
        format!(
            "CREATE FUNCTION {table}_slow() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN PERFORM pg_sleep(10); RETURN NULL; END $$"
        ),
        format!(
            "CREATE CONSTRAINT TRIGGER {table}_at_commit AFTER INSERT ON {table} \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {table}_slow()"
        ),
    ] {
        pool.execute(&root, statement.as_str())
            .await
            .expect("setup");
    }

    let request = root.child();
    let mut transaction = pool.begin(&request).await.expect("begin");
    let (session,): (i32,) = transaction
        .fetch_one(&request, "SELECT pg_backend_pid()")
        .await
        .expect("the session");
    transaction
        .execute(&request, format!("INSERT INTO {table} VALUES (1)").as_str())
        .await
        .expect("insert");
    let cancel = async {
        observer
            .wait_session_running(session, "COMMIT", Duration::from_secs(5))
            .await;
        request.cancel("user pressed stop");
        Instant::now()
    };
    // No deadline: only tethered's stop request can end the commit's deferred work.
    let (committed, cancelled_at) = tokio::join!(transaction.commit(&request), cancel);
    let returned = cancelled_at.elapsed();

    assert!(
        matches!(
            committed,
            Err(Error::Canceled {
                outcome: StatementOutcome::Stopped,
                ..
            })
        ),
        "{committed:?}"
    );
    assert!(
        returned <= PROMPTLY,
        "returned {returned:?} after the cancel"
    );
    let (rows,): (i64,) = pool
        .fetch_one(&root, format!("SELECT count(*) FROM {table}").as_str())
        .await
        .expect("count");
    assert_eq!(rows, 0, "the stopped commit rolled back");
    pool.execute(&root, format!("DROP TABLE {table}").as_str())
        .await
        .expect("drop the table");
    pool.execute(&root, format!("DROP FUNCTION {table}_slow()").as_str())
        .await
        .expect("drop the function");
}
