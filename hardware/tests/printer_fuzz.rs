//! Property tests of the virtual printer's ESC/POS parser: random byte streams, split at random
//! points, and streams stitched from real command fragments never panic it, and garbage never
//! stops it from answering status.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;

use booth_hardware::printer::sim::{Parser, Session, SimState};
use proptest::prelude::*;

/// Fragments that steer random streams into the parser's deeper branches.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        Just(vec![0x1b, b'@']),
        Just(vec![0x1d, b'V', b'A', 0]),
        Just(vec![0x10, 0x04, 1]),
        (
            0u8..4,
            0u8..4,
            0u8..3,
            proptest::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(m, w, h, data)| {
                let mut v = vec![0x1d, b'v', b'0', m, w, 0, h, 0];
                v.extend(data);
                v
            }),
        (any::<u8>(), any::<u8>()).prop_map(|(l, h)| vec![0x1d, b'(', b'L', l, h]),
        any::<u8>().prop_map(|n| vec![0x1b, b'd', n]),
        any::<u8>().prop_map(|m| vec![0x1d, b'V', m]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_parser(data in proptest::collection::vec(any::<u8>(), 0..4096), split in any::<prop::sample::Index>()) {
        let mut p = Parser::new();
        let at = split.index(data.len() + 1);
        let mut n = p.push(&data[..at]).len();
        n += p.push(&data[at..]).len();
        prop_assert!(n <= data.len());
        prop_assert!(p.pending() <= data.len());
    }
}

proptest! {
    // Fewer cases: each may encode PNGs, which is slow in debug builds on a 2-core CI machine.
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn stitched_streams_never_panic_a_session(parts in proptest::collection::vec(fragment(), 0..40), width in prop_oneof![Just(384u32), Just(576u32)]) {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let state: Arc<SimState> = SimState::new(width);
        let mut session = Session::new(state.clone(), dir.path());
        for part in &parts {
            let answer = session.receive(part);
            for b in answer {
                prop_assert_eq!(b & 0x93, 0x12, "every status answer has the fixed bit pattern");
            }
        }
        session.finish();
        for page in state.pages() {
            let img = image::open(&page).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(img.width(), width);
        }
    }
}
