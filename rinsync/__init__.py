"""rinsync: compile OpenRouter's model catalog into a LiteLLM proxy config."""

__version__ = "1.0.0"
