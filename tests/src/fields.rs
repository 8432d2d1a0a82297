//! Every supported field type, through the generated methods, at the edges of its range.

use tethered::{Error, Model};

use crate::backend::{Backend, Stage};
use crate::models::{Sample, samples};

/// The largest `u64` the backend stores: all of them, or those a signed 64-bit column holds.
fn largest_u64<B: Backend>() -> u64 {
    if B::STORES_ANY_U64 {
        u64::MAX
    } else {
        i64::MAX as u64
    }
}

/// `high` or `low`, as `at_high_end` says.
fn pick<T>(at_high_end: bool, low: T, high: T) -> T {
    if at_high_end { high } else { low }
}

/// A sample at the low or the high end of every type, with every optional field set.
fn extreme<B: Backend>(high: bool) -> Sample {
    let bytes: Vec<u8> = if high {
        (0..=255).collect()
    } else {
        vec![0, 0, 0]
    };
    let text = if high {
        "ünïcödé ✓ 🦀 and a 'quote'".repeat(20)
    } else {
        String::new()
    };
    Sample {
        id: 0,
        tiny: pick(high, i8::MIN, i8::MAX),
        small: pick(high, i16::MIN, i16::MAX),
        int: pick(high, i32::MIN, i32::MAX),
        big: pick(high, i64::MIN, i64::MAX),
        utiny: pick(high, 0, u8::MAX),
        usmall: pick(high, 0, u16::MAX),
        uint: pick(high, 0, u32::MAX),
        ubig: pick(high, 0, largest_u64::<B>()),
        flag: high,
        single: pick(high, f32::MIN_POSITIVE, f32::MAX),
        double: pick(high, -f64::MAX, f64::MAX),
        text: text.clone(),
        bytes: bytes.clone(),
        maybe_tiny: Some(pick(high, i8::MIN, i8::MAX)),
        maybe_small: Some(pick(high, i16::MIN, i16::MAX)),
        maybe_int: Some(pick(high, i32::MIN, i32::MAX)),
        maybe_big: Some(pick(high, i64::MIN, i64::MAX)),
        maybe_utiny: Some(pick(high, 0, u8::MAX)),
        maybe_usmall: Some(pick(high, 0, u16::MAX)),
        maybe_uint: Some(pick(high, 0, u32::MAX)),
        maybe_ubig: Some(pick(high, 0, largest_u64::<B>())),
        maybe_flag: Some(!high),
        maybe_single: Some(pick(high, -1.5, f32::MIN_POSITIVE)),
        maybe_double: Some(pick(high, f64::MIN_POSITIVE, -0.0)),
        maybe_text: Some(text),
        maybe_bytes: Some(bytes),
    }
}

pub async fn every_field_type_round_trips_at_its_extremes<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(samples()).await;
    let (ctx, db) = (&stage.root, &stage.pool);

    for high in [false, true] {
        let sample = extreme::<B>(high);
        let stored = sample.insert(ctx, db).await.expect("insert");
        assert_eq!(
            Sample {
                id: stored.id,
                ..sample
            },
            stored,
            "as inserted (high: {high})"
        );
        let found = Sample::find(ctx, db, stored.id)
            .await
            .expect("find")
            .expect("stored");
        assert_eq!(found, stored, "as read back (high: {high})");
    }
    stage.finish().await;
}

pub async fn nulls_round_trip_in_every_optional_field<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(samples()).await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let sample = Sample {
        maybe_tiny: None,
        maybe_small: None,
        maybe_int: None,
        maybe_big: None,
        maybe_utiny: None,
        maybe_usmall: None,
        maybe_uint: None,
        maybe_ubig: None,
        maybe_flag: None,
        maybe_single: None,
        maybe_double: None,
        maybe_text: None,
        maybe_bytes: None,
        ..extreme::<B>(true)
    };

    let stored = sample.insert(ctx, db).await.expect("insert");
    let found = Sample::find(ctx, db, stored.id)
        .await
        .expect("find")
        .expect("stored");

    assert_eq!(
        found,
        Sample {
            id: stored.id,
            ..sample
        }
    );
    let null = Sample::query()
        .filter(Sample::MAYBE_TEXT.is_null())
        .count(ctx, db)
        .await;
    assert_eq!(null.expect("count"), 1);
    stage.finish().await;
}

pub async fn unsigned_64_bit_values_are_stored_or_refused_never_truncated<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(samples()).await;
    let (ctx, db) = (&stage.root, &stage.pool);
    let huge = Sample {
        ubig: u64::MAX,
        ..extreme::<B>(false)
    };

    let inserted = huge.insert(ctx, db).await;

    if B::STORES_ANY_U64 {
        assert_eq!(inserted.expect("stored").ubig, u64::MAX);
    } else {
        let Err(Error::InvalidInput(message)) = &inserted else {
            panic!("{}: expected a refusal, got {inserted:?}", B::NAME);
        };
        assert!(message.contains("18446744073709551615"), "{message}");
        let count = Sample::query().count(ctx, db).await.expect("count");
        assert_eq!(count, 0, "nothing was stored");
    }
    stage.finish().await;
}
