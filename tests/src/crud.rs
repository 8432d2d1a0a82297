//! Creating, reading, updating and deleting through the generated model methods.

use tethered::{Executor, Model};

use crate::backend::{Backend, Stage};
use crate::models::{Event, User, events, users};

pub async fn insert_returns_the_stored_row_and_find_reads_it_back<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(users()).await;
    let (ctx, db) = (&stage.root, &stage.pool);

    let ada = User::new("ada@example.com", Some("Ada"), 36)
        .insert(ctx, db)
        .await
        .expect("insert");
    let bob = User::new("bob@example.com", None, 41)
        .insert(ctx, db)
        .await
        .expect("insert");

    assert!(
        ada.id > 0 && bob.id > ada.id,
        "generated keys {} and {}",
        ada.id,
        bob.id
    );
    assert_eq!(
        (ada.email.as_str(), ada.name.as_deref(), ada.age),
        ("ada@example.com", Some("Ada"), 36)
    );
    let found = User::find(ctx, db, bob.id)
        .await
        .expect("find")
        .expect("bob is stored");
    assert_eq!(found, bob);
    assert_eq!(
        User::find(ctx, db, bob.id + 1000).await.expect("find"),
        None
    );
    stage.finish().await;
}

pub async fn update_and_delete_change_exactly_the_keyed_row<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(users()).await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let mut ada = User::new("ada@example.com", Some("Ada"), 36)
        .insert(ctx, db)
        .await
        .expect("insert");
    let bob = User::new("bob@example.com", None, 41)
        .insert(ctx, db)
        .await
        .expect("insert");

    ada.name = None;
    ada.age = 37;
    assert_eq!(ada.update(ctx, db).await.expect("update"), 1);
    assert_eq!(
        User::find(ctx, db, ada.id).await.expect("find"),
        Some(ada.clone())
    );
    assert_eq!(
        User::find(ctx, db, bob.id).await.expect("find"),
        Some(bob.clone()),
        "untouched"
    );

    assert_eq!(ada.delete(ctx, db).await.expect("delete"), 1);
    assert_eq!(User::find(ctx, db, ada.id).await.expect("find"), None);
    assert_eq!(
        User::delete_by_key(ctx, db, ada.id)
            .await
            .expect("delete again"),
        0
    );
    assert_eq!(
        User::delete_by_key(ctx, db, bob.id)
            .await
            .expect("delete bob"),
        1
    );
    assert_eq!(User::query().count(ctx, db).await.expect("count"), 0);
    stage.finish().await;
}

pub async fn insert_many_and_delete_where_work_on_models_without_a_key<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(events()).await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let batch =
        [("deposit", 10), ("deposit", 25), ("withdrawal", -5)].map(|(kind, amount)| Event {
            kind: kind.to_owned(),
            amount,
        });

    assert_eq!(
        Event::insert_many(ctx, db, &batch)
            .await
            .expect("insert many"),
        3
    );
    assert_eq!(Event::insert_many(ctx, db, &[]).await.expect("nothing"), 0);
    let deposits = Event::query()
        .filter(Event::KIND.eq("deposit"))
        .order_by(Event::AMOUNT.asc())
        .all(ctx, db)
        .await
        .expect("deposits");
    assert_eq!(deposits, batch[..2]);

    let removed = Event::delete_where(ctx, db, Event::AMOUNT.lt(0))
        .await
        .expect("delete where");
    assert_eq!(removed, 1);
    assert_eq!(Event::query().count(ctx, db).await.expect("count"), 2);
    stage.finish().await;
}

pub async fn skipped_fields_are_neither_stored_nor_read<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(users()).await;
    let (ctx, db) = (&stage.root, &stage.pool);

    let stored = User::new("eve@example.com", None, 29)
        .insert(ctx, db)
        .await
        .expect("insert");

    assert_eq!(stored.session, None, "read back as its default");
    let (columns,): (i64,) = db
        .fetch_one(
            ctx,
            "SELECT COUNT(*) FROM users WHERE email_address = 'eve@example.com'",
        )
        .await
        .expect("the renamed column holds the email");
    assert_eq!(columns, 1);
    stage.finish().await;
}
