//! A tracing subscriber that keeps every span and event tethered emits, for the tests that
//! assert on them (`observe`). Installed once per test binary, globally: statements run on
//! the runtime's worker threads and in spawned stop tasks, which a thread-local subscriber
//! would miss. Each test picks out its own records by its request id, and only records of
//! requests with one are kept (the storms' hundreds of thousands of statements have none).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, Once, PoisonError};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::{LookupSpan, Registry};

/// A span's or an event's fields, by name, as text.
pub type Fields = BTreeMap<String, String>;

/// A closed span.
#[derive(Clone, Debug)]
pub struct SeenSpan {
    pub name: &'static str,
    /// Its fields, and `follows.request.id`: the request id of the span it follows from.
    pub fields: Fields,
}

/// An event, with the fields of the span it was recorded in.
#[derive(Clone, Debug)]
pub struct SeenEvent {
    pub level: Level,
    pub fields: Fields,
    pub span: Fields,
}

#[derive(Default)]
struct Seen {
    spans: Vec<SeenSpan>,
    events: Vec<SeenEvent>,
}

static SEEN: Mutex<Seen> = Mutex::new(Seen {
    spans: Vec::new(),
    events: Vec::new(),
});

fn seen() -> MutexGuard<'static, Seen> {
    SEEN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Installs the capturing subscriber as the process's default, once.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing::subscriber::set_global_default(Registry::default().with(Capture))
            .expect("no other global subscriber in the test binary");
    });
}

/// The closed span named `name` whose request id (its own, or the one of the span it
/// follows from) is `request_id`; waits for it up to 10 s (a stop span closes when its
/// background stop ends).
pub async fn span(name: &str, request_id: &str) -> SeenSpan {
    let mine = |span: &SeenSpan| {
        span.name == name
            && [
                span.fields.get("request.id"),
                span.fields.get("follows.request.id"),
            ]
            .contains(&Some(&request_id.to_owned()))
    };
    for _ in 0..1000 {
        if let Some(span) = seen().spans.iter().find(|span| mine(span)) {
            return span.clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no closed `{name}` span of request {request_id}");
}

/// The events recorded in spans of request `request_id`.
pub fn events(request_id: &str) -> Vec<SeenEvent> {
    seen()
        .events
        .iter()
        .filter(|event| event.span.get("request.id").map(String::as_str) == Some(request_id))
        .cloned()
        .collect()
}

/// Whether any span or event kept so far holds `text` in a field or message.
pub fn mentions(text: &str) -> bool {
    let holds = |fields: &Fields| {
        fields
            .iter()
            .any(|(name, value)| name.contains(text) || value.contains(text))
    };
    let seen = seen();
    seen.spans.iter().any(|span| holds(&span.fields))
        || seen
            .events
            .iter()
            .any(|event| holds(&event.fields) || holds(&event.span))
}

struct Capture;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        attributes.record(&mut Visitor(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(&mut Visitor(fields));
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        let request_id = ctx.span(follows).and_then(|followed| {
            followed
                .extensions()
                .get::<Fields>()?
                .get("request.id")
                .cloned()
        });
        if let (Some(span), Some(request_id)) = (ctx.span(id), request_id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            fields.insert("follows.request.id".to_owned(), request_id);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        event.record(&mut Visitor(&mut fields));
        let span = ctx
            .event_span(event)
            .and_then(|span| span.extensions().get::<Fields>().cloned())
            .unwrap_or_default();
        if !span.contains_key("request.id") {
            return;
        }
        seen().events.push(SeenEvent {
            level: *event.metadata().level(),
            fields,
            span,
        });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            let fields = span
                .extensions()
                .get::<Fields>()
                .cloned()
                .unwrap_or_default();
            if !fields.contains_key("request.id") && !fields.contains_key("follows.request.id") {
                return;
            }
            seen().spans.push(SeenSpan {
                name: span.name(),
                fields,
            });
        }
    }
}

struct Visitor<'f>(&'f mut Fields);

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}
