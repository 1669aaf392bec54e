//! Masking of ID numbers and phones for the screen lives in core, shared with the console.

pub use gridwalk_core::privacy::{mask_for_path, mask_id_number, mask_phone};
