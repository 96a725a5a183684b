//! Header verification: rebuild the consensus header from an RPC object, hash its RLP, check the
//! fork field list, and check `parent_hash` links.
//!
//! The RLP is alloy's `Header` encoding, which writes exactly the optional (fork) fields that are
//! present, in fork order (base 15 fields; `base_fee_per_gas` EIP-1559; `withdrawals_root`
//! EIP-4895; `blob_gas_used`, `excess_blob_gas` EIP-4844; `parent_beacon_block_root` EIP-4788;
//! `requests_hash` EIP-7685; then later forks' fields). A header whose hash matches is therefore
//! encoded with the field list its chain used. [`ChainSpec::Mainnet`] additionally checks that this
//! list is the one the mainnet fork schedule prescribes.

use crate::{IndexerError, Result, StoredHeader};
use alloy_consensus::Header;
use alloy_primitives::{keccak256, B256};
use alloy_rlp::Decodable;

/// Mainnet London activation block (EIP-1559 `base_fee_per_gas`).
pub const MAINNET_LONDON_BLOCK: u64 = 12_965_000;
/// Mainnet Shanghai activation timestamp (EIP-4895 `withdrawals_root`).
pub const MAINNET_SHANGHAI_TIMESTAMP: u64 = 1_681_338_455;
/// Mainnet Cancun activation timestamp (EIP-4844 blob gas fields, EIP-4788 beacon root).
pub const MAINNET_CANCUN_TIMESTAMP: u64 = 1_710_338_135;
/// Mainnet Prague activation timestamp (EIP-7685 `requests_hash`).
pub const MAINNET_PRAGUE_TIMESTAMP: u64 = 1_746_612_311;
/// Mainnet genesis hash.
pub const MAINNET_GENESIS_HASH: B256 =
    alloy_primitives::b256!("d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3");
/// Hash of mainnet block [`MAINNET_LONDON_BLOCK`], a second fingerprint for chain detection.
pub const MAINNET_LONDON_HASH: B256 =
    alloy_primitives::b256!("9b83c12c69edb74f6c8dd5d052765c1adf940e320bd1291696e6fa07829eee71");

/// Which optional header fields a chain requires at a given block.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ChainSpec {
    /// Ethereum mainnet's fork schedule: London by block number, Shanghai, Cancun and Prague by
    /// timestamp (constants above); fields of later, unscheduled forks must be absent.
    Mainnet,
    /// No schedule (dev chains such as anvil): any field list whose RLP round-trips.
    #[default]
    Any,
}

impl ChainSpec {
    /// Checks which optional fields are present.
    ///
    /// Errors: [`IndexerError::ForkFields`] naming the block and the first wrong field.
    pub fn check_fork_fields(self, header: &Header) -> Result<()> {
        let ChainSpec::Mainnet = self else { return Ok(()) };
        let n = header.number;
        let ts = header.timestamp;
        let london = n >= MAINNET_LONDON_BLOCK;
        let shanghai = ts >= MAINNET_SHANGHAI_TIMESTAMP;
        let cancun = ts >= MAINNET_CANCUN_TIMESTAMP;
        let prague = ts >= MAINNET_PRAGUE_TIMESTAMP;
        let rules: [(&'static str, bool, bool, &'static str, &'static str); 8] = [
            ("base_fee_per_gas", header.base_fee_per_gas.is_some(), london, "London", "pre-London"),
            (
                "withdrawals_root",
                header.withdrawals_root.is_some(),
                shanghai,
                "Shanghai",
                "pre-Shanghai",
            ),
            ("blob_gas_used", header.blob_gas_used.is_some(), cancun, "Cancun", "pre-Cancun"),
            ("excess_blob_gas", header.excess_blob_gas.is_some(), cancun, "Cancun", "pre-Cancun"),
            (
                "parent_beacon_block_root",
                header.parent_beacon_block_root.is_some(),
                cancun,
                "Cancun",
                "pre-Cancun",
            ),
            ("requests_hash", header.requests_hash.is_some(), prague, "Prague", "pre-Prague"),
            (
                "block_access_list_hash",
                header.block_access_list_hash.is_some(),
                false,
                "",
                "mainnet (not scheduled)",
            ),
            ("slot_number", header.slot_number.is_some(), false, "", "mainnet (not scheduled)"),
        ];
        for (field, present, required, fork_on, fork_off) in rules {
            if present != required {
                return Err(IndexerError::ForkFields {
                    number: n,
                    field,
                    expected_present: required,
                    fork: if required { fork_on } else { fork_off },
                });
            }
        }
        Ok(())
    }
}

/// Verifies a consensus header against the hash its source reported and returns it with its RLP.
///
/// Checks, in order: the RLP (alloy encoding, exactly the present fields) decodes back to the same
/// header ([`IndexerError::NonCanonical`]); `spec`'s fork field rule ([`IndexerError::ForkFields`]);
/// keccak256(RLP) == `expected_hash` ([`IndexerError::HashMismatch`]). Cost: one RLP encoding, one
/// decoding, one keccak256 (`hash_slow`).
pub fn verify_header(header: Header, expected_hash: B256, spec: ChainSpec) -> Result<StoredHeader> {
    let number = header.number;
    let rlp = alloy_rlp::encode(&header);
    match Header::decode(&mut rlp.as_slice()) {
        Ok(back) if back == header => {}
        _ => return Err(IndexerError::NonCanonical { number }),
    }
    spec.check_fork_fields(&header)?;
    let got = keccak256(&rlp);
    if got != expected_hash {
        return Err(IndexerError::HashMismatch { number, expected: expected_hash, got });
    }
    Ok(StoredHeader { number, hash: got, header, rlp })
}

/// Verifies an RPC header object (`eth_getBlockByNumber` shape): rebuilds the consensus header
/// from its fields and checks it against the reported `hash` (see [`verify_header`]).
pub fn verify_rpc_header(
    rpc: &alloy_rpc_types_eth::Header,
    spec: ChainSpec,
) -> Result<StoredHeader> {
    verify_header(rpc.inner.clone(), rpc.hash, spec)
}

/// Verifies the header of an RPC block object (transactions, hashes or full, are not checked).
pub fn verify_rpc_block<T>(
    block: &alloy_rpc_types_eth::Block<T>,
    spec: ChainSpec,
) -> Result<StoredHeader> {
    verify_rpc_header(&block.header, spec)
}

/// Checks that `headers` are consecutive block numbers linked by `parent_hash`, and, when `prev`
/// (the number and hash of the block before the first) is given, that the first links to it.
///
/// Errors: [`IndexerError::NumberMismatch`] for a gap, [`IndexerError::ParentLink`] naming both
/// blocks for a broken link.
pub fn verify_links(prev: Option<(u64, B256)>, headers: &[StoredHeader]) -> Result<()> {
    let mut prev = prev;
    for h in headers {
        if let Some((pn, ph)) = prev {
            if h.number != pn + 1 {
                return Err(IndexerError::NumberMismatch { expected: pn + 1, got: h.number });
            }
            if h.header.parent_hash != ph {
                return Err(IndexerError::ParentLink {
                    parent: pn,
                    child: h.number,
                    expected: ph,
                    got: h.header.parent_hash,
                });
            }
        }
        prev = Some((h.number, h.hash));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn london_like() -> Header {
        Header {
            number: MAINNET_LONDON_BLOCK,
            timestamp: 1_628_166_822,
            base_fee_per_gas: Some(1_000_000_000),
            ..Default::default()
        }
    }

    #[test]
    fn mainnet_requires_base_fee_after_london() {
        let mut h = london_like();
        assert!(ChainSpec::Mainnet.check_fork_fields(&h).is_ok());
        h.base_fee_per_gas = None;
        let err = ChainSpec::Mainnet.check_fork_fields(&h).unwrap_err();
        assert!(matches!(
            err,
            IndexerError::ForkFields {
                number: MAINNET_LONDON_BLOCK,
                field: "base_fee_per_gas",
                expected_present: true,
                ..
            }
        ));
        assert!(ChainSpec::Any.check_fork_fields(&h).is_ok());
    }

    #[test]
    fn mainnet_rejects_withdrawals_before_shanghai() {
        let mut h = london_like();
        h.withdrawals_root = Some(B256::ZERO);
        let err = ChainSpec::Mainnet.check_fork_fields(&h).unwrap_err();
        assert!(err.to_string().contains("withdrawals_root must be absent"), "{err}");
    }

    #[test]
    fn hash_roundtrip_and_mismatch() {
        let h = london_like();
        let hash = h.hash_slow();
        let stored = verify_header(h.clone(), hash, ChainSpec::Mainnet).unwrap();
        assert_eq!(stored.hash, hash);
        assert_eq!(keccak256(&stored.rlp), hash);
        let mut t = h;
        t.gas_used += 1;
        let err = verify_header(t, hash, ChainSpec::Any).unwrap_err();
        assert!(matches!(err, IndexerError::HashMismatch { number: MAINNET_LONDON_BLOCK, .. }));
    }

    #[test]
    fn gap_in_fork_fields_is_non_canonical() {
        let h = Header { number: 5, withdrawals_root: Some(B256::ZERO), ..Default::default() };
        let hash = h.hash_slow();
        let err = verify_header(h, hash, ChainSpec::Any).unwrap_err();
        assert!(matches!(err, IndexerError::NonCanonical { number: 5 }));
    }

    #[test]
    fn links() {
        let mk = |n: u64, parent: B256| {
            let header = Header { number: n, parent_hash: parent, ..Default::default() };
            let hash = header.hash_slow();
            verify_header(header, hash, ChainSpec::Any).unwrap()
        };
        let a = mk(1, B256::repeat_byte(7));
        let b = mk(2, a.hash);
        let c = mk(3, B256::repeat_byte(1));
        assert!(verify_links(Some((0, B256::repeat_byte(7))), &[a.clone(), b.clone()]).is_ok());
        let err = verify_links(None, &[a.clone(), b.clone(), c]).unwrap_err();
        assert!(matches!(err, IndexerError::ParentLink { parent: 2, child: 3, .. }));
        assert!(err.to_string().contains("block 3") && err.to_string().contains("block 2"));
        let err = verify_links(Some((0, B256::ZERO)), std::slice::from_ref(&a)).unwrap_err();
        assert!(matches!(err, IndexerError::ParentLink { parent: 0, child: 1, .. }));
        let err = verify_links(None, &[a, mk(4, b.hash)]).unwrap_err();
        assert!(matches!(err, IndexerError::NumberMismatch { expected: 2, got: 4 }));
    }
}
