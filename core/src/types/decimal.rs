//! Decimals read from a server's exact text, for every backend alike.

use rust_decimal::Decimal;

use crate::error::BoxError;

/// The `Decimal` a server's exact decimal text (`-12.50`) denotes; a value with more
/// digits than a `Decimal` holds (28 after the point, 96 bits in all) is an error, never
/// rounded. Zeros a column's scale pads the text with (`1.500000` in a `DECIMAL(65, 6)`)
/// lose nothing and do not count.
pub fn decimal_from_text(text: &str) -> Result<Decimal, BoxError> {
    let significant = match text.split_once('.') {
        Some(_) => text.trim_end_matches('0').trim_end_matches('.'),
        None => text,
    };
    Decimal::from_str_exact(significant).map_err(|error| {
        format!(
            "the value {text} does not fit in a Decimal (at most 28 digits after the point \
             and 96 bits in all): {error}"
        )
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::decimal_from_text;

    #[test]
    fn padding_zeros_are_dropped_and_real_digits_never_rounded() {
        let value = |text| decimal_from_text(text).expect("fits").to_string();
        assert_eq!(value("1.500000"), "1.5");
        assert_eq!(value("100"), "100");
        assert_eq!(value("-0.000"), "0");
        assert_eq!(
            value("79228162514264337593543950335.000000000000000000000000000000"),
            "79228162514264337593543950335"
        );
        assert!(decimal_from_text("0.00000000000000000000000000001").is_err());
        assert!(decimal_from_text("79228162514264337593543950336").is_err());
    }
}
