//! Bad input gets a clear error, never a panic, a hang or lost data.

use std::time::Duration;

use tethered::mysql::{MySql as MyDriver, mysql_async};
use tethered::postgres::{Postgres as PgDriver, tokio_postgres};
use tethered::{Cause, Ctx, Error, Executor, Model, Pool, PoolOptions, StatementOutcome};
use tokio::time::Instant;

use crate::backend::{Backend, MySql, Postgres, Stage, unique};
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

pub async fn malformed_statements_and_urls_are_clear_errors<B: Logins>() {
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
    refused_logins_say_why::<B>(&stage).await;
    stage.finish().await;
}

/// How a backend refuses a connection, for
/// [`malformed_statements_and_urls_are_clear_errors`].
pub trait Logins: Backend {
    /// A pool on the test server as `user` (with `password`), in `database` or else the
    /// URL's own.
    fn pool_as(user: &str, password: Option<&str>, database: Option<&str>) -> Pool<Self::Driver>;
    /// What the error says of a login as a `user` the server does not know.
    fn unknown_user(user: &str) -> Vec<String>;
    /// What the error says of a connection to a `database` the server does not have.
    fn unknown_database(database: &str) -> Vec<String>;
    /// Statements that create `user` identified by `password` and drop it again; `None`
    /// where the test server checks no passwords (PostgreSQL's trust authentication).
    fn user_with_password(user: &str, password: &str) -> Option<(String, String)>;
}

impl Logins for Postgres {
    fn pool_as(user: &str, password: Option<&str>, database: Option<&str>) -> Pool<PgDriver> {
        let mut config: tokio_postgres::Config = Postgres::url().parse().expect("the test URL");
        config.user(user);
        if let Some(password) = password {
            config.password(password);
        }
        if let Some(database) = database {
            config.dbname(database);
        }
        Pool::new(PgDriver::new(config, tokio_postgres::NoTls), one()).expect("a pool")
    }

    fn unknown_user(user: &str) -> Vec<String> {
        vec![format!(
            "could not connect to PostgreSQL: role \"{user}\" does not exist (SQLSTATE 28000)"
        )]
    }

    fn unknown_database(database: &str) -> Vec<String> {
        vec![format!(
            "could not connect to PostgreSQL: database \"{database}\" does not exist \
             (SQLSTATE 3D000)"
        )]
    }

    fn user_with_password(_: &str, _: &str) -> Option<(String, String)> {
        None
    }
}

impl Logins for MySql {
    fn pool_as(user: &str, password: Option<&str>, database: Option<&str>) -> Pool<MyDriver> {
        let opts = mysql_async::Opts::from_url(&MySql::url()).expect("the test URL");
        let url_database = opts.db_name().map(str::to_owned);
        let opts = mysql_async::OptsBuilder::from_opts(opts)
            .user(Some(user))
            .pass(password)
            .db_name(database.map(str::to_owned).or(url_database));
        Pool::new(MyDriver::new(opts.into()), one()).expect("a pool")
    }

    fn unknown_user(user: &str) -> Vec<String> {
        vec![
            format!("could not connect to MySQL/MariaDB: Access denied for user '{user}'@"),
            // 1698 without a password, 1045 with a wrong one.
            "SQLSTATE 28000)".to_owned(),
        ]
    }

    fn unknown_database(database: &str) -> Vec<String> {
        vec![format!(
            "could not connect to MySQL/MariaDB: Unknown database '{database}' \
             (error 1049, SQLSTATE 42000)"
        )]
    }

    fn user_with_password(user: &str, password: &str) -> Option<(String, String)> {
        Some((
            format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"),
            format!("DROP USER '{user}'@'%'"),
        ))
    }
}

fn one() -> PoolOptions {
    PoolOptions {
        max_connections: 1,
        ..PoolOptions::default()
    }
}

/// Connecting as an unknown user, to an unknown database, with a wrong password, or to a
/// port nobody listens on is a connection error whose text says why, once, and never
/// shows a password.
async fn refused_logins_say_why<B: Logins>(stage: &Stage<B>) {
    let nobody = unique("nobody");
    let error = refusal(&stage.root, B::pool_as(&nobody, None, None)).await;
    says(&error, &B::unknown_user(&nobody));

    let database = unique("nodb");
    let user = B::pool_as(&user_of::<B>(), None, Some(&database));
    says(
        &refusal(&stage.root, user).await,
        &B::unknown_database(&database),
    );

    let (user, password) = (unique("login"), unique("secret"));
    if let Some((create, drop)) = B::user_with_password(&user, &password) {
        stage.as_observer(create).await;
        let wrong = format!("{password}-wrong");
        let error = refusal(&stage.root, B::pool_as(&user, Some(&wrong), None)).await;
        let (display, debug) = (error.to_string(), format!("{error:?}"));
        stage.as_observer(drop).await;
        says(&error, &B::unknown_user(&user));
        for shown in [&display, &debug] {
            assert!(!shown.contains(&password), "a password in {shown}");
        }
    }

    // A port nobody listens on: one the system just handed out and took back.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let url = B::url();
    let scheme = url.split_once("://").expect("a URL").0;
    let nowhere = B::pool_in(&format!("{scheme}://nobody@127.0.0.1:{port}/x"), "x", one())
        .expect("a well-formed URL");
    let error = refusal(&stage.root, nowhere).await;
    let refused = std::iter::successors(std::error::Error::source(&error), |cause| cause.source())
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
    assert!(refused, "not a refused connection: {error:?}");
    let display = error.to_string();
    for doubled in ["db error", "Input/output error"] {
        assert!(!display.contains(doubled), "{display}");
    }
}

/// The user of the test server's URL.
fn user_of<B: Backend>() -> String {
    let url = B::url();
    let (_, rest) = url.split_once("://").expect("a URL");
    let login = rest.split_once('@').map_or("", |(login, _)| login);
    login.split(':').next().unwrap_or_default().to_owned()
}

/// The error of a first statement on `pool`, which must be a connection error.
async fn refusal<D: tethered::Driver>(ctx: &Ctx, pool: Pool<D>) -> Error {
    let connecting = ctx.with_timeout(Duration::from_secs(5));
    let result = pool.fetch_one::<(i64,)>(&connecting, "SELECT 1").await;
    match result {
        Err(error @ Error::Connection { .. }) => error,
        other => panic!("expected a connection error, got {other:?}"),
    }
}

/// Asserts that `error`'s text contains every one of `fragments`.
fn says(error: &Error, fragments: &[String]) {
    let display = error.to_string();
    for fragment in fragments {
        assert!(
            display.contains(fragment.as_str()),
            "{display:?} lacks {fragment:?}"
        );
    }
}
