"""Weekly district reports, e-mail and the enforcement feed (area-level aggregates only)."""
