// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title AnnalsTestToken
/// @notice OpenZeppelin's ERC-20, unchanged, with the whole supply minted to the deployer.
/// @dev Deployed by the local-chain tests (`annals_indexer::testing::produce_erc20_blocks`) to
/// produce real `Transfer` and `Approval` logs. Not for production use.
contract AnnalsTestToken is ERC20 {
    /// @param supply Tokens minted to `msg.sender` (18 decimals, in base units).
    constructor(uint256 supply) ERC20("Annals Test Token", "ATT") {
        _mint(msg.sender, supply);
    }
}
