//! Newtypes for what a citizen or receptionist types: personal names, legal entity names,
//! e-mail addresses and postal addresses. Each parses once at the edge with a specific error
//! that has a translation key; inside the booth they are trusted.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a typed field was refused. The kiosk shows [`FieldError::message_key`] in kk/ru/en.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// Required field left empty.
    #[error("this field is required")]
    Required,
    /// Too short.
    #[error("too short: at least {min} characters")]
    TooShort {
        /// Minimum length in characters.
        min: usize,
    },
    /// Too long.
    #[error("too long: at most {max} characters")]
    TooLong {
        /// Maximum length in characters.
        max: usize,
    },
    /// A character that names may not contain (digits, symbols).
    #[error("a name may contain letters, hyphen, apostrophe and space only; {0:?} is not allowed")]
    BadNameChar(char),
    /// Mixed Cyrillic and Latin letters in one name part (often a keyboard-layout slip).
    #[error("a name is written in one alphabet: Cyrillic or Latin, not both")]
    MixedScripts,
    /// E-mail without exactly one `@` or with an empty side.
    #[error("an e-mail address looks like name@example.kz")]
    EmailShape,
    /// E-mail domain without a dot or with a bad label.
    #[error("the part after @ must be a domain such as mail.kz")]
    EmailDomain,
    /// Control characters or other unprintable input.
    #[error("the text contains characters that cannot be printed")]
    Unprintable,
}

impl FieldError {
    /// Translation key of this error.
    pub fn message_key(&self) -> &'static str {
        match self {
            FieldError::Required => "error-field-required",
            FieldError::TooShort { .. } => "error-field-too-short",
            FieldError::TooLong { .. } => "error-field-too-long",
            FieldError::BadNameChar(_) => "error-name-char",
            FieldError::MixedScripts => "error-name-mixed",
            FieldError::EmailShape => "error-email-shape",
            FieldError::EmailDomain => "error-email-domain",
            FieldError::Unprintable => "error-field-unprintable",
        }
    }
}

/// The nine letters of the Kazakh alphabet that Russian lacks (upper and lower case).
pub const KAZAKH_EXTRA: &str = "ӘәҒғҚқҢңӨөҰұҮүҺһІі";

fn is_cyrillic(c: char) -> bool {
    matches!(c, 'А'..='я' | 'Ё' | 'ё') || KAZAKH_EXTRA.contains(c)
}

fn normalise_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check_len(s: &str, min: usize, max: usize) -> Result<(), FieldError> {
    let n = s.chars().count();
    if n == 0 {
        Err(FieldError::Required)
    } else if n < min {
        Err(FieldError::TooShort { min })
    } else if n > max {
        Err(FieldError::TooLong { max })
    } else {
        Ok(())
    }
}

/// One part of a person's name (surname, given name or patronymic): Cyrillic including the
/// Kazakh letters, or Latin; hyphen, apostrophe and space allowed; 1–60 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    /// Maximum length in characters.
    pub const MAX: usize = 60;
    /// The name as typed, spaces normalised.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// First letter and a dot, for "surname and initials" (003 p.25).
    pub fn initial(&self) -> String {
        self.0
            .chars()
            .next()
            .map(|c| format!("{c}."))
            .unwrap_or_default()
    }
}

impl FromStr for PersonName {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = normalise_spaces(s);
        check_len(&s, 1, Self::MAX)?;
        let (mut cyr, mut lat) = (false, false);
        for c in s.chars() {
            if is_cyrillic(c) {
                cyr = true;
            } else if c.is_ascii_alphabetic() {
                lat = true;
            } else if !matches!(c, '-' | '\'' | '’' | ' ') {
                return Err(FieldError::BadNameChar(c));
            }
        }
        if !cyr && !lat {
            return Err(FieldError::BadNameChar(s.chars().next().unwrap_or('-')));
        }
        if cyr && lat {
            return Err(FieldError::MixedScripts);
        }
        Ok(PersonName(s))
    }
}

/// A legal entity's name: printable text, 2–200 characters (quotes, digits and № allowed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LegalEntityName(String);

impl LegalEntityName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for LegalEntityName {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = normalise_spaces(s);
        if s.chars().any(char::is_control) {
            return Err(FieldError::Unprintable);
        }
        check_len(&s, 2, 200)?;
        Ok(LegalEntityName(s))
    }
}

/// A postal address: printable text, 5–300 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PostalAddress(String);

impl PostalAddress {
    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PostalAddress {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = normalise_spaces(s);
        if s.chars().any(char::is_control) {
            return Err(FieldError::Unprintable);
        }
        check_len(&s, 5, 300)?;
        Ok(PostalAddress(s))
    }
}

/// An e-mail address: one `@`, a local part of printable ASCII without spaces, and a domain of
/// dot-separated labels (letters, digits, hyphen; internationalised domains in punycode or
/// Cyrillic letters). Lower-cased domain. At most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        check_len(s, 3, 254)?;
        let mut parts = s.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(FieldError::EmailShape);
        };
        if local.is_empty()
            || local.len() > 64
            || domain.is_empty()
            || !local
                .chars()
                .all(|c| c.is_ascii_graphic() && !"()<>[]:;,\\\"".contains(c))
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
        {
            return Err(FieldError::EmailShape);
        }
        let domain = domain.to_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2
            || !labels.iter().all(label_ok)
            || labels.last().is_some_and(|t| t.chars().count() < 2)
        {
            return Err(FieldError::EmailDomain);
        }
        Ok(Email(format!("{local}@{domain}")))
    }
}

macro_rules! text_newtype_impls {
    ($($t:ty),*) => {$(
        impl TryFrom<String> for $t {
            type Error = FieldError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
text_newtype_impls!(PersonName, LegalEntityName, PostalAddress, Email);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kazakh_names_are_accepted() {
        for n in [
            "Әбілқайыр",
            "Ғабит",
            "Қанат",
            "Ңңң",
            "Өмірзақ",
            "Ұлан",
            "Үміт",
            "Һ",
            "Іңкәр",
            "Нұр-Сұлтан",
            "O'Brien",
            "Анна Мария",
        ] {
            assert!(n.parse::<PersonName>().is_ok(), "{n}");
        }
        assert_eq!(
            " Әлия  ".parse::<PersonName>().expect("ok").as_str(),
            "Әлия"
        );
        assert_eq!("Әлия".parse::<PersonName>().expect("ok").initial(), "Ә.");
    }

    /// Every kind of bad input and the exact error it gets.
    #[test]
    fn table_of_bad_fields() {
        let long = "а".repeat(61);
        let names: Vec<(&str, FieldError)> = vec![
            ("", FieldError::Required),
            ("   ", FieldError::Required),
            ("Иван1", FieldError::BadNameChar('1')),
            ("Ivan<script>", FieldError::BadNameChar('<')),
            ("Иvan", FieldError::MixedScripts),
            (long.as_str(), FieldError::TooLong { max: 60 }),
            ("--", FieldError::BadNameChar('-')),
        ];
        for (input, want) in names {
            assert_eq!(input.parse::<PersonName>(), Err(want), "name {input:?}");
        }
        let emails: Vec<(&str, FieldError)> = vec![
            ("", FieldError::Required),
            ("ab", FieldError::TooShort { min: 3 }),
            ("no-at-sign.kz", FieldError::EmailShape),
            ("a@b@c.kz", FieldError::EmailShape),
            ("@mail.kz", FieldError::EmailShape),
            ("a b@mail.kz", FieldError::EmailShape),
            ("a..b@mail.kz", FieldError::EmailShape),
            ("ivan@localhost", FieldError::EmailDomain),
            ("ivan@mail..kz", FieldError::EmailDomain),
            ("ivan@-mail.kz", FieldError::EmailDomain),
            ("ivan@mail.k", FieldError::EmailDomain),
        ];
        for (input, want) in emails {
            assert_eq!(input.parse::<Email>(), Err(want), "email {input:?}");
        }
        assert_eq!(
            "Ivan.P@Mail.KZ".parse::<Email>().expect("ok").as_str(),
            "Ivan.P@mail.kz"
        );
        assert_eq!(
            "абв".parse::<PostalAddress>(),
            Err(FieldError::TooShort { min: 5 })
        );
        assert_eq!(
            "ул. Абая\u{7}, 1".parse::<PostalAddress>(),
            Err(FieldError::Unprintable)
        );
        assert_eq!(
            "A".parse::<LegalEntityName>(),
            Err(FieldError::TooShort { min: 2 })
        );
        for e in [
            FieldError::Required,
            FieldError::MixedScripts,
            FieldError::EmailDomain,
        ] {
            assert!(e.message_key().starts_with("error-"));
        }
    }
}
