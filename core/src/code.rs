//! Secret codes (the citizen's key to the answer), their lookup ids, and registration numbers.
//!
//! A secret code is 11 digits from the operating system's CSPRNG (log2(10^11) ≈ 36.5 bits) plus
//! one Damm check digit, which catches every single-digit error and every adjacent
//! transposition, so a mistyped code is rejected on the keypad before any lookup. The code is
//! never stored or logged: the booth and the central service keep only
//! [`LookupId`] = Argon2id(code, fixed domain-separation salt).

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Number of random digits in a secret code.
pub const SECRET_RANDOM_DIGITS: usize = 11;
/// Total digits in a secret code (random digits + check digit).
pub const SECRET_CODE_LEN: usize = SECRET_RANDOM_DIGITS + 1;

/// The Damm quasigroup of order 10 (weakly totally anti-symmetric), from Damm's 2004 thesis.
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// Damm interim digit of a digit sequence; appending it makes the whole sequence check to 0.
pub fn damm_digit(digits: &[u8]) -> u8 {
    digits
        .iter()
        .fold(0u8, |acc, d| DAMM[usize::from(acc)][usize::from(*d % 10)])
}

/// Why typed text is not a secret code. Keys for kk/ru/en messages via [`CodeError::message_key`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Fewer or more digits than a code has.
    #[error("a code has {SECRET_CODE_LEN} digits, this has {0}")]
    WrongLength(usize),
    /// Something other than digits, spaces or dashes.
    #[error("a code contains digits only")]
    NotDigits,
    /// Check digit mismatch: a typo or two swapped digits.
    #[error("the code has a typo: please check the digits")]
    BadCheckDigit,
}

impl CodeError {
    /// Translation key of this error.
    pub fn message_key(&self) -> &'static str {
        match self {
            CodeError::WrongLength(_) => "error-code-length",
            CodeError::NotDigits => "error-code-digits",
            CodeError::BadCheckDigit => "error-code-check",
        }
    }
}

/// A citizen's secret code: 12 digits whose last is the Damm check digit. Deliberately has no
/// `Serialize`, and its `Debug` hides the digits, so it cannot leak into logs or files by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretCode([u8; SECRET_CODE_LEN]);

impl fmt::Debug for SecretCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretCode(****)")
    }
}

impl SecretCode {
    /// A fresh code from the OS CSPRNG (`rand::rng()` is ChaCha seeded from the OS and reseeded).
    pub fn generate() -> SecretCode {
        let mut rng = rand::rng();
        let mut d = [0u8; SECRET_CODE_LEN];
        for x in d.iter_mut().take(SECRET_RANDOM_DIGITS) {
            *x = rng.random_range(0..10);
        }
        d[SECRET_RANDOM_DIGITS] = damm_digit(&d[..SECRET_RANDOM_DIGITS]);
        SecretCode(d)
    }

    /// The 12 digits without separators (for QR payloads and the keypad).
    pub fn digits(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }

    /// Shown in groups of four for reading and writing down: `1234 5678 9012`.
    pub fn grouped(&self) -> String {
        let s = self.digits();
        format!("{} {} {}", &s[0..4], &s[4..8], &s[8..12])
    }

    /// Whether a partial entry (digits typed so far) could still become a valid code; the
    /// keypad uses it to say "check the digits" as soon as the 12th digit is typed.
    pub fn check_partial(typed: &str) -> Result<Option<SecretCode>, CodeError> {
        let digits = normalise(typed)?;
        if digits.len() < SECRET_CODE_LEN {
            return Ok(None);
        }
        Self::from_digits(&digits).map(Some)
    }

    fn from_digits(d: &[u8]) -> Result<SecretCode, CodeError> {
        if d.len() != SECRET_CODE_LEN {
            return Err(CodeError::WrongLength(d.len()));
        }
        if damm_digit(d) != 0 {
            return Err(CodeError::BadCheckDigit);
        }
        let mut a = [0u8; SECRET_CODE_LEN];
        a.copy_from_slice(d);
        Ok(SecretCode(a))
    }

    /// The lookup id of this code under the given Argon2id parameters.
    pub fn lookup_id(&self, params: &LookupParams) -> Result<LookupId, LookupError> {
        LookupId::derive(self, params)
    }
}

fn normalise(s: &str) -> Result<Vec<u8>, CodeError> {
    let mut out = Vec::with_capacity(SECRET_CODE_LEN);
    for c in s.chars() {
        match c {
            '0'..='9' => out.push(c as u8 - b'0'),
            ' ' | '-' | '\u{a0}' => {}
            _ => return Err(CodeError::NotDigits),
        }
    }
    Ok(out)
}

impl FromStr for SecretCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let d = normalise(s)?;
        Self::from_digits(&d)
    }
}

/// Argon2id cost parameters for lookup ids; the same on every booth and the central service
/// (they are part of the protocol), so they come from config with these defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for LookupParams {
    fn default() -> Self {
        // ~19 MiB, 2 passes: OWASP's Argon2id minimum; about 50 ms on a booth PC.
        LookupParams {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// The fixed domain-separation salt: lookup ids of codes are only comparable within this
/// protocol. Changing it is a protocol version change.
pub const LOOKUP_SALT: &[u8] = b"kz-video-appeal-booth/lookup-id/v1";

/// Failure to derive a lookup id (bad parameters from config).
#[derive(Debug, thiserror::Error)]
#[error("cannot derive lookup id with the configured Argon2id parameters: {0}")]
pub struct LookupError(String);

/// Argon2id(code) as 64 lowercase hex characters: the only form in which a code is stored or
/// sent. Safe to log (it is not personal data, but logs still avoid it by habit).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LookupId(String);

impl LookupId {
    fn derive(code: &SecretCode, p: &LookupParams) -> Result<LookupId, LookupError> {
        use argon2::{Algorithm, Argon2, Params, Version};
        let params = Params::new(p.memory_kib, p.iterations, p.parallelism, Some(32))
            .map_err(|e| LookupError(e.to_string()))?;
        let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut out = [0u8; 32];
        a.hash_password_into(code.digits().as_bytes(), LOOKUP_SALT, &mut out)
            .map_err(|e| LookupError(e.to_string()))?;
        Ok(LookupId(hex::encode(out)))
    }
    /// Hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A lookup id that is not 64 lowercase hex characters (e.g. a hostile path segment).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a lookup id is 64 lowercase hex characters")]
pub struct BadLookupId;

impl FromStr for LookupId {
    type Err = BadLookupId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(LookupId(s.to_owned()))
        } else {
            Err(BadLookupId)
        }
    }
}
impl TryFrom<String> for LookupId {
    type Error = BadLookupId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}
impl From<LookupId> for String {
    fn from(v: LookupId) -> String {
        v.0
    }
}
impl fmt::Display for LookupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Registration number, assigned on the booth offline: `BRANCH-BOOTH-YEAR-SEQUENCE`, for example
/// `ALM01-03-2026-000127`. Unique per booth because the sequence comes from the booth's store;
/// readable aloud (letters, then short digit groups).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegistrationNumber {
    branch: String,
    booth: u16,
    year: u16,
    seq: u32,
}

/// A string that is not a registration number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a registration number (expected BRANCH-BOOTH-YEAR-NUMBER, e.g. ALM01-03-2026-000127)")]
pub struct BadRegistrationNumber;

impl RegistrationNumber {
    /// Builds a number; `branch` must be 2–8 ASCII letters/digits.
    pub fn new(
        branch: &str,
        booth: u16,
        year: u16,
        seq: u32,
    ) -> Result<Self, BadRegistrationNumber> {
        let ok =
            (2..=8).contains(&branch.len()) && branch.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok || booth > 99 || !(2000..=2999).contains(&year) || seq == 0 || seq > 999_999 {
            return Err(BadRegistrationNumber);
        }
        Ok(RegistrationNumber {
            branch: branch.to_ascii_uppercase(),
            booth,
            year,
            seq,
        })
    }
    /// Branch code part.
    pub fn branch(&self) -> &str {
        &self.branch
    }
    /// Booth number within the branch.
    pub fn booth(&self) -> u16 {
        self.booth
    }
    /// Year of intake.
    pub fn year(&self) -> u16 {
        self.year
    }
    /// Sequence within booth and year.
    pub fn seq(&self) -> u32 {
        self.seq
    }
}

impl fmt::Display for RegistrationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{:02}-{}-{:06}",
            self.branch, self.booth, self.year, self.seq
        )
    }
}

impl FromStr for RegistrationNumber {
    type Err = BadRegistrationNumber;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.trim().split('-').collect();
        let [branch, booth, year, seq] = parts.as_slice() else {
            return Err(BadRegistrationNumber);
        };
        let num = |x: &str, len: usize| -> Result<u32, BadRegistrationNumber> {
            if x.len() == len && x.bytes().all(|b| b.is_ascii_digit()) {
                x.parse().map_err(|_| BadRegistrationNumber)
            } else {
                Err(BadRegistrationNumber)
            }
        };
        let booth = num(booth, 2)? as u16;
        let year = num(year, 4)? as u16;
        let seq = num(seq, 6)?;
        RegistrationNumber::new(branch, booth, year, seq)
    }
}
impl TryFrom<String> for RegistrationNumber {
    type Error = BadRegistrationNumber;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}
impl From<RegistrationNumber> for String {
    fn from(v: RegistrationNumber) -> String {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code_from(d: [u8; SECRET_RANDOM_DIGITS]) -> String {
        let c = damm_digit(&d);
        d.iter()
            .chain(std::iter::once(&c))
            .map(|x| char::from(b'0' + x))
            .collect()
    }

    #[test]
    fn generated_codes_check_and_differ() {
        let a = SecretCode::generate();
        let b = SecretCode::generate();
        assert!(a.digits().parse::<SecretCode>().is_ok());
        assert!(a.grouped().parse::<SecretCode>().is_ok());
        assert_ne!(a, b, "two fresh codes collided: the CSPRNG is broken");
        assert_eq!(format!("{a:?}"), "SecretCode(****)");
    }

    #[test]
    fn table_of_bad_codes() {
        let cases: Vec<(&str, CodeError)> = vec![
            ("", CodeError::WrongLength(0)),
            ("1234", CodeError::WrongLength(4)),
            ("1234 5678 90123", CodeError::WrongLength(13)),
            ("1234 56a8 9012", CodeError::NotDigits),
            ("0000 0000 0001", CodeError::BadCheckDigit),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<SecretCode>(), Err(want), "{input:?}");
        }
    }

    #[test]
    fn partial_entry() {
        assert_eq!(SecretCode::check_partial("1234"), Ok(None));
        assert_eq!(
            SecretCode::check_partial("0000 0000 0001"),
            Err(CodeError::BadCheckDigit)
        );
    }

    #[test]
    fn lookup_id_is_stable_and_hex() {
        let p = LookupParams {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        };
        let code: SecretCode = code_from([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
            .parse()
            .expect("valid");
        let a = code.lookup_id(&p).expect("derive");
        let b = code.lookup_id(&p).expect("derive");
        assert_eq!(a, b);
        assert_eq!(a.as_str().len(), 64);
        assert!(a.as_str().parse::<LookupId>().is_ok());
        assert!("../../etc/passwd".parse::<LookupId>().is_err());
    }

    #[test]
    fn registration_number_round_trip_and_rejects() {
        let r = RegistrationNumber::new("alm01", 3, 2026, 127).expect("valid");
        assert_eq!(r.to_string(), "ALM01-03-2026-000127");
        assert_eq!("ALM01-03-2026-000127".parse::<RegistrationNumber>(), Ok(r));
        for bad in [
            "",
            "ALM01-3-2026-000127",
            "ALM01-03-2026-000000",
            "A-03-2026-000001",
            "ALM01-03-26-000001",
            "ALM 1-03-2026-000001",
        ] {
            assert!(bad.parse::<RegistrationNumber>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn every_single_digit_error_is_caught(d in proptest::array::uniform11(0u8..10), pos in 0usize..SECRET_CODE_LEN, delta in 1u8..10) {
            let good = code_from(d);
            prop_assert!(good.parse::<SecretCode>().is_ok());
            let mut b = good.into_bytes();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            let bad = String::from_utf8(b).expect("ascii");
            prop_assert_eq!(bad.parse::<SecretCode>(), Err(CodeError::BadCheckDigit));
        }

        #[test]
        fn every_adjacent_swap_is_caught(d in proptest::array::uniform11(0u8..10), pos in 0usize..SECRET_CODE_LEN - 1) {
            let good = code_from(d);
            let mut b = good.into_bytes();
            prop_assume!(b[pos] != b[pos + 1]);
            b.swap(pos, pos + 1);
            let bad = String::from_utf8(b).expect("ascii");
            prop_assert_eq!(bad.parse::<SecretCode>(), Err(CodeError::BadCheckDigit));
        }
    }

    /// Exhaustive check of the property the proptests sample: for every interim digit and
    /// every pair of distinct digits, Damm catches the swap and every single change.
    #[test]
    fn damm_table_is_weakly_totally_antisymmetric() {
        for c in 0..10usize {
            for x in 0..10usize {
                for y in 0..10usize {
                    if x != y {
                        assert_ne!(DAMM[DAMM[c][x] as usize][y], DAMM[DAMM[c][y] as usize][x]);
                        assert_ne!(DAMM[c][x], DAMM[c][y]);
                    }
                }
            }
        }
    }
}
