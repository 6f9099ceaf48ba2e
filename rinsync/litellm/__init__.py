"""The LiteLLM target: the config file and its include file, the merge state, and checks against the proxy."""
