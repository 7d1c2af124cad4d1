"""Training records: external training with HR verification, the JP ledger, unit compliance, promotion
files, the SIASN feed and its push client, and the HR API."""
