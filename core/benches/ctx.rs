//! Ctx operations beside the same operations on a bare tokio-util `CancellationToken`,
//! measured in one run with interleaved rounds (A B A B ...) so that drift on a noisy
//! machine hits both alike. Prints the median nanoseconds per operation of each.
//!
//! Run with `cargo bench -p tethered-core --bench ctx`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use tethered_core::Ctx;
use tokio_util::sync::CancellationToken;

const ROUNDS: usize = 15;
const ITERATIONS: u32 = 200_000;

/// Runs `operation` `ITERATIONS` times; returns nanoseconds per call.
fn per_call(mut operation: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..ITERATIONS {
        operation();
    }
    start.elapsed().as_nanos() as f64 / f64::from(ITERATIONS)
}

/// A named case: one round of it returns nanoseconds per call.
type Case<'a> = (&'static str, Box<dyn Fn() -> f64 + 'a>);

struct RequestId(#[allow(dead_code)] u64);
struct Tenant;

fn main() {
    let root = Ctx::background();
    let token = CancellationToken::new();
    // A realistic request: root -> request scope -> value -> stage scope -> value.
    let request = root.with_timeout(Duration::from_secs(3600));
    let with_id = request.with_value(RequestId(1));
    let stage = with_id.child();
    let deep = stage.with_value(Tenant);
    let deep_token = token.child_token().child_token();

    let cases: Vec<Case> = vec![
        (
            "derive child + drop: Ctx",
            Box::new(|| per_call(|| drop(black_box(root.child())))),
        ),
        (
            "derive child + drop: token",
            Box::new(|| per_call(|| drop(black_box(token.child_token())))),
        ),
        (
            "derive child + cancel + drop: token",
            Box::new(|| {
                per_call(|| {
                    let child = black_box(token.child_token());
                    child.cancel();
                })
            }),
        ),
        (
            "derive with timeout + drop: Ctx",
            Box::new(|| per_call(|| drop(black_box(root.with_timeout(Duration::from_secs(1)))))),
        ),
        (
            "clone + drop: Ctx",
            Box::new(|| per_call(|| drop(black_box(deep.clone())))),
        ),
        (
            "clone + drop: token",
            Box::new(|| per_call(|| drop(black_box(deep_token.clone())))),
        ),
        (
            "check, no deadline, depth 1: Ctx",
            Box::new(|| per_call(|| drop(black_box(root.check())))),
        ),
        (
            "check, deadline, depth 4: Ctx",
            Box::new(|| per_call(|| drop(black_box(deep.check())))),
        ),
        (
            "is_cancelled, depth 2: token",
            Box::new(|| per_call(|| _ = black_box(deep_token.is_cancelled()))),
        ),
        (
            "clock read (tokio Instant::now)",
            Box::new(|| per_call(|| _ = black_box(tokio::time::Instant::now()))),
        ),
        (
            "value lookup, 4 levels up: Ctx",
            Box::new(|| per_call(|| _ = black_box(deep.value::<RequestId>()))),
        ),
        (
            "value lookup, nearest: Ctx",
            Box::new(|| per_call(|| _ = black_box(deep.value::<Tenant>()))),
        ),
    ];

    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); cases.len()];
    for _ in 0..ROUNDS {
        for ((_, case), samples) in cases.iter().zip(&mut samples) {
            samples.push(case());
        }
    }
    println!("{:<36} {:>12} {:>12}", "operation", "median ns", "min ns");
    for ((name, _), samples) in cases.iter().zip(&mut samples) {
        samples.sort_by(f64::total_cmp);
        println!(
            "{name:<36} {:>12.1} {:>12.1}",
            samples[ROUNDS / 2],
            samples[0]
        );
    }
}
