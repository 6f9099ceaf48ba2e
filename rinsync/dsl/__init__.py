"""The rules language: YAML with positions, JSON Schema validation, JMESPath expressions, name templates."""
