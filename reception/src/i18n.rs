//! The console's message catalogue in Kazakh, Russian and English, including the validation
//! errors of booth-core (`IdentError::message_key`, `FieldError::message_key`) so a receptionist
//! reads the same error the kiosk would show, in their own language.

use booth_core::Language;

/// `(key, kk, ru, en)`.
const MESSAGES: &[(&str, &str, &str, &str)] = &[
    (
        "app-title",
        "Бейнеөтініш кабинасы — қабылдау",
        "Кабина видеообращений — ресепшн",
        "Video-appeal booth — reception",
    ),
    (
        "nav-new-visit",
        "Жаңа келуші",
        "Новый посетитель",
        "New visitor",
    ),
    ("nav-journal", "Журнал", "Журнал", "Journal"),
    ("nav-audit", "Аудит журналы", "Журнал аудита", "Audit log"),
    ("logout", "Шығу", "Выйти", "Log out"),
    (
        "signed-in-as",
        "Кірген қызметкер:",
        "Вы вошли как",
        "Signed in as",
    ),
    ("role-admin", "әкімші", "администратор", "admin"),
    (
        "role-receptionist",
        "тіркеуші",
        "регистратор",
        "receptionist",
    ),
    ("login-title", "Жүйеге кіру", "Вход в систему", "Sign in"),
    ("login-login", "Логин", "Логин", "Login"),
    ("login-password", "Құпиясөз", "Пароль", "Password"),
    ("login-submit", "Кіру", "Войти", "Sign in"),
    (
        "login-wrong",
        "Логин немесе құпиясөз қате.",
        "Неверный логин или пароль.",
        "Wrong login or password.",
    ),
    (
        "login-locked",
        "Сәтсіз әрекеттер тым көп. Тіркелгі {until} дейін бұғатталды.",
        "Слишком много неудачных попыток. Учётная запись заблокирована до {until}.",
        "Too many failed attempts. The account is locked until {until}.",
    ),
    (
        "session-expired",
        "Сеанс аяқталды, қайта кіріңіз.",
        "Сеанс истёк, войдите снова.",
        "Your session has expired; please sign in again.",
    ),
    (
        "csrf-refused",
        "Форма ескірген немесе басқа беттен жіберілген. Бетті жаңартып, қайталаңыз.",
        "Форма устарела или отправлена с другой страницы. Обновите страницу и повторите.",
        "The form is stale or was sent from another page. Reload the page and try again.",
    ),
    (
        "visit-title",
        "Келушіні тіркеу",
        "Регистрация посетителя",
        "Register a visitor",
    ),
    (
        "fs-document",
        "Жеке басын куәландыратын құжат",
        "Документ, удостоверяющий личность",
        "Identity document",
    ),
    ("doc-kind", "Құжат түрі", "Вид документа", "Document type"),
    (
        "doc-id_card",
        "Жеке куәлік",
        "Удостоверение личности",
        "Identity card",
    ),
    (
        "doc-passport",
        "ҚР паспорты",
        "Паспорт РК",
        "Kazakhstan passport",
    ),
    (
        "doc-residence_permit",
        "Тұруға ықтиярхат",
        "Вид на жительство",
        "Residence permit",
    ),
    (
        "doc-foreign_passport",
        "Шетелдік паспорт",
        "Иностранный паспорт",
        "Foreign passport",
    ),
    (
        "doc-number",
        "Құжат нөмірі",
        "Номер документа",
        "Document number",
    ),
    ("iin", "ЖСН", "ИИН", "IIN"),
    (
        "iin-hint",
        "12 цифр; шетелдік паспорт үшін міндетті емес",
        "12 цифр; для иностранного паспорта необязательно",
        "12 digits; optional for a foreign passport",
    ),
    ("fs-person", "Келуші", "Посетитель", "Visitor"),
    ("applicant-kind", "Өтініш беруші", "Заявитель", "Applicant"),
    (
        "kind-individual",
        "Жеке тұлға",
        "Физическое лицо",
        "Individual",
    ),
    (
        "kind-entity",
        "Заңды тұлғаның өкілі",
        "Представитель юридического лица",
        "Legal entity's representative",
    ),
    ("surname", "Тегі", "Фамилия", "Surname"),
    ("name", "Аты", "Имя", "Name"),
    (
        "patronymic",
        "Әкесінің аты (бар болса)",
        "Отчество (при наличии)",
        "Patronymic (if any)",
    ),
    (
        "fs-entity",
        "Заңды тұлға (өкіл үшін)",
        "Юридическое лицо (для представителя)",
        "Legal entity (for a representative)",
    ),
    ("bin", "БСН", "БИН", "BIN"),
    (
        "entity-name",
        "Заңды тұлғаның атауы",
        "Наименование юридического лица",
        "Legal entity name",
    ),
    (
        "fs-contacts",
        "Байланыс (міндетті емес)",
        "Контакты (необязательно)",
        "Contacts (optional)",
    ),
    ("phone", "Телефон", "Телефон", "Phone"),
    ("email", "Электрондық пошта", "Электронная почта", "E-mail"),
    ("fs-consent", "Келісім", "Согласие", "Consent"),
    (
        "consent",
        "Келуші дербес деректерді өңдеуге және бейнежазбаға келісім берді",
        "Посетитель дал согласие на обработку персональных данных и видеозапись",
        "The visitor consented to personal-data processing and video recording",
    ),
    ("booth", "Кабина", "Кабина", "Booth"),
    (
        "booth-any",
        "Филиалдың кез келген кабинасы",
        "Любая кабина филиала",
        "Any booth of the branch",
    ),
    (
        "submit-visit",
        "Тіркеу және талон беру",
        "Зарегистрировать и выдать талон",
        "Register and issue a ticket",
    ),
    (
        "form-has-errors",
        "Белгіленген өрістерді түзетіңіз.",
        "Исправьте отмеченные поля.",
        "Please correct the marked fields.",
    ),
    (
        "error-consent-required",
        "Келісімсіз тіркеуге болмайды.",
        "Без согласия регистрация невозможна.",
        "A visit cannot be registered without consent.",
    ),
    (
        "error-doc-number",
        "Құжат нөмірі: 4–20 әріп пен цифр.",
        "Номер документа: 4–20 латинских букв и цифр.",
        "Document number: 4–20 Latin letters and digits.",
    ),
    (
        "error-doc-kind",
        "Құжат түрін таңдаңыз.",
        "Выберите вид документа.",
        "Choose a document type.",
    ),
    (
        "error-phone",
        "Телефон: 10–15 цифр, мысалы +7 701 123 45 67.",
        "Телефон: 10–15 цифр, например +7 701 123 45 67.",
        "Phone: 10–15 digits, e.g. +7 701 123 45 67.",
    ),
    (
        "error-booth",
        "Тізімнен кабинаны таңдаңыз.",
        "Выберите кабину из списка.",
        "Choose a booth from the list.",
    ),
    (
        "error-applicant-kind",
        "Өтініш берушінің түрін таңдаңыз.",
        "Выберите тип заявителя.",
        "Choose the kind of applicant.",
    ),
    (
        "error-ident-empty",
        "Нөмірді енгізіңіз.",
        "Введите номер.",
        "Enter the number.",
    ),
    (
        "error-ident-length",
        "Нөмір 12 цифрдан тұруы тиіс.",
        "Номер должен состоять из 12 цифр.",
        "The number must have 12 digits.",
    ),
    (
        "error-ident-digits",
        "Тек цифрлар енгізіңіз.",
        "Допустимы только цифры.",
        "Digits only.",
    ),
    (
        "error-ident-date",
        "Нөмірдегі күн нақты күн емес.",
        "Дата в номере не существует.",
        "The date part of the number is not a real date.",
    ),
    (
        "error-iin-century",
        "7-ші цифр 1-ден 6-ға дейін болуы тиіс.",
        "7-я цифра должна быть от 1 до 6.",
        "The 7th digit must be 1 to 6.",
    ),
    (
        "error-bin-type",
        "5-ші цифр 4, 5 немесе 6 болуы тиіс.",
        "5-я цифра должна быть 4, 5 или 6.",
        "The 5th digit must be 4, 5 or 6.",
    ),
    (
        "error-ident-check",
        "Бақылау цифры сәйкес келмейді; нөмірді тексеріңіз.",
        "Контрольная цифра не совпадает; проверьте номер.",
        "The check digit does not match; please check the number.",
    ),
    (
        "error-field-required",
        "Міндетті өріс.",
        "Обязательное поле.",
        "This field is required.",
    ),
    (
        "error-field-too-short",
        "Тым қысқа.",
        "Слишком коротко.",
        "Too short.",
    ),
    (
        "error-field-too-long",
        "Тым ұзын.",
        "Слишком длинно.",
        "Too long.",
    ),
    (
        "error-name-char",
        "Тек әріптер, дефис, апостроф және бос орын рұқсат.",
        "Допустимы только буквы, дефис, апостроф и пробел.",
        "Letters, hyphen, apostrophe and space only.",
    ),
    (
        "error-name-mixed",
        "Кирилл мен латын әріптерін араластырмаңыз.",
        "Не смешивайте кириллицу и латиницу.",
        "Do not mix Cyrillic and Latin letters.",
    ),
    (
        "error-email-shape",
        "Мекенжай name@example.kz сияқты болуы тиіс.",
        "Адрес должен выглядеть как name@example.kz.",
        "An address looks like name@example.kz.",
    ),
    (
        "error-email-domain",
        "@ белгісінен кейін mail.kz сияқты домен болуы тиіс.",
        "После @ должен быть домен, например mail.kz.",
        "After @ there must be a domain such as mail.kz.",
    ),
    (
        "error-field-unprintable",
        "Мәтінде басып шығаруға болмайтын таңбалар бар.",
        "Текст содержит непечатаемые символы.",
        "The text contains characters that cannot be printed.",
    ),
    (
        "slip-title",
        "Кабинаға талон",
        "Талон в кабину",
        "Booth ticket",
    ),
    (
        "slip-ticket",
        "Талон нөмірі",
        "Номер талона",
        "Ticket number",
    ),
    (
        "slip-valid-until",
        "Жарамды мерзімі",
        "Действителен до",
        "Valid until",
    ),
    (
        "slip-once",
        "Талон бір рет жарамды. Оны кабина экранында енгізіңіз.",
        "Талон действует один раз. Введите его на экране кабины.",
        "The ticket works once. Type it on the booth's screen.",
    ),
    (
        "slip-print",
        "Басып шығару: Ctrl+P",
        "Печать: Ctrl+P",
        "Print: Ctrl+P",
    ),
    (
        "slip-no-ticket",
        "Бұл келу үшін жарамды талон жоқ.",
        "Для этого посещения нет действующего талона.",
        "This visit has no working ticket.",
    ),
    (
        "journal-title",
        "Бейнеөтініш берген азаматтарды тіркеу журналы",
        "Журнал регистрации граждан, подавших видеообращение",
        "Journal of citizens who filed a video appeal",
    ),
    ("date", "Күні", "Дата", "Date"),
    ("ticket", "Талон", "Талон", "Ticket"),
    (
        "registration-number",
        "Тіркеу нөмірі",
        "Регистрационный номер",
        "Registration number",
    ),
    ("search", "Іздеу", "Найти", "Search"),
    (
        "export-csv",
        "CSV-ге экспорттау",
        "Экспорт в CSV",
        "Export CSV",
    ),
    ("col-time", "Уақыты", "Время", "Time"),
    ("col-visitor", "Келуші", "Посетитель", "Visitor"),
    ("col-document", "Құжат", "Документ", "Document"),
    ("col-appeal", "Өтініш", "Обращение", "Appeal"),
    (
        "col-receptionist",
        "Тіркеуші",
        "Регистратор",
        "Receptionist",
    ),
    ("col-central", "Орталық", "Центр", "Central service"),
    ("ticket-active", "белсенді", "действует", "active"),
    ("ticket-used", "пайдаланылды", "использован", "used"),
    ("ticket-expired", "мерзімі өтті", "истёк", "expired"),
    ("appeal-none", "өтініш жоқ", "обращения нет", "no appeal"),
    ("sent-central", "жіберілді", "отправлено", "sent"),
    ("pending-central", "күтуде", "ожидает", "waiting"),
    (
        "no-rows",
        "Ештеңе табылмады.",
        "Ничего не найдено.",
        "Nothing found.",
    ),
    (
        "rows-shown",
        "Көрсетілген жазбалар:",
        "Показано записей:",
        "Rows shown:",
    ),
    (
        "forbidden-export",
        "Журналды тек филиал әкімшісі экспорттай алады.",
        "Экспорт журнала доступен только администратору филиала.",
        "Only the branch admin can export the journal.",
    ),
    (
        "forbidden",
        "Бұл бет тек әкімшіге қолжетімді.",
        "Эта страница доступна только администратору.",
        "Only the branch admin can open this page.",
    ),
    (
        "visit-detail-title",
        "Келу туралы мәлімет",
        "Сведения о посещении",
        "Visit",
    ),
    (
        "reissue-ticket",
        "Жаңа талон беру",
        "Выдать новый талон",
        "Issue a new ticket",
    ),
    ("open-slip", "Талонды ашу", "Открыть талон", "Open the slip"),
    (
        "not-found",
        "Мұндай жазба жоқ.",
        "Такой записи нет.",
        "No such record.",
    ),
    (
        "internal-error",
        "Ішкі қате. Қайталаңыз немесе әкімшіге хабарласыңыз.",
        "Внутренняя ошибка. Повторите или обратитесь к администратору.",
        "Internal error. Try again or call the administrator.",
    ),
    (
        "bad-request",
        "Сұрау қате.",
        "Неверный запрос.",
        "Bad request.",
    ),
    ("yes", "иә", "да", "yes"),
    ("no", "жоқ", "нет", "no"),
    (
        "registered-by",
        "Тіркеген",
        "Зарегистрировал",
        "Registered by",
    ),
    ("audit-at", "Уақыты", "Время", "Time"),
    ("audit-actor", "Кім", "Кто", "Who"),
    ("audit-action", "Әрекет", "Действие", "Action"),
    ("audit-object", "Нысан", "Объект", "Object"),
    ("language", "Тіл", "Язык", "Language"),
];

/// The message `key` in `lang`. An unknown key returns the key itself, which the catalogue
/// test makes impossible for every key the console uses.
pub fn t(lang: Language, key: &str) -> &str {
    match MESSAGES.iter().find(|m| m.0 == key) {
        Some((_, kk, ru, en)) => match lang {
            Language::Kk => kk,
            Language::Ru => ru,
            Language::En => en,
        },
        None => {
            tracing::warn!(key, "missing translation key");
            key
        }
    }
}

/// Whether the catalogue has `key` (tests).
pub fn has(key: &str) -> bool {
    MESSAGES.iter().any(|m| m.0 == key)
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use booth_core::ident::IdentError;
    use booth_core::validate::FieldError;

    #[test]
    fn catalogue_has_every_core_error_and_no_duplicates() {
        let ident = [
            IdentError::Empty,
            IdentError::WrongLength(3),
            IdentError::NotDigits,
            IdentError::BadDate,
            IdentError::BadCenturyDigit,
            IdentError::BadEntityType,
            IdentError::BadCheckDigit,
        ];
        for e in ident {
            assert!(has(e.message_key()), "{}", e.message_key());
        }
        let field = [
            FieldError::Required,
            FieldError::TooShort { min: 1 },
            FieldError::TooLong { max: 1 },
            FieldError::BadNameChar('x'),
            FieldError::MixedScripts,
            FieldError::EmailShape,
            FieldError::EmailDomain,
            FieldError::Unprintable,
        ];
        for e in field {
            assert!(has(e.message_key()), "{}", e.message_key());
        }
        for (i, m) in MESSAGES.iter().enumerate() {
            assert!(
                !m.1.is_empty() && !m.2.is_empty() && !m.3.is_empty(),
                "{}",
                m.0
            );
            assert!(
                MESSAGES[i + 1..].iter().all(|o| o.0 != m.0),
                "duplicate key {}",
                m.0
            );
        }
    }

    /// Every literal key the console passes to `t(…)` or `page(…)` exists in the catalogue.
    #[test]
    fn every_key_used_in_the_source_is_translated() {
        let sources = [
            include_str!("html.rs"),
            include_str!("session.rs"),
            include_str!("state.rs"),
            include_str!("routes/login.rs"),
            include_str!("routes/visits.rs"),
            include_str!("routes/journal.rs"),
        ];
        let mut checked = 0;
        for src in sources {
            for opener in [
                "t(lang, \"",
                "t(ctx.lang, \"",
                "t(Language::Kk, \"",
                "page(ctx, \"",
                "page(&ctx, \"",
            ] {
                for (i, _) in src.match_indices(opener) {
                    let rest = &src[i + opener.len()..];
                    let key = &rest[..rest.find('"').unwrap_or(0)];
                    assert!(has(key), "missing translation key {key:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 40, "scanned only {checked} keys");
        for k in crate::routes::visits::DOCUMENT_KINDS {
            assert!(has(&format!("doc-{k}")), "doc-{k}");
        }
        for k in [
            "ticket-active",
            "ticket-used",
            "ticket-expired",
            "role-admin",
            "role-receptionist",
        ] {
            assert!(has(k), "{k}");
        }
    }
}
