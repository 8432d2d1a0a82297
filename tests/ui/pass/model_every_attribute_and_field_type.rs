// A model with every attribute and every supported field type, plain and nullable, with
// what the derive generates: the table, the columns, the key, the typed column handles.
use tethered::{Column, Keyed, Model};

#[derive(Model, Debug, Default)]
#[tethered(table = "every_type")]
pub struct EveryType {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    tiny: i8,
    small: i16,
    #[tethered(column = "medium_int")]
    medium: i32,
    big: i64,
    unsigned_tiny: u8,
    unsigned_small: u16,
    unsigned_medium: u32,
    unsigned_big: u64,
    flag: bool,
    single: f32,
    double: f64,
    text: String,
    bytes: Vec<u8>,
    maybe_tiny: Option<i8>,
    maybe_small: Option<i16>,
    maybe_medium: Option<i32>,
    maybe_big: Option<i64>,
    maybe_unsigned_tiny: Option<u8>,
    maybe_unsigned_small: Option<u16>,
    maybe_unsigned_medium: Option<u32>,
    maybe_unsigned_big: Option<u64>,
    maybe_flag: Option<bool>,
    maybe_single: Option<f32>,
    maybe_double: Option<f64>,
    maybe_text: Option<String>,
    maybe_bytes: Option<Vec<u8>>,
    #[tethered(skip)]
    cached: std::collections::HashMap<String, String>,
}

// A model keyed by a value the application chooses, named after its struct.
#[derive(Model, Debug)]
pub struct UserAccount {
    #[tethered(primary_key)]
    #[tethered(column = "account_name")]
    name: String,
    r#type: String,
}

// A model without a primary key: it can be queried, inserted in bulk and deleted by filter.
#[derive(Model, Debug)]
pub struct Event {
    at: i64,
    message: String,
}

fn main() {
    assert_eq!(EveryType::TABLE, "every_type");
    assert_eq!(EveryType::COLUMNS.len(), 27);
    assert_eq!(EveryType::KEY.name, "id");
    assert!(EveryType::KEY.generated);
    assert_eq!(EveryType::values(&EveryType::default()).expect("every value converts").len(), 27);
    let medium: Column<EveryType, i32> = EveryType::MEDIUM;
    assert_eq!(medium.name(), "medium_int");
    let maybe_bytes: Column<EveryType, Option<Vec<u8>>> = EveryType::MAYBE_BYTES;
    assert_eq!(maybe_bytes.name(), "maybe_bytes");

    assert_eq!(UserAccount::TABLE, "user_account");
    assert_eq!(UserAccount::KEY.name, "account_name");
    assert!(!UserAccount::KEY.generated);
    assert_eq!(UserAccount::TYPE.name(), "type");
    let account = UserAccount {
        name: "ada".into(),
        r#type: "admin".into(),
    };
    assert_eq!(account.key(), "ada");

    assert_eq!(Event::TABLE, "event");
    assert_eq!(Event::COLUMNS.len(), 2);
}
