//! Adapters from the kiosk's ports to real implementations that have landed: answer lookups
//! and ratings over booth-core's shared SQLite store.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use booth_core::code::LookupId;
use booth_core::store::{Store, StoreError, appeals, kiosk};
use booth_core::{Language, StatusEvent};
use uuid::Uuid;

use crate::flow::{AnswerView, LookupView};
use crate::ports::{AnswerLookup, LookupUnavailable};

/// Local time text (`dd.mm.yyyy hh:mm`) of a UTC instant with the booth's offset.
pub fn local_text(t: chrono::DateTime<chrono::Utc>, offset_minutes: i32) -> String {
    let off = chrono::FixedOffset::east_opt(offset_minutes * 60).unwrap_or_else(|| {
        chrono::FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!("UTC offset 0 is valid"))
    });
    t.with_timezone(&off).format("%d.%m.%Y %H:%M").to_string()
}

/// Looks appeals up in the booth's own store: appeals recorded here, with the status timeline
/// and answers the sync agent has pulled. Appeals from other branches need the sync agent's
/// online lookup, which this adapter does not reach.
#[derive(Debug)]
pub struct StoreLookup {
    path: PathBuf,
    store: Mutex<Option<Store>>,
    utc_offset_minutes: i32,
}

impl StoreLookup {
    /// Lookups on the database at `path` (opened on first use).
    pub fn new(path: &Path, utc_offset_minutes: i32) -> StoreLookup {
        StoreLookup {
            path: path.to_owned(),
            store: Mutex::new(None),
            utc_offset_minutes,
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, LookupUnavailable> {
        let mut g = self.store.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            *g = Some(Store::open(&self.path).map_err(|e| LookupUnavailable(e.to_string()))?);
        }
        let Some(s) = g.as_mut() else {
            return Err(LookupUnavailable("store not open".into()));
        };
        f(s).map_err(|e| LookupUnavailable(e.to_string()))
    }
}

fn addressee_name(list: &[booth_core::Agency], id: &str, lang: Language) -> String {
    list.iter()
        .find(|a| a.id == id)
        .map(|a| a.name(lang).to_owned())
        .or_else(|| {
            crate::directory::demo_directory()
                .iter()
                .find(|a| a.id == id)
                .map(|a| a.name(lang).to_owned())
        })
        .unwrap_or_else(|| id.to_owned())
}

impl AnswerLookup for StoreLookup {
    fn lookup(
        &self,
        id: &LookupId,
        lang: Language,
    ) -> Result<Option<LookupView>, LookupUnavailable> {
        let offset = self.utc_offset_minutes;
        self.with(|s| {
            s.read(|tx| {
                let Some(a) = appeals::find_by_lookup_id(tx, id)? else {
                    return Ok(None);
                };
                let mut timeline: Vec<StatusEvent> = kiosk::status_timeline(tx, a.id)?;
                if timeline.is_empty() {
                    timeline.push(StatusEvent {
                        at: a.recorded_at,
                        status: booth_core::Status::Registered,
                    });
                }
                let answer = kiosk::answer(tx, a.id)?.map(|x| AnswerView {
                    decision: x.decision,
                    text: x.text,
                    signed_by: x.signed_by,
                    signed_on: x.signed_on,
                    documents: x.documents,
                });
                let agencies = kiosk::agencies(tx)?;
                Ok(Some(LookupView {
                    appeal_id: a.id,
                    registration_number: a.registration_number.to_string(),
                    addressee: addressee_name(&agencies, &a.addressee_id, lang),
                    recorded_local: local_text(a.recorded_at, offset),
                    expected_answer_date: a.expected_answer_date,
                    timeline,
                    answer,
                    rated: kiosk::rating(tx, a.id)?,
                }))
            })
        })
    }

    fn rate(&self, appeal_id: Uuid, rating: u8) -> Result<(), LookupUnavailable> {
        let r = booth_core::Rating::new(rating).map_err(|e| LookupUnavailable(e.to_string()))?;
        self.with(|s| s.write(|tx| kiosk::insert_rating(tx, appeal_id, r, chrono::Utc::now())))
    }
}
