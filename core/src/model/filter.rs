//! Conditions and orders on a model's rows, as the column handles build them.

use std::marker::PhantomData;

use sea_query::{Condition, Expr, Order};

/// A condition on the rows of model `M`; combine with [`Filter::and`], [`Filter::or`]
/// and `!`.
#[derive(Clone, Debug)]
pub struct Filter<M> {
    pub(crate) condition: Condition,
    pub(crate) of: PhantomData<fn() -> M>,
}

impl<M> Filter<M> {
    pub(crate) fn new(expr: Expr) -> Filter<M> {
        Filter {
            condition: Condition::all().add(expr),
            of: PhantomData,
        }
    }

    /// Both conditions.
    pub fn and(self, other: Filter<M>) -> Filter<M> {
        Filter {
            condition: Condition::all().add(self.condition).add(other.condition),
            of: PhantomData,
        }
    }

    /// Either condition.
    pub fn or(self, other: Filter<M>) -> Filter<M> {
        Filter {
            condition: Condition::any().add(self.condition).add(other.condition),
            of: PhantomData,
        }
    }
}

impl<M> std::ops::Not for Filter<M> {
    type Output = Filter<M>;

    fn not(self) -> Filter<M> {
        Filter {
            condition: self.condition.not(),
            of: PhantomData,
        }
    }
}

/// An order on model `M`'s rows: [`Column::asc`](super::Column::asc), [`Column::desc`](super::Column::desc).
#[derive(Clone, Copy, Debug)]
pub struct Ordering<M> {
    pub(crate) column: &'static str,
    pub(crate) order: OrderKind,
    of: PhantomData<fn() -> M>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum OrderKind {
    Asc,
    Desc,
}

impl<M> Ordering<M> {
    pub(crate) fn new(column: &'static str, order: Order) -> Ordering<M> {
        let order = match order {
            Order::Desc => OrderKind::Desc,
            _ => OrderKind::Asc,
        };
        Ordering {
            column,
            order,
            of: PhantomData,
        }
    }
}
