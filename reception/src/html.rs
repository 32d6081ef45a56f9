//! HTML building: one escaping function for everything that did not come from this file, the
//! page layout (navigation, language switch, sign-out form) and the style sheet.
//!
//! Pages are assembled with `format!` and [`esc`]. The rule that keeps them safe: every value
//! that came from a request or the database goes through [`esc`] (or [`attr`]); literal markup
//! comes only from string literals in this crate. The XSS test puts `<script>` into every field.

use booth_core::Language;

use crate::i18n::t;
use crate::session::Ctx;

/// Escapes text for HTML element content and quoted attribute values: `& < > " '`.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Same as [`esc`]; named for readability where a value goes into an attribute.
pub fn attr(s: &str) -> String {
    esc(s)
}

/// Percent-encodes a query-string value (unreserved characters kept).
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The style sheet (served at `/style.css`; a separate file so the CSP can forbid inline code).
pub const STYLE: &str = r#"
:root { --ink:#1b1f24; --muted:#5b6470; --line:#c9d0d8; --accent:#0b5cad; --err:#b00020; --ok:#1d7a3a; }
* { box-sizing: border-box; }
body { margin:0; font: 16px/1.45 "Noto Sans", "DejaVu Sans", Arial, sans-serif; color:var(--ink); background:#f4f6f8; }
header { display:flex; flex-wrap:wrap; gap:1rem; align-items:center; padding:.6rem 1.2rem; background:#12355b; color:#fff; }
header .title { font-weight:700; margin-right:auto; }
header a, header button.link { color:#fff; }
nav a { margin-right:1rem; }
nav a[aria-current=page] { font-weight:700; text-decoration:none; border-bottom:2px solid #fff; }
.langs a { margin-left:.5rem; } .langs a[aria-current=true] { font-weight:700; text-decoration:none; }
main { max-width:1100px; margin:1.2rem auto; padding:1.2rem 1.6rem; background:#fff; border:1px solid var(--line); border-radius:6px; }
h1 { font-size:1.45rem; margin-top:0; }
fieldset { border:1px solid var(--line); border-radius:6px; margin:0 0 1rem; padding:.6rem 1rem 1rem; }
legend { font-weight:700; padding:0 .3rem; }
.field { margin:.5rem 0; display:flex; flex-direction:column; max-width:32rem; }
.field label { font-weight:600; margin-bottom:.15rem; }
.hint { color:var(--muted); font-size:.9rem; }
input[type=text], input[type=password], input[type=email], input[type=tel], input[type=date], input[type=search], select {
  font:inherit; padding:.4rem .5rem; border:1px solid #8a96a3; border-radius:4px; }
input:focus, select:focus, button:focus, a:focus { outline:3px solid #f0b400; outline-offset:1px; }
.invalid input, .invalid select { border-color:var(--err); border-width:2px; }
.error { color:var(--err); font-weight:600; }
.banner { padding:.6rem .8rem; border-radius:4px; margin-bottom:1rem; }
.banner.error { background:#fde7ea; border:1px solid var(--err); }
.banner.info { background:#e8f1fb; border:1px solid var(--accent); }
.row { display:flex; gap:1rem; flex-wrap:wrap; } .row .field { flex:1 1 14rem; }
.radios label, .check label { font-weight:400; margin-right:1.2rem; }
button, .button { font:inherit; padding:.5rem 1rem; border-radius:4px; border:1px solid var(--accent); background:var(--accent); color:#fff; cursor:pointer; text-decoration:none; display:inline-block; }
button.secondary, .button.secondary { background:#fff; color:var(--accent); }
button.link { background:none; border:none; padding:0; text-decoration:underline; }
table { border-collapse:collapse; width:100%; font-size:.95rem; }
th, td { text-align:left; padding:.35rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#eef2f6; }
.search { display:flex; flex-wrap:wrap; gap:.8rem; align-items:flex-end; margin-bottom:1rem; }
.search .field { margin:0; }
.tag { display:inline-block; padding:0 .4rem; border-radius:3px; font-size:.85rem; border:1px solid var(--line); }
.tag.ok { color:var(--ok); border-color:var(--ok); } .tag.warn { color:#8a5a00; border-color:#8a5a00; }
dl.facts { display:grid; grid-template-columns: max-content 1fr; gap:.3rem 1rem; } dl.facts dt { font-weight:600; }
.slip { width:72mm; margin:0 auto; padding:4mm; border:1px dashed #888; text-align:center; }
.slip .ticket { font: 700 2.6rem/1.1 "DejaVu Sans Mono", monospace; letter-spacing:.35rem; margin:.4rem 0; }
.slip p { margin:.3rem 0; }
.noprint { margin-top:1rem; text-align:center; }
@media print {
  @page { size: 80mm auto; margin: 3mm; }
  body { background:#fff; }
  header, .noprint, nav { display:none !important; }
  main { border:none; margin:0; padding:0; max-width:none; }
  .slip { border:none; width:auto; }
  main:has(.slip) > h1 { display:none; }
}
"#;

/// A whole page: header with navigation (when signed in), language links, the body.
pub fn page(ctx: &Ctx, title_key: &str, body: &str) -> String {
    let lang = ctx.lang;
    let mut header = format!("<span class=\"title\">{}</span>", esc(t(lang, "app-title")));
    if let Some(u) = &ctx.user {
        let cur = |p: &str| {
            if ctx.path == p {
                " aria-current=\"page\""
            } else {
                ""
            }
        };
        header.push_str(&format!(
            "<nav><a href=\"/visits/new\"{}>{}</a><a href=\"/journal\"{}>{}</a>{}</nav>",
            cur("/visits/new"),
            esc(t(lang, "nav-new-visit")),
            cur("/journal"),
            esc(t(lang, "nav-journal")),
            if u.is_admin() {
                format!(
                    "<a href=\"/audit\"{}>{}</a>",
                    cur("/audit"),
                    esc(t(lang, "nav-audit"))
                )
            } else {
                String::new()
            }
        ));
        header.push_str(&format!(
            "<span>{} <b>{}</b> ({})</span><form method=\"post\" action=\"/logout\">{}<button class=\"link\" type=\"submit\">{}</button></form>",
            esc(t(lang, "signed-in-as")),
            esc(&u.login),
            esc(t(lang, if u.is_admin() { "role-admin" } else { "role-receptionist" })),
            csrf_field(&u.csrf),
            esc(t(lang, "logout")),
        ));
    }
    let mut langs = format!(
        "<span class=\"langs\" aria-label=\"{}\">",
        attr(t(lang, "language"))
    );
    for l in Language::ALL {
        langs.push_str(&format!(
            "<a href=\"/lang/{}?back={}\" lang=\"{}\" aria-current=\"{}\">{}</a>",
            l.code(),
            url_encode(&ctx.path_and_query),
            l.code(),
            l == lang,
            esc(l.endonym())
        ));
    }
    langs.push_str("</span>");
    format!(
        "<!DOCTYPE html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} — {app}</title><link rel=\"stylesheet\" href=\"/style.css\"></head>\
         <body><header>{header}{langs}</header><main id=\"main\"><h1>{title}</h1>{body}</main></body></html>",
        code = lang.code(),
        title = esc(t(lang, title_key)),
        app = esc(t(lang, "app-title")),
    )
}

/// The hidden CSRF input every form carries.
pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        attr(token)
    )
}

/// A banner paragraph (`kind`: `error` or `info`) with escaped text.
pub fn banner(kind: &str, text: &str) -> String {
    let role = if kind == "error" {
        " role=\"alert\""
    } else {
        ""
    };
    format!("<p class=\"banner {kind}\"{role}>{}</p>", esc(text))
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(esc("Әлия Қасымқызы"), "Әлия Қасымқызы");
        assert_eq!(
            url_encode("/journal?date=2026-01-01&x=ә"),
            "%2Fjournal%3Fdate%3D2026-01-01%26x%3D%D3%99"
        );
    }
}
