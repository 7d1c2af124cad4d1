"""Proof: issuing, numbering, PDF rendering, signing, verification and revocation of certificates."""
