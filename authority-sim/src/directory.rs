//! The built-in agency directory (003 p.25: agencies connected to the service), served at
//! `/v1/directory`. Its version is a digest of its content, so the ETag changes exactly when
//! the list does.

use booth_core::Agency;
use booth_core::wire::DirectoryResponse;
use sha2::{Digest, Sha256};

const AGENCIES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "mintrud",
        "ministries",
        "Еңбек және халықты әлеуметтік қорғау министрлігі",
        "Министерство труда и социальной защиты населения",
        "Ministry of Labour and Social Protection",
    ),
    (
        "minzdrav",
        "ministries",
        "Денсаулық сақтау министрлігі",
        "Министерство здравоохранения",
        "Ministry of Healthcare",
    ),
    (
        "minedu",
        "ministries",
        "Оқу-ағарту министрлігі",
        "Министерство просвещения",
        "Ministry of Enlightenment",
    ),
    (
        "minfin",
        "ministries",
        "Қаржы министрлігі",
        "Министерство финансов",
        "Ministry of Finance",
    ),
    (
        "minjust",
        "ministries",
        "Әділет министрлігі",
        "Министерство юстиции",
        "Ministry of Justice",
    ),
    (
        "mvd",
        "ministries",
        "Ішкі істер министрлігі",
        "Министерство внутренних дел",
        "Ministry of Internal Affairs",
    ),
    (
        "akimat-almaty",
        "akimats",
        "Алматы қаласының әкімдігі",
        "Акимат города Алматы",
        "Akimat of Almaty",
    ),
    (
        "akimat-astana",
        "akimats",
        "Астана қаласының әкімдігі",
        "Акимат города Астаны",
        "Akimat of Astana",
    ),
    (
        "akimat-shymkent",
        "akimats",
        "Шымкент қаласының әкімдігі",
        "Акимат города Шымкент",
        "Akimat of Shymkent",
    ),
    (
        "gpo",
        "prosecution",
        "Бас прокуратура",
        "Генеральная прокуратура",
        "Prosecutor General's Office",
    ),
    (
        "anticor",
        "agencies",
        "Сыбайлас жемқорлыққа қарсы іс-қимыл агенттігі",
        "Агентство по противодействию коррупции",
        "Anti-Corruption Agency",
    ),
    (
        "goscorp",
        "agencies",
        "«Азаматтарға арналған үкімет» мемлекеттік корпорациясы",
        "Государственная корпорация «Правительство для граждан»",
        "State Corporation \"Government for Citizens\"",
    ),
];

/// The directory with its content-derived version.
pub fn builtin() -> DirectoryResponse {
    let agencies: Vec<Agency> = AGENCIES
        .iter()
        .map(|(id, cat, kk, ru, en)| Agency {
            id: (*id).into(),
            category: (*cat).into(),
            name_kk: (*kk).into(),
            name_ru: (*ru).into(),
            name_en: (*en).into(),
        })
        .collect();
    let digest = Sha256::digest(serde_json::to_vec(&agencies).unwrap_or_default());
    DirectoryResponse {
        version: hex::encode(&digest[..8]),
        agencies,
    }
}

/// The agency with `id`.
pub fn find<'a>(d: &'a DirectoryResponse, id: &str) -> Option<&'a Agency> {
    d.agencies.iter().find(|a| a.id == id)
}
