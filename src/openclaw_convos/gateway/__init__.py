"""The gateway: config, access policy, pairing, chunking, and the service that runs the channel.

Submodules are imported directly (``from openclaw_convos.gateway.config import load_config``);
this package module stays empty so that importing a pure building block never pulls in the
XMTP runtime.
"""
