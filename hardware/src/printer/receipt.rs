//! What a receipt says: the plain data the kiosk hands over, the booth's contact details
//! ([`ReceiptContacts`]), the kk/ru/en labels and instructions printed around them (how the
//! answer arrives per 003 p.33, what to do if the receipt is lost), and the QR payload
//! (`VA1:<regno>:<code>`) with its parser.

use std::fmt;

use booth_core::code::{RegistrationNumber, SecretCode};
use booth_core::domain::{AppealKind, Language};
use chrono::{NaiveDate, NaiveDateTime};

/// Everything printed on one receipt. Holds no applicant data: the receipt names only the
/// addressee agency, so a lost receipt reveals who was complained to, never who complained.
/// `Debug` is safe to log: [`SecretCode`]'s `Debug` hides the digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptData {
    /// Branch name as printed (`[booth] branch_name`).
    pub branch_name: String,
    /// Booth id (`[booth] id`).
    pub booth_id: String,
    /// Registration number of the appeal.
    pub registration_number: RegistrationNumber,
    /// When "Finish recording" was pressed, in the branch's local time.
    pub recorded_at: NaiveDateTime,
    /// Addressee agency or official, as chosen by the citizen.
    pub addressee: String,
    /// Kind of the appeal; printed with its label in [`ReceiptData::language`].
    pub kind: AppealKind,
    /// The citizen's secret code; printed in groups of four and inside the QR code.
    pub secret_code: SecretCode,
    /// Expected answer date (working-day calendar applied by the caller); `None` when no
    /// calendar covers it: the receipt then says the date comes with the answer, never a guess.
    pub expected_answer_date: Option<NaiveDate>,
    /// Language of labels and instructions: the citizen's session language.
    pub language: Language,
}

/// What every receipt of this booth prints besides the appeal: where the branch is and where a
/// citizen can ask about an answer. Each is printed only when known (`[booth]` config or the
/// central service's booth config); nothing is invented.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptContacts {
    /// The branch's street address, printed under its name.
    pub branch_address: Option<String>,
    /// A phone number for enquiries about answers.
    pub answer_phone: Option<String>,
    /// A web address for enquiries about answers.
    pub answer_web: Option<String>,
}

/// Fixed texts of a receipt in one language. Every string is covered by the shipped DejaVu
/// fonts (a unit test checks each character), so no letter ever prints as a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labels {
    /// Heading.
    pub title: &'static str,
    /// "Branch".
    pub branch: &'static str,
    /// "Booth".
    pub booth: &'static str,
    /// "Registration number".
    pub registration_number: &'static str,
    /// "Recorded".
    pub recorded_at: &'static str,
    /// "Addressed to".
    pub addressee: &'static str,
    /// "Kind".
    pub kind: &'static str,
    /// "Secret code to view the answer".
    pub secret_code: &'static str,
    /// "Expected answer by".
    pub expected_answer_date: &'static str,
    /// In place of the date when no calendar covers it.
    pub answer_date_later: &'static str,
    /// "Address" (of the branch).
    pub branch_address: &'static str,
    /// Heading of the ways the answer arrives.
    pub answer_ways: &'static str,
    /// By letter to the postal address given (003 p.33).
    pub answer_by_post: &'static str,
    /// By e-mail, if an address was given (003 p.33).
    pub answer_by_email: &'static str,
    /// At any booth with the code or the QR code (003 p.33).
    pub answer_at_booth: &'static str,
    /// "Phone for enquiries".
    pub answer_phone: &'static str,
    /// "Web".
    pub answer_web: &'static str,
    /// Heading: if the receipt is lost.
    pub lost_title: &'static str,
    /// What happens then.
    pub lost_text: &'static str,
    /// Keep the code and the QR private: whoever has them can open the answer.
    pub instructions: &'static str,
}

/// Labels of a receipt in `lang`.
pub fn labels(lang: Language) -> Labels {
    match lang {
        Language::Kk => Labels {
            title: "Бейнеүндеу туралы түбіртек",
            branch: "Бөлімше",
            booth: "Кабина",
            registration_number: "Тіркеу нөмірі",
            recorded_at: "Жазылған уақыты",
            addressee: "Кімге",
            kind: "Үндеу түрі",
            secret_code: "Жауапты көруге арналған құпия код",
            expected_answer_date: "Жауаптың күтілетін мерзімі",
            answer_date_later: "Күні жауаппен бірге хабарланады",
            branch_address: "Мекенжайы",
            answer_ways: "Жауапты қалай аласыз",
            answer_by_post: "сіз көрсеткен пошта мекенжайына хатпен;",
            answer_by_email: "электрондық поштаңызға, егер оны көрсетсеңіз;",
            answer_at_booth: "кез келген бейнекабинада — осы түбіртектегі құпия код немесе \
                              QR-код арқылы.",
            answer_phone: "Анықтама телефоны",
            answer_web: "Сайт",
            lost_title: "Түбіртек жоғалса",
            lost_text: "Жауап бәрібір поштамен (және электрондық поштаңызға, егер оны \
                        көрсетсеңіз) келеді. Құпия код ешқайда сақталмайды, оны қалпына \
                        келтіру мүмкін емес.",
            instructions: "Кодты және QR-кодты ешкімге көрсетпеңіз, түбіртектің суретін \
                           жарияламаңыз: олар арқылы кез келген адам жауабыңызды аша алады.",
        },
        Language::Ru => Labels {
            title: "Квитанция о видеообращении",
            branch: "Отделение",
            booth: "Кабина",
            registration_number: "Регистрационный номер",
            recorded_at: "Дата и время записи",
            addressee: "Адресат",
            kind: "Вид обращения",
            secret_code: "Секретный код для просмотра ответа",
            expected_answer_date: "Ожидаемая дата ответа",
            answer_date_later: "Дата будет сообщена вместе с ответом",
            branch_address: "Адрес",
            answer_ways: "Как вы получите ответ",
            answer_by_post: "письмом на почтовый адрес, который вы указали;",
            answer_by_email: "на электронную почту, если вы её указали;",
            answer_at_booth: "в любой видеокабине — по секретному коду или QR-коду с этой \
                              квитанции.",
            answer_phone: "Телефон для справок",
            answer_web: "Сайт",
            lost_title: "Если квитанция утеряна",
            lost_text: "Ответ всё равно придёт по почте (и на электронную почту, если вы её \
                        указали). Секретный код нигде не хранится, восстановить его нельзя.",
            instructions: "Никому не показывайте код и QR-код и не публикуйте фото квитанции: \
                           по ним любой может открыть ваш ответ.",
        },
        Language::En => Labels {
            title: "Video appeal receipt",
            branch: "Branch",
            booth: "Booth",
            registration_number: "Registration number",
            recorded_at: "Recorded",
            addressee: "Addressed to",
            kind: "Kind of appeal",
            secret_code: "Secret code to view the answer",
            expected_answer_date: "Expected answer by",
            answer_date_later: "The date will come with the answer",
            branch_address: "Address",
            answer_ways: "How you will get the answer",
            answer_by_post: "by letter to the postal address you gave;",
            answer_by_email: "by e-mail, if you gave an address;",
            answer_at_booth: "at any video booth, with the secret code or the QR code on this \
                              receipt.",
            answer_phone: "Phone for enquiries",
            answer_web: "Web",
            lost_title: "If you lose this receipt",
            lost_text: "The answer still comes by post (and by e-mail, if you gave an \
                        address). The secret code is stored nowhere and cannot be restored.",
            instructions: "Show the code and the QR code to no one and never post a photo of \
                           this receipt: with them anyone can open your answer.",
        },
    }
}

/// Label of an appeal kind in `lang`, as printed on the receipt.
pub fn kind_label(kind: AppealKind, lang: Language) -> &'static str {
    use AppealKind::*;
    match (lang, kind) {
        (Language::Kk, Proposal) => "Ұсыныс",
        (Language::Kk, Statement) => "Өтініш",
        (Language::Kk, Complaint) => "Шағым",
        (Language::Kk, Request) => "Сұрау салу",
        (Language::Kk, Response) => "Үн қату",
        (Language::Ru, Proposal) => "Предложение",
        (Language::Ru, Statement) => "Заявление",
        (Language::Ru, Complaint) => "Жалоба",
        (Language::Ru, Request) => "Запрос",
        (Language::Ru, Response) => "Отклик",
        (Language::En, Proposal) => "Proposal",
        (Language::En, Statement) => "Statement",
        (Language::En, Complaint) => "Complaint",
        (Language::En, Request) => "Request",
        (Language::En, Response) => "Response",
    }
}

/// Prefix and version of the receipt QR payload.
pub const QR_PREFIX: &str = "VA1";

/// The text inside a receipt's QR code: `VA1:<registration number>:<12 code digits>`, for
/// example `VA1:ALM01-03-2026-000127:123456789018`. Only ASCII, so any QR reader returns it
/// unchanged; [`parse_receipt_qr`] is its exact inverse.
///
/// **Why the secret code is in the QR** (decided; see also docs/operations.md "Receipts"):
/// 003 p.33 names viewing the answer at the booth "by secret code or barcode", so the receipt's
/// barcode must open the answer, and it cannot without the code. Leaving the code out would
/// protect nothing: the same twelve digits are printed in large type on the same paper, so a
/// photograph of the receipt gives them away with or without the QR; it would only take the
/// scan away from citizens who struggle to type twelve digits. What guards the answer instead:
/// the receipt says to show it to no one and never post a photo of it; the CODE128 carries the
/// registration number alone and opens nothing; the code itself is never stored (only its
/// Argon2id hash) and wrong guesses are rate-limited.
pub fn qr_payload(registration_number: &RegistrationNumber, code: &SecretCode) -> String {
    format!("{QR_PREFIX}:{registration_number}:{}", code.digits())
}

/// A decoded receipt QR code.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceiptQr {
    /// Registration number printed on the receipt.
    pub registration_number: RegistrationNumber,
    /// Secret code (check digit verified).
    pub secret_code: SecretCode,
}

impl fmt::Debug for ReceiptQr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiptQr")
            .field("registration_number", &self.registration_number.to_string())
            .field("secret_code", &self.secret_code)
            .finish()
    }
}

/// Why scanned text is not a receipt QR code; the kiosk shows "this is not a booth receipt"
/// for all of them ([`ReceiptQrError::message_key`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptQrError {
    /// Not `VA1:` followed by two fields.
    #[error("not a booth receipt QR code (expected VA1:<registration number>:<code>)")]
    NotReceipt,
    /// The registration number field is malformed.
    #[error("receipt QR code has a malformed registration number")]
    BadRegistrationNumber,
    /// The code field is not a valid secret code.
    #[error("receipt QR code has an invalid secret code: {0}")]
    BadCode(booth_core::code::CodeError),
}

impl ReceiptQrError {
    /// Translation key of the citizen-facing message.
    pub fn message_key(&self) -> &'static str {
        "error-receipt-qr"
    }
}

/// Parses what a camera or a keyboard-wedge scanner read from a receipt's QR code. Accepts
/// surrounding whitespace (scanners append CR/LF); everything else must match exactly.
pub fn parse_receipt_qr(text: &str) -> Result<ReceiptQr, ReceiptQrError> {
    let mut parts = text.trim().split(':');
    let (Some(prefix), Some(regno), Some(code), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReceiptQrError::NotReceipt);
    };
    if prefix != QR_PREFIX {
        return Err(ReceiptQrError::NotReceipt);
    }
    let registration_number = regno
        .parse::<RegistrationNumber>()
        .map_err(|_| ReceiptQrError::BadRegistrationNumber)?;
    if code.len() != booth_core::code::SECRET_CODE_LEN || !code.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(ReceiptQrError::BadCode(
            booth_core::code::CodeError::WrongLength(code.len()),
        ));
    }
    let secret_code = code
        .parse::<SecretCode>()
        .map_err(ReceiptQrError::BadCode)?;
    Ok(ReceiptQr {
        registration_number,
        secret_code,
    })
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn code() -> SecretCode {
        // 11 random digits + Damm check digit computed by core.
        let d = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1];
        let c = booth_core::code::damm_digit(&d);
        let s: String = d
            .iter()
            .chain(std::iter::once(&c))
            .map(|x| char::from(b'0' + x))
            .collect();
        s.parse().expect("valid code")
    }

    #[test]
    fn qr_payload_round_trips() {
        let r = RegistrationNumber::new("ALM01", 3, 2026, 127).expect("valid");
        let text = qr_payload(&r, &code());
        assert!(text.starts_with("VA1:ALM01-03-2026-000127:"));
        let back = parse_receipt_qr(&format!("{text}\r\n")).expect("parses");
        assert_eq!(back.registration_number, r);
        assert_eq!(back.secret_code, code());
    }

    #[test]
    fn bad_qr_texts_are_rejected_with_reason() {
        let cases: Vec<(&str, ReceiptQrError)> = vec![
            ("", ReceiptQrError::NotReceipt),
            ("https://example.org", ReceiptQrError::NotReceipt),
            (
                "VA2:ALM01-03-2026-000127:123456789018",
                ReceiptQrError::NotReceipt,
            ),
            (
                "VA1:ALM01-03-2026-000127:1234:5",
                ReceiptQrError::NotReceipt,
            ),
            (
                "VA1:nonsense:123456789018",
                ReceiptQrError::BadRegistrationNumber,
            ),
            (
                "VA1:ALM01-03-2026-000127:1234",
                ReceiptQrError::BadCode(booth_core::code::CodeError::WrongLength(4)),
            ),
            (
                "VA1:ALM01-03-2026-000127:000000000001",
                ReceiptQrError::BadCode(booth_core::code::CodeError::BadCheckDigit),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_receipt_qr(text).map(|_| ()), Err(want), "{text:?}");
        }
    }
}
