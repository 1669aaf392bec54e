//! Masking of ID numbers and phones for the screen lives in core, shared with the console.

pub use gridwalk_core::privacy::{
    birth_year, mask_for_path, mask_free_text, mask_id_number, mask_phone, unmask_free_text,
};
