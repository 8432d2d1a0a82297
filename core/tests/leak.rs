//! One long-lived root derives and drops 1,000,000 children: afterwards it holds no
//! registrations and the heap is back where it started. Its own binary, because it counts
//! every allocation the process makes.

// The one unsafe block in the workspace: a global allocator must be `unsafe impl`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use tethered_core::Ctx;

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("resident pages in statm");
    pages * 4
}

const BATCH: usize = 1_000;
const BATCHES: usize = 1_000;

#[test]
fn a_root_that_derived_and_dropped_a_million_children_holds_none_of_them() {
    let root = Ctx::background();
    let mut batch = Vec::with_capacity(BATCH);
    let derive_batch = |batch: &mut Vec<_>, round: usize| {
        for i in 0..BATCH {
            // Half plain scopes, half with deadlines, each with a value child: every kind
            // of node registers somewhere.
            let scope = match i % 2 {
                0 => root.child(),
                _ => root.with_timeout(Duration::from_secs(60)),
            };
            let with_value = scope.with_value(round * BATCH + i);
            black_box(with_value.check().is_ok());
            batch.push((scope, with_value));
        }
        assert_eq!(root.live_children(), BATCH);
        batch.clear();
    };
    // Warm up once so lazily built statics and the batch's own capacity are in the baseline.
    derive_batch(&mut batch, 0);
    let heap_before = LIVE_BYTES.load(Ordering::Relaxed);
    let rss_before = rss_kib();

    for round in 0..BATCHES {
        derive_batch(&mut batch, round);
    }

    let heap_after = LIVE_BYTES.load(Ordering::Relaxed);
    let rss_after = rss_kib();
    println!(
        "derived and dropped {} children (each with a value grandchild): root registrations \
         {}; live heap {} -> {} bytes (delta {}); RSS {} -> {} KiB",
        BATCH * BATCHES,
        root.live_children(),
        heap_before,
        heap_after,
        heap_after - heap_before,
        rss_before,
        rss_after
    );
    assert_eq!(root.live_children(), 0);
    assert!(
        heap_after - heap_before <= 1024,
        "the root kept {} bytes",
        heap_after - heap_before
    );
    assert!(
        rss_after <= rss_before + 4096,
        "RSS grew by more than 4 MiB"
    );
}
