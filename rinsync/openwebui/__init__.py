"""The Open WebUI target: model records computed from the engine's decisions, written through Open WebUI's API."""
