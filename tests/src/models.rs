//! The models the suite stores, and their tables (built with sea-query, so one definition
//! serves every backend's dialect).

use tethered::Model;
use tethered::sea_query::{Alias, ColumnDef, Table, TableCreateStatement};

/// A user, with a generated key, a renamed column, a nullable one and a skipped one.
#[derive(Model, Debug, Clone, PartialEq)]
#[tethered(table = "users")]
pub struct User {
    #[tethered(primary_key, auto_increment)]
    pub id: i64,
    #[tethered(column = "email_address")]
    pub email: String,
    pub name: Option<String>,
    pub age: i32,
    #[tethered(skip)]
    pub session: Option<String>,
}

impl User {
    /// A user not stored yet (the key is filled in by the database).
    pub fn new(email: &str, name: Option<&str>, age: i32) -> User {
        User {
            id: 0,
            email: email.to_owned(),
            name: name.map(str::to_owned),
            age,
            session: Some("not stored".to_owned()),
        }
    }
}

pub(crate) fn column(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
}

/// `users`.
pub fn users() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("users"))
        .col(
            column("id")
                .big_integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        .col(column("email_address").string().not_null())
        .col(column("name").string())
        .col(column("age").integer().not_null())
        .to_owned()
}

/// A row of every supported field type, each twice: required and nullable.
#[derive(Model, Debug, Clone, PartialEq)]
#[tethered(table = "samples")]
pub struct Sample {
    #[tethered(primary_key, auto_increment)]
    pub id: i64,
    pub tiny: i8,
    pub small: i16,
    pub int: i32,
    pub big: i64,
    pub utiny: u8,
    pub usmall: u16,
    pub uint: u32,
    pub ubig: u64,
    pub flag: bool,
    pub single: f32,
    pub double: f64,
    pub text: String,
    pub bytes: Vec<u8>,
    pub maybe_tiny: Option<i8>,
    pub maybe_small: Option<i16>,
    pub maybe_int: Option<i32>,
    pub maybe_big: Option<i64>,
    pub maybe_utiny: Option<u8>,
    pub maybe_usmall: Option<u16>,
    pub maybe_uint: Option<u32>,
    pub maybe_ubig: Option<u64>,
    pub maybe_flag: Option<bool>,
    pub maybe_single: Option<f32>,
    pub maybe_double: Option<f64>,
    pub maybe_text: Option<String>,
    pub maybe_bytes: Option<Vec<u8>>,
}

/// Sets a column's type.
type SetType = fn(&mut ColumnDef) -> &mut ColumnDef;

/// `samples`: each column the narrowest type that holds its field.
pub fn samples() -> TableCreateStatement {
    let mut table = Table::create();
    table.table(Alias::new("samples")).col(
        column("id")
            .big_integer()
            .not_null()
            .auto_increment()
            .primary_key(),
    );
    let types: [(&str, SetType); 13] = [
        ("tiny", ColumnDef::tiny_integer),
        ("small", ColumnDef::small_integer),
        ("int", ColumnDef::integer),
        ("big", ColumnDef::big_integer),
        ("utiny", ColumnDef::tiny_unsigned),
        ("usmall", ColumnDef::small_unsigned),
        ("uint", ColumnDef::unsigned),
        ("ubig", ColumnDef::big_unsigned),
        ("flag", ColumnDef::boolean),
        ("single", ColumnDef::float),
        ("double", ColumnDef::double),
        ("text", ColumnDef::text),
        ("bytes", ColumnDef::blob),
    ];
    for (name, type_of) in types {
        table.col(type_of(&mut column(name)).not_null());
        table.col(type_of(&mut column(&format!("maybe_{name}"))).null());
    }
    table.to_owned()
}

/// A model without a primary key: rows in a log.
#[derive(Model, Debug, Clone, PartialEq)]
#[tethered(table = "events")]
pub struct Event {
    pub kind: String,
    pub amount: i64,
}

/// `events`.
pub fn events() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("events"))
        .col(column("kind").string().not_null())
        .col(column("amount").big_integer().not_null())
        .to_owned()
}

/// `users` read with the wrong type for a column, to provoke a decode error.
#[derive(Model, Debug)]
#[tethered(table = "users")]
pub struct MistypedUser {
    #[tethered(primary_key)]
    pub id: i64,
    #[tethered(column = "email_address")]
    pub email: i64,
}
