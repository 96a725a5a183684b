//! Integration tests of annals-query-lang: the malformed-query corpus, compile (bytecode and
//! `query_hash` regression) tests, and evaluation over real mainnet headers.

mod compile;
mod errors;
mod mainnet;
mod tables;
