//! Queries through typed columns: comparisons, combinations, order, paging, terminals.

use tethered::{Error, Model};

use crate::backend::{Backend, Stage};
use crate::models::{User, users};

/// Five users aged 20, 30, 40, 50, 60; the two youngest have no name.
async fn five_users<B: Backend>(stage: &Stage<B>) -> Vec<User> {
    stage.setup(users()).await;
    let mut stored = Vec::new();
    for (n, age) in [20, 30, 40, 50, 60].into_iter().enumerate() {
        let name = (age > 30).then(|| format!("user {n}"));
        let user = User::new(&format!("user{n}@example.com"), name.as_deref(), age);
        stored.push(user.insert(&stage.root, &stage.pool).await.expect("insert"));
    }
    stored
}

/// The ages of the users `filter` selects, in ascending order.
async fn ages<B: Backend>(stage: &Stage<B>, filter: tethered::Filter<User>) -> Vec<i32> {
    let selected = User::query()
        .filter(filter)
        .order_by(User::AGE.asc())
        .all(&stage.root, &stage.pool)
        .await
        .expect("query");
    selected.into_iter().map(|user| user.age).collect()
}

pub async fn every_comparison_selects_the_expected_rows<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    five_users(&stage).await;

    assert_eq!(ages(&stage, User::AGE.eq(40)).await, [40]);
    assert_eq!(ages(&stage, User::AGE.ne(40)).await, [20, 30, 50, 60]);
    assert_eq!(ages(&stage, User::AGE.lt(40)).await, [20, 30]);
    assert_eq!(ages(&stage, User::AGE.le(40)).await, [20, 30, 40]);
    assert_eq!(ages(&stage, User::AGE.gt(40)).await, [50, 60]);
    assert_eq!(ages(&stage, User::AGE.ge(40)).await, [40, 50, 60]);
    assert_eq!(ages(&stage, User::AGE.is_in([20, 60, 99])).await, [20, 60]);
    assert_eq!(
        ages(&stage, User::AGE.is_in(Vec::<i32>::new())).await,
        Vec::<i32>::new()
    );
    assert_eq!(ages(&stage, User::NAME.is_null()).await, [20, 30]);
    assert_eq!(ages(&stage, User::NAME.is_not_null()).await, [40, 50, 60]);
    assert_eq!(ages(&stage, User::NAME.eq("user 3")).await, [50]);
    assert_eq!(ages(&stage, User::EMAIL.like("user1@%")).await, [30]);
    assert_eq!(ages(&stage, User::AGE.between(30, 50)).await, [30, 40, 50]);
    assert_eq!(
        ages(&stage, User::AGE.between(50, 30)).await,
        Vec::<i32>::new()
    );
    assert_eq!(
        ages(&stage, User::NAME.between("user 3", "user 9")).await,
        [50, 60]
    );
    assert_eq!(
        ages(&stage, User::AGE.is_not_in([20, 60, 99])).await,
        [30, 40, 50]
    );
    assert_eq!(
        ages(&stage, User::AGE.is_not_in(Vec::<i32>::new())).await,
        [20, 30, 40, 50, 60]
    );
    stage.finish().await;
}

pub async fn text_filters_take_wildcards_literally_and_ilike_ignores_case<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(users()).await;
    let emails = [
        "50%_off@shop.example",
        "500ff@shop.example",
        "a!b@Shop.Example",
        "ab@shop.example",
    ];
    for (age, email) in (1..).zip(emails) {
        let user = User::new(email, None, age);
        user.insert(&stage.root, &stage.pool).await.expect("insert");
    }

    // Unescaped, `50%` would match `500ff` and `%_` every address.
    assert_eq!(ages(&stage, User::EMAIL.starts_with("50%")).await, [1]);
    assert_eq!(ages(&stage, User::EMAIL.contains("%_")).await, [1]);
    assert_eq!(ages(&stage, User::EMAIL.contains("!")).await, [3]);
    assert_eq!(
        ages(&stage, User::EMAIL.contains("!!")).await,
        Vec::<i32>::new()
    );
    assert_eq!(
        ages(&stage, User::EMAIL.ends_with("0ff@shop.example")).await,
        [2]
    );
    assert_eq!(
        ages(&stage, User::EMAIL.ends_with("ab@shop.example")).await,
        [4]
    );
    // Case ignored whatever the backend or the column's collation.
    assert_eq!(ages(&stage, User::EMAIL.ilike("A!B@SHOP.%")).await, [3]);
    assert_eq!(
        ages(&stage, User::EMAIL.ilike("%@SHOP.EXAMPLE")).await,
        [1, 2, 3, 4]
    );
    stage.finish().await;
}

pub async fn filters_combine_with_and_or_and_not<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    five_users(&stage).await;

    let middle = User::AGE.gt(20).and(User::AGE.lt(60));
    assert_eq!(ages(&stage, middle.clone()).await, [30, 40, 50]);
    assert_eq!(ages(&stage, !middle).await, [20, 60]);
    let ends = User::AGE.eq(20).or(User::AGE.eq(60));
    assert_eq!(ages(&stage, ends.and(User::NAME.is_not_null())).await, [60]);
    let two_filters = User::query()
        .filter(User::AGE.ge(30))
        .filter(User::AGE.le(40))
        .count(&stage.root, &stage.pool)
        .await
        .expect("count");
    assert_eq!(two_filters, 2, "several filters all apply");
    stage.finish().await;
}

pub async fn order_limit_and_offset_page_through_rows<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    five_users(&stage).await;
    let page = |offset| {
        User::query()
            .order_by(User::AGE.desc())
            .limit(2)
            .offset(offset)
            .all(&stage.root, &stage.pool)
    };

    let pages = [page(0).await, page(2).await, page(4).await, page(6).await];

    let ages: Vec<Vec<i32>> = pages
        .into_iter()
        .map(|page| {
            page.expect("page")
                .into_iter()
                .map(|user| user.age)
                .collect()
        })
        .collect();
    assert_eq!(ages, [vec![60, 50], vec![40, 30], vec![20], vec![]]);
    stage.finish().await;
}

pub async fn one_optional_and_count_read_single_results<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    let stored = five_users(&stage).await;
    let (ctx, db) = (&stage.root, &stage.pool);

    let oldest = User::query()
        .order_by(User::AGE.desc())
        .one(ctx, db)
        .await
        .expect("one");
    assert_eq!(oldest, stored[4]);
    let none = User::query().filter(User::AGE.gt(100)).one(ctx, db).await;
    assert!(
        matches!(
            none,
            Err(Error::RowNotFound {
                table: Some("users")
            })
        ),
        "{none:?}"
    );
    let maybe = User::query()
        .filter(User::AGE.gt(100))
        .optional(ctx, db)
        .await
        .expect("optional");
    assert_eq!(maybe, None);
    let counted = User::query()
        .filter(User::AGE.gt(25))
        .limit(1)
        .count(ctx, db)
        .await;
    assert_eq!(counted.expect("count"), 4, "count ignores limit");
    assert_eq!(
        User::find(ctx, db, stored[0].id).await.expect("find"),
        Some(stored[0].clone())
    );
    stage.finish().await;
}

pub async fn injection_shaped_strings_round_trip_through_inserts_and_filters<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(users()).await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let hostile = [
        "'); DROP TABLE users; --",
        "\" OR 1=1 --",
        "\\'; SELECT SLEEP(10); --",
        "Robert'); DELETE FROM users WHERE ('a'='a",
        "%_\\%",
        "$1 ? ?? :name",
        "日本語 ✓ emoji 🦀",
    ];

    for (n, text) in hostile.iter().enumerate() {
        let stored = User::new(text, Some(text), n as i32)
            .insert(ctx, db)
            .await
            .expect("insert");
        assert_eq!(
            (stored.email.as_str(), stored.name.as_deref()),
            (*text, Some(*text))
        );
    }
    for text in hostile {
        let found = User::query()
            .filter(User::EMAIL.eq(text))
            .all(ctx, db)
            .await
            .expect("filter");
        assert_eq!(found.len(), 1, "{text:?} matched {} rows", found.len());
        assert_eq!(found[0].name.as_deref(), Some(text));
    }
    assert_eq!(
        User::query().count(ctx, db).await.expect("count"),
        hostile.len() as u64
    );
    stage.finish().await;
}
