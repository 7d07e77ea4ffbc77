//! wif-store's one integration binary: the conformance suite run against each backend.
//! A PostgreSQL backend adds `mod postgres;` next to `mod sqlite;`, running the same suite.

mod sqlite;
