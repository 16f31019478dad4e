"""The `docker://` source: our own small OCI distribution client on httpx.

reference.py parses names (Docker Hub conventions), credentials.py finds credentials,
challenge.py/auth.py answer 401s, trust.py decides which certificates verify a registry,
client.py sends requests (retries, redirects, digests), failures.py says in one line why a
request failed in transport, blobs.py streams layers, handle.py is the ImageHandle the
shared builder reads.
"""
