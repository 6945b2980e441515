"""mediacache's engine: content-addressed storage and tiered serving (hot → disk → origin)."""
