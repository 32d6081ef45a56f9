//! The printer's state as the kiosk and the technician see it, decoded from the three ESC/POS
//! real-time status bytes (`DLE EOT 1`, `DLE EOT 2`, `DLE EOT 4`, Epson's bit layout).

use booth_core::domain::Language;

/// Every real-time status byte has the fixed pattern `0xx1xx10`: bits 1 and 4 set, bits 0 and
/// 7 clear. A byte without it did not come from an ESC/POS printer.
pub const STATUS_FIXED_BITS: u8 = 0b0001_0010;
const STATUS_FIXED_MASK: u8 = 0b1001_0011;

/// `DLE EOT 1` bit 3: the printer is offline.
pub const PRINTER_OFFLINE: u8 = 0x08;
/// `DLE EOT 2` bit 2: the cover is open.
pub const OFFLINE_COVER_OPEN: u8 = 0x04;
/// `DLE EOT 2` bit 5: printing stopped because the paper ran out.
pub const OFFLINE_PAPER_END: u8 = 0x20;
/// `DLE EOT 2` bit 6: an error occurred.
pub const OFFLINE_ERROR: u8 = 0x40;
/// `DLE EOT 4` bits 2-3: the paper-near-end sensor sees little paper.
pub const ROLL_NEAR_END: u8 = 0x0C;
/// `DLE EOT 4` bits 5-6: the paper-end sensor sees no paper.
pub const ROLL_PAPER_END: u8 = 0x60;

/// What the printer can do right now. The kiosk checks it before the citizen starts recording
/// and before each print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterStatus {
    /// Online, paper present, cover closed.
    Ready,
    /// Prints, but the roll is nearly finished: the technician should replace it soon.
    PaperNearEnd,
    /// No paper: nothing will print.
    PaperOut,
    /// The cover is open: nothing will print.
    CoverOpen,
    /// The printer reports itself offline for another reason (error, cutter jam).
    Offline {
        /// Raw status bytes for the technician.
        detail: String,
    },
    /// The printer could not be reached or did not answer like an ESC/POS printer.
    NotConnected {
        /// What failed, with the address: for the technician and the log.
        reason: String,
    },
}

impl PrinterStatus {
    /// Decodes the answers to `DLE EOT 1`, `DLE EOT 2` and `DLE EOT 4`. Cover open wins over
    /// paper out because closing the cover is the first thing to do; a byte without the fixed
    /// bit pattern yields [`PrinterStatus::NotConnected`].
    pub fn from_status_bytes(printer: u8, offline: u8, roll: u8) -> PrinterStatus {
        for (n, b) in [(1, printer), (2, offline), (4, roll)] {
            if b & STATUS_FIXED_MASK != STATUS_FIXED_BITS {
                return PrinterStatus::NotConnected {
                    reason: format!(
                        "answer 0x{b:02x} to DLE EOT {n} is not an ESC/POS status byte"
                    ),
                };
            }
        }
        if offline & OFFLINE_COVER_OPEN != 0 {
            PrinterStatus::CoverOpen
        } else if offline & OFFLINE_PAPER_END != 0 || roll & ROLL_PAPER_END != 0 {
            PrinterStatus::PaperOut
        } else if printer & PRINTER_OFFLINE != 0 || offline & OFFLINE_ERROR != 0 {
            PrinterStatus::Offline {
                detail: format!(
                    "status bytes: printer 0x{printer:02x}, offline cause 0x{offline:02x}, roll 0x{roll:02x}"
                ),
            }
        } else if roll & ROLL_NEAR_END != 0 {
            PrinterStatus::PaperNearEnd
        } else {
            PrinterStatus::Ready
        }
    }

    /// Whether a receipt will print now.
    pub fn can_print(&self) -> bool {
        matches!(self, PrinterStatus::Ready | PrinterStatus::PaperNearEnd)
    }

    /// Translation key of the citizen-facing message: `printer-ready`, `printer-ready` for a
    /// near-empty roll (the citizen need not know), or `printer-unavailable`.
    pub fn message_key(&self) -> &'static str {
        if self.can_print() {
            "printer-ready"
        } else {
            "printer-unavailable"
        }
    }

    /// The citizen-facing message in `lang` (the kiosk may use its own translations by
    /// [`PrinterStatus::message_key`]; these are the reference texts).
    pub fn citizen_message(&self, lang: Language) -> &'static str {
        match (self.can_print(), lang) {
            (true, Language::Kk) => "Түбіртек басып шығарылады.",
            (true, Language::Ru) => "Квитанция будет напечатана.",
            (true, Language::En) => "A receipt will be printed.",
            (false, Language::Kk) => {
                "Түбіртек принтері қолжетімсіз. Кодыңыз экранда көрсетіледі — оны жазып алыңыз."
            }
            (false, Language::Ru) => {
                "Принтер квитанций недоступен. Ваш код будет показан на экране — запишите его."
            }
            (false, Language::En) => {
                "The receipt printer is unavailable. Your code will be shown on screen — write it down."
            }
        }
    }

    /// Exact cause for the technician (service mode, `booth-diag`, logs). Holds no personal data.
    pub fn technician_detail(&self) -> String {
        match self {
            PrinterStatus::Ready => "ready".into(),
            PrinterStatus::PaperNearEnd => "paper near end: replace the roll soon".into(),
            PrinterStatus::PaperOut => "paper out: load a new roll".into(),
            PrinterStatus::CoverOpen => "cover open: close the printer cover".into(),
            PrinterStatus::Offline { detail } => {
                format!("printer offline (error or cutter jam): {detail}")
            }
            PrinterStatus::NotConnected { reason } => format!("printer not connected: {reason}"),
        }
    }

    /// Short stable name for heartbeats and logs: `ready`, `paper_near_end`, `paper_out`,
    /// `cover_open`, `offline`, `not_connected`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PrinterStatus::Ready => "ready",
            PrinterStatus::PaperNearEnd => "paper_near_end",
            PrinterStatus::PaperOut => "paper_out",
            PrinterStatus::CoverOpen => "cover_open",
            PrinterStatus::Offline { .. } => "offline",
            PrinterStatus::NotConnected { .. } => "not_connected",
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    const OK: u8 = STATUS_FIXED_BITS;

    #[test]
    fn decodes_epson_bits() {
        assert_eq!(
            PrinterStatus::from_status_bytes(OK, OK, OK),
            PrinterStatus::Ready
        );
        assert_eq!(
            PrinterStatus::from_status_bytes(OK, OK, OK | ROLL_NEAR_END),
            PrinterStatus::PaperNearEnd
        );
        assert_eq!(
            PrinterStatus::from_status_bytes(
                OK | PRINTER_OFFLINE,
                OK | OFFLINE_PAPER_END,
                OK | ROLL_PAPER_END
            ),
            PrinterStatus::PaperOut
        );
        assert_eq!(
            PrinterStatus::from_status_bytes(
                OK | PRINTER_OFFLINE,
                OK | OFFLINE_COVER_OPEN | OFFLINE_PAPER_END,
                OK
            ),
            PrinterStatus::CoverOpen
        );
        assert!(matches!(
            PrinterStatus::from_status_bytes(OK | PRINTER_OFFLINE, OK | OFFLINE_ERROR, OK),
            PrinterStatus::Offline { .. }
        ));
        assert!(matches!(
            PrinterStatus::from_status_bytes(0x00, OK, OK),
            PrinterStatus::NotConnected { .. }
        ));
        assert!(matches!(
            PrinterStatus::from_status_bytes(OK, b'A', OK),
            PrinterStatus::NotConnected { .. }
        ));
    }

    #[test]
    fn citizen_sees_unavailable_only_when_it_cannot_print() {
        assert_eq!(PrinterStatus::PaperNearEnd.message_key(), "printer-ready");
        assert_eq!(
            PrinterStatus::CoverOpen.message_key(),
            "printer-unavailable"
        );
        assert!(
            PrinterStatus::PaperOut
                .citizen_message(Language::Kk)
                .contains("жазып алыңыз")
        );
        assert!(
            PrinterStatus::CoverOpen
                .technician_detail()
                .contains("cover")
        );
    }
}
