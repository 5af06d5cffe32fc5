"""The policy lifecycle around the engine: the policy database (versions, drafts, approvals,
audit), boot from files, four-eyes approval, assessment, preview, activation, policy tests."""
