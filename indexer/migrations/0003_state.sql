-- Accounts and storage at a block (DESIGN.md section 2), portable like 0001.
--
-- Rows are written only after their eth_getProof answer verified against the block's
-- state_root (and the account's storage_root); `proof` keeps the nodes (an RLP list of the
-- RLP-encoded trie nodes, root first), so every value can be checked again. Absent accounts
-- (present = 0) and unset slots are stored as zeros with their exclusion proofs.
-- U256 values (balance, value) are decimal TEXT like headers.difficulty.

CREATE TABLE accounts (
    block_number BIGINT NOT NULL,
    address      BYTEA NOT NULL,
    nonce        BIGINT NOT NULL,
    balance      TEXT NOT NULL,
    storage_root BYTEA NOT NULL,
    code_hash    BYTEA NOT NULL,
    present      BIGINT NOT NULL,
    proof        BYTEA NOT NULL,
    PRIMARY KEY (block_number, address)
);

CREATE TABLE storage (
    block_number BIGINT NOT NULL,
    address      BYTEA NOT NULL,
    slot         BYTEA NOT NULL,
    value        TEXT NOT NULL,
    proof        BYTEA NOT NULL,
    PRIMARY KEY (block_number, address, slot)
);
