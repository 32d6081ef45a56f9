//! The addressee directory: the `agencies` table the sync agent fills, and a built-in demo
//! directory used when that table is still empty (a booth before its first sync, the demo).

use booth_core::Agency;

fn a(id: &str, category: &str, kk: &str, ru: &str, en: &str) -> Agency {
    Agency {
        id: id.into(),
        category: category.into(),
        name_kk: kk.into(),
        name_ru: ru.into(),
        name_en: en.into(),
    }
}

/// Built-in directory of real Kazakh agencies, grouped into categories, for a booth whose
/// store has no directory yet. Ids are stable so tests and scripts can name them.
pub fn demo_directory() -> Vec<Agency> {
    vec![
        a(
            "min-health",
            "ministry",
            "ҚР Денсаулық сақтау министрлігі",
            "Министерство здравоохранения РК",
            "Ministry of Health",
        ),
        a(
            "min-education",
            "ministry",
            "ҚР Оқу-ағарту министрлігі",
            "Министерство просвещения РК",
            "Ministry of Education",
        ),
        a(
            "min-labour",
            "ministry",
            "ҚР Еңбек және халықты әлеуметтік қорғау министрлігі",
            "Министерство труда и социальной защиты населения РК",
            "Ministry of Labour and Social Protection",
        ),
        a(
            "min-internal",
            "ministry",
            "ҚР Ішкі істер министрлігі",
            "Министерство внутренних дел РК",
            "Ministry of Internal Affairs",
        ),
        a(
            "min-justice",
            "ministry",
            "ҚР Әділет министрлігі",
            "Министерство юстиции РК",
            "Ministry of Justice",
        ),
        a(
            "akimat-almaty",
            "akimat",
            "Алматы қаласының әкімдігі",
            "Акимат города Алматы",
            "Akimat of Almaty",
        ),
        a(
            "akimat-astana",
            "akimat",
            "Астана қаласының әкімдігі",
            "Акимат города Астаны",
            "Akimat of Astana",
        ),
        a(
            "akimat-shymkent",
            "akimat",
            "Шымкент қаласының әкімдігі",
            "Акимат города Шымкента",
            "Akimat of Shymkent",
        ),
        a(
            "gov-citizens",
            "agency",
            "«Азаматтарға арналған үкімет» мемлекеттік корпорациясы",
            "Госкорпорация «Правительство для граждан»",
            "State Corporation Government for Citizens",
        ),
        a(
            "prosecutor",
            "agency",
            "ҚР Бас прокуратурасы",
            "Генеральная прокуратура РК",
            "Prosecutor General's Office",
        ),
        a(
            "anticorruption",
            "agency",
            "ҚР Сыбайлас жемқорлыққа қарсы іс-қимыл агенттігі",
            "Агентство РК по противодействию коррупции",
            "Anti-Corruption Agency",
        ),
        a(
            "state-revenue",
            "agency",
            "ҚР Мемлекеттік кірістер комитеті",
            "Комитет государственных доходов РК",
            "State Revenue Committee",
        ),
    ]
}

/// Translation key of a category name (unknown categories show as they are).
pub fn category_key(category: &str) -> String {
    format!("category-{category}")
}
