//! A pool's in-flight board: every statement running on one of its connections, or being
//! stopped in the background, as a snapshot an operator can ask for at any time (the
//! answer to hunting a leaked request through a goroutine dump).
//!
//! Each connection has a place on the board, the index of its slot among the pool's
//! members, so a statement takes no allocation to go on it once its connection has run
//! one: its text is copied into the place's buffer, kept between statements.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::Observer;
use super::summary;
use crate::ctx::Ctx;
use crate::request_id::RequestId;

/// How much of a statement's text the board keeps.
const TEXT_KEPT: usize = 1024;

/// A statement running on a pool's connection, or being stopped: one entry of
/// [`Pool::in_flight`](crate::Pool::in_flight).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlightStatement {
    /// Its operation and table (`SELECT items`), as in its span's `db.query.summary`.
    pub summary: String,
    /// Its text, with placeholders where values are bound (never the values), cut after
    /// 1024 bytes; empty for an operation without text (a `COPY`'s data, say).
    pub text: String,
    /// How long ago it was sent.
    pub age: Duration,
    /// How long its context had left when the snapshot was taken (`None`: no deadline; zero:
    /// the deadline has passed, and the statement is being stopped).
    pub deadline_remaining: Option<Duration>,
    /// The [`RequestId`] of its context, if it has one.
    pub request_id: Option<RequestId>,
    /// Whether it runs, or is being stopped.
    pub state: StatementState,
}

/// Where an in-flight statement is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatementState {
    /// Sent, and not given up.
    Running,
    /// Its context ended or its caller dropped it: the server is being asked to stop it.
    Stopping,
}

impl StatementState {
    /// `running` or `stopping`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatementState::Running => "running",
            StatementState::Stopping => "stopping",
        }
    }
}

#[derive(Default)]
pub(crate) struct Board {
    places: Mutex<Places>,
}

#[derive(Default)]
struct Places {
    /// One per connection slot.
    places: Vec<Place>,
    /// The next statement's ticket: a place is reused by the next connection in its slot,
    /// possibly before the stop task of its last statement has let go of its entry.
    next_ticket: u64,
}

#[derive(Default)]
struct Place {
    text: String,
    statement: Option<Statement>,
}

struct Statement {
    ticket: u64,
    sent: Instant,
    /// Its context, whose deadline and request id a snapshot reads (not the statement:
    /// a pointer copy here is cheaper than looking the id up for every statement).
    ctx: Ctx,
    state: StatementState,
}

impl Board {
    fn places(&self) -> MutexGuard<'_, Places> {
        self.places.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every statement on the board, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<InFlightStatement> {
        let now = Instant::now();
        let mut statements: Vec<InFlightStatement> = self
            .places()
            .places
            .iter()
            .filter_map(|place| {
                let statement = place.statement.as_ref()?;
                Some(InFlightStatement {
                    summary: summary::summary(&place.text),
                    text: place.text.clone(),
                    age: now.saturating_duration_since(statement.sent),
                    deadline_remaining: statement
                        .ctx
                        .deadline()
                        .map(|deadline| deadline.saturating_duration_since(now)),
                    request_id: statement.ctx.value::<RequestId>().cloned(),
                    state: statement.state,
                })
            })
            .collect();
        statements.sort_by_key(|statement| std::cmp::Reverse(statement.age));
        statements
    }
}

/// A statement's entry on its pool's board, for as long as the statement may run: taken off
/// when dropped (with the statement's future, or by the stop task once it is done).
pub(crate) struct OnBoard {
    observer: Arc<Observer>,
    place: usize,
    ticket: u64,
}

impl OnBoard {
    /// Puts the statement `text`, sent now under `ctx` on the connection at `place`, on the
    /// board.
    pub(crate) fn new(
        observer: &Arc<Observer>,
        place: usize,
        ctx: &Ctx,
        text: &str,
        sent: Instant,
    ) -> OnBoard {
        let mut kept = text.len().min(TEXT_KEPT);
        while !text.is_char_boundary(kept) {
            kept -= 1;
        }
        let ctx = ctx.clone();
        let mut board = observer.board.places();
        let ticket = board.next_ticket;
        board.next_ticket += 1;
        if board.places.len() <= place {
            board.places.resize_with(place + 1, Place::default);
        }
        let entry = &mut board.places[place];
        // A connection mostly runs the few statements of its service again: comparing is
        // cheaper than copying.
        if entry.text != text[..kept] {
            entry.text.clear();
            entry.text.push_str(&text[..kept]);
        }
        entry.statement = Some(Statement {
            ticket,
            sent,
            ctx,
            state: StatementState::Running,
        });
        drop(board);
        OnBoard {
            observer: Arc::clone(observer),
            place,
            ticket,
        }
    }

    /// The statement is being stopped.
    pub(crate) fn stopping(&self) {
        if let Some(statement) = self.statement(&mut self.observer.board.places()) {
            statement.state = StatementState::Stopping;
        }
    }

    /// This statement's entry, unless the place has gone to a later statement.
    fn statement<'b>(&self, board: &'b mut Places) -> Option<&'b mut Statement> {
        let place = &mut board.places[self.place];
        let ours = place.statement.as_ref()?.ticket == self.ticket;
        ours.then_some(place.statement.as_mut()?)
    }

    pub(crate) fn observer(&self) -> &Observer {
        &self.observer
    }
}

impl Drop for OnBoard {
    fn drop(&mut self) {
        let mut board = self.observer.board.places();
        if self.statement(&mut board).is_some() {
            board.places[self.place].statement = None;
        }
    }
}
