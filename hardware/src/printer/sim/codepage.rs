//! Character code tables of the virtual printer's text mode: what a byte 0x80..=0xFF prints as
//! after `ESC t n`. Bytes 0x20..=0x7E are ASCII in every table.
//!
//! Known: PC437 (`ESC t 0`, the power-on default), PC866 Cyrillic #2 (`ESC t 17`) and WPC1251
//! (`ESC t 46`). **Kazakh letters in text mode:** none of these tables has Ә Ғ Қ Ң Ө Ұ Ү Һ
//! (WPC1251 has І only). A producer can only send look-alikes (К for Қ, О for Ө…) or `?`, and the
//! virtual printer prints exactly the byte it got, so Kazakh text sent in text mode shows the
//! damage a real printer shows. Whether a printer's firmware has a Kazakh table at all (some
//! Epson models list KZ-1048) varies by model and is not modelled here; the booth never relies
//! on it and prints receipts as rasters. An unknown table prints `?` for bytes 0x80..=0xFF and
//! the page reports it.

/// Code page numbers (`ESC t n`) the virtual printer can draw.
pub const KNOWN: [u8; 3] = [0, 17, 46];

const PC437: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{00a0}";
const PC866: &str = "АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдежзийклмноп░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀рстуфхцчшщъыьэюяЁёЄєЇїЎў°∙·√№¤■\u{00a0}";
const WPC1251: &str = "ЂЃ‚ѓ„…†‡€‰Љ‹ЊЌЋЏђ‘’“”•–—�™љ›њќћџ\u{00a0}ЎўЈ¤Ґ¦§Ё©Є«¬\u{00ad}®Ї°±Ііґµ¶·ё№є»јЅѕїАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдежзийклмнопрстуфхцчшщъыьэюя";

/// The character byte `b` prints as under code page `page`; `None` when the page is unknown
/// (and `b` is not ASCII).
pub fn decode(page: u8, b: u8) -> Option<char> {
    if b < 0x80 {
        return Some(char::from(b));
    }
    let table = match page {
        0 => PC437,
        17 => PC866,
        46 => WPC1251,
        _ => return None,
    };
    table.chars().nth(usize::from(b - 0x80))
}

/// Name of a known page, for reports.
pub fn name(page: u8) -> &'static str {
    match page {
        0 => "PC437",
        17 => "PC866",
        46 => "WPC1251",
        _ => "unknown",
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_128_characters() {
        for t in [PC437, PC866, WPC1251] {
            assert_eq!(t.chars().count(), 128);
        }
        assert_eq!(decode(17, 0x80), Some('А'));
        assert_eq!(decode(17, 0xef), Some('я'));
        assert_eq!(decode(0, 0x81), Some('ü'));
        assert_eq!(decode(46, 0xc0), Some('А'));
        assert_eq!(decode(2, 0x80), None);
        assert_eq!(decode(2, b'A'), Some('A'));
    }
}
