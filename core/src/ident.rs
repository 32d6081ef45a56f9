//! Kazakhstan's individual (IIN) and business (BIN) identification numbers, parsed once at the
//! edge into newtypes that can only hold a number with a valid date part and check digit.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Why a string is not a valid IIN or BIN. Each variant has a translation key
/// ([`IdentError::message_key`]) so the kiosk and the reception console can show it in kk/ru/en.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentError {
    /// Empty input.
    #[error("the number is empty")]
    Empty,
    /// Not exactly 12 characters after removing spaces.
    #[error("the number must have 12 digits, it has {0}")]
    WrongLength(usize),
    /// A character that is not an ASCII digit.
    #[error("the number may contain digits only")]
    NotDigits,
    /// The first six digits are not a real date (IIN) or a real year and month (BIN).
    #[error("the date part of the number is not a real date")]
    BadDate,
    /// IIN: the 7th digit must be 1..=6 (century and sex).
    #[error("the 7th digit must be 1 to 6")]
    BadCenturyDigit,
    /// BIN: the 5th digit must be 4, 5 or 6 (legal entity type).
    #[error("the 5th digit must be 4, 5 or 6")]
    BadEntityType,
    /// The check digit does not match, or the number has no valid check digit at all.
    #[error("the check digit does not match; please check the number")]
    BadCheckDigit,
}

impl IdentError {
    /// Translation key of this error (see the kiosk's and reception's message catalogues).
    pub fn message_key(&self) -> &'static str {
        match self {
            IdentError::Empty => "error-ident-empty",
            IdentError::WrongLength(_) => "error-ident-length",
            IdentError::NotDigits => "error-ident-digits",
            IdentError::BadDate => "error-ident-date",
            IdentError::BadCenturyDigit => "error-iin-century",
            IdentError::BadEntityType => "error-bin-type",
            IdentError::BadCheckDigit => "error-ident-check",
        }
    }
}

/// Sex encoded in an IIN's 7th digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    /// Odd century digit.
    Male,
    /// Even century digit.
    Female,
}

const W1: [u32; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const W2: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

/// Check digit of the first 11 digits of an IIN/BIN, or `None` when the number can have none
/// (both weightings give 10: such numbers are never issued).
pub fn check_digit(first11: &[u8; 11]) -> Option<u8> {
    let sum = |w: &[u32; 11]| -> u32 {
        first11
            .iter()
            .zip(w)
            .map(|(d, w)| u32::from(*d) * w)
            .sum::<u32>()
            % 11
    };
    let c = sum(&W1);
    let c = if c == 10 { sum(&W2) } else { c };
    // c < 11 by the modulo, and 10 is rejected here, so the cast is lossless.
    if c == 10 { None } else { Some(c as u8) }
}

fn digits12(s: &str) -> Result<[u8; 12], IdentError> {
    let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if cleaned.is_empty() {
        return Err(IdentError::Empty);
    }
    if !cleaned.chars().all(|c| c.is_ascii_digit()) {
        return Err(IdentError::NotDigits);
    }
    let n = cleaned.chars().count();
    if n != 12 {
        return Err(IdentError::WrongLength(n));
    }
    let mut out = [0u8; 12];
    for (o, b) in out.iter_mut().zip(cleaned.bytes()) {
        *o = b - b'0';
    }
    Ok(out)
}

fn verify_check(d: &[u8; 12]) -> Result<(), IdentError> {
    let mut first = [0u8; 11];
    first.copy_from_slice(&d[..11]);
    match check_digit(&first) {
        Some(c) if c == d[11] => Ok(()),
        _ => Err(IdentError::BadCheckDigit),
    }
}

/// An individual identification number: 12 digits, YYMMDD birth date, century/sex digit 1..=6,
/// and a valid check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Iin(String);

impl Iin {
    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Birth date encoded in the number.
    pub fn birth_date(&self) -> NaiveDate {
        // Invariant: the date was validated in `from_str`.
        iin_date(&self.0).unwrap_or_default()
    }
    /// Sex encoded in the number.
    pub fn sex(&self) -> Sex {
        let d = self.0.as_bytes()[6] - b'0';
        if d % 2 == 1 { Sex::Male } else { Sex::Female }
    }
    /// Masked form for journals and screens: first 2 and last 2 digits shown.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..2], &self.0[10..])
    }
}

fn iin_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let num = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    let century = match b[6] - b'0' {
        1 | 2 => 1800,
        3 | 4 => 1900,
        5 | 6 => 2000,
        _ => return None,
    };
    let year = century + num(0) as i32;
    NaiveDate::from_ymd_opt(year, num(2), num(4))
}

impl FromStr for Iin {
    type Err = IdentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let d = digits12(s)?;
        let text: String = d.iter().map(|x| char::from(b'0' + x)).collect();
        if !(1..=6).contains(&d[6]) {
            return Err(IdentError::BadCenturyDigit);
        }
        if iin_date(&text).is_none() {
            return Err(IdentError::BadDate);
        }
        verify_check(&d)?;
        Ok(Iin(text))
    }
}

impl TryFrom<String> for Iin {
    type Error = IdentError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}
impl From<Iin> for String {
    fn from(v: Iin) -> String {
        v.0
    }
}
impl fmt::Display for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A business identification number: 12 digits, YYMM of registration, entity type digit
/// 4/5/6 in the 5th place, and a valid check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Bin(String);

impl Bin {
    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Bin {
    type Err = IdentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let d = digits12(s)?;
        let month = u32::from(d[2]) * 10 + u32::from(d[3]);
        if !(1..=12).contains(&month) {
            return Err(IdentError::BadDate);
        }
        if !(4..=6).contains(&d[4]) {
            return Err(IdentError::BadEntityType);
        }
        verify_check(&d)?;
        Ok(Bin(d.iter().map(|x| char::from(b'0' + x)).collect()))
    }
}

impl TryFrom<String> for Bin {
    type Error = IdentError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}
impl From<Bin> for String {
    fn from(v: Bin) -> String {
        v.0
    }
}
impl fmt::Display for Bin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Completes 11 digits with their check digit, if they can have one (test and demo helper).
pub fn complete_with_check_digit(first11: &str) -> Option<String> {
    let d: Vec<u8> = first11.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    let arr: [u8; 11] = d.try_into().ok()?;
    if arr.iter().any(|x| *x > 9) {
        return None;
    }
    let c = check_digit(&arr)?;
    Some(format!("{first11}{c}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_valid_iin() {
        // 900101 3 0000 + check digit computed by hand: weights 1..11.
        let s = complete_with_check_digit("90010130000").expect("has check digit");
        let iin: Iin = s.parse().expect("valid");
        assert_eq!(
            iin.birth_date(),
            NaiveDate::from_ymd_opt(1990, 1, 1).expect("date")
        );
        assert_eq!(iin.sex(), Sex::Male);
        assert_eq!(iin.masked().len(), 12);
    }

    #[test]
    fn second_weighting_is_used_when_first_gives_ten() {
        // Search a prefix whose first weighting gives 10 and check the second is used.
        let mut found = false;
        for n in 0..10_000u32 {
            let s = format!("8501024{n:04}");
            let d: [u8; 11] = s
                .bytes()
                .map(|b| b - b'0')
                .collect::<Vec<_>>()
                .try_into()
                .expect("11");
            let c1 = d
                .iter()
                .zip(&W1)
                .map(|(a, w)| u32::from(*a) * w)
                .sum::<u32>()
                % 11;
            if c1 == 10 {
                let c2 = d
                    .iter()
                    .zip(&W2)
                    .map(|(a, w)| u32::from(*a) * w)
                    .sum::<u32>()
                    % 11;
                if c2 != 10 {
                    let full = format!("{s}{c2}");
                    assert!(full.parse::<Iin>().is_ok(), "{full}");
                    found = true;
                    break;
                }
            }
        }
        assert!(found);
    }

    #[test]
    fn table_of_bad_iins() {
        let good = complete_with_check_digit("90010130000").expect("check");
        let mut bad_check = good.clone().into_bytes();
        bad_check[11] = b'0' + ((bad_check[11] - b'0' + 1) % 10);
        let cases: Vec<(String, IdentError)> = vec![
            ("".into(), IdentError::Empty),
            ("   ".into(), IdentError::Empty),
            ("12345".into(), IdentError::WrongLength(5)),
            ("9001013000012345".into(), IdentError::WrongLength(16)),
            ("90010130000a".into(), IdentError::NotDigits),
            ("901301300001".into(), IdentError::BadDate),
            ("900101700001".into(), IdentError::BadCenturyDigit),
            ("900101000001".into(), IdentError::BadCenturyDigit),
            (
                String::from_utf8(bad_check).expect("ascii"),
                IdentError::BadCheckDigit,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<Iin>(), Err(want.clone()), "input {input:?}");
            assert!(!want.message_key().is_empty());
        }
    }

    #[test]
    fn table_of_bad_bins() {
        let good = complete_with_check_digit("05014000001").expect("check");
        assert!(good.parse::<Bin>().is_ok());
        let cases: Vec<(&str, IdentError)> = vec![
            ("051340000010", IdentError::BadDate),
            ("050170000010", IdentError::BadEntityType),
            ("0501400000x1", IdentError::NotDigits),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<Bin>(), Err(want), "input {input:?}");
        }
    }

    fn arb_iin_prefix() -> impl Strategy<Value = String> {
        (0u32..100, 1u32..=12, 1u32..=28, 1u32..=6, 0u32..10_000)
            .prop_map(|(y, m, d, c, n)| format!("{y:02}{m:02}{d:02}{c}{n:04}"))
    }

    proptest! {
        #[test]
        fn generated_valid_iins_round_trip(prefix in arb_iin_prefix()) {
            if let Some(full) = complete_with_check_digit(&prefix) {
                let iin: Iin = full.parse().expect("generated IIN must parse");
                prop_assert_eq!(iin.as_str(), full.as_str());
                let json = serde_json::to_string(&iin).expect("json");
                let back: Iin = serde_json::from_str(&json).expect("back");
                prop_assert_eq!(back, iin);
            }
        }

        #[test]
        fn generated_valid_bins_round_trip(y in 0u32..100, m in 1u32..=12, t in 4u32..=6, k in 0u32..10, n in 0u32..100_000) {
            if let Some(full) = complete_with_check_digit(&format!("{y:02}{m:02}{t}{k}{n:05}")) {
                let bin: Bin = full.parse().expect("generated BIN must parse");
                prop_assert_eq!(bin.as_str(), full.as_str());
            }
        }
    }
}
