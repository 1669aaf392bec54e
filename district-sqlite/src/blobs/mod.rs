//! The server's blob store on SQLite: [`SqliteBlobs`] keeps photo bytes in a SQLite file
//! of their own (`blobs.sqlite` beside `district.sqlite`), so uploads never wait for the
//! district's one writer and the district file stays small. The trait and its types are
//! the district's ([`gridwalk_district::blobs`]), shared with PostgreSQL's `PgBlobs`.

mod refs;
mod sqlite;

pub use gridwalk_district::blobs::*;
pub use sqlite::SqliteBlobs;
