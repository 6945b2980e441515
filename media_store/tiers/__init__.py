"""Cache tiers behind one small interface each: hot (Redis / process memory), disk, origin (S3 / folder)."""
