"""Configuration: load `.github/release-train.yml`, merge policies, validate, build the model.

- `yaml_source`: safe YAML reading with a position for every key and item (`read_yaml`,
  `position_of`).
- `durations`: `parse_duration` / `format_duration`.
- `schemas`: the JSON Schemas and schema errors as positioned problems.
- `merge`: defaults < extended policies < the repository's file, remembering origins.
- `checks`, `coverage`: checks beyond the schema (pure; `now` passed in).
- `build`: merged data to the typed `model`.
- `load`: the public API (`load_config`, `load_config_text`, `validate_text`).
- `docgen`: docs/configuration.md from the schema.
"""
