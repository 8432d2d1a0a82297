//! Every point of DESIGN.md's "Ctx semantics", on tokio's paused clock where time matters.

use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tethered_core::{Cause, Ctx, SCOPE_ENDED};
use tokio::time::{Instant, advance};

fn canceled(reason: &str) -> Cause {
    Cause::Canceled {
        reason: Arc::from(reason),
    }
}

#[test]
fn cancelling_a_scope_ends_its_subtree_and_nothing_above_or_beside_it() {
    let root = Ctx::background();
    let parent = root.child();
    let child = parent.child();
    let grandchild = child.child();
    let sibling = parent.child();

    child.cancel("stop");

    assert_eq!(child.check(), Err(canceled("stop")));
    assert_eq!(grandchild.check(), Err(canceled("stop")));
    assert_eq!(parent.check(), Ok(()));
    assert_eq!(sibling.check(), Ok(()));
    assert_eq!(root.check(), Ok(()));
}

#[test]
fn a_parent_cancel_reaches_children_derived_before_and_after_it() {
    let parent = Ctx::background().child();
    let before = parent.child();
    parent.cancel("shutdown");
    let after = parent.child();
    let value_child = parent.with_value(7u8);

    for ctx in [before.ctx(), after.ctx(), &value_child] {
        assert_eq!(ctx.cause(), Some(canceled("shutdown")));
    }
}

#[test]
fn the_first_cause_is_kept() {
    let parent = Ctx::background().child();
    let child = parent.child();

    child.cancel("first");
    parent.cancel("second");
    child.cancel("third");

    assert_eq!(child.cause(), Some(canceled("first")));
    assert_eq!(parent.cause(), Some(canceled("second")));
}

#[tokio::test(start_paused = true)]
async fn a_deadline_that_passed_before_a_cancel_stays_the_cause() {
    let parent = Ctx::background().child();
    let child = parent.with_timeout(Duration::from_millis(10));
    advance(Duration::from_millis(20)).await;

    // Nobody looked at the child before the parent was cancelled: the cause is still the
    // one that came first.
    parent.cancel("late");

    assert_eq!(child.cause(), Some(Cause::DeadlineExceeded));
    assert_eq!(parent.cause(), Some(canceled("late")));
}

#[tokio::test(start_paused = true)]
async fn a_cancel_before_the_deadline_stays_the_cause_after_it() {
    let scope = Ctx::background().with_timeout(Duration::from_millis(10));
    scope.cancel("early");
    advance(Duration::from_millis(20)).await;

    assert_eq!(scope.cause(), Some(canceled("early")));
}

#[test]
fn dropping_the_scope_cancels_even_while_clones_live() {
    let scope = Ctx::background().child();
    let clone = scope.ctx().clone();
    let grandchild = clone.child();

    drop(scope);

    assert_eq!(clone.cause(), Some(canceled(SCOPE_ENDED)));
    assert_eq!(grandchild.cause(), Some(canceled(SCOPE_ENDED)));
}

#[tokio::test(start_paused = true)]
async fn a_child_deadline_is_the_minimum_of_its_own_and_its_parents() {
    let start = Instant::now();
    let parent = Ctx::background().with_timeout(Duration::from_millis(100));
    let longer = parent.with_timeout(Duration::from_secs(10));
    let shorter = parent.with_timeout(Duration::from_millis(30));
    let unbounded = parent.child();

    assert_eq!(parent.deadline(), Some(start + Duration::from_millis(100)));
    assert_eq!(longer.deadline(), parent.deadline());
    assert_eq!(unbounded.deadline(), parent.deadline());
    assert_eq!(shorter.deadline(), Some(start + Duration::from_millis(30)));
    assert_eq!(shorter.remaining(), Some(Duration::from_millis(30)));

    advance(Duration::from_millis(30)).await;
    assert_eq!(shorter.check(), Err(Cause::DeadlineExceeded));
    assert_eq!(shorter.remaining(), Some(Duration::ZERO));
    assert_eq!(parent.check(), Ok(()));
    assert_eq!(longer.check(), Ok(()));

    advance(Duration::from_millis(70)).await;
    for ctx in [parent.ctx(), longer.ctx(), unbounded.ctx()] {
        assert_eq!(ctx.check(), Err(Cause::DeadlineExceeded));
    }
}

#[tokio::test(start_paused = true)]
async fn done_completes_exactly_at_the_deadline() {
    let start = Instant::now();
    let scope = Ctx::background().with_timeout(Duration::from_millis(250));

    let cause = scope.done().await;

    assert_eq!(cause, Cause::DeadlineExceeded);
    assert_eq!(start.elapsed(), Duration::from_millis(250));
}

#[tokio::test(start_paused = true)]
async fn done_completes_when_an_ancestor_is_cancelled_from_another_task() {
    let root = Ctx::background().child();
    let middle = root.child();
    let inner = middle.child();
    let leaf = inner.with_value("deep");
    let start = Instant::now();

    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(40)).await;
        root.cancel("client went away");
        root
    });

    assert_eq!(leaf.done().await, canceled("client went away"));
    assert_eq!(start.elapsed(), Duration::from_millis(40));
    drop(canceller.await);
}

#[tokio::test(start_paused = true)]
async fn run_returns_the_output_or_the_cause_whichever_comes_first() {
    let scope = Ctx::background().with_timeout(Duration::from_millis(100));

    let fast = scope.run(async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        "done"
    });
    assert_eq!(fast.await, Ok("done"));

    let slow = scope.run(pending::<()>());
    assert_eq!(slow.await, Err(Cause::DeadlineExceeded));
}

#[tokio::test(start_paused = true)]
async fn run_does_not_poll_the_future_when_the_context_has_ended() {
    let scope = Ctx::background().child();
    scope.cancel("gone");
    let mut polled = false;

    let result = scope.run(async { polled = true }).await;

    assert_eq!(result, Err(canceled("gone")));
    assert!(!polled);
}

#[tokio::test(start_paused = true)]
async fn run_prefers_a_finished_future_over_an_ended_context() {
    let scope = Ctx::background().with_timeout(Duration::from_millis(10));
    let work = async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        42
    };
    // Both are ready at the same instant: the finished work is not thrown away.
    assert_eq!(scope.run(work).await, Ok(42));
}

#[tokio::test(start_paused = true)]
async fn extreme_deadlines_neither_panic_nor_overflow() {
    let root = Ctx::background();

    let zero = root.with_timeout(Duration::ZERO);
    assert_eq!(zero.check(), Err(Cause::DeadlineExceeded));
    assert_eq!(zero.done().await, Cause::DeadlineExceeded);

    let past = root.with_deadline(Instant::now() - Duration::from_secs(5));
    assert_eq!(past.check(), Err(Cause::DeadlineExceeded));

    let unrepresentable = root.with_timeout(Duration::MAX);
    assert_eq!(unrepresentable.deadline(), None);
    assert_eq!(unrepresentable.check(), Ok(()));

    let years = root.with_timeout(Duration::from_secs(100 * 365 * 24 * 3600));
    assert_eq!(years.check(), Ok(()));
    let waited = years
        .run(tokio::time::sleep(Duration::from_secs(3600)))
        .await;
    assert_eq!(waited, Ok(()));
    assert!(years.remaining() > Some(Duration::from_secs(99 * 365 * 24 * 3600)));
}

#[derive(Debug, PartialEq)]
struct RequestId(u64);

#[derive(Debug, PartialEq)]
struct Tenant(&'static str);

#[test]
fn values_are_seen_by_descendants_only() {
    let root = Ctx::background();
    let request = root.with_value(RequestId(7));
    let tenant = request.with_value(Tenant("acme"));
    let stage = tenant.with_timeout(Duration::from_secs(1));
    let sibling = request.with_value(Tenant("other"));

    assert_eq!(root.value::<RequestId>(), None);
    assert_eq!(request.value::<RequestId>(), Some(&RequestId(7)));
    assert_eq!(request.value::<Tenant>(), None);
    assert_eq!(stage.value::<RequestId>(), Some(&RequestId(7)));
    assert_eq!(stage.value::<Tenant>(), Some(&Tenant("acme")));
    assert_eq!(sibling.value::<Tenant>(), Some(&Tenant("other")));
}

#[test]
fn setting_a_type_again_shadows_it_below_and_changes_nothing_above() {
    let outer = Ctx::background().with_value(RequestId(1));
    let inner = outer.with_value(RequestId(2));

    assert_eq!(inner.value::<RequestId>(), Some(&RequestId(2)));
    assert_eq!(outer.value::<RequestId>(), Some(&RequestId(1)));
}

#[test]
fn a_scope_used_as_a_temporary_ends_at_the_end_of_its_statement() {
    // The documented pitfall: a scope must be kept in a variable for as long as its
    // context is meant to live.
    let orphan = Ctx::background()
        .with_timeout(Duration::from_secs(60))
        .with_value(RequestId(9));

    assert_eq!(orphan.cause(), Some(canceled(SCOPE_ENDED)));
}

#[test]
fn a_value_child_ends_with_its_parent_and_cannot_outlive_its_scope() {
    let scope = Ctx::background().child();
    let with_value = scope.with_value(RequestId(3));

    drop(scope);

    assert_eq!(with_value.cause(), Some(canceled(SCOPE_ENDED)));
    assert_eq!(with_value.value::<RequestId>(), Some(&RequestId(3)));
}

#[test]
fn dropped_children_unregister_from_their_parent() {
    let root = Ctx::background();
    let first = root.child();
    let second = root.with_timeout(Duration::from_secs(1));
    let clone = second.ctx().clone();
    assert_eq!(root.live_children(), 2);

    drop(first);
    drop(second);
    assert_eq!(
        root.live_children(),
        1,
        "a clone keeps the node, not the scope"
    );
    drop(clone);
    assert_eq!(root.live_children(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_detached_context_keeps_the_values_and_survives_the_cancel_and_the_deadline() {
    let request = Ctx::background().with_timeout(Duration::from_millis(300));
    let ctx = request.with_value("req-7").with_value(42u32);
    let detached = ctx.without_cancel();
    let bounded = detached.with_timeout(Duration::from_secs(5));

    assert_eq!(detached.deadline(), None);
    request.cancel("client hung up");
    advance(Duration::from_secs(1)).await;

    assert_eq!(ctx.cause(), Some(canceled("client hung up")));
    for ctx in [&detached, bounded.ctx()] {
        assert_eq!(ctx.check(), Ok(()));
        assert_eq!(ctx.value::<&str>(), Some(&"req-7"));
        assert_eq!(ctx.value::<u32>(), Some(&42));
    }
    // Its own scopes still end it, and a value set on it shadows the request's.
    let shadowed = bounded.with_value(1u32);
    assert_eq!(shadowed.value::<u32>(), Some(&1));
    drop(bounded);
    assert_eq!(shadowed.cause(), Some(canceled(SCOPE_ENDED)));
    assert_eq!(
        request.live_children(),
        1,
        "only `ctx` hangs from the request"
    );
}

/// Sets its flag when dropped: shows a task's future was dropped, not left running.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn a_task_ends_with_its_scope_and_reports_the_cause() {
    let dropped = Arc::new(AtomicBool::new(false));
    let request = Ctx::background().child();
    let flag = DropFlag(Arc::clone(&dropped));
    let task = request.spawn(move |ctx| async move {
        let _flag = flag;
        ctx.check().expect("live when it starts");
        pending::<()>().await;
    });
    tokio::task::yield_now().await;
    assert!(!dropped.load(Ordering::SeqCst));

    drop(request);

    assert_eq!(task.await, Err(canceled(SCOPE_ENDED)));
    assert!(dropped.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn a_task_gives_its_output_and_ends_at_its_deadline() {
    let root = Ctx::background();
    let quick = root.spawn(|ctx| async move { ctx.remaining() });
    assert_eq!(quick.await, Ok(None));

    let bounded = root.with_timeout(Duration::from_millis(100));
    let slow = bounded.spawn(|_| pending::<()>());
    let started = Instant::now();
    assert_eq!(slow.await, Err(Cause::DeadlineExceeded));
    assert_eq!(started.elapsed(), Duration::from_millis(100));

    // Spawned from a context that has ended, the task never runs.
    let ran = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&ran);
    let late = bounded.spawn(move |_| async move { seen.store(true, Ordering::SeqCst) });
    assert_eq!(late.await, Err(Cause::DeadlineExceeded));
    assert!(!ran.load(Ordering::SeqCst));
}

#[tokio::test]
#[should_panic(expected = "the task's own panic")]
async fn a_task_that_panics_panics_its_awaiter() {
    let root = Ctx::background();
    let task = root.spawn(|_| async { panic!("the task's own panic") });
    let _ = task.await;
}
