//! The booth's domain: appeals (003 p.23–27), visits of the reception journal (p.22), the
//! status timeline and answers (p.30–33), and satisfaction ratings (004).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::code::{LookupId, RegistrationNumber};
use crate::ident::{Bin, Iin};
use crate::validate::{Email, LegalEntityName, PersonName, PostalAddress};

/// The three languages of the booth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Қазақша.
    #[default]
    Kk,
    /// Русский.
    Ru,
    /// English.
    En,
}

impl Language {
    /// All languages in the order the language screen shows them.
    pub const ALL: [Language; 3] = [Language::Kk, Language::Ru, Language::En];
    /// ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Language::Kk => "kk",
            Language::Ru => "ru",
            Language::En => "en",
        }
    }
    /// Parses an ISO 639-1 code.
    pub fn from_code(s: &str) -> Option<Language> {
        match s {
            "kk" => Some(Language::Kk),
            "ru" => Some(Language::Ru),
            "en" => Some(Language::En),
            _ => None,
        }
    }
    /// The language's own name, as shown on its button.
    pub fn endonym(self) -> &'static str {
        match self {
            Language::Kk => "Қазақша",
            Language::Ru => "Русский",
            Language::En => "English",
        }
    }
}

/// Kind of appeal (the Law on administrative procedure's forms of appeal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppealKind {
    /// Предложение.
    Proposal,
    /// Заявление.
    Statement,
    /// Жалоба: needs [`ComplaintDetails`] (003 p.25).
    Complaint,
    /// Запрос.
    Request,
    /// Отклик.
    Response,
}

impl AppealKind {
    /// All kinds, in the order the kiosk offers them.
    pub const ALL: [AppealKind; 5] = [
        AppealKind::Statement,
        AppealKind::Complaint,
        AppealKind::Proposal,
        AppealKind::Request,
        AppealKind::Response,
    ];
    /// Stable text form (database, wire).
    pub fn as_str(self) -> &'static str {
        match self {
            AppealKind::Proposal => "proposal",
            AppealKind::Statement => "statement",
            AppealKind::Complaint => "complaint",
            AppealKind::Request => "request",
            AppealKind::Response => "response",
        }
    }
    /// Parses the text form.
    pub fn parse(s: &str) -> Option<AppealKind> {
        AppealKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a complaint must state (003 p.25): the agency or position, surname and initials of the
/// officials complained about, the motives and the demands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintDetails {
    /// Agency name or official's position whose actions are complained about.
    pub agency_or_position: String,
    /// "Surname I. O." of each official.
    pub officials: Vec<String>,
    /// Motives of the complaint.
    pub motives: String,
    /// What the applicant demands.
    pub demands: String,
}

/// Who files the appeal (003 p.23).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Applicant {
    /// A natural person.
    Individual {
        /// Surname.
        surname: PersonName,
        /// Given name.
        name: PersonName,
        /// Patronymic, optional.
        patronymic: Option<PersonName>,
        /// IIN from the reception journal, when known.
        iin: Option<Iin>,
        /// Postal address for the written answer (p.33).
        address: PostalAddress,
        /// E-mail for the answer copy.
        email: Option<Email>,
    },
    /// A legal entity's representative.
    LegalEntity {
        /// Entity name.
        name: LegalEntityName,
        /// BIN, when known.
        bin: Option<Bin>,
        /// Postal address.
        address: PostalAddress,
        /// E-mail.
        email: Option<Email>,
    },
}

impl Applicant {
    /// Short display name: "Surname N." or the entity name (for receipts: never the full data).
    pub fn display_name(&self) -> String {
        match self {
            Applicant::Individual { surname, name, .. } => {
                format!("{} {}", surname, name.initial())
            }
            Applicant::LegalEntity { name, .. } => name.to_string(),
        }
    }
}

/// Reference to a sealed recording in the outbox directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRef {
    /// File name inside the outbox directory (never a path).
    pub file_name: String,
    /// SHA-256 (hex) of the sealed (encrypted) file: what the central service must confirm.
    pub sealed_sha256: String,
    /// Size of the sealed file in bytes.
    pub sealed_size: u64,
    /// Container and codecs, e.g. `video/webm; codecs="vp8, opus"`.
    pub content_type: String,
}

/// An appeal as the booth commits it when the citizen presses "Finish recording" (p.27).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appeal {
    /// UUIDv7: unique everywhere, time-ordered.
    pub id: Uuid,
    /// Human-readable registration number.
    pub registration_number: RegistrationNumber,
    /// Booth id from config.
    pub booth_id: String,
    /// Applicant.
    pub applicant: Applicant,
    /// Addressee agency id from the directory.
    pub addressee_id: String,
    /// Kind of appeal.
    pub kind: AppealKind,
    /// For complaints.
    pub complaint: Option<ComplaintDetails>,
    /// Language the citizen used.
    pub language: Language,
    /// When "Finish recording" was pressed.
    pub recorded_at: DateTime<Utc>,
    /// Recording length in milliseconds.
    pub duration_ms: u32,
    /// Sealed media.
    pub media: MediaRef,
    /// Argon2id of the secret code.
    pub lookup_id: LookupId,
    /// Expected answer date from the working-day calendar
    /// ([`crate::calendar::expected_answer_date`]); `None` when no calendar covers it (the
    /// receipt then says the date will come with the answer; never an estimate).
    pub expected_answer_date: Option<NaiveDate>,
    /// Appeal this one continues (p.24: a new appeal to the same addressee).
    pub continuation_of: Option<Uuid>,
    /// Reception ticket used to start the session, if any.
    pub ticket: Option<String>,
    /// The reception journal entry (visit, 003 p.22) the appeal came from, if any.
    pub visit_id: Option<Uuid>,
}

/// A journal entry of the reception (003 p.22): who was identified and let into the booth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// UUIDv7.
    pub id: Uuid,
    /// ID document kind (identity card, passport, residence permit…).
    pub document_kind: String,
    /// Document number.
    pub document_number: String,
    /// The visitor's IIN.
    pub iin: Option<Iin>,
    /// Surname.
    pub surname: PersonName,
    /// Given name.
    pub name: PersonName,
    /// Patronymic.
    pub patronymic: Option<PersonName>,
    /// For a legal entity's representative: the entity's BIN and name.
    pub entity: Option<(Bin, LegalEntityName)>,
    /// Phone, optional.
    pub phone: Option<String>,
    /// E-mail, optional.
    pub email: Option<Email>,
    /// Consent to personal-data processing noted by the receptionist.
    pub consent: bool,
    /// When registered.
    pub created_at: DateTime<Utc>,
    /// Receptionist's login.
    pub receptionist: String,
}

/// The four decisions of 003 p.31.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Full or partial satisfaction.
    Satisfied,
    /// Refusal, with reasons.
    Refused,
    /// Explanation on the substance.
    Explained,
    /// Consideration terminated.
    Terminated,
}

impl DecisionKind {
    /// All four decisions.
    pub const ALL: [DecisionKind; 4] = [
        DecisionKind::Satisfied,
        DecisionKind::Refused,
        DecisionKind::Explained,
        DecisionKind::Terminated,
    ];
    /// Stable text form.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Satisfied => "satisfied",
            DecisionKind::Refused => "refused",
            DecisionKind::Explained => "explained",
            DecisionKind::Terminated => "terminated",
        }
    }
    /// Parses the text form.
    pub fn parse(s: &str) -> Option<DecisionKind> {
        DecisionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One step of an appeal's status timeline as the citizen sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Taken in by the booth (receipt printed).
    Registered,
    /// Received and registered by the central service.
    Delivered,
    /// Forwarded to another agency (p.30), with its name.
    Forwarded {
        /// Agency id it went to.
        to_agency_id: String,
        /// That agency's name at the time (for display).
        to_agency_name: String,
    },
    /// Under review by the agency.
    InReview,
    /// Joined to an earlier appeal on the same issue (p.32).
    Merged {
        /// Registration number of the main appeal.
        into_registration_number: String,
    },
    /// Answered with a decision (p.31).
    Answered {
        /// Decision.
        decision: DecisionKind,
    },
}

/// A status step with its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub status: Status,
}

/// The agency's answer (p.31, p.33), attached the day it is signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Appeal answered.
    pub appeal_id: Uuid,
    /// Decision.
    pub decision: DecisionKind,
    /// Answer text.
    pub text: String,
    /// Signing official's position and name.
    pub signed_by: String,
    /// Date signed (and attached).
    pub signed_on: NaiveDate,
    /// Names of attached documents.
    pub documents: Vec<String>,
}

/// Satisfaction rating of an answer (004): 1 (very dissatisfied) to 5 (very satisfied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Rating(u8);

/// A rating outside 1..=5.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a rating is 1 to 5, got {0}")]
pub struct BadRating(pub u8);

impl Rating {
    /// 1..=5.
    pub fn new(v: u8) -> Result<Rating, BadRating> {
        if (1..=5).contains(&v) {
            Ok(Rating(v))
        } else {
            Err(BadRating(v))
        }
    }
    /// The value.
    pub fn get(self) -> u8 {
        self.0
    }
}
impl TryFrom<u8> for Rating {
    type Error = BadRating;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Rating::new(v)
    }
}
impl From<Rating> for u8 {
    fn from(r: Rating) -> u8 {
        r.0
    }
}

/// An agency of the directory (003 p.25: the list of agencies connected to the service).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agency {
    /// Stable id.
    pub id: String,
    /// Category for browsing (ministries, akimats, …).
    pub category: String,
    /// Names in kk, ru, en.
    pub name_kk: String,
    /// Russian name.
    pub name_ru: String,
    /// English name.
    pub name_en: String,
}

impl Agency {
    /// The name in a language.
    pub fn name(&self, lang: Language) -> &str {
        match lang {
            Language::Kk => &self.name_kk,
            Language::Ru => &self.name_ru,
            Language::En => &self.name_en,
        }
    }
}

/// New UUIDv7.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}
