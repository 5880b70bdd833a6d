"""listenpost: hear every mention of your brand, and answer the ones that matter first."""

__version__ = "0.1.0"
