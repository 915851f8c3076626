"""openclaw-convos: the Convos (XMTP) channel for AI-agent gateways."""

__version__ = "0.1.0"
APP_VERSION = f"openclaw-convos/{__version__}"
