"""Pipeline economics: each stage's default probability and the reference MAD/USD rate."""
