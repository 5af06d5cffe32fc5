"""The edge's trust: the mTLS server context, the uvicorn protocol that hands the client
certificate to the app, CRLs, client certificate → principal, and the trusted-proxy mode."""
