//! The compiled `.slint` user interface (`ui/app.slint` and the files it imports).
#![allow(missing_docs, clippy::all, unsafe_code)]
slint::include_modules!();
