//! The citizen's typed fields: their ids, and parsing them into booth-core's validated types
//! with a translation key per failing field.

use std::collections::BTreeMap;

use booth_core::validate::FieldError;
use booth_core::{
    Applicant, Bin, ComplaintDetails, Email, Iin, LegalEntityName, PersonName, PostalAddress,
};

use super::ApplicantType;

/// A text field on the applicant or complaint screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldId {
    /// Surname.
    Surname,
    /// Given name.
    Name,
    /// Patronymic (optional).
    Patronymic,
    /// IIN (prefilled from the journal, optional).
    Iin,
    /// Postal address.
    Address,
    /// E-mail (optional).
    Email,
    /// Legal entity name.
    EntityName,
    /// BIN (optional).
    Bin,
    /// Legal entity postal address.
    EntityAddress,
    /// Legal entity e-mail (optional).
    EntityEmail,
    /// Complaint: agency or position (p.25).
    ComplaintAgency,
    /// Complaint: officials, "Surname I. O.", comma-separated.
    ComplaintOfficials,
    /// Complaint: motives.
    ComplaintMotives,
    /// Complaint: demands.
    ComplaintDemands,
}

impl FieldId {
    /// Fields of an individual, in screen order.
    pub const INDIVIDUAL: [FieldId; 6] = [
        FieldId::Surname,
        FieldId::Name,
        FieldId::Patronymic,
        FieldId::Iin,
        FieldId::Address,
        FieldId::Email,
    ];
    /// Fields of a legal entity, in screen order.
    pub const LEGAL: [FieldId; 4] = [
        FieldId::EntityName,
        FieldId::Bin,
        FieldId::EntityAddress,
        FieldId::EntityEmail,
    ];
    /// Complaint fields, in screen order.
    pub const COMPLAINT: [FieldId; 4] = [
        FieldId::ComplaintAgency,
        FieldId::ComplaintOfficials,
        FieldId::ComplaintMotives,
        FieldId::ComplaintDemands,
    ];

    /// Stable name (Slint side, scripts).
    pub fn name(self) -> &'static str {
        match self {
            FieldId::Surname => "surname",
            FieldId::Name => "name",
            FieldId::Patronymic => "patronymic",
            FieldId::Iin => "iin",
            FieldId::Address => "address",
            FieldId::Email => "email",
            FieldId::EntityName => "entity-name",
            FieldId::Bin => "bin",
            FieldId::EntityAddress => "entity-address",
            FieldId::EntityEmail => "entity-email",
            FieldId::ComplaintAgency => "complaint-agency",
            FieldId::ComplaintOfficials => "complaint-officials",
            FieldId::ComplaintMotives => "complaint-motives",
            FieldId::ComplaintDemands => "complaint-demands",
        }
    }
    /// Parses [`FieldId::name`].
    pub fn parse(s: &str) -> Option<FieldId> {
        FieldId::INDIVIDUAL
            .into_iter()
            .chain(FieldId::LEGAL)
            .chain(FieldId::COMPLAINT)
            .find(|f| f.name() == s)
    }
    /// Translation key of the field's label.
    pub fn label_key(self) -> String {
        format!("field-{}", self.name())
    }
    /// Whether the field may stay empty.
    pub fn optional(self) -> bool {
        matches!(
            self,
            FieldId::Patronymic
                | FieldId::Iin
                | FieldId::Email
                | FieldId::Bin
                | FieldId::EntityEmail
        )
    }
    /// Which keyboard layout suits the field first.
    pub fn wants_latin(self) -> bool {
        matches!(self, FieldId::Email | FieldId::EntityEmail)
    }
    /// Whether the field takes digits only.
    pub fn digits_only(self) -> bool {
        matches!(self, FieldId::Iin | FieldId::Bin)
    }
}

type Errors = BTreeMap<FieldId, &'static str>;

fn get(fields: &BTreeMap<FieldId, String>, f: FieldId) -> &str {
    fields.get(&f).map(|s| s.trim()).unwrap_or("")
}

fn req<T: std::str::FromStr<Err = FieldError>>(
    fields: &BTreeMap<FieldId, String>,
    f: FieldId,
    errs: &mut Errors,
) -> Option<T> {
    match get(fields, f).parse::<T>() {
        Ok(v) => Some(v),
        Err(e) => {
            errs.insert(f, e.message_key());
            None
        }
    }
}

fn opt<T, E>(
    fields: &BTreeMap<FieldId, String>,
    f: FieldId,
    errs: &mut Errors,
    key: impl Fn(&E) -> &'static str,
) -> Option<T>
where
    T: std::str::FromStr<Err = E>,
{
    let s = get(fields, f);
    if s.is_empty() {
        return None;
    }
    match s.parse::<T>() {
        Ok(v) => Some(v),
        Err(e) => {
            errs.insert(f, key(&e));
            None
        }
    }
}

/// Parses the applicant fields (003 p.23) with booth-core's validators. On failure, returns
/// the translation key of every failing field.
pub fn parse_applicant(
    t: ApplicantType,
    fields: &BTreeMap<FieldId, String>,
) -> Result<Applicant, Errors> {
    let mut errs = Errors::new();
    let out = match t {
        ApplicantType::Individual => {
            let surname = req::<PersonName>(fields, FieldId::Surname, &mut errs);
            let name = req::<PersonName>(fields, FieldId::Name, &mut errs);
            let patronymic = opt::<PersonName, FieldError>(
                fields,
                FieldId::Patronymic,
                &mut errs,
                FieldError::message_key,
            );
            let iin =
                opt::<Iin, booth_core::ident::IdentError>(fields, FieldId::Iin, &mut errs, |e| {
                    e.message_key()
                });
            let address = req::<PostalAddress>(fields, FieldId::Address, &mut errs);
            let email = opt::<Email, FieldError>(
                fields,
                FieldId::Email,
                &mut errs,
                FieldError::message_key,
            );
            match (surname, name, address) {
                (Some(surname), Some(name), Some(address)) if errs.is_empty() => {
                    Some(Applicant::Individual {
                        surname,
                        name,
                        patronymic,
                        iin,
                        address,
                        email,
                    })
                }
                _ => None,
            }
        }
        ApplicantType::LegalEntity => {
            let name = req::<LegalEntityName>(fields, FieldId::EntityName, &mut errs);
            let bin =
                opt::<Bin, booth_core::ident::IdentError>(fields, FieldId::Bin, &mut errs, |e| {
                    e.message_key()
                });
            let address = req::<PostalAddress>(fields, FieldId::EntityAddress, &mut errs);
            let email = opt::<Email, FieldError>(
                fields,
                FieldId::EntityEmail,
                &mut errs,
                FieldError::message_key,
            );
            match (name, address) {
                (Some(name), Some(address)) if errs.is_empty() => Some(Applicant::LegalEntity {
                    name,
                    bin,
                    address,
                    email,
                }),
                _ => None,
            }
        }
    };
    out.ok_or(errs)
}

/// Parses the complaint fields of 003 p.25: all four are required; officials are separated by
/// commas or semicolons.
pub fn parse_complaint(fields: &BTreeMap<FieldId, String>) -> Result<ComplaintDetails, Errors> {
    let mut errs = Errors::new();
    let mut text = |f: FieldId, min: usize| {
        let s = get(fields, f);
        let n = s.chars().count();
        if n == 0 {
            errs.insert(f, FieldError::Required.message_key());
        } else if n < min {
            errs.insert(f, FieldError::TooShort { min }.message_key());
        } else if n > 1000 {
            errs.insert(f, FieldError::TooLong { max: 1000 }.message_key());
        } else if s.chars().any(char::is_control) {
            errs.insert(f, FieldError::Unprintable.message_key());
        }
        s.to_owned()
    };
    let agency_or_position = text(FieldId::ComplaintAgency, 3);
    let officials_text = text(FieldId::ComplaintOfficials, 2);
    let motives = text(FieldId::ComplaintMotives, 5);
    let demands = text(FieldId::ComplaintDemands, 5);
    if !errs.is_empty() {
        return Err(errs);
    }
    let officials = officials_text
        .split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(ComplaintDetails {
        agency_or_position,
        officials,
        motives,
        demands,
    })
}

/// Picks a secret code out of a QR or scanner payload: the last run of exactly 12 digits
/// (spaces inside a grouped code are allowed), or `None`.
pub fn code_from_payload(payload: &str) -> Option<String> {
    let mut runs: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in payload.chars() {
        if c.is_ascii_digit() {
            cur.push(c);
        } else if c == ' ' && !cur.is_empty() && cur.len() % 4 == 0 {
            // grouped "1234 5678 9012": keep going
        } else {
            if !cur.is_empty() {
                runs.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs.into_iter()
        .rev()
        .find(|r| r.len() == booth_core::code::SECRET_CODE_LEN)
}
