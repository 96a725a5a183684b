//! Integration tests of annals-indexer (one binary).

mod anvil;
mod common;
mod fixtures;
mod postgres;
mod queries;
mod receipts;
mod state;
